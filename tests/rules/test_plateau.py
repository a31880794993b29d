"""PD502 plateau: val flat within noise over the recent evals, and no cause-specific rule was
raised to explain it (it runs last)."""
from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def flat(kit):
    return dict(val_curve=kit.plateau(1.5, tau=300), train_curve=kit.plateau(1.52, tau=300))


def test_plateau_warning_when_val_is_flat_and_nothing_explains_it(kit, flat):
    report = diagnose(kit.log(**flat))
    f = kit.one(report, "PD502")
    assert (f.category, f.severity) == ("plateau", "warning")
    assert abs(f.evidence["val_slope_per_1k"]) < 2 * f.evidence["slope_stderr_per_1k"]
    assert f.evidence["window"] == "3500-5000"


def test_plateau_not_reported_when_a_cause_is_raised(kit, flat):
    # the same flat curve on a tiny model: capacity explains it
    tiny = {"n_layer": 1, "n_head": 1, "n_embd": 32, "dropout": 0.0}
    report = diagnose(kit.log(tiny, **flat))
    assert "capacity_limited" in kit.raised_categories(report)
    assert kit.by_code(report, "PD502") == []


def test_plateau_not_reported_when_judged_mid_schedule(kit, flat):
    report = diagnose(kit.log(**flat, last_iter=3000))
    assert "lr_schedule" in kit.raised_categories(report)
    assert kit.by_code(report, "PD502") == []


def test_plateau_not_reported_while_val_still_falls(kit):
    path = kit.log(val_curve=kit.power_law(4.2, 1.0, alpha=0.7))
    assert kit.by_code(diagnose(path), "PD502") == []


def test_plateau_not_reported_when_val_rises(kit):
    path = kit.log(val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08),
                   train_curve=kit.power_law(4.2, 0.6, scale=500))
    assert kit.by_code(diagnose(path), "PD502") == []


def test_plateau_not_judged_with_too_few_evals(kit, flat):
    report = diagnose(kit.log({"eval_interval": 2000}, **flat))   # evals at 0, 2000, 4000
    assert kit.by_code(report, "PD502") == []
    assert kit.skipped(report, "PD502")
