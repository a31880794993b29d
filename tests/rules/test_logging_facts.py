"""What the log's numbers are before what they say: a dataset size that cannot be right (PD604),
a train loss scaled by accumulation (PD605), a resume and its jump (PD606, never a spike or a
divergence), and a train loss memorised to near zero with no val to check it (PD204)."""

from __future__ import annotations

import json

from plateau_doctor import diagnose


def _codes(report, code):
    return [f for f in report.findings if f.code == code]


def test_a_dataset_smaller_than_one_iteration_is_a_config_warning(kit):
    report = diagnose(kit.log(val_curve=kit.power_law(4.2, 1.5)), dataset_tokens=4000)
    [f] = _codes(report, "PD604")
    assert f.severity == "warning" and "smaller than one iteration" in f.title


def test_a_dataset_size_the_logs_epoch_counter_contradicts_names_both(tmp_path):
    history = [
        {"step": s, "loss": 2.0 - s / 2000, "learning_rate": 1e-4, "epoch": s / 1000}
        for s in range(10, 1001, 10)
    ]
    path = tmp_path / "trainer_state.json"
    path.write_text(
        json.dumps({"global_step": 1000, "max_steps": 1000, "epoch": 1.0, "log_history": history})
    )
    report = diagnose(
        str(path),
        overrides={"gradient_accumulation_steps": 1, "batch_size": 8, "block_size": 512},
        dataset_tokens="400k",
    )
    found = [f for f in _codes(report, "PD604") if "log counts" in f.title]
    assert found and found[0].evidence["epochs_logged"] == 1.0


def _hf_stdout(tmp_path, factor):
    lines = []
    for step in range(50, 1001, 50):
        loss = 2.0 + 1.0 / (1 + step / 200)
        lines.append(
            f"{{'loss': {factor * loss:.4f}, 'learning_rate': 2e-05, 'epoch': {step / 1000:.2f}, 'step': {step}}}"
        )
        if step % 100 == 0:
            lines.append(f"{{'eval_loss': {loss + 0.02:.4f}, 'epoch': {step / 1000:.2f}, 'step': {step}}}")
    path = tmp_path / f"hf_{factor}.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_train_loss_eight_times_the_eval_is_a_scaled_loss_not_a_gap(tmp_path):
    report = diagnose(str(_hf_stdout(tmp_path, 8)), overrides={"gradient_accumulation_steps": 8})
    [f] = _codes(report, "PD605")
    assert f.evidence["k"] == 8 and "accumulation steps" in f.title and f.confidence >= 0.85


def test_an_ordinary_train_val_gap_is_not_a_scale(tmp_path):
    assert not _codes(diagnose(str(_hf_stdout(tmp_path, 1))), "PD605")


def _resumed_log(kit, jump):
    """A nanoGPT log that stops at 2000 and resumes there, the loss `jump` higher after it."""
    first = kit.log(val_curve=kit.power_law(4.2, 1.5), last_iter=2000, name="a.log").read_text()
    second = (
        kit.log(val_curve=kit.shifted(kit.power_law(4.2, 1.5), jump), name="b.log").read_text().splitlines()
    )
    resumed = [
        line
        for line in second
        if line.startswith(("iter", "step")) and int(line.split()[1].rstrip(":")) > 2000
    ]
    path = kit.tmp_path / f"resumed_{jump}.log"
    path.write_text(first + "Resuming training from out-test\n" + "\n".join(resumed) + "\n")
    return path


def test_a_resume_that_carries_on_is_a_fact(kit):
    report = diagnose(kit.log(val_curve=kit.power_law(4.2, 1.5)))
    assert not _codes(report, "PD606")
    [f] = _codes(diagnose(_resumed_log(kit, 0.0)), "PD606")
    assert f.severity == "info" and f.evidence["worst_step"] > 2000


def test_a_jump_at_the_resume_is_the_resumes_not_a_spike_or_a_divergence(kit):
    report = diagnose(_resumed_log(kit, 0.8))
    [f] = _codes(report, "PD606")
    assert f.severity == "warning" and f.evidence["jump"] > 0.5
    raised = {g.category for g in report.findings if g.raised}
    assert "loss_spikes" not in raised and "divergence" not in raised


def _no_val_state(tmp_path, first_loss):
    history = [
        {
            "step": s,
            "loss": max(0.0081, first_loss - s * first_loss / 600),
            "learning_rate": 1e-4,
            "epoch": s / 10,
        }
        for s in range(0, 1001, 10)
    ]
    path = tmp_path / "trainer_state.json"
    path.write_text(
        json.dumps({"global_step": 1000, "max_steps": 1000, "epoch": 100.0, "log_history": history})
    )
    return path


def test_a_language_models_train_loss_near_zero_after_many_epochs_without_val_is_memorised(tmp_path):
    # a first loss of 6 nats: next-token prediction, which no real text lets come near zero
    [f] = _codes(diagnose(str(_no_val_state(tmp_path, 6.0))), "PD204")
    assert f.severity == "warning" and f.category == "overfitting"


def test_a_classifiers_near_zero_train_loss_is_only_a_fact(tmp_path):
    # a first loss of 0.69 = ln 2: a binary classifier, which an easy task takes near zero honestly
    [f] = _codes(diagnose(str(_no_val_state(tmp_path, 0.69))), "PD204")
    assert f.severity == "info"


def test_a_fine_tunes_epoch_staircase_is_recognised_as_such(tmp_path):
    # 4 epochs of 250 steps: flat within each epoch, a step down at each boundary
    history = [
        {
            "step": s,
            "loss": 1.2 - 0.3 * (s // 250) + 0.01 * ((s * 7) % 3 - 1),
            "learning_rate": 1e-4,
            "epoch": s / 250,
        }
        for s in range(5, 1000, 5)
    ]
    path = tmp_path / "trainer_state.json"
    path.write_text(
        json.dumps({"global_step": 1000, "max_steps": 1000, "epoch": 4.0, "log_history": history})
    )
    report = diagnose(str(path))
    [f] = _codes(report, "PD205")
    assert f.evidence["boundaries"] == 3 and abs(f.evidence["mean_drop"] - 0.3) < 0.02
    assert not {g.category for g in report.findings if g.raised} & {"loss_spikes", "divergence"}
