"""PD105: a plan in float16 with gradient clipping off."""

from __future__ import annotations

import pytest

from plateau_doctor import check

SHAKESPEARE = {"dataset": "shakespeare_char"}


def test_float16_without_clipping_is_a_warning_with_both_fixes(kit):
    f = kit.one(check(str(kit.config_file({**SHAKESPEARE, "dtype": "float16", "grad_clip": 0.0}))), "PD105")
    assert (f.category, f.severity) == ("divergence", "warning")
    assert f.evidence == {"dtype": "float16", "grad_clip": 0.0}
    # --grad_clip=1.0, not 1: nanoGPT's configurator asserts the value keeps the default's type
    assert f.fixes == ["--grad_clip=1.0", "--dtype=bfloat16 on a GPU that supports it"]


@pytest.mark.parametrize(("dtype", "clip"), [("float16", 1.0), ("bfloat16", 0.0), ("float32", 0.0)])
def test_clipping_or_another_precision_is_quiet(kit, dtype, clip):
    report = check(str(kit.config_file({**SHAKESPEARE, "dtype": dtype, "grad_clip": clip})))
    assert kit.by_code(report, "PD105") == []
