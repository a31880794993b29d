"""Metrics tables (CSV and JSON lines): the column mapping shared by csv_table and jsonl_table.

A table row is a dict of column -> cell. Each column plays at most one role:
    step       the x value (W&B `_step`, TensorBoard `Step`, `iter`, `global_step`, ...)
    train      train loss -> an iter row
    val        val loss -> an eval row
    lr, grad_norm, time_ms, mfu   extra iter columns
    epoch      passes over the data (HF `Epoch`, Lightning `epoch`, LLaMA-Factory `epoch`): the
               last value is meta.epochs
    total_steps   the planned number of steps (LLaMA-Factory `total_steps`): meta.max_iters
Columns are found by name (auto_columns) or given explicitly (`--columns step=_step,train=...`,
see parse_columns_option). A row with a train value becomes an iter row; a row with a val value
becomes an eval row, whose train_loss is the same row's train value when it has one (W&B exports
of nanoGPT log train/loss and val/loss together, at eval time). Without a step column the row
index (0-based) is the step. Empty, null or non-numeric cells are missing values (not zeros); a
literal `nan`/`NaN` is kept as a NaN loss, since that is what a diverged run logs.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping

from ..model import ParsedLog
from .lines import NAN
from .table import LossTableBuilder

ROLES = ("step", "train", "val", "lr", "grad_norm", "time_ms", "mfu", "epoch", "total_steps")

# Candidate names per role, best first; compared after _normalise (lower case, no spaces).
CANDIDATES: dict[str, tuple[str, ...]] = {
    "step": (
        "step",
        "_step",
        "iter",
        "iteration",
        "global_step",
        "trainer/global_step",
        "train/global_step",
        "steps",
        "current_steps",
    ),
    # `Training Loss` (HF model-card tables) normalises to `trainingloss`; Lightning's
    # self.log(on_step=True, on_epoch=True) writes `loss_step` and `loss_epoch`: the step one
    "train": (
        "train/loss",
        "train_loss",
        "loss",
        "training_loss",
        "train/loss_step",
        "train_loss_step",
        "trainloss",
        "trainingloss",
        "loss_step",
    ),
    "val": (
        "val/loss",
        "val_loss",
        "eval_loss",
        "eval/loss",
        "validation_loss",
        "valid_loss",
        "valid/loss",
        "validation/loss",
        "val_loss_epoch",
        "valloss",
        "validationloss",
        "evalloss",
    ),
    "lr": ("lr", "learning_rate", "train/lr", "train/learning_rate", "lr-adamw", "optimizer/lr"),
    "grad_norm": ("grad_norm", "train/grad_norm", "gradient_norm", "norm"),
    "time_ms": ("time_ms", "dt_ms", "step_time_ms", "iter_time_ms"),
    "mfu": ("mfu", "train/mfu"),
    "epoch": ("epoch", "train/epoch", "trainer/epoch", "epochs"),
    "total_steps": ("total_steps", "max_steps"),
}
LOSS_ROLES = ("train", "val")
MAX_STEP = 2**53  # steps beyond this are corruption: they would not fit the int64 table


def _normalise(name: str) -> str:
    """`my-run - train/loss` (W&B chart export) -> `train/loss`; `Train Loss` -> `trainloss`."""
    if " - " in name:
        name = name.rsplit(" - ", 1)[1]
    return name.strip().lower().replace(" ", "")


def auto_columns(header: Iterable[str]) -> dict[str, str]:
    """Map roles to header names by the candidate lists. W&B's `__MIN`/`__MAX` band columns are
    skipped; a TensorBoard export (`Wall time,Step,Value`) has its Value read as the train loss."""
    names = {_normalise(h): h for h in reversed(list(header)) if not h.endswith(("__MIN", "__MAX"))}
    columns: dict[str, str] = {}
    for role, candidates in CANDIDATES.items():
        found = next((names[c] for c in candidates if c in names), None)
        if found is not None and found not in columns.values():
            columns[role] = found
    if "train" not in columns and "val" not in columns and "walltime" in names and "value" in names:
        columns["train"] = names["value"]
    return columns


def parse_columns_option(text: str) -> dict[str, str]:
    """`step=_step,train=train/loss,val=val/loss,lr=lr` -> {"step": "_step", ...}."""
    columns: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        role, sep, column = item.partition("=")
        role, column = role.strip(), column.strip()
        if not sep or not column:
            raise ValueError(f"--columns: {item!r} is not ROLE=COLUMN")
        if role not in ROLES:
            raise ValueError(f"--columns: unknown role {role!r}; roles: {', '.join(ROLES)}")
        if role in columns:
            raise ValueError(f"--columns: role {role!r} given twice")
        columns[role] = column
    if not any(role in columns for role in LOSS_ROLES):
        raise ValueError("--columns: name at least one loss column (train=... or val=...)")
    return columns


def parse_with_columns(lines: Iterable[str], columns: Mapping[str, str]) -> ParsedLog:
    """Parse a CSV or JSON-lines table with an explicit role -> column mapping. The kind is told by
    the first non-blank line: a JSON object means JSON lines."""
    from . import csv_table, jsonl_table  # here: both import this module

    iterator = iter(lines)
    head: list[str] = []
    for raw in iterator:
        head.append(raw)
        if raw.strip():
            break
    module = jsonl_table if head and head[-1].strip().startswith("{") else csv_table
    return module.parse(itertools.chain(head, iterator), columns)


def fill_table(
    table: LossTableBuilder, rows: Iterable[tuple[int, Mapping[str, object]]], columns: Mapping[str, str]
) -> None:
    """Add iter/eval rows for (line number, row) pairs, reading cells through `columns`."""
    meta = table.meta
    if "step" not in columns:
        meta.notes.append("no step column: the row index is the step")
    if "lr" in columns:
        meta.lr_logged = True
    meta.notes.append("columns: " + ", ".join(f"{role}={name}" for role, name in columns.items()))
    index = 0
    for number, row in rows:
        values = {role: cell_value(row.get(name)) for role, name in columns.items()}
        step = values["step"] if "step" in columns else float(index)
        index += 1
        _run_facts(meta, values)
        # whole numbers only, and small enough for the int64 table (a 1e300 step is corruption)
        if step is None or not math.isfinite(step) or step != int(step) or abs(step) >= MAX_STEP:
            continue
        train, val = values.get("train"), values.get("val")
        if train is not None:
            table.add_iter(
                int(step),
                train,
                number,
                time_ms=_or_nan(values.get("time_ms")),
                mfu=_or_nan(values.get("mfu")),
                lr=_or_nan(values.get("lr")),
                grad_norm=_or_nan(values.get("grad_norm")),
            )
        if val is not None:
            table.add_eval(int(step), _or_nan(train), val, number)


def _run_facts(meta, values: Mapping[str, float | None]) -> None:
    """The latest epoch and planned step count a row carries."""
    epoch, total = values.get("epoch"), values.get("total_steps")
    if epoch is not None and math.isfinite(epoch):
        meta.epochs = epoch
    if total is not None and math.isfinite(total) and total == int(total) and 0 < total < MAX_STEP:
        meta.max_iters = int(total)


def role_of(name: str) -> str | None:
    """The role a metric named `name` plays (a key of MLflow's long export), or None."""
    key = _normalise(name)
    return next((role for role, candidates in CANDIDATES.items() if key in candidates), None)


def cell_value(cell: object) -> float | None:
    """A cell as a float, or None when missing: None, '', booleans and text that is no number."""
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, float):
        return cell
    if isinstance(cell, int):
        try:
            return float(cell)
        except OverflowError:  # a 400-digit JSON integer: as large as a float gets
            return math.inf if cell > 0 else -math.inf
    try:
        return float(str(cell).strip())
    except ValueError:
        return None


def _or_nan(value: float | None) -> float:
    return NAN if value is None else value


def names(items: Iterable[str], limit: int = 20) -> str:
    """Column or key names for a one-line error message: quoted (a name may hold a newline) and
    at most `limit` of them (a header may have a million cells)."""
    items = list(items)
    shown = ", ".join(repr(str(item)[:80]) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def is_json_object(line: str) -> dict | None:
    """The dict a JSON-lines line holds, or None."""
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to be a metrics row
        return None
    return value if isinstance(value, dict) else None
