"""PD302 learning rate too low: a peak LR far below the reference for the model's size (a
hundredth of it for fine-tunes from pretrained weights) while val is still falling."""

from __future__ import annotations

import numpy as np
import pytest

from plateau_doctor import diagnose

# GPT-2 124M from scratch, nanoGPT's config/train_gpt2.py on one GPU
GPT2_SCRATCH = {
    "dataset": "openwebtext_sample",
    "batch_size": 12,
    "block_size": 1024,
    "gradient_accumulation_steps": 40,
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "dropout": 0.0,
    "learning_rate": 6e-4,
    "min_lr": 6e-5,
    "warmup_iters": 2000,
    "max_iters": 600000,
    "lr_decay_iters": 600000,
    "beta2": 0.95,
    "eval_iters": 200,
}
# nanoGPT's config/finetune_shakespeare.py shape, from gpt2 (124M)
FINETUNE = {
    "init_from": "gpt2",
    "dataset": "shakespeare",
    "batch_size": 1,
    "block_size": 1024,
    "gradient_accumulation_steps": 32,
    "learning_rate": 3e-5,
    "decay_lr": False,
    "max_iters": 200,
    "eval_interval": 10,
    "eval_iters": 40,
    "log_interval": 1,
    "warmup_iters": 0,
    "dropout": 0.0,
    "always_save_checkpoint": False,
}


def test_lr_too_low_error_far_below_the_reference_while_val_still_falls(kit):
    path = kit.log(
        {"learning_rate": 2e-5, "min_lr": 2e-6},
        val_curve=kit.linear(3.2, -0.2),
        train_curve=kit.linear(3.2, -0.2),
    )
    report = diagnose(path)
    f = kit.one(report, "PD302")
    assert (f.category, f.severity) == ("lr_too_low", "error")
    assert f.evidence["ratio_to_reference"] == pytest.approx(0.01, rel=0.01)  # 2e-5 / 2e-3
    assert f.evidence["trend"] == "improving" and f.evidence["trend_rests_on"] == "val"
    assert "--learning_rate=2.00e-3 --min_lr=2.00e-4" in f.fixes
    assert kit.top_raised(report, 1) == ["lr_too_low"]


def test_lr_too_low_warning_at_a_twentieth_of_the_reference(kit):
    path = kit.log(
        {"learning_rate": 1e-4, "min_lr": 1e-5},
        val_curve=kit.linear(2.8, -0.2),
        train_curve=kit.linear(2.8, -0.2),
    )
    f = kit.one(diagnose(path), "PD302")
    assert f.severity == "warning"


def test_lr_too_low_only_info_when_val_is_not_falling(kit):
    path = kit.log(
        {"learning_rate": 2e-5, "min_lr": 2e-6}, val_curve=kit.plateau(2.5), train_curve=kit.plateau(2.49)
    )
    f = kit.one(diagnose(path), "PD302")
    assert f.severity == "info"
    assert f.confidence < 0.5


def test_lr_too_low_silent_at_nanogpts_own_1e3(kit):
    path = kit.log(val_curve=kit.linear(2.8, -0.2), train_curve=kit.linear(2.8, -0.2))
    assert kit.by_code(diagnose(path), "PD302") == []


def test_lr_too_low_does_not_fire_on_a_finetune_from_gpt2_at_3e5(kit):
    path = kit.log(
        FINETUNE,
        init_from="gpt2",
        vocab_size=None,
        iter_noise=0.3,
        eval_ms=300,
        val_curve=kit.power_law(3.9, 3.2, 50),
        train_curve=kit.power_law(3.9, 3.0, 50),
    )
    report = diagnose(path)
    assert report.run.n_params == 123_653_376  # pretrained gpt2, bias=True, vocab 50257
    assert kit.by_code(report, "PD302") == []


def test_lr_too_low_still_fires_on_a_finetune_at_a_thousandth_of_the_reference(kit):
    path = kit.log(
        {**FINETUNE, "learning_rate": 3e-7},
        init_from="gpt2",
        vocab_size=None,
        iter_noise=0.3,
        eval_ms=300,
        val_curve=kit.linear(3.9, -2.0),
        train_curve=kit.linear(3.9, -2.0),
    )
    f = kit.one(diagnose(path), "PD302")
    assert f.evidence["fine_tuning"] is True
    assert f.raised


def test_lr_too_low_not_raised_while_a_logged_lr_is_still_warming_up(kit):
    # GPT-2 124M at nanoGPT's 6e-4 with its 2000-iter warmup, watched at iter 150 by a fork that
    # prints the LR: the printed LR is 4.5e-5 because warmup has barely begun
    path = kit.log(
        {**GPT2_SCRATCH, "eval_interval": 25, "log_interval": 10},
        vocab_size=None,
        last_iter=150,
        print_lr=True,
        val_curve=kit.power_law(10.9, 6.0, 40),
        train_curve=kit.power_law(10.9, 6.0, 40),
        iter_noise=0.1,
    )
    report = diagnose(path)
    assert "lr_too_low" not in kit.raised_categories(report)


def test_lr_too_low_not_raised_on_a_typical_hf_trainer_finetune(tmp_path):
    rng = np.random.default_rng(0)
    lines = [
        "[INFO|trainer.py:2137] 2025-05-02 22:42:34,742 >>   Number of trainable parameters = 355,359,744"
    ]
    for k in range(1, 41):
        lr = 2e-5 * min(1.0, k / 4) * (1 - k / 45)
        loss = 1.2 + np.exp(-k / 15) + rng.normal(0, 0.01)
        lines.append(
            str(
                {
                    "loss": round(float(loss), 4),
                    "grad_norm": 3.1,
                    "learning_rate": lr,
                    "epoch": round(k * 0.075, 3),
                }
            )
        )
        if k % 4 == 0:
            val = 1.1 + np.exp(-k / 15) + rng.normal(0, 0.003)
            lines.append(
                str({"eval_loss": round(float(val), 4), "eval_runtime": 40.0, "epoch": round(k * 0.075, 3)})
            )
    path = tmp_path / "trainer.log"
    path.write_text("\n".join(lines) + "\n")
    report = diagnose(str(path))
    assert report.format == "hf_trainer"
    assert "lr_too_low" not in {f.category for f in report.findings if f.raised}


def test_lr_too_low_among_the_top_two_on_the_labelled_2e5_run(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_lr_low_2e-5.log")), dataset_tokens=1_003_854)
    top = [f.category for f in report.findings if f.raised][:2]
    assert {"lr_too_low", "still_improving"} & set(top)
    assert "lr_too_low" in {f.category for f in report.findings if f.raised}


@pytest.mark.parametrize(
    "name, tokens",
    [
        ("h200_shakespeare_char_healthy_2k.log", 1_003_854),
        ("h200_shakespeare_char_lr_high_1e-2.log", 1_003_854),
        ("h200_pycode_healthy.log", 90_091_518),
    ],
)
def test_lr_too_low_not_raised_on_labelled_runs_at_sane_or_high_lrs(example_log, name, tokens):
    report = diagnose(str(example_log(name)), dataset_tokens=tokens)
    assert "lr_too_low" not in {f.category for f in report.findings if f.raised}
