"""PD201 overfitting: val rises from its best (or stalls) while train keeps falling, beyond the
noise of one eval. Val at or below train is counter-evidence."""

from __future__ import annotations

import numpy as np
import pytest

from plateau_doctor import diagnose


def test_overfitting_raised_as_error_when_val_turns_up_while_train_keeps_falling(kit):
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08), train_curve=kit.power_law(4.2, 0.6, scale=500)
    )
    report = diagnose(path)
    f = kit.one(report, "PD201")
    assert (f.category, f.severity) == ("overfitting", "error")
    assert f.confidence >= 0.85
    assert f.evidence["best_val_step"] == 2000
    assert f.evidence["val_rise_since_best"] == pytest.approx(0.24, abs=0.03)
    assert f.evidence["train_at_best_step"] > f.evidence["last_train_loss"]
    # the fix stops the run where val was best, with the schedule annealed by then
    assert any("--max_iters=2000" in fix and "--lr_decay_iters=2000" in fix for fix in f.fixes)
    assert kit.top_raised(report, 1) == ["overfitting"]


def test_overfitting_points_at_the_best_eval_line(kit):
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08), train_curve=kit.power_law(4.2, 0.6, scale=500)
    )
    f = kit.one(diagnose(path), "PD201")
    assert path.read_text().splitlines()[f.line - 1].startswith("step 2000: ")


def test_overfitting_not_raised_when_val_at_or_below_train(kit):
    # train and val flatten together with val a little below train: the seed case's shape
    path = kit.log(val_curve=kit.plateau(1.50, tau=300), train_curve=kit.plateau(1.52, tau=300))
    report = diagnose(path)
    f = kit.one(report, "PD201")
    assert f.severity == "info"
    assert f.title.startswith("Not overfitting") and f.ruled_out
    assert f.counter_evidence["gap_last"] <= 0
    assert "overfitting" not in kit.raised_categories(report)


def test_overfitting_not_raised_when_train_rises_with_val(kit):
    # both curves turn up together: instability, not memorisation
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.2),
        train_curve=kit.u_shape(2000, 1.40, rise_per_1k=0.2),
    )
    report = diagnose(path)
    assert kit.by_code(report, "PD201") == []
    assert kit.skipped(report, "PD201")


def test_overfitting_not_raised_for_a_rise_within_eval_noise(kit):
    # val rises 0.06 after its best, train flat 0.3 below it; with eval_iters=4 one eval's error
    # is ~0.02, so 0.06 is within 2*sqrt(2) of it
    curves = dict(
        val_curve=kit.u_shape(3000, 1.47, rise_per_1k=0.03),
        train_curve=kit.shifted(kit.u_shape(3000, 1.47, rise_per_1k=0.0), -0.3),
    )
    report = diagnose(kit.log({"eval_iters": 4}, **curves))
    assert "overfitting" not in kit.raised_categories(report)


def test_overfitting_raised_for_the_same_rise_when_evals_are_precise(kit):
    # the same curves with eval_iters=200 (error ~0.003): now the rise is far beyond noise
    curves = dict(
        val_curve=kit.u_shape(3000, 1.47, rise_per_1k=0.03),
        train_curve=kit.shifted(kit.u_shape(3000, 1.47, rise_per_1k=0.0), -0.3),
    )
    report = diagnose(kit.log({"eval_iters": 200}, **curves))
    f = kit.one(report, "PD201")
    assert f.raised
    assert f.evidence["noise_threshold"] < f.evidence["val_rise_since_best"]


def test_overfitting_raised_when_val_rises_while_train_falls_even_with_val_below_train(kit):
    train = lambda t: kit.plateau(1.40, tau=300)(t) + 0.1 * (1 - np.asarray(t, float) / 5000)  # noqa: E731
    path = kit.log(val_curve=kit.u_shape(2500, 1.33, rise_per_1k=0.024), train_curve=train)
    report = diagnose(path)
    assert "overfitting" in kit.raised_categories(report)


@pytest.mark.parametrize("seed", [4, 10, 26])
def test_overfitting_not_raised_on_a_flat_run_with_many_evals(kit, seed):
    path = kit.log(
        {"eval_interval": 50},
        eval_ms=10,
        seed=seed,
        val_curve=kit.plateau(1.6, tau=200),
        train_curve=kit.plateau(1.5, tau=200),
    )
    assert "overfitting" not in kit.raised_categories(diagnose(path))


def test_val_rising_while_train_is_flat_is_not_called_overfitting(kit):
    # overfitting is val rising WHILE train keeps falling; a drift of val alone is something else
    path = kit.log(val_curve=kit.u_shape(2500, 1.47, rise_per_1k=0.08), train_curve=kit.plateau(1.2, tau=300))
    report = diagnose(path)
    assert "overfitting" not in kit.raised_categories(report)
    assert all("train fell" not in f.title for f in report.findings if f.code == "PD201")


def test_overfitting_warning_when_val_stalls_while_train_keeps_falling(kit):
    path = kit.log(val_curve=kit.plateau(1.50, tau=300), train_curve=kit.linear(1.45, -0.08))
    f = kit.one(diagnose(path), "PD201")
    assert (f.severity, f.category) == ("warning", "overfitting")
    assert "stalled" in f.title
    assert f.evidence["gap_last"] > f.evidence["gap_at_window_start"]


def test_overfitting_not_raised_on_a_healthy_run_still_falling(kit):
    path = kit.log(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))
    report = diagnose(path)
    assert "overfitting" not in kit.raised_categories(report)


