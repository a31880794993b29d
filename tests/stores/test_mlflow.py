"""MLflow stores written by the mlflow client: mlflow.db (SQLite, read-only) and mlruns/."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
from conftest import need

from plateau_doctor.api import diagnose, parse
from plateau_doctor.read import InputError
from plateau_doctor.stores import find_runs, read_runs


def _snapshot(directory):
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.iterdir()}


def test_one_run_of_an_mlflow_db_reads_as_its_log(mlflow_db, curve):
    parsed = parse(f"{mlflow_db}/shakespeare/overfit")
    assert parsed.format == "mlflow"
    assert parsed.iter_table["iter"].tolist() == [step for step, _, _ in curve.iters]
    np.testing.assert_array_equal(parsed.iter_table["loss"], [loss for _, loss, _ in curve.iters])
    np.testing.assert_array_equal(parsed.eval_table["val_loss"], [val for _, _, val in curve.evals])


def test_a_replayed_overfitting_run_is_diagnosed_overfitting(mlflow_db):
    report = diagnose(f"{mlflow_db}/shakespeare/overfit")
    raised = [f.category for f in report.findings if f.raised]
    assert raised[0] == "overfitting"  # labels.yaml: expect_top overfitting
    assert not {"divergence", "lr_too_high", "lr_too_low", "capacity_limited"} & set(raised)


def test_params_are_the_runs_config(mlflow_db, curve):
    meta = parse(f"{mlflow_db}/shakespeare/overfit").meta
    assert meta.overrides["learning_rate"] == str(curve.config["learning_rate"])
    assert meta.config_schema == "nanogpt"


def test_all_runs_of_an_experiment_are_a_list(mlflow_db):
    parsed = read_runs(f"{mlflow_db}/shakespeare")
    assert len(parsed) == 2 and all(p.format == "mlflow" for p in parsed)
    assert [run.name.rsplit("/", 1)[-1] for run in find_runs(str(mlflow_db))] == ["overfit", "overfit-again"]


def test_a_store_of_several_runs_asks_for_one_by_name(mlflow_db):
    with pytest.raises(InputError, match=r"holds 2 runs .*shakespeare/overfit"):
        parse(str(mlflow_db))
    with pytest.raises(InputError, match=r"no run 'shakespeare/nope' in .*its runs: 'shakespeare/overfit'"):
        parse(f"{mlflow_db}/shakespeare/nope")


def test_reading_writes_nothing_next_to_the_database(mlflow_db):
    before = _snapshot(mlflow_db.parent)
    parse(f"{mlflow_db}/shakespeare/overfit")
    assert _snapshot(mlflow_db.parent) == before


def test_nan_and_infinite_metrics_come_back_as_logged(tmp_path):
    need("mlflow")
    need("sqlalchemy")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.create_run(client.create_experiment("e")).info.run_id
    for step, value in enumerate([3.0, float("nan"), float("inf"), 2.0]):
        client.log_metric(run, "loss", value, step=step)
    loss = parse(str(tmp_path / "mlflow.db")).iter_table["loss"].tolist()
    assert loss[0] == 3.0 and np.isnan(loss[1]) and loss[2] == float("inf") and loss[3] == 2.0


def test_a_locked_database_is_an_input_error_saying_so(mlflow_db, tmp_path):
    copy = tmp_path / "mlflow.db"
    shutil.copy(mlflow_db, copy)
    writer = sqlite3.connect(copy)
    writer.execute("PRAGMA journal_mode=DELETE")
    writer.execute("BEGIN EXCLUSIVE")  # a writer mid-transaction
    try:
        with pytest.raises(InputError, match="locked by another process"):
            parse(f"{copy}/shakespeare/overfit")
    finally:
        writer.rollback()
        writer.close()


def test_a_half_written_copy_is_an_input_error_naming_the_file(mlflow_db, tmp_path):
    copy = tmp_path / "mlflow.db"
    copy.write_bytes(mlflow_db.read_bytes()[:60_000])
    with pytest.raises(InputError) as caught:
        parse(f"{copy}/shakespeare/overfit")
    assert str(copy) in str(caught.value) and "half-written" in str(caught.value)


def test_a_newer_schema_is_an_input_error_naming_what_is_missing(mlflow_db, tmp_path):
    copy = tmp_path / "mlflow.db"
    shutil.copy(mlflow_db, copy)
    with sqlite3.connect(copy) as db:
        db.execute("ALTER TABLE metrics RENAME COLUMN step TO step_index")
    with pytest.raises(
        InputError, match=r"table 'metrics' has no column step.*alembic revision .*newer MLflow"
    ):
        parse(f"{copy}/shakespeare/overfit")


def test_the_mlruns_directory_layout_reads_the_same_run(mlruns_dir, curve):
    (run,) = find_runs(str(mlruns_dir))
    assert run.name == f"{mlruns_dir}/shakespeare/overfit"
    parsed = parse(run.name)
    np.testing.assert_array_equal(parsed.iter_table["loss"], [loss for _, loss, _ in curve.iters])
    np.testing.assert_array_equal(parsed.eval_table["val_loss"], [val for _, _, val in curve.evals])
    assert parsed.meta.overrides["block_size"] == str(curve.config["block_size"])
