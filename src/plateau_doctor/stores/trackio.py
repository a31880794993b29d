"""trackio: one SQLite database per project ({project}.db), every run of the project in it.

Schema (trackio/sqlite_storage.py, SQLiteStorage.init_db): `metrics` (id, run_id, timestamp,
run_name, step, metrics: a JSON object of the values logged at that step) and `configs` (run_id,
run_name, config: a JSON object). Older databases have no run_id column: a run was its run_name. Both
layouts are read. trackio writes NaN and ±inf as the strings "NaN", "Infinity", "-Infinity";
its own bookkeeping keys in a config start with `_` (_Username, _Created, _Group).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from ..model import ParsedLog
from ..parsers.table import LossTableBuilder
from ..parsers.tabular import cell_value
from ..read import InputError
from . import sqlite
from .fs import Local, Remote
from .mlflow import Run
from .scalars import apply_config, fill_from_points

NAME = "trackio"
TRAITS: dict = {}
NEEDS = {"metrics": {"run_name", "step", "metrics"}}
TABLES = {"metrics", "configs"}  # both present: a trackio project database


def runs(fs: Local | Remote, path: str) -> list[Run]:
    """The project's runs, oldest first. Run.run_id is trackio's run id, or the run name in
    databases from before run ids."""
    with fs.local_file(path) as local, sqlite.connect(local, path) as db:
        sqlite.require(db, NEEDS, path, "trackio")
        key = _run_key(db)
        rows = db.execute(
            f"SELECT {key}, run_name, MIN(id) FROM metrics GROUP BY {key} ORDER BY MIN(id)"
        ).fetchall()
    project = fs.basename(path).rsplit(".", 1)[0]
    return [Run(str(run_id), str(name), project, "") for run_id, name, _ in rows]


def read(fs: Local | Remote, path: str, run: Run, columns: Mapping[str, str] | None = None) -> ParsedLog:
    with fs.local_file(path) as local, sqlite.connect(local, path) as db:
        sqlite.require(db, NEEDS, path, "trackio")
        key = _run_key(db)
        rows = db.execute(
            f"SELECT step, metrics FROM metrics WHERE {key} = ? ORDER BY id", (run.run_id,)
        ).fetchall()
        config = _config(db, key, run.run_id)
    table = LossTableBuilder(NAME, TRAITS)
    name = f"{path}: run {run.name}"
    try:
        count = fill_from_points(table, _points(rows), columns)
    except ValueError as exc:
        raise InputError(name, str(exc)) from None
    apply_config(table.meta, config, "the run's trackio config")
    table.meta.notes.append(f"trackio run {run.name!r} of project {run.experiment!r}")
    return table.build(count)


def _run_key(db) -> str:
    return "run_id" if "run_id" in sqlite.columns(db, "metrics") else "run_name"


def _points(rows: list[tuple[int, object]]) -> Iterator[tuple[int, str, float]]:
    for step, blob in rows:
        values = _json_object(blob)
        if step is None or values is None:
            continue
        for key, cell in values.items():
            value = cell_value(cell)  # "NaN" / "Infinity" strings become floats
            if value is not None:
                yield int(step), str(key), value


def _config(db, key: str, run_id: str) -> dict:
    if "config" not in sqlite.columns(db, "configs") or key not in sqlite.columns(db, "configs"):
        return {}
    row = db.execute(
        f"SELECT config FROM configs WHERE {key} = ? ORDER BY id DESC LIMIT 1", (run_id,)
    ).fetchone()
    return (_json_object(row[0]) or {}) if row else {}


def _json_object(blob: object) -> dict | None:
    try:
        value = json.loads(blob)  # str or bytes: trackio stores orjson's bytes
    except (TypeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