def test_overfitting_cites_the_last_saved_checkpoint_when_saves_stop(kit):
    # always_save_checkpoint=False: nanoGPT saves only when val improves
    path = kit.log(
        {"always_save_checkpoint": False},
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08),
        train_curve=kit.power_law(4.2, 0.6, scale=500),
    )
    f = kit.one(diagnose(path), "PD201")
    assert 1750 <= f.evidence["last_checkpoint_saved_at"] <= 2250


def test_overfitting_mentions_epochs_and_more_data_when_the_data_repeats(kit):
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08), train_curve=kit.power_law(4.2, 0.6, scale=500)
    )
    f = kit.one(diagnose(path, dataset_tokens=kit.SHAKESPEARE_TOKENS), "PD201")
    assert f.evidence["epochs"] == pytest.approx(81.6, abs=0.1)
    assert any("more training data" in fix for fix in f.fixes)
    assert any(fix.startswith("--dropout=") for fix in f.fixes)


def test_overfitting_is_the_top_finding_on_the_stock_shakespeare_char_run(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_overfit_default.log")), dataset_tokens=1_003_854)
    top = report.findings[0]
    assert (top.category, top.severity) == ("overfitting", "error")
    assert 1500 <= top.evidence["best_val_step"] <= 2500


@pytest.mark.parametrize(
    "name",
    [
        "h200_shakespeare_char_healthy_2k.log",
        "h200_shakespeare_char_lr_high_1e-2.log",
        "h200_shakespeare_char_lr_low_2e-5.log",
        "h200_shakespeare_char_tiny_model.log",
        "h200_pycode_healthy.log",
        "h200_pycode_ddp2.log",
        "h200_pycode_lr_high.log",
    ],
)
def test_overfitting_not_raised_on_labelled_runs_that_do_not_overfit(example_log, name):
    report = diagnose(str(example_log(name)))
    assert "overfitting" not in {f.category for f in report.findings if f.raised}


@pytest.mark.parametrize(
    "name",
    [
        "real_02_nanogpt_tinystories50M_healthy_ansi.log",
        "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log",
        # train AND val rise together (LR doubling): instability, not overfitting
        "real_04_nanogpt_gpt2_124M_linesearch_lr_escalates.log",
        "real_17_nanogpt_finetune_gpt2large_gsm8k_mps_healthy.log",
        "real_30_modded_nanogpt_2024-10-10_Muon.log",
        "real_40_llmc_gpt2_124M_8xH100_main.log",
    ],
)
def test_overfitting_not_raised_on_real_runs_labelled_without_it(shared_log, name):
    report = diagnose(str(shared_log(name)))
    assert "overfitting" not in {f.category for f in report.findings if f.raised}


def test_a_sharp_minimum_is_reported_at_the_lowest_eval_not_the_smoothing_centre(kit):
    # Real shape (a LoRA fine-tune): val 0.95, 0.67, 0.83, 0.91, ... The smoothed minimum sits on
    # the eval after the lowest one; the report, and the step to stop at, must name the lowest.
    def train(t):
        t = np.asarray(t, float)
        return np.maximum(5.0 - t * 0.01, 0.04 + 0.05 * np.exp(-(t - 500) / 300))

    def val_with_v(t):
        t = np.asarray(t, float)
        return np.where(t == 500, 0.6678, np.where(t < 500, 5.0 - t * 0.0086, 0.83 + (t - 750) * 0.0002))

    path = kit.log(val_curve=val_with_v, train_curve=train, eval_noise=0.0)
    f = kit.one(diagnose(path), "PD201")
    assert f.evidence["best_val_step"] == 500 and f.evidence["best_val_loss"] == pytest.approx(
        0.6678, abs=1e-4
    )
    assert "--max_iters=500" in f.fixes[0]


def test_memorisation_is_raised_from_the_last_eval_when_there_are_too_few_evals(kit):
    # 3 evals: the best step cannot be found, but train 0.24 against val 3.1 needs no curve
    path = kit.log(
        {"eval_interval": 2000}, val_curve=kit.power_law(4.2, 3.1), train_curve=kit.power_law(4.2, 0.24)
    )
    f = kit.one(diagnose(path), "PD201")
    assert f.severity == "warning" and "memorised" in f.title
    assert f.evidence["evals"] == 3 and f.evidence["val_over_train"] > 5
    assert f.fixes[0].startswith("--eval_interval=400")


def test_a_modest_gap_with_too_few_evals_is_no_finding(kit):
    path = kit.log(
        {"eval_interval": 2000}, val_curve=kit.power_law(4.2, 1.6), train_curve=kit.power_law(4.2, 1.3)
    )
    report = diagnose(path)
    assert kit.by_code(report, "PD201") == [] and kit.skipped(report, "PD201")


def test_a_stalled_val_is_told_to_stop_at_its_best_step_not_the_last(kit):
    # val bottoms at 3000 and drifts up by less than the noise while train keeps falling
    def val(t):
        t = np.asarray(t, float)
        return np.where(
            t <= 3000, 4.2 - (4.2 - 1.49) * np.minimum(t, 3000) / 3000 + 0.0 * t, 1.49 + (t - 3000) * 0.000004
        )

    path = kit.log(val_curve=val, train_curve=kit.power_law(4.2, 0.9), eval_noise=0.0)
    fs = [f for f in diagnose(path).findings if f.code == "PD201"]
    assert fs and "stalled" in fs[0].title
    stop = fs[0].evidence["best_val_step"]
    assert f"--max_iters={stop} " in fs[0].fixes[0] and stop < 5000
    assert f"since its best at step {stop:,}" in fs[0].message
