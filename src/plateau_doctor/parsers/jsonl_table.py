"""Metrics as JSON lines: one object per line, e.g. W&B history (`{"_step": 10, "train/loss": 3.2}`),
Lightning/accelerate trackers, or a script's own `json.dumps(metrics)`.

Nested objects are flattened with `/` (`{"train": {"loss": 3.2}}` -> `train/loss`). Columns are
mapped by name over the keys of the first MAPPING_ROWS objects (rows differ: eval rows often hold
only val keys), or explicitly (tabular.parse_with_columns). Lines that are not JSON objects are
skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping

from ..model import ParsedLog
from .lines import NumberedLines, as_sample, clean_line
from .table import LossTableBuilder
from .tabular import LOSS_ROLES, auto_columns, fill_table, is_json_object, names

NAME = "jsonl"
TRAITS = {}  # an export says nothing about how its evals were measured
DETECTION_ORDER = 210  # breaks ties in detection: lower wins (formats.py)
WHOLE_FILE = True  # one table under one header: parse_runs does not cut it into line ranges
MAPPING_ROWS = 1000


def sniff(lines: list[str]) -> int:
    """Count lines that are JSON objects with a loss-like key."""
    sample = as_sample(lines)
    if not sample.raw_mentions("{"):  # clean_line only deletes: no '{' in a line, none after it
        return 0
    hits = 0
    for raw in sample:
        line = clean_line(raw) if "{" in raw else ""
        if line.startswith("{") and (obj := is_json_object(line)) is not None:
            columns = auto_columns(_flatten(obj))
            hits += any(role in columns for role in LOSS_ROLES)
    return hits


def parse(lines: Iterable[str], columns: Mapping[str, str] | None = None) -> ParsedLog:
    source = NumberedLines(lines)
    rows = _objects(source)
    head = list(itertools.islice(rows, MAPPING_ROWS))
    keys: dict[str, None] = {}  # ordered union of the keys seen
    for _, obj in head:
        keys.update(dict.fromkeys(obj))
    columns = dict(columns) if columns else auto_columns(keys)
    if not any(role in columns for role in LOSS_ROLES):
        raise ValueError(
            f"JSON lines: no loss key recognised in {names(keys) or 'no objects'}; "
            "name one with --columns train=KEY or val=KEY"
        )
    missing = [name for name in columns.values() if name not in keys]
    if missing:
        raise ValueError(
            f"JSON lines: no key {names(missing)} in the first {len(head)} objects; keys: {names(keys)}"
        )
    table = LossTableBuilder(NAME, TRAITS)
    fill_table(table, itertools.chain(head, rows), columns)
    return table.build(source.count, excerpt=source.elided)


def _objects(lines: NumberedLines) -> Iterator[tuple[int, dict]]:
    for number, line in lines:
        if line.startswith("{") and (obj := is_json_object(line)) is not None:
            yield number, _flatten(obj)


def _flatten(obj: dict) -> dict:
    """Nested objects flattened with '/', without recursion: json.loads accepts nesting almost as
    deep as the interpreter's recursion limit, and a recursive walk from deeper in the stack
    would hit it."""
    flat: dict = {}
    stack = [("", iter(obj.items()))]
    while stack:  # depth first, in key order: the same order as the recursive walk
        prefix, items = stack[-1]
        for key, value in items:
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                stack.append((name + "/", iter(value.items())))
                break
            flat[name] = value
        else:
            stack.pop()
    return flat
