"""PD607 reference curve: where a run stands against a known-good public run of its recipe at
matched tokens, in units of the seed spread; normal and ahead rule it out, behind beyond
behind_spreads is a warning unless a less-annealed schedule explains the lag."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from plateau_doctor import diagnose
from plateau_doctor.reference_runs import REFERENCES

SHAKESPEARE = next(r for r in REFERENCES if r.key == "nanogpt-shakespeare-char")
STOCK = {"dataset": "shakespeare_char"}  # the kit's default run is this recipe's shape
GPT2_FINEWEB = {
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "vocab_size": 50257,
    "block_size": 1024,
    "batch_size": 64,
    "gradient_accumulation_steps": 8,
    "dataset": "fineweb10B",
}


def reference_curve(offset: float):
    """The shakespeare_char reference's val (log-token interpolation) plus `offset`, by step;
    before its first point, a straight line from ln(65) at step 0 (a fresh model's loss)."""
    steps = np.array([p.step for p in SHAKESPEARE.points], float)
    losses = np.array([p.val_loss for p in SHAKESPEARE.points])

    def f(t):
        t = np.asarray(t, float)
        on_curve = np.interp(np.log(np.clip(t, steps[0], steps[-1])), np.log(steps), losses) + offset
        start = math.log(65) + (losses[0] + offset - math.log(65)) * t / steps[0]
        return np.where(t < steps[0], start, on_curve)

    return f


def shifted_log(src, dst, offset: float, from_step: int):
    """A copy of a real nanoGPT log whose train/val evals and iteration losses from `from_step`
    on are `offset` higher: the same run, doing uniformly worse."""
    out = []
    for line in src.read_text().splitlines():
        m = re.match(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)$", line)
        if m and int(m.group(1)) >= from_step:
            line = (
                f"step {m.group(1)}: train loss {float(m.group(2)) + offset:.4f}, "
                f"val loss {float(m.group(3)) + offset:.4f}"
            )
        m = re.match(r"iter (\d+): loss ([\d.]+)(,.*)$", line)
        if m and int(m.group(1)) >= from_step:
            line = f"iter {m.group(1)}: loss {float(m.group(2)) + offset:.4f}{m.group(3)}"
        out.append(line)
    dst.write_text("\n".join(out) + "\n")
    return dst


def test_the_stock_healthy_run_is_normal_for_its_recipe(kit, example_log):
    f = kit.one(diagnose(str(example_log("h200_shakespeare_char_healthy_2k.log"))), "PD607")
    assert (f.severity, f.ruled_out) == ("info", True)
    assert f.evidence["reference"] == "nanogpt-shakespeare-char" and f.evidence["step_compared"] == 2000
    assert abs(f.evidence["spreads"]) < 2
    assert "normal for the recipe" in f.message and "48227290387" in f.message  # its source


def test_the_stock_overfitting_run_is_normal_too_at_its_end(kit, example_log):
    # the recipe itself overfits: at 5,000 iterations the reference's val has risen to 1.71
    report = diagnose(str(example_log("h200_shakespeare_char_overfit_default.log")), dataset_tokens=1_003_854)
    f = kit.one(report, "PD607")
    assert f.ruled_out and f.evidence["step_compared"] == 5000 and abs(f.evidence["spreads"]) < 1
    assert report.findings[0].category == "overfitting"


def test_real_03_is_ahead_at_its_annealed_end_and_says_the_schedule_is_why(kit, shared_log):
    settings = {"max_iters": 10000, "lr_decay_iters": 10000, "warmup_iters": 100, "eval_interval": 100}
    report = diagnose(str(shared_log("real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log")), overrides=settings)
    f = kit.one(report, "PD607")
    assert f.ruled_out and f.severity == "info"
    assert f.evidence["reference"] == "nanogpt-gpt2-124m-owt"
    assert -6 < f.evidence["spreads"] < 0 and f.evidence["tokens_compared"] == 10000 * 491_520
    assert "earlier anneal" in f.message
    assert not kit.raised_codes(report)


def test_real_40_sits_on_its_own_reference(kit, shared_log):
    # real_40 is the public run the llm.c curve was read from: zero by construction
    f = kit.one(
        diagnose(str(shared_log("real_40_llmc_gpt2_124M_8xH100_main.log")), overrides=GPT2_FINEWEB), "PD607"
    )
    assert f.ruled_out and f.evidence["spreads"] == pytest.approx(0, abs=0.1)
    assert f.evidence["eval_kind"] == f.evidence["reference_eval_kind"] == "fixed"


def test_a_real_run_shifted_behind_its_recipe_is_a_warning(kit, example_log, tmp_path):
    path = shifted_log(
        example_log("h200_shakespeare_char_healthy_2k.log"),
        tmp_path / "behind.log",
        offset=0.1,
        from_step=250,
    )
    report = diagnose(str(path), dataset_tokens=1_003_854)
    f = kit.one(report, "PD607")
    assert f.raised and f.severity == "warning" and not f.ruled_out
    assert f.evidence["spreads"] > 3 and f.evidence["difference"] == pytest.approx(0.077, abs=0.01)
    assert f.category == "config" and "PD607" in kit.raised_codes(report)
    assert f.fixes  # what to compare with the recipe


def test_a_lag_under_behind_spreads_is_only_a_fact(kit):
    path = kit.log(
        STOCK,
        val_curve=reference_curve(0.04),
        train_curve=reference_curve(-0.3),
        eval_noise=0.0,
        last_iter=2000,
    )
    f = kit.one(diagnose(path), "PD607")
    assert f.severity == "info" and not f.ruled_out
    assert 2 < f.evidence["spreads"] < 3


def test_a_lag_beyond_the_spread_warns_on_the_recipes_own_schedule(kit):
    path = kit.log(
        STOCK,
        val_curve=reference_curve(0.06),
        train_curve=reference_curve(-0.3),
        eval_noise=0.0,
        last_iter=2000,
    )
    f = kit.one(diagnose(path), "PD607")
    assert f.severity == "warning" and f.evidence["spreads"] > 3


def test_the_same_lag_on_a_longer_schedule_is_the_anneal_still_ahead(kit):
    longer = {**STOCK, "max_iters": 20000, "lr_decay_iters": 20000}
    path = kit.log(
        longer,
        val_curve=reference_curve(0.06),
        train_curve=reference_curve(-0.3),
        eval_noise=0.0,
        last_iter=2000,
    )
    f = kit.one(diagnose(path), "PD607")
    assert f.severity == "info" and "anneal ahead" in f.message
    assert f.evidence["lr_fraction_of_peak"] > f.evidence["reference_lr_fraction_of_peak"] + 0.1


def test_a_run_far_behind_with_a_10x_lr_is_folded_into_the_lr_finding(kit, example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_lr_high_1e-2.log")), dataset_tokens=1_003_854)
    f = kit.one(report, "PD607")
    assert f.severity_as_found == "warning" and not f.raised and f.explained_by
    assert "1.00e-2 is 10x the recipe's 1.00e-3" in f.message
    assert "learning_rate 0.01 (recipe 0.001)" in f.evidence["settings_differing"]
    assert kit.top_raised(report, 1) == ["lr_too_high"]


def test_a_tiny_fine_tune_never_gets_a_comparison(kit):
    path = kit.log(
        {
            "init_from": "gpt2",
            "dataset": "openwebtext",
            "batch_size": 12,
            "block_size": 1024,
            "gradient_accumulation_steps": 40,
            "learning_rate": 3e-5,
            "decay_lr": False,
            "max_iters": 40,
            "eval_interval": 10,
            "warmup_iters": 0,
            "dropout": 0.0,
        },
        init_from="gpt2",
        vocab_size=None,
        val_curve=kit.power_law(3.3, 3.0, 20),
    )
    report = diagnose(path)
    assert report.run.mode == "finetune"
    assert kit.by_code(report, "PD607") == []
    assert any(n.startswith("PD607 not checked") and "fine-tune" in n for n in report.notes)


def test_evals_before_the_reference_begins_are_not_extrapolated(kit):
    path = kit.log(
        {**STOCK, "max_iters": 200, "lr_decay_iters": 200, "eval_interval": 100},
        val_curve=kit.power_law(4.2, 2.0, 50),
    )
    report = diagnose(path)
    assert kit.by_code(report, "PD607") == []
    assert any("outside the reference's points" in n for n in report.notes)


def test_the_spread_combines_seed_reference_and_eval_noise(kit, example_log):
    f = kit.one(diagnose(str(example_log("h200_shakespeare_char_healthy_2k.log"))), "PD607")
    e = f.evidence
    assert e["spread"] == pytest.approx(
        math.sqrt(e["seed_spread"] ** 2 + e["reference_uncertainty"] ** 2 + e["eval_noise"] ** 2), rel=1e-3
    )
    assert e["spreads"] == pytest.approx(e["difference"] / e["spread"], rel=1e-2)
