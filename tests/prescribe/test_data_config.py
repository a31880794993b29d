import json

import yaml

from plateau_doctor.prescribe.changes import ConfigChange
from plateau_doctor.prescribe.data_config import (
    edit_json_config,
    edit_toml_config,
    edit_yaml_config,
    hf_changes,
    yaml_scalar,
)

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None


def change(key, value, confident=True, code="PD201", reason="stop where val was best"):
    return ConfigChange(key, value, code, reason, confident)


YAML = """# training
max_iters: 5000   # total steps
learning_rate: 1.0e-3
model:
  n_layer: 6
"""


def test_yaml_values_are_edited_in_the_text_and_comments_kept():
    out = edit_yaml_config(YAML, [change("max_iters", 1750)])
    assert out.splitlines()[0] == "# training"
    assert (
        out.splitlines()[1]
        == "max_iters: 1750  # plateau-doctor PD201: stop where val was best (was 5000); total steps"
    )
    assert yaml.safe_load(out)["max_iters"] == 1750
    assert yaml.safe_load(out)["model"] == {"n_layer": 6}


def test_yaml_floats_read_back_as_floats():
    out = edit_yaml_config(YAML, [change("learning_rate", 3e-05), change("min_lr", 3e-06)])
    data = yaml.safe_load(out)
    assert data["learning_rate"] == 3e-05 and data["min_lr"] == 3e-06
    assert yaml_scalar(3e-05) == "3.0e-05" and yaml_scalar(False) == "false"


def test_yaml_missing_and_unsure_keys():
    out = edit_yaml_config(YAML, [change("grad_clip", 1.0), change("max_iters", 9000, confident=False)])
    data = yaml.safe_load(out)
    assert data["grad_clip"] == 1.0 and data["max_iters"] == 5000
    assert "# max_iters: 9000  # plateau-doctor PD201" in out


def test_toml_keys_added_before_the_first_table():
    text = "max_iters = 5000 # steps\n\n[wandb]\nproject = 'x'\n"
    out = edit_toml_config(text, [change("max_iters", 1750), change("dropout", 0.3)])
    assert out.index("dropout = 0.3") < out.index("[wandb]")
    if tomllib:
        data = tomllib.loads(out)
        assert data["max_iters"] == 1750 and data["dropout"] == 0.3 and data["wandb"] == {"project": "x"}


def test_json_is_redumped_with_the_keys_set_and_unsure_changes_left_out():
    text = json.dumps({"max_iters": 5000, "n_layer": 6})
    out, skipped = edit_json_config(text, [change("max_iters", 1750), change("n_layer", 8, confident=False)])
    assert json.loads(out) == {"max_iters": 1750, "n_layer": 6}
    assert skipped[0].change.key == "n_layer"


def test_hf_training_arguments_get_their_own_names():
    mapped, skipped = hf_changes(
        [change("max_iters", 1750), change("grad_clip", 1.0), change("min_lr", 1e-5)]
    )
    assert [(c.key, c.value) for c in mapped] == [("max_steps", 1750), ("max_grad_norm", 1.0)]
    assert "no equivalent of nanoGPT's min_lr" in skipped[0].why


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SCALARS = st.one_of(
    st.integers(0, 10**6),
    st.floats(1e-8, 1e4, allow_nan=False),
    st.booleans(),
    st.text("abcxyz_-", min_size=1, max_size=6),
)
NAMES = st.sampled_from(["max_iters", "learning_rate", "min_lr", "dropout", "dtype", "compile", "eval_iters"])


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(NAMES, SCALARS, min_size=1),
    st.dictionaries(NAMES, SCALARS, min_size=1),
    st.sampled_from(["", "  # note"]),
)
def test_any_yaml_edit_reads_back_as_the_new_values(values, wanted, comment):
    from plateau_doctor.prescribe.data_config import yaml_scalar

    text = "".join(f"{key}: {yaml_scalar(value)}{comment}\n" for key, value in values.items())
    out = edit_yaml_config(text, [change(key, value) for key, value in wanted.items()])
    assert yaml.safe_load(out) == {**values, **wanted}
