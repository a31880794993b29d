"""PD203 capacity-limited: far more tokens per parameter than Chinchilla's ~20, a flattening
val curve and train ~= val (the model is not memorising)."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose

TINY = {"n_layer": 1, "n_head": 1, "n_embd": 32, "dropout": 0.0}  # 14,464 parameters
SMALL = {"n_layer": 2, "n_head": 2, "n_embd": 96, "dropout": 0.0}  # ~0.23M parameters


def small_bpe_plateau(kit):
    """A ~0.23M-parameter model on a 2,000-token BPE vocabulary, flat at 2.0 with train ~= val."""
    return kit.log(
        SMALL,
        vocab_size=2000,
        val_curve=kit.plateau(2.0, start=7.6, tau=200),
        train_curve=kit.plateau(1.99, start=7.6, tau=200),
    )


def test_capacity_limited_error_for_a_tiny_model_flat_with_train_equal_to_val(kit):
    path = kit.log(TINY, val_curve=kit.plateau(2.26, tau=200), train_curve=kit.plateau(2.25, tau=200))
    report = diagnose(path)
    f = kit.one(report, "PD203")
    assert (f.category, f.severity) == ("capacity_limited", "error")
    assert f.evidence["tokens_per_param"] == pytest.approx(81_920_000 / 14_464, rel=1e-3)
    assert f.evidence["chinchilla_optimal_tokens_per_param"] == 20
    # 8x the block parameters towards the compute-optimal size, heads of 64 where the width allows
    assert any(fix.startswith("--n_layer=2 --n_embd=64 --n_head=1") for fix in f.fixes)
    assert kit.top_raised(report, 1) == ["capacity_limited"]


def test_capacity_limited_warning_between_100_and_1000_tokens_per_parameter(kit):
    # a small BPE vocabulary, so tokens count at face value
    path = kit.log(
        SMALL,
        vocab_size=2000,
        val_curve=kit.plateau(2.0, start=7.6, tau=200),
        train_curve=kit.plateau(1.99, start=7.6, tau=200),
    )  # ln(2000) = 7.6 at init
    f = kit.one(diagnose(path), "PD203")
    assert 100 <= f.evidence["tokens_per_param"] < 1000
    assert f.severity == "warning"


def test_capacity_counts_character_tokens_as_a_quarter_of_a_bpe_token(kit):
    # the same ~360 tokens per parameter is ~90 BPE-equivalent at a 65-character vocabulary
    curves = dict(val_curve=kit.plateau(2.0, tau=200), train_curve=kit.plateau(1.99, tau=200))
    chars = diagnose(kit.log(SMALL, name="chars.log", **curves))
    assert 300 < chars.run.tokens_per_param < 400
    assert kit.by_code(chars, "PD203") == []
    tiny = kit.one(diagnose(kit.log(TINY, name="tiny.log", **curves)), "PD203")
    assert tiny.evidence["bpe_equivalent_tokens_per_param"] == pytest.approx(
        tiny.evidence["tokens_per_param"] / 4
    )


def test_capacity_limited_not_raised_when_val_is_clearly_above_train(kit):
    # a gap of 0.26: the model memorises, so it is not short of capacity
    path = kit.log(TINY, val_curve=kit.plateau(2.26, tau=200), train_curve=kit.plateau(2.0, tau=200))
    report = diagnose(path)
    assert kit.by_code(report, "PD203") == []
    assert kit.skipped(report, "PD203")


def test_capacity_limited_not_raised_while_val_still_falls_quickly(kit):
    path = kit.log(TINY, val_curve=kit.linear(3.0, -0.2), train_curve=kit.linear(3.0, -0.2))
    report = diagnose(path)
    assert kit.by_code(report, "PD203") == []


def test_capacity_limited_not_raised_below_100_tokens_per_parameter(kit):
    # the stock 10.65M model at 7.7 tokens per parameter, flat: something else is going on
    path = kit.log(val_curve=kit.plateau(1.5, tau=200), train_curve=kit.plateau(1.49, tau=200))
    report = diagnose(path)
    assert report.run.tokens_per_param < 100
    assert kit.by_code(report, "PD203") == []


def test_capacity_limited_reports_chinchilla_terms_with_the_model_term_dominating(kit):
    # a BPE vocabulary: Chinchilla's law (fitted on a 32k BPE tokenizer) is quoted as a rough reference
    path = small_bpe_plateau(kit)
    f = kit.one(diagnose(path), "PD203")
    assert f.evidence["chinchilla_model_term"] > f.evidence["chinchilla_data_term"]
    assert "roughly comparable" in f.message


def test_capacity_limited_quotes_no_chinchilla_loss_for_a_character_vocabulary(kit):
    path = kit.log(TINY, val_curve=kit.plateau(2.26, tau=200), train_curve=kit.plateau(2.25, tau=200))
    f = kit.one(diagnose(path), "PD203")
    assert "chinchilla_loss" not in f.evidence and "L(N, D)" not in f.message


def test_capacity_limited_is_the_top_finding_on_the_tiny_model_run(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_tiny_model.log")), dataset_tokens=1_003_854)
    assert [f.category for f in report.findings if f.raised][:2][0] == "capacity_limited"


@pytest.mark.parametrize(
    "name, tokens",
    [
        ("h200_shakespeare_char_healthy_2k.log", 1_003_854),
        ("h200_shakespeare_char_overfit_default.log", 1_003_854),
        ("h200_shakespeare_char_lr_high_1e-2.log", 1_003_854),
        ("h200_pycode_healthy.log", 90_091_518),
        ("h200_pycode_lr_high.log", 90_091_518),
    ],
)
def test_capacity_limited_not_raised_on_labelled_runs_with_a_big_enough_model(example_log, name, tokens):
    report = diagnose(str(example_log(name)), dataset_tokens=tokens)
    assert "capacity_limited" not in {f.category for f in report.findings if f.raised}


def test_a_bigger_model_is_offered_with_the_batch_that_keeps_it_on_the_runs_gpu():
    # the seed case trained a 40M model at batch 16 on a 12 GB card; its 4x-wider successor
    # needs more than that model did, so the fix splits the batch to keep the tokens per iteration
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    report = diagnose(str(root / "examples/logs/seed_fineweb_4070.log"), dataset_tokens="1B")
    [f] = [f for f in report.findings if f.code == "PD203"]
    [bigger] = [fix for fix in f.fixes if fix.startswith("--n_embd=768")]
    assert "--batch_size=8 --gradient_accumulation_steps=64" in bigger
    assert "GiB" in bigger


def test_the_bigger_model_fix_carries_chinchillas_expected_effect_where_the_law_fits_the_run():
    # the seed case: 40.6M parameters, 7.6B tokens; L(N, D) ~3.45 against val 3.58 (4% apart)
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    report = diagnose(str(root / "examples/logs/seed_fineweb_4070.log"), dataset_tokens="1B")
    [f] = [f for f in report.findings if f.code == "PD203"]
    [bigger] = [fix for fix in f.fixes if fix.startswith("--n_embd=768")]
    effect = float(bigger.split("expected effect ")[1].split()[0])
    assert -0.5 < effect < -0.1 and "(Chinchilla L(N, D), rough)" in bigger


def test_no_expected_effect_where_chinchillas_law_is_far_from_the_runs_loss(kit):
    # a 0.23M-parameter model: the law says ~8 nats where the run reached 2.0
    path = small_bpe_plateau(kit)
    f = kit.one(diagnose(path), "PD203")
    assert f.evidence["chinchilla_loss"] > 4 and not any("expected effect" in fix for fix in f.fixes)


def test_the_bigger_model_fix_promises_no_effect_for_a_character_vocabulary(kit):
    path = kit.log(TINY, val_curve=kit.plateau(2.26, tau=200), train_curve=kit.plateau(2.25, tau=200))
    assert not any("expected effect" in fix for fix in kit.one(diagnose(path), "PD203").fixes)
