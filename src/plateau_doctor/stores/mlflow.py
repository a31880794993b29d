"""MLflow: its SQLite store (mlflow.db, the default since MLflow 3) and the older mlruns/ directory.

mlflow.db: `runs` (run_uuid, name, experiment_id, status, lifecycle_stage), `experiments`,
`metrics` (key, value, step, timestamp, is_nan: MLflow stores NaN as 0 with is_nan=1 and ±inf as
±float max) and `params` (the config, as strings). mlruns/<experiment id>/<run id>/ holds
meta.yaml, metrics/<key> files of `timestamp value step` lines (a key with `/` is a subfolder)
and params/<key> files. Deleted runs and experiments are skipped, as MLflow's UI does.

A store holds many runs: `runs()` lists them, `read()` reads one into a loss table.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from ..model import ParsedLog
from ..parsers.table import LossTableBuilder
from ..read import InputError
from . import sqlite
from .fs import Local, Remote
from .scalars import apply_config, fill_from_points

NAME = "mlflow"
TRAITS: dict = {}  # metrics say nothing about how the evals were measured
DB_NEEDS = {
    "runs": {"run_uuid", "name", "experiment_id", "status", "lifecycle_stage"},
    "experiments": {"experiment_id", "name"},
    "metrics": {"key", "value", "step", "timestamp", "run_uuid", "is_nan"},
    "params": {"key", "value", "run_uuid"},
}
FLOAT_MAX = sys.float_info.max  # MLflow's stand-in for an infinite metric
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}  # mlruns meta.yaml


@dataclass(frozen=True)
class Run:
    """One run of a store: where it is and what to call it."""

    run_id: str
    name: str
    experiment: str
    status: str


# -- mlflow.db ------------------------------------------------------------------------------------
def db_runs(fs: Local | Remote, path: str) -> list[Run]:
    with fs.local_file(path) as local, sqlite.connect(local, path) as db:
        _check_schema(db, path)
        rows = db.execute(
            "SELECT r.run_uuid, r.name, e.name, r.status FROM runs r "
            "JOIN experiments e ON e.experiment_id = r.experiment_id "
            "WHERE r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active' "
            "ORDER BY e.name, r.start_time, r.run_uuid"
        ).fetchall()
    return [
        Run(run_id, name or run_id, experiment, status or "") for run_id, name, experiment, status in rows
    ]


def read_db(fs: Local | Remote, path: str, run: Run, columns: Mapping[str, str] | None = None) -> ParsedLog:
    with fs.local_file(path) as local, sqlite.connect(local, path) as db:
        _check_schema(db, path)
        points = [
            (step, key, _db_value(value, is_nan))
            for key, value, step, is_nan in db.execute(
                "SELECT key, value, step, is_nan FROM metrics WHERE run_uuid = ? "
                "ORDER BY timestamp, step, key",
                (run.run_id,),
            )
        ]
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run.run_id,)))
    return _table(points, params, run, f"{path}: run {run.name}", columns)


def _check_schema(db, path: str) -> None:
    version = ""
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        version = f"alembic revision {row[0]}" if row else ""
    except Exception:  # no alembic_version table: require() says what is missing
        pass
    sqlite.require(db, DB_NEEDS, path, "MLflow", version)


def _db_value(value: float, is_nan: int) -> float:
    if is_nan:
        return float("nan")
    if abs(value) == FLOAT_MAX:
        return float("inf") if value > 0 else float("-inf")
    return float(value)


# -- mlruns/ --------------------------------------------------------------------------------------
def is_mlruns(fs: Local | Remote, names: set[str], path: str) -> bool:
    """An mlruns/ directory: named so, or holding the Default experiment (0/meta.yaml), which
    MLflow's file store always creates."""
    return fs.basename(path) == "mlruns" or ("0" in names and fs.isfile(fs.join(path, "0", "meta.yaml")))


def dir_runs(fs: Local | Remote, path: str) -> list[Run]:
    """Active runs of every active experiment; Run.run_id is the run's directory."""
    found = []
    for experiment in fs.entries(path):
        meta = _yaml(fs, fs.join(experiment.path, "meta.yaml")) if experiment.is_dir else None
        if not meta or meta.get("lifecycle_stage", "active") != "active":
            continue
        for run_dir in fs.entries(experiment.path):
            run = _yaml(fs, fs.join(run_dir.path, "meta.yaml")) if run_dir.is_dir else None
            if not run or run.get("lifecycle_stage", "active") != "active":
                continue
            status = run.get("status")
            found.append(
                Run(
                    run_dir.path,
                    str(run.get("run_name") or run_dir.name),
                    str(meta.get("name", experiment.name)),
                    RUN_STATUS.get(status, str(status or "")),
                )
            )
    return found


def read_dir(fs: Local | Remote, run: Run, columns: Mapping[str, str] | None = None) -> ParsedLog:
    timed: list[tuple[int, int, str, float]] = []
    metrics = fs.join(run.run_id, "metrics")
    for key, file in _files(fs, metrics):
        for line in _text(fs, file).splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            try:
                stamp, value = int(parts[0]), float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
            except ValueError:
                continue
            timed.append((stamp, step, key, value))
    timed.sort(key=lambda p: (p[0], p[1], p[2]))
    params = {key: _text(fs, file).strip() for key, file in _files(fs, fs.join(run.run_id, "params"))}
    return _table(
        [(step, key, value) for _, step, key, value in timed], params, run, f"{run.run_id}", columns
    )


def _files(fs: Local | Remote, root: str, prefix: str = "") -> list[tuple[str, str]]:
    """(key, file) under a metrics/ or params/ folder; a key's `/` is a subfolder."""
    found = []
    for entry in fs.entries(root):
        key = prefix + entry.name
        if entry.is_dir:
            found += _files(fs, entry.path, key + "/")
        else:
            found.append((key, entry.path))
    return found


def _text(fs: Local | Remote, path: str) -> str:
    with fs.open(path) as handle:
        return handle.read().decode("utf-8", "replace")


def _yaml(fs: Local | Remote, path: str) -> dict | None:
    import yaml

    if not fs.isfile(path):
        return None
    try:
        value = yaml.safe_load(_text(fs, path))
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None


# -- both -----------------------------------------------------------------------------------------
def _table(
    points: list[tuple[int, str, float]],
    params: dict[str, str],
    run: Run,
    name: str,
    columns: Mapping[str, str] | None,
) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    try:
        count = fill_from_points(table, points, columns)
    except ValueError as exc:
        raise InputError(name, str(exc)) from None
    apply_config(meta, params, "the run's MLflow params")
    meta.notes.append(
        f"MLflow run {run.name!r} of experiment {run.experiment!r}, status {run.status or 'unknown'}"
    )
    return table.build(count)
