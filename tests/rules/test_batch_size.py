"""PD609: tokens per iteration against DeepSeek LLM's near-optimal batch for the plan's compute."""

from __future__ import annotations

import pytest

from plateau_doctor import check
from plateau_doctor.domain.scale import non_embedding_flops_per_token, optimal_batch_tokens

SHAKESPEARE = {"dataset": "shakespeare_char"}


def test_a_tiny_batch_for_its_compute_is_flagged_with_an_accumulation_that_keeps_the_tokens(kit):
    config = {**SHAKESPEARE, "batch_size": 8, "max_iters": 3000, "lr_decay_iters": 3000}
    f = kit.one(check(str(kit.config_file(config))), "PD609")
    assert (f.category, f.severity) == ("config", "warning")
    # characters count a quarter of a BPE token in the compute and in the batch
    compute = non_embedding_flops_per_token(6, 384, 256) * 3000 * 2048 * 0.25
    assert f.evidence["ratio"] == pytest.approx(2048 * 0.25 / optimal_batch_tokens(compute), rel=1e-3)
    assert f.evidence["extrapolated"] is True  # ~1e14 FLOPs: below DeepSeek's fitted range
    assert "below the near-optimal" in f.title
    assert f.fixes[0].startswith("--gradient_accumulation_steps=22 --max_iters=136 --lr_decay_iters=136")


def test_nanogpts_stock_batches_are_in_range(kit):
    assert kit.by_code(check(str(kit.config_file(SHAKESPEARE))), "PD609") == []


def test_a_huge_batch_for_few_tokens_is_flagged_above(kit):
    config = {**SHAKESPEARE, "gradient_accumulation_steps": 256, "max_iters": 20, "lr_decay_iters": 20}
    f = kit.one(check(str(kit.config_file({**config, "warmup_iters": 2}))), "PD609")
    assert "above the near-optimal" in f.title


def test_a_fine_tune_is_not_judged(kit):
    report = check(
        str(kit.config_file({"init_from": "gpt2", "batch_size": 1, "gradient_accumulation_steps": 1}))
    )
    assert any(n.startswith("PD609") and "fine-tune" in n for n in report.notes)


def test_a_model_without_layers_is_not_judged(kit):
    report = check(str(kit.config_file({**SHAKESPEARE, "n_layer": 0})))
    assert kit.by_code(report, "PD609") == []
