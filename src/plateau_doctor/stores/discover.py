"""Finding every run under a path: log files of a known format and tracker stores.

A directory is classified by the names in its listing alone: a W&B run directory, an HF output
directory and an mlruns/ tree are runs (or hold runs) and are not descended into; a directory
with event files is a TensorBoard run. A candidate log file is confirmed by format detection on
its first HEAD_BYTES, and a SQLite file by its tables, so no file is read whole to classify it.
Symbolic links to directories are not followed (wandb's latest-run would count a run twice, and
a link can loop), nor are hidden directories (.git, mlruns/.trash).

A store that cannot be read (locked, half-written, a newer schema) is still listed: its
RunLocation carries the problem and raises it as an InputError when opened, so a sweep reports
that run in place and goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..model import ParsedLog
from ..read import InputError, LogText
from . import hf_output, mlflow, tensorboard, trackio, wandb
from .fs import Local, Remote, filesystem_for
from .mlflow import Run

LOG_SUFFIXES = (".log", ".txt", ".out", ".err", ".csv", ".tsv", ".jsonl", ".json", ".gz")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SQLITE_MAGIC = b"SQLite format 3\x00"
HEAD_BYTES = 256 << 10  # enough for the headers and warnings trainers print before their first loss
SAMPLE_FIRST = 30  # first lines detection sees: a header, trainer_state.json's "log_history"
SAMPLE_LOSS_LINES = 30  # and the first lines after them that say "loss"
MLFLOW_TABLES = {"runs", "experiments", "metrics", "params"}
TRACKIO_TABLES = trackio.TABLES
HPARAMS_DIR_RE = re.compile(r"^\d+(?:\.\d+)?$")  # add_hparams() writes its own event file in
# <logdir>/<time.time()>/: part of the run above


@dataclass(frozen=True)
class RunLocation:
    """One run found: `name` is path-like (`sweep/lr3/mlflow.db/exp/run-a`) and reads this run
    again when given as a path; `open()` reads it into its loss table. Picklable, so a process
    pool can take it."""

    name: str
    kind: str  # log, tensorboard, mlflow, trackio, wandb, hf_trainer
    path: str  # the file or directory holding the run
    run: Run | None = None  # the run inside a store that holds several
    problem: str | None = None  # why the store could not be read, raised by open()

    def open(self, columns: Mapping[str, str] | None = None, log_format: str = "auto") -> ParsedLog:
        if self.problem:
            raise InputError(self.path, self.problem)
        fs = filesystem_for(self.path)
        if self.kind == "log":
            return _read_log(fs, self.path, log_format, columns)
        if self.kind == tensorboard.NAME:
            return tensorboard.read(fs, self.path, columns)
        if self.kind == mlflow.NAME:
            if fs.isdir(self.path):  # mlruns/: the run's id is its directory
                return mlflow.read_dir(fs, self.run, columns)
            return mlflow.read_db(fs, self.path, self.run, columns)
        if self.kind == trackio.NAME:
            return trackio.read(fs, self.path, self.run, columns)
        if self.kind == wandb.NAME:
            return wandb.read(fs, self.path, log_format)
        return hf_output.read(fs, self.path)


def find_runs(path: str, kind: str | None = None) -> list[RunLocation]:
    """Every run under `path` (a directory walked whole, or one file), in path order.
    `kind` (a --log-format store name) reads a file as that store whatever its name says, and
    keeps only that kind's runs of a directory."""
    return list(iter_runs(path, kind))


