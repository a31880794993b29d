"""PD602 parameter count: nanoGPT's count computed from the config against the printed
`number of parameters` and against sizes claimed in the config's comments."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def curves(kit):
    return dict(val_curve=kit.power_law(4.2, 1.40))


def test_a_125m_claim_for_a_10m_model_is_a_warning(kit, curves):
    report = diagnose(kit.log(**curves, comments=("baby GPT model, 125M params",)))
    f = kit.one(report, "PD602")
    assert (f.category, f.severity) == ("config", "warning")
    assert f.evidence == {"claimed": "125M", "computed": 10_646_784, "vocab_size": 65}
    assert "10.6M" in f.title


def test_a_claim_within_a_quarter_of_the_count_is_fine(kit, curves):
    report = diagnose(kit.log(**curves, comments=("baby GPT model, about 10M params",)))
    assert kit.by_code(report, "PD602") == []


def test_a_token_count_in_a_comment_is_not_a_parameter_claim(kit, curves):
    report = diagnose(kit.log(**curves, comments=("this model sees a 9.2M token dataset",)))
    assert kit.by_code(report, "PD602") == []


def test_claim_read_from_the_config_given_with_dash_dash_config(kit, curves):
    path = kit.log(header=False, **curves)
    config = kit.config_file({}, comments=("GPT-2 small style, 125M params",))
    f = kit.one(diagnose(path, config=str(config)), "PD602")
    assert f.evidence["claimed"] == "125M"


def test_printed_count_differing_from_the_config_is_a_warning(kit, curves):
    f = kit.one(diagnose(kit.log(**curves, printed_params="20.00M")), "PD602")
    assert f.evidence["printed"] == 20_000_000
    assert f.evidence["computed"] == 10_646_784
    assert f.evidence["relative_difference"] > 0.4


def test_printed_count_matching_the_config_is_silent(kit, curves):
    report = diagnose(kit.log(**curves))  # prints 10.65M, computed 10,646,784
    assert kit.by_code(report, "PD602") == []


def test_printed_count_rounded_to_two_decimals_is_not_a_mismatch(kit, curves):
    small = {"n_layer": 2, "n_head": 2, "n_embd": 64}  # 102,784 parameters
    report = diagnose(kit.log(small, **curves))
    assert kit.by_code(report, "PD602") == []


def test_pretrained_gpt2_count_matches_its_printed_count(kit):
    ft = {
        "init_from": "gpt2",
        "dataset": "shakespeare",
        "batch_size": 1,
        "block_size": 1024,
        "gradient_accumulation_steps": 32,
        "learning_rate": 3e-5,
        "decay_lr": False,
        "max_iters": 50,
        "eval_interval": 10,
        "log_interval": 1,
        "warmup_iters": 0,
        "dropout": 0.0,
    }
    report = diagnose(
        kit.log(
            ft,
            init_from="gpt2",
            vocab_size=None,
            eval_ms=200,
            val_curve=kit.power_law(3.9, 3.2, 50),
            iter_noise=0.3,
        )
    )
    assert report.run.n_params == 123_653_376  # printed `123.65M`
    assert kit.by_code(report, "PD602") == []
