"""TensorBoard: an event file, or a run directory of them (a restarted run writes a new file).

Every scalar point is read (tfrecord.py), in file order, files ordered by the timestamp their
name carries. Tags map to the loss table by name (train/loss, eval/loss, val_loss, learning_rate,
grad_norm, ...). A text summary holding a JSON object is the run's config: HF's
TensorBoardCallback writes TrainingArguments as the `args` text and the model's config as
`model_config`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ..model import ParsedLog
from ..parsers.table import LossTableBuilder
from ..read import InputError
from .fs import Local, Remote
from .scalars import apply_config, fill_from_points
from .tfrecord import scan_file

NAME = "tensorboard"
TRAITS: dict = {}  # events say nothing about how the evals were measured
EVENT_MARK = "tfevents"
TEXT_SUFFIX = "/text_summary"  # add_text(tag, ...) writes the tag as `<tag>/text_summary`
TIME_RE = re.compile(r"tfevents\.(\d+)")


def is_event_file(name: str) -> bool:
    return EVENT_MARK in name


def event_files(fs: Local | Remote, directory: str) -> list[str]:
    """The directory's own event files (not its subdirectories'), oldest first."""
    files = [e for e in fs.entries(directory) if not e.is_dir and is_event_file(e.name)]
    return [e.path for e in sorted(files, key=lambda e: (_written_at(e.name), e.name))]


def _written_at(name: str) -> int:
    m = TIME_RE.search(name)
    return int(m.group(1)) if m else 0


def read(fs: Local | Remote, path: str, columns: Mapping[str, str] | None = None) -> ParsedLog:
    """One run: an event file, or a directory's event files read as one run."""
    files = event_files(fs, path) if fs.isdir(path) else [path]
    if not files:
        raise InputError(path, "no TensorBoard event files (events.out.tfevents.*) in this directory")
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    points: list[tuple[int, str, float]] = []
    texts: list[tuple[str, str]] = []
    records = 0
    for name in files:
        with fs.open(name) as handle:
            scan = scan_file(handle, name)
        points += scan.scalars
        texts += scan.texts
        records += scan.records
        if scan.problem:
            meta.notes.append(f"{fs.basename(name)}: {scan.problem}; read up to there")
    if not points:
        raise InputError(path, f"no scalar summaries in {len(files)} event file(s)")
    try:
        fill_from_points(table, points, columns)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None
    for tag, text in texts:
        config = _json_object(text)
        tag = tag.removesuffix(TEXT_SUFFIX)
        if config is not None:
            apply_config(meta, _flat_values(config), f"the {tag!r} text summary")
            if tag == "model_config" and isinstance(config.get("vocab_size"), int):
                meta.vocab_size = config["vocab_size"]
    if len(files) > 1:
        meta.notes.append(f"{len(files)} event files read as one run, oldest first")
    return table.build(records)


def _json_object(text: str) -> dict | None:
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _flat_values(config: dict) -> dict:
    """Flat values only: a nested dict (a model config inside the args) is not a setting."""
    return {k: v for k, v in config.items() if not isinstance(v, (dict, list))}
