"""A tracker's scalar points -> the loss table every parser builds, plus the run's config.

Trackers keep metrics as (step, name, value) points. Points of one step logged together become
one row, and the row's names are mapped to loss-table roles by the same name mapping the CSV and
JSON-lines exports use (parsers/tabular.py: train/loss, eval/loss, val_loss, learning_rate,
grad_norm, ...), so a run reads the same whether exported or read from its store. The step is the
tracker's own step, never a metric that happens to be called `step` or `iter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..parsers.table import LossTableBuilder
from ..parsers.tabular import LOSS_ROLES, auto_columns, cell_value, fill_table, names

STEP = "(step)"  # the row key of the tracker's step: no metric name looks like it
EPOCH_KEYS = ("epoch", "train/epoch")  # HF logs the epoch as a metric (train/epoch in TensorBoard)

# A config that holds all of these is nanoGPT train.py's globals (what nanoGPT logs to W&B and
# what a port to another tracker logs): its keys then mean what resolve's nanoGPT defaults say.
NANOGPT_CONFIG_KEYS = frozenset(
    {"gradient_accumulation_steps", "block_size", "n_layer", "n_embd", "lr_decay_iters", "eval_iters"}
)


def rows_by_step(points: Iterable[tuple[int, str, float]]) -> tuple[list[tuple[int, dict]], dict[str, None]]:
    """The points of each step as one row, in the order steps first appear, and every name seen.
    Points of a step join its row even when other steps came between (HF logs an eval in its own
    call after the train window of the same step). A name logged again at a step, or at a step
    lower than its last (a restart), starts new rows, so a re-logged step is kept, not merged."""
    rows: list[tuple[int, dict]] = []
    seen: dict[str, None] = {}
    by_step: dict[int, dict] = {}  # rows since the last restart
    last: dict[str, int] = {}  # the last step of each name
    for step, name, value in points:
        if step < last.get(name, step):
            by_step = {}
        last[name] = step
        row = by_step.get(step)
        if row is None or name in row:
            row = by_step[step] = {STEP: step}
            rows.append((0, row))  # line 0: a store has no log lines to point at
        row[name] = value
        seen[name] = None
    return rows, seen


def fill_from_points(
    table: LossTableBuilder,
    points: Iterable[tuple[int, str, float]],
    columns: Mapping[str, str] | None = None,
) -> int:
    """Add the points' rows to `table`, names mapped by `columns` (role -> metric name) or found
    by name; returns the number of points. ValueError when no loss metric is recognised."""
    rows, seen = rows_by_step(points)
    mapping = dict(columns) if columns else auto_columns(seen)
    if not any(role in mapping for role in LOSS_ROLES):
        raise ValueError(
            f"no loss metric recognised among {names(seen) or 'no metrics'}; "
            "name one with --columns train=NAME or val=NAME"
        )
    missing = [name for role, name in mapping.items() if role != "step" and name not in seen]
    if missing:
        raise ValueError(f"no metric {names(missing)}; the run has: {names(seen)}")
    mapping = {"step": STEP, **{role: name for role, name in mapping.items() if role != "step"}}
    fill_table(table, rows, mapping)
    epoch = last_value(rows, EPOCH_KEYS)
    if epoch is not None and epoch > 0:
        table.meta.epochs = epoch
    return sum(len(row) - 1 for _, row in rows)


def last_value(rows: list[tuple[int, dict]], keys: tuple[str, ...]) -> float | None:
    for _, row in reversed(rows):
        for key in keys:
            value = cell_value(row.get(key))
            if value is not None and value == value:
                return value
    return None


def apply_config(meta, config: Mapping[str, Any], source: str) -> None:
    """The run's logged config as the log's own settings (resolve reads `meta.overrides` as what
    the run used). Keys starting with `_` are the tracker's bookkeeping, not the run's config."""
    kept = {str(k): v for k, v in config.items() if not str(k).startswith("_")}
    for key, value in kept.items():
        meta.overrides[key] = value if isinstance(value, str) else repr(value)
    if NANOGPT_CONFIG_KEYS <= kept.keys():
        meta.config_schema = "nanogpt"
    if kept:
        meta.notes.append(f"config: {len(kept)} values from {source}")
