"""PD404: the eval error a plan's eval_iters will give, with the per-batch sigma assumed from
real logs (character/byte and BPE vocabularies apart)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plateau_doctor import check

SHAKESPEARE = {"dataset": "shakespeare_char"}
HF_FIXTURES = Path(__file__).resolve().parents[1] / "resolve" / "fixtures"


def test_two_eval_batches_of_eight_windows_are_too_few(kit):
    report = check(str(kit.config_file({**SHAKESPEARE, "eval_iters": 2, "batch_size": 8})))
    f = kit.one(report, "PD404")
    assert (f.category, f.severity) == ("eval_noise", "warning")
    # 1.9 (the character-level sigma x sqrt(tokens) of the real runs) / sqrt(2 x 8 x 256)
    assert f.evidence["eval_standard_error"] == pytest.approx(1.9 / math.sqrt(2 * 8 * 256), rel=1e-3)
    assert f.evidence["eval_iters_for_target"] == math.ceil((1.9 / 0.005) ** 2 / (8 * 256))
    assert f.fixes[0].startswith(f"--eval_iters={f.evidence['eval_iters_for_target']} ")
    assert "assumed 1.9" in f.message


def test_nanogpts_stock_eval_iters_are_enough(kit):
    assert kit.by_code(check(str(kit.config_file(SHAKESPEARE))), "PD404") == []


def test_a_bpe_vocabulary_assumes_the_larger_bpe_sigma(kit):
    # vocab 50304 (train.py's default): 10 / sqrt(20 x 8 x 256) = 0.049
    f = kit.one(check(str(kit.config_file({"eval_iters": 20, "batch_size": 8}))), "PD404")
    assert f.evidence["assumed_sigma_x_sqrt_tokens"] == 10.0


def test_a_fixed_val_set_is_not_judged():
    report = check(str(HF_FIXTURES / "hf_warmup_longer_than_run.json"))
    assert any(n.startswith("PD404") and "fixed val set" in n for n in report.notes)
