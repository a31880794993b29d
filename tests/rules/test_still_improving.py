"""PD501 still improving: the recent val slope is below zero by more than two standard errors
(eval noise included) and the gain is meaningful. A warning only when the run stopped while the
LR was still high (training on would pay); on a run that finished its schedule, a fact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plateau_doctor import diagnose
from plateau_doctor.api import examine


@pytest.fixture
def falling(kit):
    # a power law still well above its floor of 1.0 at iteration 5000
    return dict(val_curve=kit.power_law(4.2, 1.0, alpha=0.7), train_curve=kit.power_law(4.2, 0.95, alpha=0.7))


def test_still_improving_is_only_info_on_a_run_that_finished_its_anneal(kit, falling):
    f = kit.one(diagnose(kit.log(**falling)), "PD501")
    assert (f.category, f.severity) == ("still_improving", "info")
    assert f.evidence["slope_per_1k"] < 0
    assert f.evidence["t_stat"] < -2
    assert f.fixes == [
        "--max_iters=10000 --lr_decay_iters=10000 (a longer schedule, if the gain is worth the compute)"
    ]


def test_still_improving_is_a_warning_when_the_run_stopped_with_the_lr_still_high(kit, falling):
    f = kit.one(diagnose(kit.log(**falling, last_iter=3000)), "PD501")
    assert f.severity == "warning"
    assert "x min_lr" in f.message
    assert f.fixes == ["let the run reach max_iters=5,000"]


def test_still_improving_rests_on_the_train_loss_when_the_log_has_no_evals(tmp_path):
    lines = [
        f"iter {i}: loss {3.0 * (1 + i / 200) ** -0.3 + 0.02 * ((i * 7919) % 13 - 6) / 6:.4f}, "
        f"time 100.00ms, mfu 10.00%"
        for i in range(0, 3001, 10)
    ]
    path = tmp_path / "train_only.log"
    path.write_text("\n".join(lines) + "\n")
    f = [f for f in diagnose(str(path)).findings if f.code == "PD501"]
    assert f and f[0].evidence["trend_rests_on"] == "train"
    assert "rests on the train loss" in f[0].message


def test_still_improving_silent_on_a_flat_curve(kit):
    path = kit.log(val_curve=kit.plateau(1.5, tau=300), train_curve=kit.plateau(1.45, tau=300))
    assert kit.by_code(diagnose(path), "PD501") == []


def test_still_improving_silent_when_the_gain_is_negligible(kit):
    # precise evals see a real slope, but 0.0015 over the window is 0.1% of the loss
    slow = lambda t: kit.plateau(1.5, tau=300)(t) - 0.001 * t / 1000.0  # noqa: E731
    path = kit.log(val_curve=slow, train_curve=slow, iter_noise=0.002, eval_noise=0.0001)
    result = examine(str(path))
    assert result.analyses.val_trend.verdict == "improving"
    assert kit.by_code(result.report, "PD501") == []
    assert not kit.skipped(result.report, "PD501")


def test_still_improving_projects_a_longer_run_when_the_lr_is_constant(kit, falling):
    report = diagnose(kit.log({"decay_lr": False}, **falling))
    f = kit.one(report, "PD501")
    # the true curve reaches 1.27 at 10,000 iterations
    assert f.evidence["forecast_at_2x"] == pytest.approx(1.27, abs=0.05)
    # a constant LR in pretraining is the schedule's finding, which explains the slow fall
    assert f.explained_by == ["PD303"] and not f.raised


def test_a_longer_cosine_schedule_is_forecast_with_the_schedule_aware_law(kit, falling):
    # a power law in steps would mistake the cosine tail for the model's limit; the law with LR
    # annealing fits the curve under its schedule and re-runs it stretched to twice the length
    f = kit.one(diagnose(kit.log(**falling)), "PD501")
    low, high = f.evidence["forecast_2x_interval"]
    assert low <= f.evidence["forecast_at_2x"] <= high
    assert f.evidence["forecast_gain_at_2x"] > 0
    assert "its decay stretched to match" in f.message


def test_still_improving_not_said_of_a_run_that_diverged(kit, falling):
    report = diagnose(kit.log(**falling, nan_from=3000))
    assert "still_improving" not in kit.raised_categories(report)


def test_a_finished_run_creeping_down_at_min_lr_raises_nothing(example_log):
    # the stock config stopped at 2000 with its schedule matched: val creeps down as it anneals
    report = diagnose(str(example_log("h200_shakespeare_char_healthy_2k.log")), dataset_tokens=1_003_854)
    f = [f for f in report.findings if f.code == "PD501"]
    assert f and not f[0].raised


def test_a_slow_fall_at_a_tiny_lr_is_the_lr_finding_not_a_separate_problem(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_lr_low_2e-5.log")), dataset_tokens=1_003_854)
    f = [f for f in report.findings if f.code == "PD501"][0]
    assert f.explained_by == ["PD302"] and not f.raised


def test_a_drop_that_starts_as_the_lr_anneals_is_informational(kit):
    # flat at 2.0 until 3500, then down to 1.9 as the cosine takes the LR from 2.9e-4 to 1e-4
    def val(t):
        t = np.asarray(t, float)
        return np.where(t < 3500, np.maximum(2.0, 4.2 - t * 0.003), 2.0 - (t - 3500) / 1500 * 0.1)

    report = diagnose(kit.log(val_curve=val, train_curve=kit.shifted(val, -0.05)))
    assert kit.one(report, "PD501").severity == "info"


def test_a_fall_the_fitted_law_says_is_nearly_done_says_what_a_longer_run_gains(kit):
    # 0.5% over the last stretch, and the tail's power law gains well under 1% from twice the steps
    def val(t):
        return 2.0 + 130.0 / (np.asarray(t, float) + 59.0)  # 4.2 at step 0, 2.026 at 5000

    report = diagnose(kit.log({"decay_lr": False}, val_curve=val, train_curve=kit.shifted(val, -0.05)))
    f = kit.one(report, "PD501")
    assert not f.raised and "twice as long" in f.message
    assert f.evidence["forecast_gain_at_2x"] < 0.01 * f.evidence["forecast_at_2x"]


def test_fixes_for_a_finished_hf_run_name_steps_not_nanogpt_flags(tmp_path):
    # a custom callback prints 'step'; 100 steps a window, a steady fall to the last of 4000 steps
    lines = [
        f"{{'loss': {3.0 - 0.0002 * s:.4f}, 'learning_rate': 1e-4, 'epoch': {s / 4000:.2f}, 'step': {s}}}"
        for s in range(100, 4001, 100)
    ]
    lines += [
        f"{{'eval_loss': {3.1 - 0.0002 * s:.4f}, 'epoch': {s / 4000:.2f}, 'step': {s}}}"
        for s in range(400, 4001, 400)
    ]
    lines.sort(key=lambda line: int(line.rsplit("'step': ", 1)[1].rstrip("}")))
    path = tmp_path / "hf.log"
    path.write_text("  0%|          | 0/4000 [00:00<?, ?it/s]\n" + "\n".join(lines) + "\n")
    report = diagnose(str(path))
    f = [f for f in report.findings if f.code == "PD501"]
    assert f and not any(fix.startswith("--") for fix in f[0].fixes)


def test_five_per_step_losses_give_no_trend_to_call_still_improving():
    # an HF excerpt of steps 1318-1322 (1.55, 1.35, 1.31, 1.07, 1.06): per-batch spread, not a
    # slope of 11 per 100 steps; fewer than 8 losses cannot separate the two
    report = diagnose(str(WILD / "hf_trainer_h2ogpt_pr86_literal_caret_M_tqdm_EXCERPT.log"))
    assert not [f for f in report.findings if f.code == "PD501"]
    assert any(n.startswith("PD501 not checked") for n in report.notes)


WILD = Path(__file__).resolve().parents[1] / "data" / "wild"


def test_a_run_from_scratch_that_ended_at_a_constant_lr_while_improving_is_a_warning():
    # Karpathy's gpt.py loop (evals every 100 steps, the last at 4,999 = max_iters - 1) trains
    # at a constant LR: val still fell 4.6% over its last 30%, and it never annealed
    report = diagnose(str(WILD / "nanogpt_tinystories_char_5000iters_still_improving_README.log"))
    f = report.findings[0]
    assert (f.code, f.severity) == ("PD501", "warning")
    assert "never annealed" in f.message and "decay the LR" in f.fixes[0]


def test_a_short_fine_tune_that_ended_at_a_constant_lr_is_the_recipe_not_a_warning(shared_log):
    # nanoGPT's fine-tune recipe: 20 iterations at a constant 3e-5 (decay_lr=False)
    report = diagnose(str(shared_log("real_17_nanogpt_finetune_gpt2large_gsm8k_mps_healthy.log")))
    [f] = [f for f in report.findings if f.code == "PD501"]
    assert f.severity == "info" and "usual recipe for a short fine-tune" in f.message
