"""Tracker stores, read directly and read-only: TensorBoard event files, MLflow (mlflow.db and
mlruns/), trackio project databases, W&B run directories and HF Trainer output directories, on
the local disk or, through fsspec (the `remote` extra), at s3:// gs:// hf:// ... URLs.

Each store module turns a run into the same ParsedLog the log parsers build. `find_runs(path)`
(discover.py) lists every run under a directory; `read_store(path)` reads the one run a path
names: a store file or directory, or a run inside one named by the path-like name find_runs
gives it (`mlflow.db/<experiment>/<run>`, `<project>.db/<run>`); `read_runs(path)` reads every
run a path names (`mlflow.db/<experiment>`: all runs of the experiment).

This module imports nothing heavy: `api.parse` asks `is_store` about every path, plain logs too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..read import InputError, is_stdin

if TYPE_CHECKING:
    from ..model import ParsedLog
    from .discover import RunLocation

STORE_FORMATS = ("tensorboard", "mlflow", "trackio", "wandb")  # --log-format names
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
EVENT_MARK = "tfevents"

__all__ = [
    "STORE_FORMATS",
    "RunLocation",
    "find_runs",
    "iter_runs",
    "is_store",
    "read_runs",
    "read_store",
    "runs_at",
]


def __getattr__(name: str):
    """RunLocation, find_runs and iter_runs load discover.py (and the readers) on first use."""
    if name in ("RunLocation", "find_runs", "iter_runs"):
        from . import discover

        return getattr(discover, name)
    raise AttributeError(name)


def is_store(path: str | os.PathLike | None, log_format: str = "auto") -> bool:
    """Is `path` read by a store reader rather than as a log? A directory, a SQLite or event file,
    a run named inside a store, any remote path that is not one file, or a store --log-format.
    One stat for a plain log file."""
    if is_stdin(path):
        return False
    path = os.fspath(path)  # the API takes pathlib paths too
    if log_format in STORE_FORMATS:
        return True
    name = os.path.basename(path.rstrip("/"))
    if name.lower().endswith(SQLITE_SUFFIXES) or EVENT_MARK in name:
        return True
    if "://" in path:
        from .fs import filesystem_for, is_url

        if is_url(path):
            return not filesystem_for(path).isfile(path)
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return _store_above(path) is not None


def runs_at(path: str, log_format: str = "auto") -> list[RunLocation]:
    """The runs a path names: every run under a directory or in a store file, or the runs a
    path-like name inside a store selects: `<store>/<experiment>/<run>` (MLflow) or
    `<store>/<run>` (trackio) for one run, `<store>/<experiment>` for all of an experiment's,
    `<store>/<run id>` by id."""
    from .discover import find_runs
    from .fs import filesystem_for

    kind = log_format if log_format in STORE_FORMATS else None
    fs = filesystem_for(path)
    if fs.exists(path):
        return find_runs(path, kind)
    store = _store_above(path)
    if store is None:
        raise InputError(path, "no such file or directory")
    runs = find_runs(store, kind)
    if any(run.problem for run in runs):
        return runs  # the store cannot be read: opening says why (locked, half-written, ...)
    wanted = path.rstrip("/")
    chosen = [
        run
        for run in runs
        if run.name == wanted
        or run.name.startswith(wanted + fs.sep)
        or (run.run and wanted.endswith(fs.sep + run.run.run_id))
    ]
    if not chosen:
        from ..parsers.tabular import names

        rest = wanted[len(store) :].lstrip("/\\")
        raise InputError(
            path,
            f"no run {rest!r} in {store}; its runs: {names(r.name[len(store) :].lstrip('/') for r in runs)}",
        )
    return chosen


def read_runs(
    path: str, log_format: str = "auto", columns: Mapping[str, str] | None = None
) -> list[ParsedLog]:
    """Every run a path names, read (an experiment's runs, a directory's)."""
    return [run.open(columns, log_format) for run in runs_at(os.fspath(path), log_format)]


def read_store(path: str, log_format: str = "auto", columns: Mapping[str, str] | None = None) -> ParsedLog:
    """The one run a path names, read; InputError naming the runs when it names several."""
    runs = runs_at(os.fspath(path), log_format)
    if len(runs) == 1:
        return runs[0].open(columns, log_format)
    if not runs:
        what = "is a directory with no run in it" if os.path.isdir(path) else "no run found here"
        raise InputError(
            path,
            f"{what}: no log of a known format, TensorBoard events, MLflow or "
            "trackio store, W&B run or HF output directory",
        )
    from ..parsers.tabular import names

    raise InputError(
        path,
        f"holds {len(runs)} runs ({names((r.name for r in runs), 5)}): "
        "give one of them, or diagnose the directory as a sweep",
    )


def _store_above(path: str) -> str | None:
    """The store file or mlruns/ directory a not-existing `store/experiment/run` path lies in."""
    from .fs import filesystem_for

    fs = filesystem_for(path)
    current = path.rstrip("/\\")
    for _ in range(3):  # store/experiment/run at most
        parent = fs.dirname(current)
        if not parent or parent == current:
            return None
        current = parent
        if fs.exists(current):
            name = fs.basename(current)
            if name.lower().endswith(SQLITE_SUFFIXES) and fs.isfile(current):
                return current
            if fs.isdir(current) and (name == "mlruns" or fs.isfile(fs.join(current, "0", "meta.yaml"))):
                return current
            return None
    return None
