"""PD503 uniform prediction: a loss pinned at ln(k), a stuck classifier head or a language model
that predicts every token uniformly. A real LitGPT run frozen at 10.8259 = ln(50304) is the case;
a healthy run whose loss merely passes near some ln(k) is not."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from plateau_doctor import diagnose

FORMATS = Path(__file__).parents[1] / "data" / "formats"


def test_a_real_run_frozen_at_ln_vocab_is_an_error_naming_the_vocabulary():
    report = diagnose(str(FORMATS / "real_71_litgpt_issue689_loss_stuck_EXCERPT.log"))
    f = [f for f in report.findings if f.code == "PD503"][0]
    assert f.severity == "error" and report.findings[0] is f
    assert f.evidence["k"] == 50304
    assert "uniform guess" in f.message


def test_a_binary_head_stuck_at_ln_2_from_the_start_is_found(tmp_path):
    lines = [
        f"{{'loss': {math.log(2) + 0.0004 * ((s * 31) % 5 - 2) / 2:.4f}, 'learning_rate': 2e-05, "
        f"'epoch': {s / 500:.2f}}}"
        for s in range(10, 1001, 10)
    ]
    path = tmp_path / "hf.log"
    path.write_text("\n".join(lines) + "\n")
    f = [f for f in diagnose(str(path)).findings if f.code == "PD503"]
    assert f and f[0].evidence["k"] == 2


def test_a_learning_run_that_passes_near_ln_3_is_not_pinned(kit):
    # micro-batch losses around 1.0986 = ln(3), with a learning model's batch-to-batch spread
    report = diagnose(kit.log(val_curve=kit.plateau(1.0986, tau=300), iter_noise=0.05))
    assert not [f for f in report.findings if f.code == "PD503"]


def test_a_converged_fixed_val_set_repeating_one_number_is_not_pinned_without_iteration_losses(tmp_path):
    # llm.c main.log with only tel lines that settle on 2.0794 (= ln 8) at the end: most of the
    # run was elsewhere, so this is convergence, not a uniform guess
    vals = list(np.round(2.0794 + 8.9 * np.exp(-np.arange(20) / 3.0), 4)) + [2.0794] * 6
    path = tmp_path / "main.log"
    path.write_text("\n".join(f"s:{i * 250} tel:{v:.4f}" for i, v in enumerate(vals)) + "\n")
    assert not [f for f in diagnose(str(path)).findings if f.code == "PD503"]
