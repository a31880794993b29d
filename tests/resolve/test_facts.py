"""Run facts match what the logs say (checked by hand against NANOGPT_FORMAT.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plateau_doctor import diagnose
from plateau_doctor.read import InputError
from plateau_doctor.resolve.facts import train_bin_tokens
from plateau_doctor.resolve.files import ConfigError

LOGS = Path(__file__).resolve().parents[2] / "examples" / "logs"


def test_stock_shakespeare_char_facts():
    run = diagnose(str(LOGS / "h200_shakespeare_char_overfit_default.log")).run
    assert run.tokens_per_iter == 16_384
    assert run.n_params == 10_646_784 and run.n_params_printed == 10_650_000
    assert run.last_iter == run.max_iters == 5000
    assert run.tokens_seen == 81_920_000
    assert run.dataset_tokens == 1_003_854 and run.epochs == pytest.approx(81.6, abs=0.05)
    assert run.lr_at_last_iter == pytest.approx(1e-4)
    assert (run.best_val_loss, run.best_val_step) == (1.4647, 1750)
    assert (run.last_val_loss, run.last_train_loss) == (1.7036, 0.6160)


def test_ddp_log_counts_tokens_once_and_sees_two_ranks():
    run = diagnose(str(LOGS / "h200_pycode_ddp2.log"), dataset_tokens="90091518").run
    assert run.tokens_per_iter == 32_768
    assert run.epochs == pytest.approx(3000 * 32_768 / 90_091_518, rel=1e-3)


def test_dataset_tokens_accepts_suffixes():
    run = diagnose(str(LOGS / "h200_pycode_healthy.log"), dataset_tokens="90.1M").run
    assert run.dataset_tokens == 90_100_000


def test_data_dir_reads_train_bin_size_only(tmp_path):
    (tmp_path / "train.bin").write_bytes(b"\0" * 2000)
    (tmp_path / "meta.pkl").write_bytes(b"not a pickle, and never unpickled")
    assert train_bin_tokens(str(tmp_path)) == 1000
    run = diagnose(str(LOGS / "h200_pycode_healthy.log"), data_dir=str(tmp_path)).run
    assert run.dataset_tokens == 1000


def test_data_dir_symlink_outside_is_refused(tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"\0" * 10)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.bin").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside --data-dir"):
        train_bin_tokens(str(data))


def test_headerless_log_reports_no_config_based_facts(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "".join(
            f"step {s}: train loss {4 - s / 1000:.4f}, val loss {4.01 - s / 1000:.4f}\n"
            for s in range(0, 2000, 100)
        )
    )
    report = diagnose(str(log))
    assert report.run.tokens_per_iter is None and report.run.n_params is None
    assert any("no config" in note for note in report.notes)


def test_missing_log_is_an_input_error():
    with pytest.raises(InputError, match="no such file"):
        diagnose("does/not/exist.log")


def _iters(tmp_path, losses, steps=None):
    steps = steps or list(range(len(losses)))
    path = tmp_path / "iters.log"
    path.write_text(
        "".join(
            f"iter {s}: loss {loss:.4f}, time 10.00ms, mfu 5.00%\n"
            for s, loss in zip(steps, losses, strict=False)
        )
    )
    return str(path)


def test_last_train_loss_of_a_short_log_is_its_end_not_a_median_reaching_back_to_the_start(tmp_path):
    # a real fp32 LoRA run that explodes: 19 logged iterations, the last at 31.0
    losses = [
        3.2,
        3.1,
        3.0,
        2.9,
        2.9,
        2.8,
        3.0,
        3.5,
        4.2,
        5.0,
        6.1,
        7.7,
        9.9,
        12.0,
        15.2,
        19.8,
        23.4,
        27.0,
        31.0,
    ]
    report = diagnose(_iters(tmp_path, losses))
    assert report.run.last_train_loss == 31.0


def test_last_train_loss_of_an_elided_log_uses_only_its_last_stretch(tmp_path):
    steps = list(range(15)) + [498, 499]
    losses = [10.4 - 0.1 * s for s in range(15)] + [3.76, 3.75]
    report = diagnose(_iters(tmp_path, losses, steps))
    assert report.run.last_train_loss == pytest.approx(3.755)


def test_last_train_loss_is_the_median_of_the_last_twenty_of_a_long_run(tmp_path):
    losses = [2.0 + (0.5 if s % 2 else 0.0) for s in range(5000)]
    report = diagnose(_iters(tmp_path, losses))
    assert report.run.last_train_loss == pytest.approx(2.25)
    assert report.run.sources["last_train_loss"] == "median of the last 20 iteration losses"


def test_a_stock_dataset_name_with_another_vocabulary_is_not_given_the_stock_size(tmp_path):
    # a real run kept the directory name shakespeare_char for a transcript with 66 characters
    stock = LOGS / "h200_shakespeare_char_overfit_default.log"
    other = tmp_path / "other_text.log"
    other.write_text(stock.read_text().replace("found vocab_size = 65", "found vocab_size = 66"))
    assert diagnose(str(stock)).run.dataset_tokens == 1_003_854
    report = diagnose(str(other))
    assert report.run.dataset_tokens is None and report.run.epochs is None
    assert any("vocabulary has 66 tokens, not the stock 65" in note for note in report.notes)


def test_a_printed_parameter_count_the_config_disagrees_with_is_the_one_used(tmp_path):
    # the log printed the model it built (10.65M); a config describing a 12-layer one is another model
    report = diagnose(str(LOGS / "h200_shakespeare_char_overfit_default.log"), overrides={"n_layer": 12})
    assert report.run.n_params == 10_650_000
    assert report.run.sources["n_params"].startswith("log (the config's shape gives")
    assert [f for f in report.findings if f.code == "PD602"]


def test_a_shakespeare_char_run_whose_header_was_cut_gets_the_stock_vocabulary(tmp_path):
    # no `found vocab_size` line survived the paste: the stock dataset's 65 characters, not 50304
    stock = (LOGS / "h200_shakespeare_char_overfit_default.log").read_text()
    cut = tmp_path / "cut.log"
    cut.write_text("\n".join(line for line in stock.splitlines() if "vocab_size" not in line) + "\n")
    config = (
        Path(__file__).resolve().parents[2]
        / "examples"
        / "configs"
        / "h200_shakespeare_char_overfit_default.py"
    )
    report = diagnose(str(cut), str(config))
    assert report.run.vocab_size == 65
    assert report.run.n_params == 10_646_784