def iter_runs(path: str, kind: str | None = None) -> Iterator[RunLocation]:
    """find_runs, one run at a time: a sweep can start on the first before the walk ends."""
    fs = filesystem_for(path)
    if not fs.exists(path):
        raise InputError(path, "no such file or directory")
    if not fs.isdir(path):
        yield from _file_runs(fs, path, fs.basename(path), kind, explicit=True)
        return
    # depth first, entries in name order, so runs come out in path order; a stack of listings
    # rather than recursion, so a deep tree cannot exhaust the interpreter's stack
    stack = [_directory(fs, path)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
        elif isinstance(entry, RunLocation):
            if kind is None or entry.kind == kind:  # --log-format mlflow DIR: its MLflow runs
                yield entry
        else:
            stack.append(_directory(fs, entry))


def _directory(fs: Local | Remote, path: str) -> Iterator[RunLocation | str]:
    """A directory's runs, and its subdirectories to walk (as paths), in name order."""
    entries = fs.entries(path)
    names = {e.name for e in entries}
    leaf = _directory_runs(fs, path, names)
    if leaf is not None:
        yield from leaf
        return
    events = any(not e.is_dir and tensorboard.is_event_file(e.name) for e in entries)
    if events:
        yield RunLocation(path, tensorboard.NAME, path)
    for entry in entries:
        if entry.is_dir:
            if (
                not entry.is_link
                and not entry.name.startswith(".")
                and not (events and HPARAMS_DIR_RE.match(entry.name))
            ):
                yield entry.path
        elif not tensorboard.is_event_file(entry.name):
            yield from _file_runs(fs, entry.path, entry.name, None)


def _directory_runs(fs: Local | Remote, path: str, names: set[str]) -> list[RunLocation] | None:
    """The runs of a directory that is a run (W&B, HF output) or a store (mlruns/), else None."""
    name = fs.basename(path)
    if wandb.is_run_dir(name, names):
        return [RunLocation(path, wandb.NAME, path)]
    if hf_output.is_output_dir(names):
        return [RunLocation(path, hf_output.NAME, path)]
    if mlflow.is_mlruns(fs, names, path):
        return [
            RunLocation(_run_name(fs, path, run), mlflow.NAME, path, run)
            for run in _unique(mlflow.dir_runs(fs, path))
        ]
    return None


def _file_runs(
    fs: Local | Remote, path: str, name: str, kind: str | None, explicit: bool = False
) -> list[RunLocation]:
    lower = name.lower()
    if kind == tensorboard.NAME or (explicit and tensorboard.is_event_file(name)):
        return [RunLocation(path, tensorboard.NAME, path)]
    if kind in (mlflow.NAME, trackio.NAME) or lower.endswith(SQLITE_SUFFIXES):
        return _database_runs(fs, path, kind, explicit)
    if kind == wandb.NAME:
        return [RunLocation(path, "log", path)]
    if explicit or (lower.endswith(LOG_SUFFIXES) and _is_log(fs, path)):
        return [RunLocation(path, "log", path)]
    return []


def _database_runs(fs: Local | Remote, path: str, kind: str | None, explicit: bool) -> list[RunLocation]:
    """The runs of an MLflow or trackio database; one RunLocation carrying the problem when the
    database cannot be read. A file that is not SQLite at all is skipped unless asked for."""
    if not explicit and not kind and not _starts_with(fs, path, SQLITE_MAGIC):
        return []
    try:
        store = kind or _database_kind(fs, path)
        if store is None:
            if explicit:
                raise InputError(path, "a SQLite database that is neither an MLflow nor a trackio store")
            return []
        runs = mlflow.db_runs(fs, path) if store == mlflow.NAME else trackio.runs(fs, path)
    except InputError as exc:
        return [RunLocation(path, kind or _kind_by_name(path), path, problem=exc.problem)]
    if not runs:
        return [RunLocation(path, store, path, problem=f"the {store} store holds no runs")]
    return [
        RunLocation(_run_name(fs, path, run, with_experiment=store == mlflow.NAME), store, path, run)
        for run in _unique(runs)
    ]


def _database_kind(fs: Local | Remote, path: str) -> str | None:
    from . import sqlite

    with fs.local_file(path) as local, sqlite.connect(local, path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if MLFLOW_TABLES <= tables:
        return mlflow.NAME
    if TRACKIO_TABLES <= tables:
        return trackio.NAME
    return None


def _kind_by_name(path: str) -> str:
    return mlflow.NAME if "mlflow" in path.lower().rsplit("/", 1)[-1] else trackio.NAME


def _unique(runs: list[Run]) -> list[Run]:
    """Runs whose display names repeat (a name reused, a resumed trackio run) get their id."""
    seen: dict[tuple[str, str], int] = {}
    for run in runs:
        seen[run.experiment, run.name] = seen.get((run.experiment, run.name), 0) + 1
    return [
        run
        if seen[run.experiment, run.name] == 1
        else Run(run.run_id, f"{run.name}#{_short_id(run.run_id)}", run.experiment, run.status)
        for run in runs
    ]


def _short_id(run_id: str) -> str:
    return run_id.rstrip("/").rsplit("/", 1)[-1][:8]


def _run_name(fs: Local | Remote, store: str, run: Run, with_experiment: bool = True) -> str:
    parts = [store, run.experiment.strip("/"), run.name] if with_experiment else [store, run.name]
    return fs.join(*parts)


def _is_log(fs: Local | Remote, path: str) -> bool:
    """Does the file's head hold training-loss lines of a known format? Detection runs on a
    sample: the first lines (a table's header and rows, trainer_state.json's "log_history" key)
    and the first lines that say "loss", which every format's loss lines do. Detection over a
    whole head would cost more than the rest of the walk."""
    from ..parsers import detect

    try:
        source = _log_text(fs, path)
        try:
            lines = _head_lines(source)
        finally:
            source.close()
    except (InputError, OSError):
        return False
    saying_loss = [
        line for line in lines[SAMPLE_FIRST:] if "loss" in line or "Loss" in line or "LOSS" in line
    ]
    sample = lines[:SAMPLE_FIRST] + saying_loss[:SAMPLE_LOSS_LINES]
    return detect(sample) is not None


def _head_lines(source: LogText) -> list[str]:
    """The complete lines of the first HEAD_BYTES (a .gz is decompressed that far)."""
    from ..read import decode_run

    lines: list[str] = []
    size = 0
    for run in source.blocks(HEAD_BYTES):
        lines += decode_run(*run)
        size += run[2] - run[1]
        if size >= HEAD_BYTES:
            break
    return lines


def _log_text(fs: Local | Remote, path: str) -> LogText:
    if isinstance(fs, Local):
        from ..read import open_log

        return open_log(path)
    from ..read import Gunzip

    handle = fs.open(path)
    return LogText(path, Gunzip(handle), owner=handle) if path.endswith(".gz") else LogText(path, handle)


def _starts_with(fs: Local | Remote, path: str, magic: bytes) -> bool:
    try:
        with fs.open(path) as handle:
            return handle.read(len(magic)) == magic
    except (InputError, OSError):
        return False


def _read_log(fs: Local | Remote, path: str, log_format: str, columns: Mapping[str, str] | None) -> ParsedLog:
    from ..parsers import UnknownFormat, parse_source
    from ..parsers.tabular import parse_with_columns

    source = _log_text(fs, path)
    try:
        if columns:
            return parse_with_columns(source.lines, columns)
        return parse_source(source, log_format if log_format not in STORE_KINDS else "auto")
    except (UnknownFormat, ValueError) as exc:
        raise InputError(path, str(exc)) from None


STORE_KINDS = (tensorboard.NAME, mlflow.NAME, trackio.NAME, wandb.NAME)
