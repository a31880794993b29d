import ast

import pytest
from prescribe_support import OVERFIT_CONFIG, configurator_values

from plateau_doctor.prescribe.changes import ConfigChange
from plateau_doctor.prescribe.python_config import edit_python_config
from plateau_doctor.resolve.files import read_python_config

STOP = "stop where val was best"


def change(key, value, confident=True, code="PD201", reason=STOP):
    return ConfigChange(key, value, code, reason, confident)


def test_values_are_edited_in_place_and_every_other_line_is_kept():
    text = OVERFIT_CONFIG.read_text()
    out = edit_python_config(text, [change("max_iters", 1750), change("lr_decay_iters", 1750)])
    old, new = text.splitlines(), out.splitlines()
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=False) if a != b]
    assert len(changed) == 2
    assert changed[0] == (
        "max_iters = 5000",
        "max_iters = 1750  # plateau-doctor PD201: stop where val was best (was 5000)",
    )


def test_an_existing_trailing_comment_is_kept_after_the_citation():
    out = edit_python_config(
        "lr_decay_iters = 5000 # make equal to max_iters usually\n", [change("lr_decay_iters", 1750)]
    )
    assert out == (
        "lr_decay_iters = 1750  # plateau-doctor PD201: stop where val was best (was 5000); "
        "make equal to max_iters usually\n"
    )


def test_the_last_assignment_is_the_one_edited():
    out = edit_python_config("max_iters = 100\nmax_iters = 5000\n", [change("max_iters", 1750)])
    assert out.splitlines()[0] == "max_iters = 100"
    assert out.splitlines()[1].startswith("max_iters = 1750  #")


def test_an_expression_is_replaced_by_the_value():
    out = edit_python_config(
        "gradient_accumulation_steps = 5 * 8\n", [change("gradient_accumulation_steps", 80)]
    )
    assert out.startswith(
        "gradient_accumulation_steps = 80  # plateau-doctor PD201: stop where val was best (was 5 * 8)"
    )


def test_a_key_the_config_does_not_set_is_added_at_the_end():
    out = edit_python_config("max_iters = 5000\n", [change("grad_clip", 1.0, code="PD301", reason="clip")])
    assert out.splitlines()[-1] == "grad_clip = 1.0  # plateau-doctor PD301: clip"
    assert read_python_config(out).values == {"max_iters": 5000, "grad_clip": 1.0}


def test_a_key_bound_in_a_way_an_edit_cannot_override_is_appended_where_it_wins():
    text = "max_iters = 5000\nif True:\n    max_iters = 6000\n"
    out = edit_python_config(text, [change("max_iters", 1750)])
    assert out.startswith(text)
    assert out.splitlines()[-1].startswith("max_iters = 1750")


def test_an_unsure_change_is_offered_commented_out_below_the_line():
    out = edit_python_config(
        "eval_iters = 200\nlog_interval = 10\n",
        [change("eval_iters", 400, confident=False, code="PD401", reason="not sure")],
    )
    assert out.splitlines() == [
        "eval_iters = 200",
        "# eval_iters = 400  # plateau-doctor PD401: not sure",
        "log_interval = 10",
    ]
    assert read_python_config(out).values["eval_iters"] == 200


def test_the_corrected_overfit_config_is_one_nanogpts_configurator_accepts():
    out = edit_python_config(
        OVERFIT_CONFIG.read_text(),
        [
            change("max_iters", 1750),
            change("lr_decay_iters", 1750),
            change("dropout", 0.3),
            change("grad_clip", 1.0),
            change("dtype", "bfloat16"),
            change("always_save_checkpoint", False),
        ],
    )
    values = configurator_values(out)
    assert (values["max_iters"], values["lr_decay_iters"], values["dropout"]) == (1750, 1750, 0.3)
    assert values["grad_clip"] == 1.0 and values["dtype"] == "bfloat16"
    assert values["always_save_checkpoint"] is False


def test_windows_line_endings_and_unicode_are_kept():
    text = "# modèle à tester\r\nmax_iters = 5000 # café\r\nn_layer = 6\r\n"
    out = edit_python_config(text, [change("max_iters", 1750)])
    assert (
        out.split("\r\n")[1]
        == "max_iters = 1750  # plateau-doctor PD201: stop where val was best (was 5000); café"
    )
    assert out.endswith("n_layer = 6\r\n")
    ast.parse(out)


def test_text_that_is_not_python_is_refused_with_its_line():
    with pytest.raises(ValueError, match="line 1"):
        edit_python_config("max_iters = = 3\n", [change("max_iters", 1)])


def test_two_assignments_on_one_line_are_both_edited():
    out = edit_python_config(
        "max_iters = 5000; lr_decay_iters = 5000\n",
        [change("max_iters", 1750), change("lr_decay_iters", 1750)],
    )
    assert read_python_config(out).values == {"max_iters": 1750, "lr_decay_iters": 1750}


def test_a_value_inside_parentheses_over_several_lines_is_edited_in_place():
    out = edit_python_config("max_iters = (\n    5000\n)\nn_layer = 6\n", [change("max_iters", 1750)])
    assert read_python_config(out).values == {"max_iters": 1750, "n_layer": 6}
    assert out.count("\n") == 4


def test_an_annotated_assignment_is_edited():
    out = edit_python_config("max_iters: int = 5000\n", [change("max_iters", 1750)])
    assert out.startswith("max_iters: int = 1750  # plateau-doctor PD201")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from plateau_doctor.resolve.defaults import NANOGPT_DEFAULTS  # noqa: E402

KEYS = sorted(NANOGPT_DEFAULTS)


def _value(key):
    default = NANOGPT_DEFAULTS[key]
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(0, 10**6)
    if isinstance(default, float):
        return st.floats(1e-6, 1e3, allow_nan=False)
    return st.text("abcdefgh_", min_size=1, max_size=8)


@st.composite
def configs(draw):
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=8, unique=True))
    lines, values = [], {}
    for key in keys:
        value = draw(_value(key))
        values[key] = value
        comment = draw(st.sampled_from(["", " # why", "  # é, #2"]))
        lines.append(f"{key} = {value!r}{comment}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# a note", "import math"])))
    changed = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True))
    changes = {key: draw(_value(key)) for key in changed}
    return "\n".join(lines) + "\n", values, changes


@settings(max_examples=150, deadline=None)
@given(configs())
def test_any_edit_reads_back_with_the_new_values_and_keeps_the_rest(case):
    text, values, wanted = case
    out = edit_python_config(text, [change(key, value) for key, value in wanted.items()])
    assert read_python_config(out).values == {**values, **wanted}
    kept = [line for line in text.splitlines() if not any(line.startswith(k + " =") for k in wanted)]
    assert all(line in out.splitlines() for line in kept)
