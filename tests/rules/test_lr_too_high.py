"""PD301 learning rate too high: a peak LR several times the GPT-3-table reference for the model's
size AND a symptom the LR explains (stuck high with train ~= val, spikes, divergence)."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose

HIGH = {"learning_rate": 1e-2, "min_lr": 1e-3, "warmup_iters": 0, "max_iters": 2000, "lr_decay_iters": 2000}


def test_lr_too_high_error_when_the_loss_sticks_high_with_train_equal_to_val(kit):
    # 1e-2 with no warmup on the 10.65M char model: stuck at 2.53 where 1e-3 reaches ~1.46
    path = kit.log(
        HIGH, val_curve=kit.plateau(2.53, tau=60), train_curve=kit.plateau(2.52, tau=60), iter_noise=0.06
    )
    report = diagnose(path)
    f = kit.one(report, "PD301")
    assert (f.category, f.severity) == ("lr_too_high", "error")
    assert f.evidence["ratio_to_reference"] == pytest.approx(5.0, rel=0.01)  # 1e-2 / 2e-3
    assert f.evidence["stuck_at_fraction_of_initial_loss"] > 0.4
    assert f.evidence["no_warmup"] is True
    assert "--learning_rate=2.00e-3 --min_lr=2.00e-4" in f.fixes
    assert any(fix.startswith("--warmup_iters=") for fix in f.fixes)
    assert kit.top_raised(report, 1) == ["lr_too_high"]


def test_lr_too_high_says_nanogpts_own_1e3_is_usual_for_the_char_model(kit):
    path = kit.log(val_curve=kit.power_law(4.2, 1.45), train_curve=kit.power_law(4.2, 1.2))
    [f] = kit.by_code(diagnose(path), "PD301")
    assert f.severity == "info" and f.ruled_out and f.title.startswith("Not a learning rate too high")


def test_lr_too_high_only_info_when_the_loss_shows_no_symptom(kit):
    # 5x the reference, but with warmup the loss falls to where 1e-3 gets: nothing to explain
    path = kit.log(
        {**HIGH, "warmup_iters": 100},
        val_curve=kit.power_law(4.2, 1.45, scale=200),
        train_curve=kit.power_law(4.2, 1.2, scale=200),
    )
    report = diagnose(path)
    f = kit.one(report, "PD301")
    assert f.severity == "info"
    assert "lr_too_high" not in kit.raised_categories(report)


def test_lr_too_high_error_with_repeated_spikes(kit):
    spikes = {600: 3.0, 900: 3.1, 1300: 3.0, 1700: 2.9}
    path = kit.log(
        {**HIGH, "warmup_iters": 100},
        val_curve=kit.power_law(4.2, 1.45, scale=200),
        train_curve=kit.power_law(4.2, 1.2, scale=200),
        spikes=spikes,
    )
    f = kit.one(diagnose(path), "PD301")
    assert f.severity == "error"
    assert f.evidence["spikes"] >= 3


def test_lr_too_high_does_not_call_a_capacity_bound_loss_stuck(kit):
    # a tiny model flat at 2.26 with thousands of tokens per parameter: the size explains the
    # level, so "stuck" is not a symptom and tokens_per_param is counter-evidence
    tiny = {**HIGH, "n_layer": 1, "n_head": 1, "n_embd": 32, "learning_rate": 2e-2, "warmup_iters": 100}
    path = kit.log(tiny, val_curve=kit.plateau(2.26, tau=60), train_curve=kit.plateau(2.25, tau=60))
    report = diagnose(path)
    f = kit.one(report, "PD301")
    assert "stuck_at_fraction_of_initial_loss" not in f.evidence
    assert f.counter_evidence["tokens_per_param"] >= 100
    assert not f.raised


def test_lr_too_high_stuck_symptom_not_applied_to_a_resumed_run(kit):
    # resumed at 1.60, ends at 1.47: where this model gets at 1e-3; nothing is stuck
    path = kit.log(
        {"learning_rate": 8e-3, "min_lr": 8e-4},
        init_from="resume",
        val_curve=kit.power_law(1.6, 1.45, 1000),
        train_curve=kit.power_law(1.6, 1.40, 1000),
    )
    f = kit.one(diagnose(path), "PD301")
    assert "stuck_at_fraction_of_initial_loss" not in f.evidence
    assert f.severity != "error"


@pytest.mark.parametrize(
    "name, tokens",
    [
        ("h200_shakespeare_char_lr_high_1e-2.log", 1_003_854),
        ("h200_pycode_lr_high.log", 90_091_518),
    ],
)
def test_lr_too_high_is_the_top_finding_on_labelled_high_lr_runs(example_log, name, tokens):
    report = diagnose(str(example_log(name)), dataset_tokens=tokens)
    top = report.findings[0]
    assert (top.category, top.severity) == ("lr_too_high", "error")


@pytest.mark.parametrize(
    "name, tokens",
    [
        ("h200_shakespeare_char_healthy_2k.log", 1_003_854),
        ("h200_shakespeare_char_lr_low_2e-5.log", 1_003_854),
        ("h200_shakespeare_char_tiny_model.log", 1_003_854),
        ("h200_shakespeare_char_noisy_eval.log", 1_003_854),
        ("h200_pycode_healthy.log", 90_091_518),
    ],
)
def test_lr_too_high_not_raised_on_labelled_runs_at_sane_lrs(example_log, name, tokens):
    report = diagnose(str(example_log(name)), dataset_tokens=tokens)
    assert "lr_too_high" not in {f.category for f in report.findings if f.raised}


def test_lr_too_high_among_the_top_two_on_the_lr_doubling_fork(shared_log):
    # real_04: the LR doubles every ~1000 steps, train and val rise together
    report = diagnose(str(shared_log("real_04_nanogpt_gpt2_124M_linesearch_lr_escalates.log")))
    top = [f.category for f in report.findings if f.raised][:2]
    assert {"lr_too_high", "loss_spikes", "divergence"} & set(top)


@pytest.mark.parametrize(
    "name",
    ["real_02_nanogpt_tinystories50M_healthy_ansi.log", "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log"],
)
def test_lr_too_high_not_raised_on_real_healthy_runs(shared_log, name):
    report = diagnose(str(shared_log(name)))
    assert "lr_too_high" not in {f.category for f in report.findings if f.raised}


def test_an_lr_above_the_usual_range_is_not_ruled_out_in_a_run_that_went_unstable(kit):
    # 1.5x the reference is short of ratio_warn, but with repeated spikes it cannot be cleared
    spikes = {600: 3.0, 900: 3.1, 1300: 3.0, 1700: 2.9}
    curves = dict(
        val_curve=kit.power_law(4.2, 1.45, scale=200), train_curve=kit.power_law(4.2, 1.2, scale=200)
    )
    reference = kit.one(diagnose(kit.log(HIGH, **curves)), "PD301").evidence["reference_lr"]
    lr = 1.5 * reference
    settings = {**HIGH, "learning_rate": lr, "min_lr": lr / 10, "warmup_iters": 100}
    f = kit.one(diagnose(kit.log(settings, **curves, spikes=spikes)), "PD301")
    assert not f.ruled_out and f.severity == "info"
    assert f.evidence["ratio_to_reference"] == pytest.approx(1.5) and f.evidence["spikes"] >= 3
    assert "went unstable" in f.title
    # the same LR in a calm run is cleared
    calm = kit.one(diagnose(kit.log(settings, **curves)), "PD301")
    assert calm.ruled_out


def test_an_mlx_lora_run_is_judged_against_the_lora_range_not_full_fine_tuning():
    # mlx-examples#620: LoRA at 7e-5 (saved adapter weights) explodes at iteration 75. 7e-5 is
    # 1.4x the top of full fine-tuning's range but a quarter of LoRA's: the LR is no suspect
    from pathlib import Path

    wild = Path(__file__).resolve().parents[1] / "data" / "wild"
    report = diagnose(str(wild / "mlx_lm_issue620_lora_loss_explodes_iter75_EXCERPT.log"))
    assert not [f for f in report.findings if f.code == "PD301"]
    assert report.findings[0].category == "divergence"


def test_an_lr_at_the_top_of_the_usual_range_is_not_ruled_out_in_a_diverged_fine_tune(shared_log):
    # DeBERTa-XXL at 4.92e-5 (0.98x the top of full fine-tuning's range) explodes at step 18: the
    # report must not clear the LR while its first fix is to lower it
    report = diagnose(str(shared_log("real_51_hf_trainer_deberta_xxl_abnormal_diverged.log")))
    [f] = [f for f in report.findings if f.code == "PD301"]
    assert not f.ruled_out and f.severity == "info" and "went unstable" in f.title
    assert report.findings[0].category == "divergence"
