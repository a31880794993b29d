"""Stores written by the real client libraries, replaying a labelled log (store_writers.py).

When a tracker's client is installed the store is written fresh, once per session; otherwise
the copy that client wrote into fixtures/ (make_fixtures.py; VERSIONS.txt says which version) is
unpacked, so the readers are always tested on real files. Tests that call a client directly
skip without it, saying how to get it.
"""

from __future__ import annotations

import importlib.util
import tarfile
from pathlib import Path

import pytest
import store_writers as writers

FIXTURES = Path(__file__).parent / "fixtures"
TRACKERS_EXTRA = "pip install -e '.[test-trackers]'"


def have(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def need(module: str, why: str = "") -> None:
    if not have(module):
        pytest.skip(f"{module} is not installed ({why or TRACKERS_EXTRA})")


def committed(name: str, into: Path) -> Path:
    """fixtures/<name>.tar.gz unpacked into `into`."""
    with tarfile.open(FIXTURES / f"{name}.tar.gz") as tar:
        tar.extractall(into, filter="data")
    return into


@pytest.fixture(scope="session")
def curve() -> writers.Curve:
    return writers.curve_from_log()


@pytest.fixture(scope="session")
def tensorboardx_logdir(tmp_path_factory, curve) -> Path:
    need("tensorboardX", "in the test extra")
    from tensorboardX import SummaryWriter

    logdir = tmp_path_factory.mktemp("tb") / "overfit"
    writers.write_tensorboard(SummaryWriter, logdir, curve)
    return logdir


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory, curve) -> Path:
    directory = tmp_path_factory.mktemp("mlflow")
    if not have("mlflow", "sqlalchemy", "alembic"):
        return committed("mlflow_db", directory) / "mlflow.db"
    writers.write_mlflow(f"sqlite:///{directory / 'mlflow.db'}", curve, runs=("overfit", "overfit-again"))
    return directory / "mlflow.db"


@pytest.fixture(scope="session")
def mlruns_dir(tmp_path_factory, curve) -> Path:
    directory = tmp_path_factory.mktemp("mlruns-parent")
    if not have("mlflow"):
        return committed("mlruns", directory) / "mlruns"
    writers.write_mlflow((directory / "mlruns").as_uri(), curve)
    return directory / "mlruns"


@pytest.fixture(scope="session")
def trackio_db(tmp_path_factory, curve) -> Path:
    directory = tmp_path_factory.mktemp("trackio")
    if not have("trackio"):
        return committed("trackio", directory) / "shakespeare.db"
    return writers.write_trackio(directory, curve, runs=("overfit", "again"))


@pytest.fixture(scope="session")
def wandb_run(tmp_path_factory, curve) -> Path:
    directory = tmp_path_factory.mktemp("wandb")
    if not have("wandb"):  # 125 MB with its own binary: not in the test extras
        committed("wandb", directory)
        (run,) = (directory / "wandb").iterdir()
        return run
    return writers.write_wandb(directory, writers.OVERFIT_LOG, curve)


@pytest.fixture(scope="session")
def hf_output_dir(tmp_path_factory, curve) -> Path:
    directory = tmp_path_factory.mktemp("hf")
    if not have("transformers", "safetensors"):
        return committed("hf_output", directory) / "out"
    return writers.write_hf_output(directory / "out", curve)
