"""PD401 eval noise: one eval's error (per-batch sigma / sqrt(eval_iters), or the scatter of val
around its trend) against the change the trend makes between evals. The judgement about
eval_iters is made from the data, not guessed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plateau_doctor import diagnose


def test_eval_noise_raised_with_two_batches_per_eval(kit):
    path = kit.log(
        {"eval_iters": 2, "batch_size": 8},
        iter_noise=0.1,
        val_curve=kit.power_law(4.2, 1.6),
        train_curve=kit.power_law(4.2, 1.55),
    )
    report = diagnose(path)
    f = kit.one(report, "PD401")
    assert f.category == "eval_noise" and f.raised
    sigma = f.evidence["per_batch_sigma"]
    # ~250 tail points give the robust sigma a ~8% standard error
    assert sigma == pytest.approx(0.1, rel=0.25)
    assert f.evidence["eval_se_from_batches"] == pytest.approx(sigma / math.sqrt(2), rel=1e-3)
    # enough batches for a 0.005 standard error: (sigma / 0.005)^2
    assert f.evidence["eval_iters_needed"] == math.ceil((sigma / 0.005) ** 2)
    assert f.fixes == [f"--eval_iters={f.evidence['eval_iters_needed']} (now 2)"]
    assert kit.top_raised(report, 1) == ["eval_noise"]


def test_eval_noise_info_not_warning_with_200_batches_per_eval(kit):
    path = kit.log(
        {"eval_iters": 200},
        iter_noise=0.1,
        val_curve=kit.power_law(4.2, 1.6),
        train_curve=kit.power_law(4.2, 1.55),
    )
    report = diagnose(path)
    f = kit.one(report, "PD401")
    assert f.severity == "info"
    assert f.evidence["per_batch_sigma"] == pytest.approx(0.1, rel=0.25)
    assert f.evidence["eval_se_from_batches"] == pytest.approx(
        f.evidence["per_batch_sigma"] / math.sqrt(200), rel=1e-3
    )
    assert "eval_noise" not in kit.raised_categories(report)


def test_eval_noise_severity_grows_with_the_noise(kit):
    curves = dict(val_curve=kit.power_law(4.2, 1.6), train_curve=kit.power_law(4.2, 1.55))
    mild = kit.one(diagnose(kit.log({"eval_iters": 20}, iter_noise=0.1, name="a.log", **curves)), "PD401")
    heavy = kit.one(diagnose(kit.log({"eval_iters": 2}, iter_noise=0.1, name="b.log", **curves)), "PD401")
    assert mild.evidence["eval_noise"] < 0.03 <= heavy.evidence["eval_noise"]
    # at eval_iters=20 the window's trend is still resolved: upticks between evals are noise,
    # which is worth saying (info) but not a problem
    assert (mild.severity, heavy.severity) == ("info", "warning")  # noisy evals break no run


def test_eval_noise_not_blamed_for_an_exploding_loss(kit):
    # noisy evals (eval_iters=2), but the big val jump is the loss exploding, not the estimate
    def jump(curve, at, level):
        return lambda t: np.where(np.asarray(t, float) < at, curve(t), level)

    path = kit.log(
        {"eval_iters": 2},
        iter_noise=0.1,
        val_curve=jump(kit.power_law(4.2, 1.4), 3000, 3.3),
        train_curve=jump(kit.power_law(4.2, 1.1), 3000, 3.3),
    )
    report = diagnose(path)
    assert "eval_noise" not in kit.raised_categories(report)
    assert "divergence" in kit.raised_categories(report)


def test_eval_noise_not_blamed_when_train_and_val_jump_together(kit):
    # the model itself moves between evals (both splits share the jump): more eval_iters would
    # not steady it. No header, so the noise comes from the scatter of val.
    rng = np.random.default_rng(7)
    shared = dict(zip(range(0, 5001, 250), rng.normal(0, 0.04, 21), strict=False))

    def wobbly(curve):
        return lambda t: (
            curve(t) + np.array([shared[int(s)] if int(s) in shared else 0.0 for s in np.atleast_1d(t)])
        )

    path = kit.log(
        header=False,
        val_curve=wobbly(kit.power_law(4.2, 1.6)),
        train_curve=wobbly(kit.power_law(4.2, 1.55)),
        iter_noise=0.1,
    )
    report = diagnose(path)
    assert "eval_noise" not in kit.raised_categories(report)


def test_eval_noise_from_the_val_scatter_when_eval_iters_is_unknown(kit):
    # header-less log: eval_iters unknown, so the noise is the scatter of val around its trend
    # (101 evals, so the scatter rests on ~50 second differences)
    path = kit.log(
        {"eval_iters": 2, "eval_interval": 50},
        header=False,
        iter_noise=0.1,
        eval_ms=20,
        val_curve=kit.power_law(4.2, 1.6),
        train_curve=kit.power_law(4.2, 1.55),
    )
    f = kit.one(diagnose(path), "PD401")
    assert f.evidence.get("eval_se_from_batches") is None
    assert f.evidence["val_scatter"] == pytest.approx(0.1 / math.sqrt(2), rel=0.3)
    assert f.raised
    assert f.confidence < 0.8


def test_eval_noise_not_raised_just_because_evals_are_frequent(kit):
    config = {"eval_iters": 12, "max_iters": 10000, "lr_decay_iters": 10000}
    curves = dict(
        val_curve=kit.power_law(4.2, 1.2, alpha=0.7), train_curve=kit.power_law(4.2, 1.15, alpha=0.7)
    )
    sparse = diagnose(kit.log({**config, "eval_interval": 500}, eval_ms=10, name="sparse.log", **curves))
    dense = diagnose(kit.log({**config, "eval_interval": 50}, eval_ms=10, name="dense.log", **curves))
    assert "eval_noise" not in kit.raised_categories(sparse)
    assert kit.one(dense, "PD501").evidence["t_stat"] < -5
    assert "eval_noise" not in kit.raised_categories(dense)


def test_eval_noise_is_the_top_finding_on_the_labelled_noisy_eval_run(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_noisy_eval.log")), dataset_tokens=1_003_854)
    assert report.findings[0].category == "eval_noise"
    assert report.findings[0].raised


def test_eval_noise_not_raised_on_the_labelled_healthy_run(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_healthy_2k.log")), dataset_tokens=1_003_854)
    f = [f for f in report.findings if f.code == "PD401"]
    assert f and f[0].severity == "info"
    assert f[0].evidence["eval_iters"] == 200


def test_eval_noise_or_plateau_leads_on_the_real_noisy_finetune(shared_log):
    report = diagnose(str(shared_log("real_12_nanogpt_gpt2_finetune_chat_adamw_noisyval.log")))
    top = [f.category for f in report.findings if f.raised][:2]
    assert {"eval_noise", "plateau"} & set(top)
    assert "divergence" not in {f.category for f in report.findings if f.raised}


def test_a_memorised_train_set_does_not_set_the_noise_of_val(kit):
    # Train memorised (loss 0.04, batches nearly identical): sigma/sqrt(eval_iters) would call val
    # precise to 1e-4 while val scatters by ~0.02. The noise must come from val itself.
    from plateau_doctor.api import examine

    path = kit.log(
        val_curve=kit.linear(1.0, 0.05),
        train_curve=lambda t: np.full(len(np.atleast_1d(t)), 0.04),
        iter_curve=lambda t: np.full(len(np.atleast_1d(t)), 0.04),
        iter_noise=0.001,
        eval_noise=0.02,
    )
    ex = examine(str(path))
    assert ex.analyses.train_memorised
    assert ex.analyses.eval_se_predicted is None and ex.analyses.eval_noise > 0.005
    assert any("does not describe val batches" in note for note in ex.report.notes)
