"""find_runs: every run under a directory of mixed runs, each with a path-like name that reads it
again; stores that cannot be read are listed with their problem, not dropped or fatal."""

from __future__ import annotations

import shutil

import pytest
import store_writers

import plateau_doctor.read as read_module
from plateau_doctor.api import parse
from plateau_doctor.read import InputError
from plateau_doctor.stores import discover, find_runs, is_store


@pytest.fixture
def sweep(tmp_path, tensorboardx_logdir, mlflow_db, mlruns_dir, trackio_db, wandb_run, hf_output_dir):
    root = tmp_path / "sweep"
    (root / "logs").mkdir(parents=True)
    shutil.copy(store_writers.OVERFIT_LOG, root / "logs" / "run1.log")
    (root / "logs" / "notes.txt").write_text("lr 6e-4 looked fine\n")  # not a log
    (root / "logs" / "requirements.txt").write_text("torch\nnumpy\n")
    shutil.copytree(tensorboardx_logdir, root / "tb" / "exp")
    hparams = root / "tb" / "exp" / "1700000000.123"  # add_hparams(): part of the run above
    shutil.copytree(tensorboardx_logdir, hparams)
    shutil.copy(mlflow_db, _dir(root / "mlflow") / "mlflow.db")
    shutil.copy(trackio_db, _dir(root / "trackio") / "shakespeare.db")
    shutil.copytree(wandb_run, root / "wandb" / wandb_run.name)
    shutil.copytree(hf_output_dir, root / "hf" / "out")
    shutil.copytree(
        tensorboardx_logdir, root / "hf" / "out" / "runs" / "Dec04_10-00-00_host"
    )  # HF's own TB run
    shutil.copytree(mlruns_dir, root / "old" / "mlruns")
    (_dir(root / "broken") / "mlflow.db").write_bytes(mlflow_db.read_bytes()[:50_000])  # a cut copy
    (_dir(root / "misc") / "Thumbs.db").write_bytes(b"\x00" * 100)  # not SQLite: not a store
    shutil.copy(store_writers.OVERFIT_LOG, _dir(root / ".git") / "hidden.log")
    return root


def _dir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_every_run_of_a_mixed_sweep_is_found_once_with_its_kind(sweep):
    found = [(run.name[len(str(sweep)) + 1 :], run.kind) for run in find_runs(str(sweep))]
    wandb_name = next((sweep / "wandb").iterdir()).name
    assert found == [
        ("broken/mlflow.db", "mlflow"),
        ("hf/out", "hf_trainer"),
        ("logs/run1.log", "log"),
        ("mlflow/mlflow.db/shakespeare/overfit", "mlflow"),
        ("mlflow/mlflow.db/shakespeare/overfit-again", "mlflow"),
        ("old/mlruns/shakespeare/overfit", "mlflow"),
        ("tb/exp", "tensorboard"),
        ("trackio/shakespeare.db/overfit", "trackio"),
        ("trackio/shakespeare.db/again", "trackio"),
        (f"wandb/{wandb_name}", "wandb"),
    ]


def test_each_name_reads_its_run_again_and_a_broken_store_says_why(sweep):
    for run in find_runs(str(sweep)):
        if run.problem:
            assert run.name.endswith("broken/mlflow.db")
            with pytest.raises(InputError, match="half-written"):
                run.open()
            with pytest.raises(InputError, match="half-written"):
                parse(run.name)
            continue
        opened = run.open()
        again = parse(run.name)
        assert len(opened.iter_table) == len(again.iter_table) > 0, run.name


def test_a_directory_of_several_runs_asks_for_one(sweep):
    with pytest.raises(InputError, match=r"holds 10 runs"):
        parse(str(sweep))


def test_an_empty_directory_says_no_run_was_found(tmp_path):
    with pytest.raises(InputError, match="is a directory with no run in it"):
        parse(str(tmp_path))


def test_classifying_a_large_log_reads_only_its_head(tmp_path, monkeypatch):
    big = tmp_path / "big.log"
    line = "iter {}: loss 2.5000, time 10.00ms, mfu 30.00%\n"
    big.write_text("".join(line.format(i) for i in range(200_000)))  # ~9 MB
    read = []
    real_open = read_module.open_binary

    class Counting:
        def __init__(self, handle):
            self.handle = handle

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def read(self, size=-1):
            data = self.handle.read(size)
            read.append(len(data))
            return data

        def readinto(self, buffer):
            n = self.handle.readinto(buffer)
            read.append(n or 0)
            return n

    monkeypatch.setattr(read_module, "open_binary", lambda path: Counting(real_open(path)))
    assert [run.kind for run in find_runs(str(tmp_path))] == ["log"]
    assert 0 < sum(read) <= 2 * discover.HEAD_BYTES < big.stat().st_size


def test_is_store_costs_a_plain_log_one_stat_and_says_no(tmp_path):
    log = tmp_path / "train.log"
    shutil.copy(store_writers.OVERFIT_LOG, log)
    assert not is_store(str(log)) and not is_store("-") and not is_store(str(tmp_path / "missing.log"))
    assert is_store(str(tmp_path)) and is_store(str(tmp_path / "mlflow.db"))
    assert is_store(str(log), "tensorboard")  # --log-format names a store: its reader decides


def test_every_real_log_is_classified_as_a_log_from_its_head_sample(tmp_path):
    from pathlib import Path

    shared = Path(store_writers.ROOT).parent / "shared" / "logs"
    logs = sorted(store_writers.EXAMPLES.glob("*.log")) + sorted(shared.glob("*.log"))
    for log in logs:
        shutil.copy(log, tmp_path / log.name)
    found = {Path(run.name).name for run in find_runs(str(tmp_path)) if run.kind == "log"}
    assert found == {log.name for log in logs}
