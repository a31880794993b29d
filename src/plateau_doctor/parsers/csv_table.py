"""Metrics exported as CSV: W&B (`_step,train/loss,val/loss,lr`, or chart exports
`Step,my-run - train/loss,...__MIN,...__MAX`), TensorBoard (`Wall time,Step,Value`), Lightning's
metrics.csv (`epoch,step,train_loss,val_loss` with blank cells), or any table with a loss column;
MLflow's long export (`key,value,step,timestamp[,run_id]`: one row per metric value); and a
markdown table such as the "Training results" of a Hugging Face model card
(`| Training Loss | Epoch | Step | Validation Loss |`, `No log` where nothing was logged).

The first non-blank line must be the header; columns are mapped by name (tabular.auto_columns) or
explicitly (tabular.parse_with_columns). Comma, tab and semicolon separators are accepted. A
markdown table is found anywhere in the text (a model card's README has prose around it); its rows
are the `|` lines under its header.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping

from ..model import ParsedLog
from .lines import LazyRegex, as_sample
from .table import LossTableBuilder
from .tabular import LOSS_ROLES, _normalise, auto_columns, cell_value, fill_table, names, role_of

NAME = "csv"
TRAITS = {}  # an export says nothing about how its evals were measured
DETECTION_ORDER = 200  # breaks ties in detection: lower wins (formats.py)
WHOLE_FILE = True  # one table under one header: parse_runs does not cut it into line ranges
DELIMITERS = (",", "\t", ";")


# a markdown table's separator row: `|:---:|---|`
SEPARATOR_CELL = frozenset("-: ")
CARD_STEPS_RE = LazyRegex(r"^- training_steps: (\d{1,15})$")


def sniff(lines: list[str]) -> int:
    """Count the rows after a recognised header that hold a numeric loss; 0 without such a header."""
    start = _first_line(lines)
    if start is None:
        return 0
    delimiter, header, fits = _split_header(lines[start], None)
    if not fits:
        if _long_columns(header):
            return _sniff_long(lines[start + 1 :], delimiter, header)
        # a markdown header starts with '|': without one in any line, no need to look for it
        found = _pipe_header(lines) if as_sample(lines).raw_mentions("|") else None
        if found is None:
            return 0
        columns = auto_columns(found[1])
        return sum(
            any(cell_value(row.get(columns[role])) is not None for role in LOSS_ROLES if role in columns)
            for _, row in _pipe_rows(lines, *found)
        )
    columns = auto_columns(header)
    loss_columns = [header.index(columns[role]) for role in LOSS_ROLES if role in columns]
    hits = 0
    try:
        for row in csv.reader(lines[start + 1 :], delimiter=delimiter):
            if any(i < len(row) and cell_value(row[i]) is not None for i in loss_columns):
                hits += 1
    except csv.Error:  # e.g. a stray carriage return: the rows so far still count
        pass
    return hits


def parse(lines: Iterable[str], columns: Mapping[str, str] | None = None) -> ParsedLog:
    iterator = iter(lines)
    head: list[str] = []
    for raw in iterator:  # read up to the header line
        head.append(raw)
        if raw.strip():
            break
    start = _first_line(head)
    if start is None:
        raise ValueError("CSV: the file is empty")
    delimiter, header, fits = _split_header(head[start], columns)
    if not fits and not columns:
        if _long_columns(header):
            return _parse_long(iterator, delimiter, header, start + 1)
        rest = head + list(iterator)  # a markdown table may sit anywhere in the text
        found = _pipe_header(rest)
        if found is not None:
            return _parse_pipe(rest, found)
    columns = dict(columns) if columns else auto_columns(header)
    _check_columns(columns, header)
    table = LossTableBuilder(NAME, TRAITS)
    reader = csv.reader(iterator, delimiter=delimiter)
    try:
        fill_table(table, _rows(reader, header, start + 1), columns)
    except csv.Error as exc:
        raise ValueError(f"CSV line {start + 1 + reader.line_num}: {exc}") from None
    return table.build(start + 1 + reader.line_num)


def _first_line(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if line.strip()), None)


def _split_header(line: str, columns: Mapping[str, str] | None) -> tuple[str, list[str], bool]:
    """(delimiter, cells, fits) for a header line: the first separator under which it names the
    given columns (or, without them, a loss column); else the widest split and fits=False."""
    # Excel writes a byte-order mark; a stray line break would make the csv module raise
    text = line.lstrip("\ufeff").replace("\r", "").replace("\n", "").strip()
    splits = [(d, _cells(text, d)) for d in DELIMITERS]
    for delimiter, header in splits:
        if len(header) < 2:
            continue
        if (
            columns
            and all(name in header for name in columns.values())
            or not columns
            and any(role in auto_columns(header) for role in LOSS_ROLES)
        ):
            return delimiter, header, True
    delimiter, header = max(splits, key=lambda split: len(split[1]))
    return delimiter, header, False


def _cells(text: str, delimiter: str) -> list[str]:
    """The cells of one line, or [] when the csv module refuses it (a cell over its field size
    limit: a whole megabyte-long line read with the wrong separator is one such cell)."""
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return []


def _check_columns(columns: Mapping[str, str], header: list[str]) -> None:
    missing = [name for name in columns.values() if name not in header]
    if missing:
        raise ValueError(f"CSV: no column {names(missing)}; the header has: {names(header)}")
    if not any(role in columns for role in LOSS_ROLES):
        raise ValueError(
            f"CSV: no loss column recognised in {names(header)}; "
            "name one with --columns train=COLUMN or val=COLUMN"
        )


def _rows(reader, header: list[str], first_line: int) -> Iterator[tuple[int, dict[str, str]]]:
    for row in reader:
        if row:
            yield first_line + reader.line_num, dict(zip(header, row, strict=False))


# -- markdown tables ------------------------------------------------------------------------------


def _pipe_cells(line: str) -> list[str] | None:
    """The cells of a `| a | b |` line, or None when the line is not one."""
    text = line.strip()
    if len(text) < 3 or text[0] != "|":
        return None
    return [cell.strip() for cell in text.strip("|").split("|")]


def _pipe_header(lines: list[str]) -> tuple[int, list[str]] | None:
    """(index, cells) of the first markdown table header that names a loss column."""
    for index, line in enumerate(lines):
        cells = _pipe_cells(line) if line.lstrip().startswith("|") else None
        if cells and len(cells) >= 2 and any(role in auto_columns(cells) for role in LOSS_ROLES):
            return index, cells
    return None


def _pipe_rows(lines: list[str], index: int, header: list[str]):
    """(line number, row) of the rows under a markdown header, up to the first non-table line."""
    for number, line in enumerate(lines[index + 1 :], start=index + 2):
        cells = _pipe_cells(line)
        if cells is None:
            return
        if all(set(cell) <= SEPARATOR_CELL for cell in cells):
            continue
        yield number, dict(zip(header, cells, strict=False))


def _parse_pipe(lines: list[str], found: tuple[int, list[str]]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    fill_table(table, _pipe_rows(lines, *found), auto_columns(found[1]))
    # a model card lists its hyperparameters above the table: `- training_steps: 5000`
    for line in lines[: found[0]]:
        m = CARD_STEPS_RE.match(line.strip())
        if m:
            table.meta.max_iters = int(m.group(1))
    table.meta.notes.append(f"a markdown table, header on line {found[0] + 1}")
    return table.build(len(lines))


# -- MLflow's long export: key,value,step,timestamp ------------------------------------------------


def _long_columns(header: list[str]) -> dict[str, str] | None:
    """{key, value, step, run} -> header name for a long export; None when it is not one."""
    by_name = {_normalise(h): h for h in header}
    if "key" not in by_name or "value" not in by_name:
        return None
    return {
        "key": by_name["key"],
        "value": by_name["value"],
        "step": by_name.get("step"),
        "run": by_name.get("run_id") or by_name.get("run_uuid"),
    }


def _sniff_long(lines: list[str], delimiter: str, header: list[str]) -> int:
    key = header.index(_long_columns(header)["key"])
    hits = 0
    try:
        for row in csv.reader(lines, delimiter=delimiter):
            hits += key < len(row) and role_of(row[key]) in LOSS_ROLES
    except csv.Error:
        pass
    return hits


def _parse_long(iterator, delimiter: str, header: list[str], first_line: int) -> ParsedLog:
    """Pivot one row per (metric, step) into one row per step. MLflow writes each metric's history
    in turn, so the rows are gathered before the table is filled in step order. An export of
    several runs is read for its first run only."""
    cols = _long_columns(header)
    if cols["step"] is None:
        raise ValueError(f"CSV: a key,value export without a step column; the header has: {names(header)}")
    by_step: dict[int, dict[str, float]] = {}
    first_seen: dict[int, int] = {}
    keys: dict[str, str] = {}
    run = None
    other_runs = 0
    reader = csv.reader(iterator, delimiter=delimiter)
    try:
        for number, row in _rows(reader, header, first_line):
            if cols["run"] is not None:
                run = row.get(cols["run"]) if run is None else run
                if row.get(cols["run"]) != run:
                    other_runs += 1
                    continue
            role = role_of(row.get(cols["key"], ""))
            step, value = cell_value(row.get(cols["step"])), cell_value(row.get(cols["value"]))
            if (
                role in (None, "step")
                or value is None
                or step is None
                or step != step
                or step != int(step)
                or abs(step) >= 2**53
            ):
                continue
            keys[row[cols["key"]]] = role
            by_step.setdefault(int(step), {})[role] = value
            first_seen.setdefault(int(step), number)
    except csv.Error as exc:
        raise ValueError(f"CSV line {first_line + reader.line_num}: {exc}") from None
    roles = {role: role for role in keys.values()}
    if not any(role in roles for role in LOSS_ROLES):
        raise ValueError(f"CSV: a key,value export with no loss key among {names(keys) or 'no rows'}")
    table = LossTableBuilder(NAME, TRAITS)
    rows = ((first_seen[step], {**by_step[step], "step": step}) for step in sorted(by_step))
    fill_table(table, rows, {"step": "step", **roles})
    table.meta.notes.append(
        "MLflow long format: " + ", ".join(f"{key}->{role}" for key, role in keys.items())
    )
    if other_runs:
        table.meta.notes.append(f"{other_runs} rows of other runs not read (run_id {run})")
    return table.build(first_line + reader.line_num)
