"""PD304 judged mid-schedule: the val curve flattens while the rebuilt cosine LR is still well
above min_lr, so the anneal that usually buys a further drop is still ahead."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def flat(kit):
    return dict(val_curve=kit.plateau(1.5, tau=300), train_curve=kit.plateau(1.45, tau=300))


def test_mid_schedule_warning_when_a_flat_run_is_judged_at_60_percent(kit, flat):
    report = diagnose(kit.log(last_iter=3000, **flat))
    f = kit.one(report, "PD304")
    assert (f.category, f.severity) == ("lr_schedule", "warning")
    assert f.title.startswith("Judged mid-schedule")
    # get_lr at 3000 of a 100..5000 cosine from 1e-3 to 1e-4
    assert f.evidence["lr_now"] == pytest.approx(4.22e-4, rel=0.01)
    assert f.evidence["lr_now_over_min"] == pytest.approx(4.22, rel=0.01)
    assert f.evidence["iters_to_min_lr"] == 2000
    assert any("lr_decay_iters=5,000" in fix for fix in f.fixes)
    assert report.run.lr_at_last_iter == pytest.approx(4.22e-4, rel=0.01)


def test_mid_schedule_silent_once_the_schedule_has_annealed(kit, flat):
    # the full 5000 iterations: LR is at min_lr, the plateau is what the run is
    assert kit.by_code(diagnose(kit.log(**flat)), "PD304") == []


def test_mid_schedule_silent_near_the_end_of_the_decay(kit, flat):
    # at 4800 of 5000 the LR is 1.04e-4, within 1.5x min_lr
    assert kit.by_code(diagnose(kit.log(last_iter=4800, **flat)), "PD304") == []


def test_mid_schedule_silent_while_val_still_falls_fast(kit):
    path = kit.log(last_iter=3000, val_curve=kit.linear(2.5, -0.25), train_curve=kit.linear(2.4, -0.25))
    assert kit.by_code(diagnose(path), "PD304") == []


def test_mid_schedule_leaves_a_run_that_ended_before_its_anneal_to_pd303(kit, flat):
    # max_iters=3000 with lr_decay_iters=5000: the run is over at 4.2x min_lr; that is a
    # misconfigured schedule (PD303), reported once, not a run judged too early
    report = diagnose(kit.log({"max_iters": 3000}, **flat))
    assert kit.by_code(report, "PD304") == []
    assert kit.one(report, "PD303").evidence["lr_at_max_iters"] == pytest.approx(4.22e-4, rel=0.01)


def test_mid_schedule_not_judged_without_a_config(kit, flat):
    report = diagnose(kit.log(header=False, last_iter=3000, **flat))
    assert kit.by_code(report, "PD304") == []
    assert kit.skipped(report, "PD304")


def test_mid_schedule_silent_with_a_constant_lr(kit, flat):
    assert kit.by_code(diagnose(kit.log({"decay_lr": False}, last_iter=3000, **flat)), "PD304") == []


def test_mid_schedule_raised_when_the_cosine_decays_to_zero(kit, flat):
    f = kit.one(diagnose(kit.log({"min_lr": 0.0}, last_iter=3000, **flat)), "PD304")
    assert f.raised
