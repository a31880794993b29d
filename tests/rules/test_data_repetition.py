"""PD202 data repetition: tokens seen / training-split tokens = epochs; beyond ~4 repeated data
buys less and less (Muennighoff et al. 2023)."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose
from plateau_doctor.rules import RuleSettings


@pytest.fixture
def run(kit):
    # 5000 iterations x 16,384 tokens = 81,920,000 tokens seen
    return kit.log(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_data_repetition_warning_beyond_four_epochs(kit, run):
    report = diagnose(run, dataset_tokens="8M")  # 10.2 epochs
    f = kit.one(report, "PD202")
    assert (f.category, f.severity) == ("data_repetition", "warning")
    assert f.evidence["epochs"] == pytest.approx(81_920_000 / 8e6, rel=1e-3)
    assert f.evidence["tokens_seen"] == 81_920_000


def test_data_repetition_error_at_tens_of_epochs(kit, run):
    f = kit.one(diagnose(run, dataset_tokens=1_003_854), "PD202")  # 81.6 epochs
    assert f.severity == "error"
    assert f.evidence["epochs"] == pytest.approx(81.6, abs=0.05)


def test_data_repetition_quiet_within_four_epochs(kit, run):
    report = diagnose(run, dataset_tokens="30M")  # 2.7 epochs
    assert kit.by_code(report, "PD202") == []
    assert report.run.epochs == pytest.approx(2.73, abs=0.01)


def test_data_repetition_not_checked_when_the_dataset_size_is_unknown(kit, run):
    report = diagnose(run)
    assert report.run.epochs is None
    assert kit.by_code(report, "PD202") == []
    assert kit.skipped(report, "PD202")


def test_data_repetition_reads_the_stock_size_of_a_named_nanogpt_dataset(kit):
    path = kit.log({"dataset": "shakespeare_char"}, val_curve=kit.power_law(4.2, 1.40))
    f = kit.one(diagnose(path), "PD202")
    assert f.evidence["dataset_tokens"] == 1_003_854


def test_data_repetition_reads_train_bin_from_data_dir(kit, run, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "train.bin", "wb") as fh:  # uint16 tokens: 2 bytes each
        fh.truncate(2 * 2_000_000)
    f = kit.one(diagnose(run, data_dir=str(data)), "PD202")
    assert f.evidence["dataset_tokens"] == 2_000_000
    assert f.evidence["epochs"] == pytest.approx(40.96, abs=0.01)


def test_data_repetition_suggests_cutting_the_run_only_when_it_keeps_a_fair_share(kit):
    stalled = kit.log(val_curve=kit.plateau(1.5, tau=300), train_curve=kit.plateau(1.45, tau=300))
    # 10 epochs with val flat: 4 epochs is 40% of the run, a sensible max_iters
    f = kit.one(diagnose(stalled, dataset_tokens="8M"), "PD202")
    assert any(fix.startswith("--max_iters=1953 ") for fix in f.fixes)
    # 81.6 epochs: 4 epochs would be 5% of the run; only "more data" is offered
    f = kit.one(diagnose(stalled, dataset_tokens=1_003_854), "PD202")
    assert not any("--max_iters" in fix for fix in f.fixes)
    assert any("more training data" in fix for fix in f.fixes)


def test_data_repetition_does_not_suggest_stopping_a_run_that_still_improves(kit, run):
    # past 4 epochs repetition gives diminishing returns, not harm: no cut while val falls
    f = kit.one(diagnose(run, dataset_tokens="8M"), "PD202")
    assert not any("--max_iters" in fix for fix in f.fixes)


def test_data_repetition_warn_threshold_can_be_raised(kit, run):
    settings = RuleSettings(thresholds={"PD202": {"warn_epochs": 20.0}})
    assert kit.by_code(diagnose(run, dataset_tokens="8M", settings=settings), "PD202") == []


@pytest.mark.parametrize(
    "name", ["h200_shakespeare_char_healthy_2k.log", "h200_shakespeare_char_overfit_default.log"]
)
def test_data_repetition_raised_on_labelled_shakespeare_runs(example_log, name):
    report = diagnose(str(example_log(name)), dataset_tokens=1_003_854)
    assert "data_repetition" in {f.category for f in report.findings if f.raised}


@pytest.mark.parametrize(
    "name", ["h200_pycode_healthy.log", "h200_pycode_ddp2.log", "h200_pycode_lr_high.log"]
)
def test_data_repetition_not_raised_below_one_epoch_of_the_python_corpus(example_log, name):
    report = diagnose(str(example_log(name)), dataset_tokens=90_091_518)
    assert report.run.epochs < 1.5
    assert "data_repetition" not in {f.category for f in report.findings if f.raised}


def test_the_epochs_an_hf_fine_tune_counts_are_judged_by_fine_tuning_practice(shared_log):
    # the 'normal' DeBERTa run: 12 epochs by its own 'epoch' field, a fine-tune (first loss far
    # below any fresh LM's): 2-5 epochs is the norm there, and "more data to stay within the
    # 4 epochs of pretraining" is not the advice
    from plateau_doctor import diagnose

    report = diagnose(str(shared_log("real_50_hf_trainer_deberta_xxl_normal.log")))
    assert report.run.mode == "finetune"
    f = [f for f in report.findings if f.code == "PD202"][0]
    assert f.severity == "info" and f.evidence["epochs"] == pytest.approx(11.95, abs=0.01)
    assert report.run.sources["epochs"] == "the log's epoch counter"
    assert "epochs over the training data" in f.title
    assert not any("more training data" in fix for fix in f.fixes)


def test_repetition_without_any_val_does_not_claim_train_equals_val(tmp_path):
    import json

    from plateau_doctor import diagnose

    history = [
        {"step": s, "loss": max(0.0081, 0.474 - s / 2000), "learning_rate": 1e-4, "epoch": s / 10}
        for s in range(10, 1001, 10)
    ]
    path = tmp_path / "trainer_state.json"
    path.write_text(
        json.dumps({"global_step": 1000, "max_steps": 1000, "epoch": 100.0, "log_history": history})
    )
    f = [f for f in diagnose(str(path)).findings if f.code == "PD202"][0]
    assert "no val loss" in f.message and "train ~= val" not in f.message
