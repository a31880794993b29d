"""PD502 plateau: the recent trend is flat within noise. Flat at the end of an annealed schedule
is convergence (info); flat while the LR is still high is a warning; any raised cause that
explains the flat curve absorbs it (kept with explained_by, no longer raised)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def flat(kit):
    return dict(val_curve=kit.plateau(1.5, tau=300), train_curve=kit.plateau(1.52, tau=300))


def test_a_flat_val_at_the_end_of_an_annealed_schedule_is_convergence_not_a_warning(kit, flat):
    report = diagnose(kit.log(**flat))
    f = kit.one(report, "PD502")
    assert (f.category, f.severity) == ("plateau", "info")
    assert f.title.startswith("Converged")
    assert abs(f.evidence["slope_per_1k"]) < 2 * f.evidence["slope_stderr_per_1k"]
    assert f.evidence["window"] == "3500-5000"


def test_plateau_is_folded_into_a_raised_cause(kit, flat):
    # the same flat curve on a tiny model: capacity explains it
    tiny = {"n_layer": 1, "n_head": 1, "n_embd": 32, "dropout": 0.0}
    report = diagnose(kit.log(tiny, **flat))
    assert "capacity_limited" in kit.raised_categories(report)
    f = kit.one(report, "PD502")
    assert not f.raised and f.explained_by == ["PD203"]


def test_a_plateau_judged_mid_schedule_is_folded_into_the_schedule_finding(kit, flat):
    report = diagnose(kit.log(**flat, last_iter=3000))
    assert "lr_schedule" in kit.raised_categories(report)
    assert all(not f.raised for f in kit.by_code(report, "PD502"))


def _trainer_state(tmp_path, lrs):
    """An HF trainer_state.json whose eval loss falls over the first quarter, then stays flat,
    with the given LR per logged step."""
    history = []
    for i, lr in enumerate(lrs, start=1):
        fall = 0.5 * max(0, 5 - i)
        history.append(
            {"step": i * 100, "loss": 2.0 + fall + 0.01 * (i % 2), "learning_rate": lr, "epoch": i / 50}
        )
        history.append({"step": i * 100, "eval_loss": 2.1 + fall + 0.004 * (i % 3), "epoch": i / 50})
    path = tmp_path / "trainer_state.json"
    path.write_text(
        json.dumps({"global_step": len(lrs) * 100, "max_steps": 10 * len(lrs) * 100, "log_history": history})
    )
    return path


def test_a_flat_loss_at_a_constant_logged_lr_is_a_plateau_warning(tmp_path):
    report = diagnose(str(_trainer_state(tmp_path, [3e-4] * 20)))
    f = [f for f in report.findings if f.code == "PD502"][0]
    assert f.severity == "warning" and "at a constant LR" in f.message


def test_plateau_not_reported_while_val_still_falls(kit):
    path = kit.log(val_curve=kit.power_law(4.2, 1.0, alpha=0.7))
    assert kit.by_code(diagnose(path), "PD502") == []


def test_plateau_not_reported_when_val_rises(kit):
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08), train_curve=kit.power_law(4.2, 0.6, scale=500)
    )
    assert kit.by_code(diagnose(path), "PD502") == []


def test_a_trend_from_two_evals_uses_the_noise_the_batches_predict(kit, flat):
    # evals at 0, 2,000 and 4,000 only: eval_iters=200 and the per-batch spread give each eval's
    # error, so the two after step 0 already give a slope with an honest standard error
    report = diagnose(kit.log({"eval_interval": 2000}, last_iter=4000, **flat))
    assert not kit.skipped(report, "PD502")


def test_plateau_not_judged_with_a_single_eval_and_no_iteration_losses(tmp_path):
    path = tmp_path / "one.log"
    path.write_text("step 0: train loss 4.2000, val loss 4.2100\n")
    report = diagnose(str(path))
    assert not [f for f in report.findings if f.code == "PD502"]
    assert any(n.startswith("PD502 not checked") for n in report.notes)


def test_a_run_from_scratch_flat_from_its_first_steps_is_stuck(tmp_path):
    # a Lightning-style CSV of train losses: down from 10.8 to 7.6 in the first 50 steps, then
    # flat for 10,000 steps with a learning model's noise: it stopped learning
    rows = ["step,train_loss"] + [f"{s},{10.8 - 0.064 * s:.4f}" for s in range(0, 50, 10)]
    rows += [f"{s},{7.6 + 0.05 * ((s * 7919) % 11 - 5) / 5:.4f}" for s in range(50, 10001, 50)]
    path = tmp_path / "metrics.csv"
    path.write_text("\n".join(rows) + "\n")
    f = [f for f in diagnose(str(path)).findings if f.code == "PD502"][0]
    assert f.severity == "warning" and f.title.startswith("Stuck")


def test_a_fine_tune_flat_over_extra_epochs_says_what_they_bought(tmp_path):
    history = [
        {
            "step": s,
            "loss": max(0.55, 1.7 - s / 100) + 0.02 * ((s * 31) % 5 - 2) / 2,
            "learning_rate": 1e-4 * (1 - s / 1000),
            "epoch": s / 200,
        }
        for s in range(10, 1001, 10)
    ]
    path = tmp_path / "trainer_state.json"
    path.write_text(
        json.dumps({"global_step": 1000, "max_steps": 1000, "epoch": 5.0, "log_history": history})
    )
    f = [f for f in diagnose(str(path)).findings if f.code == "PD502"][0]
    assert f.severity == "warning" and "epochs bought" in f.title


WILD = Path(__file__).resolve().parents[1] / "data" / "wild"


def test_a_train_plateau_that_val_contradicts_is_information_not_a_warning():
    # a finished MLX LoRA run: evals at iters 1, 200, 400, 500 (5.873, 1.864, 1.800, 1.767). The
    # eval before training is no part of a trend at the end, three evals with no noise estimate
    # give none, and train's flat last 30% is contradicted by val's 0.097 fall over it
    report = diagnose(str(WILD / "mlx_lm_ministral3b_lora_500iters_bs16.log"))
    [f] = [f for f in report.findings if f.code == "PD502"]
    assert f.severity == "info" and f.evidence["trend_rests_on"] == "train"
    assert f.evidence["val_change_meanwhile"] == pytest.approx(1.767 - 1.864)
    assert "too few evals for a trend of val" in f.message
    assert not [g for g in report.findings if g.raised]


def test_a_train_plateau_at_a_trainers_constant_lr_is_a_warning_whose_fix_is_an_anneal():
    # mlx-examples#216, Mistral-7B LoRA with the 2023 lora.py (a bare Adam: constant LR by
    # design): train flat around 1.16 from iter 370 to 500
    report = diagnose(str(WILD / "mlx_lm_issue216_mistral7b_lora_loss_stays_above_1_EXCERPT.log"))
    f = report.findings[0]
    assert (f.code, f.severity) == ("PD502", "warning") and f.evidence["trend_rests_on"] == "train"
    assert f.fixes[0].startswith("decay the LR")
