"""Remote paths through fsspec (the `remote` extra), on fsspec's in-memory filesystem: a log, a
TensorBoard run, an MLflow database and a sweep of them, read where they are."""

from __future__ import annotations

import gzip
import sys
import uuid

import pytest
import store_writers
from conftest import need

from plateau_doctor.api import diagnose, parse
from plateau_doctor.read import InputError
from plateau_doctor.stores import find_runs


@pytest.fixture
def bucket():
    need("fsspec", "in the test extra")
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"/bucket-{uuid.uuid4().hex[:8]}"
    yield fs, f"memory://{root}"
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _upload(fs, local_dir, remote):
    for path in sorted(local_dir.rglob("*")):
        if path.is_file():
            fs.pipe(f"{remote}/{path.relative_to(local_dir).as_posix()}", path.read_bytes())


def test_a_remote_log_is_diagnosed_like_the_local_one(bucket):
    fs, root = bucket
    data = store_writers.OVERFIT_LOG.read_bytes()
    fs.pipe(f"{root}/run.log", data)
    fs.pipe(f"{root}/run.log.gz", gzip.compress(data))
    local = diagnose(str(store_writers.OVERFIT_LOG))
    for name in ("run.log", "run.log.gz"):
        remote = diagnose(f"{root}/{name}")
        assert remote.format == "nanogpt" and remote.verdict == local.verdict


def test_a_remote_tensorboard_run_and_mlflow_db_are_read_in_place(bucket, tensorboardx_logdir, mlflow_db):
    fs, root = bucket
    _upload(fs, tensorboardx_logdir, f"{root}/tb/overfit")
    fs.pipe(f"{root}/mlflow.db", mlflow_db.read_bytes())
    tb = parse(f"{root}/tb/overfit")
    ml = parse(f"{root}/mlflow.db/shakespeare/overfit")
    assert tb.format == "tensorboard" and ml.format == "mlflow"
    assert len(tb.iter_table) == len(ml.iter_table) == len(parse(str(tensorboardx_logdir)).iter_table)


def test_a_remote_sweep_lists_its_runs_with_url_names(bucket, tensorboardx_logdir, mlflow_db):
    fs, root = bucket
    _upload(fs, tensorboardx_logdir, f"{root}/tb/overfit")
    fs.pipe(f"{root}/logs/run1.log", store_writers.OVERFIT_LOG.read_bytes())
    fs.pipe(f"{root}/mlflow.db", mlflow_db.read_bytes())
    assert [(run.name, run.kind) for run in find_runs(root)] == [
        (f"{root}/logs/run1.log", "log"),
        (f"{root}/mlflow.db/shakespeare/overfit", "mlflow"),
        (f"{root}/mlflow.db/shakespeare/overfit-again", "mlflow"),
        (f"{root}/tb/overfit", "tensorboard"),
    ]


def test_without_fsspec_a_remote_path_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(InputError) as caught:
        parse("s3://bucket/run.log")
    message = str(caught.value)
    assert (
        message
        == "s3://bucket/run.log: reading remote paths needs fsspec: pip install 'plateau-doctor[remote]'"
    )


def test_an_unknown_protocol_is_an_input_error(bucket):
    with pytest.raises(InputError, match="unknown filesystem 'nosuchfs'"):
        parse("nosuchfs://bucket/run.log")
