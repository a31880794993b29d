from plateau_doctor.domain.memory import parse_device
from plateau_doctor.prescribe.budget import fit_changes_to_device
from plateau_doctor.prescribe.changes import ConfigChange

SEED = {
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 384,
    "block_size": 1024,
    "batch_size": 16,
    "gradient_accumulation_steps": 32,
    "dropout": 0.1,
    "bias": False,
    "dtype": "float16",
    "compile": True,
}


def bigger(n_embd, n_layer, sure=True):
    return [
        ConfigChange("n_layer", n_layer, "PD203", "bigger", sure),
        ConfigChange("n_embd", n_embd, "PD203", "bigger", sure),
    ]


def test_a_bigger_model_that_fits_is_left_alone():
    check = fit_changes_to_device(bigger(512, 12), SEED, 50304, parse_device("RTX 4090"))
    assert [c.key for c in check.changes] == ["n_layer", "n_embd"]
    assert "needs ~" in check.notes[0]


def test_a_bigger_model_that_does_not_fit_gets_a_batch_that_keeps_the_tokens_per_iteration():
    check = fit_changes_to_device(bigger(768, 24), SEED, 50304, parse_device("RTX 4070 12GB"), 4580.0)
    batch = {c.key: c.value for c in check.changes}
    assert batch["batch_size"] * batch["gradient_accumulation_steps"] == 16 * 32
    assert batch["batch_size"] < 16
    assert any("time per iteration" in n for n in check.notes)


def test_a_model_that_cannot_fit_at_all_is_only_offered():
    check = fit_changes_to_device(bigger(2048, 48), SEED, 50304, parse_device("RTX 4070 12GB"))
    assert not any(c.confident for c in check.changes)
    assert "does not fit the RTX 4070 even at micro-batch 1" in check.changes[0].reason


def test_changes_that_do_not_touch_the_shape_are_not_checked():
    changes = [ConfigChange("max_iters", 1000, "PD201", "stop", True)]
    assert fit_changes_to_device(changes, SEED, 50304, parse_device("T4")).changes == changes
