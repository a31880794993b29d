"""PD104 incomplete run: the log ends before max_iters (still running, crashed or stopped)."""
from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def curves(kit):
    return dict(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_incomplete_run_is_info_with_the_fraction_done(kit, curves):
    report = diagnose(kit.log(**curves, last_iter=3000))
    f = kit.one(report, "PD104")
    assert (f.category, f.severity) == ("incomplete_run", "info")
    assert f.evidence == {"last_iter": 3000, "max_iters": 5000, "fraction_done": 0.6}
    assert "(60%)" in f.title


def test_a_finished_run_is_not_incomplete(kit, curves):
    assert kit.by_code(diagnose(kit.log(**curves)), "PD104") == []


def test_max_iters_from_an_overriding_line(kit, curves):
    # `Overriding: max_iters = 2000` is what ran, not the echoed file's 5000
    report = diagnose(kit.log(overrides={"max_iters": 2000, "lr_decay_iters": 2000}, **curves))
    assert report.run.max_iters == 2000
    assert kit.by_code(report, "PD104") == []


def test_incomplete_run_not_judged_without_max_iters(kit, curves):
    report = diagnose(kit.log(header=False, last_iter=3000, **curves))
    assert kit.by_code(report, "PD104") == []
    assert kit.skipped(report, "PD104")


def test_incomplete_run_severity_can_be_raised_to_warning(kit, curves):
    from plateau_doctor.rules import RuleSettings
    settings = RuleSettings(severities={"PD104": "warning"})
    f = kit.one(diagnose(kit.log(**curves, last_iter=3000), settings=settings), "PD104")
    assert f.severity == "warning"


def test_labelled_full_runs_are_complete(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_overfit_default.log")))
    assert report.run.last_iter == report.run.max_iters == 5000
    assert not [f for f in report.findings if f.code == "PD104"]
