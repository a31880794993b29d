"""Run facts match what the logs say (checked by hand against NANOGPT_FORMAT.md)."""
from __future__ import annotations

from pathlib import Path

import pytest

from plateau_doctor import diagnose
from plateau_doctor.read import InputError
from plateau_doctor.resolve.files import ConfigError
from plateau_doctor.resolve.facts import train_bin_tokens

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
    log.write_text("".join(f"step {s}: train loss {4 - s / 1000:.4f}, val loss {4.01 - s / 1000:.4f}\n"
                           for s in range(0, 2000, 100)))
    report = diagnose(str(log))
    assert report.run.tokens_per_iter is None and report.run.n_params is None
    assert any("no config" in note for note in report.notes)


def test_missing_log_is_an_input_error():
    with pytest.raises(InputError, match="no such file"):
        diagnose("does/not/exist.log")
