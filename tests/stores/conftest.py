"""Stores written once per session by the real client libraries, replaying a labelled log.
A library that is not installed skips the tests that need it, saying which and how to get it."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import store_writers as writers

FIXTURES = Path(__file__).parent / "fixtures"
TRACKERS_EXTRA = "pip install -e '.[test-trackers]'"


def need(module: str, why: str = "") -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed ({why or TRACKERS_EXTRA})")


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
    need("mlflow")
    need("sqlalchemy")
    need("alembic")
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    writers.write_mlflow(f"sqlite:///{path}", curve, runs=("overfit", "overfit-again"))
    return path


@pytest.fixture(scope="session")
def mlruns_dir(tmp_path_factory, curve) -> Path:
    need("mlflow")
    path = tmp_path_factory.mktemp("mlruns-parent") / "mlruns"
    writers.write_mlflow(path.as_uri(), curve)
    return path


@pytest.fixture(scope="session")
def trackio_db(tmp_path_factory, curve) -> Path:
    need("trackio")
    return writers.write_trackio(tmp_path_factory.mktemp("trackio"), curve, runs=("overfit", "again"))


@pytest.fixture(scope="session")
def wandb_run(tmp_path_factory, curve) -> Path:
    need("wandb", "pip install wandb: 125 MB, not in the test extras; the committed fixture is read instead")
    return writers.write_wandb(tmp_path_factory.mktemp("wandb"), writers.OVERFIT_LOG, curve)


@pytest.fixture(scope="session")
def hf_output_dir(tmp_path_factory, curve) -> Path:
    need("transformers")
    need("safetensors")
    return writers.write_hf_output(tmp_path_factory.mktemp("hf") / "out", curve)
