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
    assert f.evidence == {"last_iter": 3000, "max_iters": 5000, "fraction_done": 0.6, "excerpt": False}
    assert "(60%)" in f.title


def test_a_run_that_stopped_before_half_its_steps_without_a_reason_is_a_warning(kit, curves):
    report = diagnose(kit.log(**curves, last_iter=1000))
    f = kit.one(report, "PD104")
    assert f.severity == "warning"
    assert "nothing in the log says why" in f.message


def test_a_run_that_went_nan_and_stopped_early_is_explained_by_the_divergence(kit, curves):
    report = diagnose(kit.log(**curves, last_iter=1000, nan_from=900))
    f = kit.one(report, "PD104")
    assert not f.raised and f.explained_by == ["PD101"]


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


def _trainer_state(tmp_path, global_step, max_steps, stop=False, epoch=2.0):
    import json

    history = [
        {"step": s, "loss": 2.0 - s / 1000, "learning_rate": 1e-4, "epoch": s / 313}
        for s in range(100, 700, 100)
        if s <= global_step
    ]
    history.append({"step": min(global_step, 600), "eval_loss": 1.5, "epoch": 1.9})
    state = {
        "global_step": global_step,
        "max_steps": max_steps,
        "epoch": epoch,
        "log_history": history,
        "stateful_callbacks": {"TrainerControl": {"args": {"should_training_stop": stop}}},
    }
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps(state, indent=2))
    return str(path)


def test_a_trainer_state_that_reached_max_steps_past_its_last_logged_row_is_complete(tmp_path):
    # real: global_step = max_steps = 626, logging every 100 steps, so the last row is at 600
    from plateau_doctor import diagnose

    report = diagnose(_trainer_state(tmp_path, 626, 626))
    assert report.run.last_iter == 626
    assert not [f for f in report.findings if f.code == "PD104"]


def test_a_run_stopped_early_by_its_own_callback_is_not_called_incomplete(tmp_path):
    from plateau_doctor import diagnose

    report = diagnose(_trainer_state(tmp_path, 450, 1000, stop=True))
    assert not [f for f in report.findings if f.code == "PD104"]
    assert any("ended early by design" in note for note in report.notes)


def test_modded_nanogpt_stopping_at_its_wallclock_cap_is_not_called_incomplete(tmp_path):
    from plateau_doctor import diagnose

    lines = [
        f"step:{s}/20000 train_loss:{4.0 - s / 5000:.4f} train_time:{s * 200}ms step_avg:200.00ms"
        for s in range(0, 5833, 100)
    ]
    lines += [
        "step:5832/20000 val_loss:2.7938 val_bpb:1.2142 train_time:1200122ms step_avg:205.78ms",
        "stopping_early: wallclock_cap train_time:1200122ms step:5832/20000",
    ]
    path = tmp_path / "modded.log"
    path.write_text("\n".join(lines) + "\n")
    report = diagnose(str(path))
    assert report.format == "modded_nanogpt"
    assert not [f for f in report.findings if f.code == "PD104"]
