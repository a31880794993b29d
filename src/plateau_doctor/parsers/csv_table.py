"""Metrics exported as CSV: W&B (`_step,train/loss,val/loss,lr`, or chart exports
`Step,my-run - train/loss,...__MIN,...__MAX`), TensorBoard (`Wall time,Step,Value`), Lightning's
metrics.csv (`epoch,step,train_loss,val_loss` with blank cells), or any table with a loss column.

The first non-blank line must be the header; columns are mapped by name (tabular.auto_columns) or
explicitly (tabular.parse_with_columns). Comma, tab and semicolon separators are accepted.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping

from ..model import ParsedLog
from .table import LossTableBuilder
from .tabular import LOSS_ROLES, auto_columns, cell_value, fill_table, names

NAME = "csv"
TRAITS = {}   # an export says nothing about how its evals were measured
DELIMITERS = (",", "\t", ";")


def sniff(lines: list[str]) -> int:
    """Count the rows after a recognised header that hold a numeric loss; 0 without such a header."""
    start = _first_line(lines)
    if start is None:
        return 0
    delimiter, header, fits = _split_header(lines[start], None)
    if not fits:
        return 0
    columns = auto_columns(header)
    loss_columns = [header.index(columns[role]) for role in LOSS_ROLES if role in columns]
    hits = 0
    try:
        for row in csv.reader(lines[start + 1:], delimiter=delimiter):
            if any(i < len(row) and cell_value(row[i]) is not None for i in loss_columns):
                hits += 1
    except csv.Error:      # e.g. a stray carriage return: the rows so far still count
        pass
    return hits


def parse(lines: Iterable[str], columns: Mapping[str, str] | None = None) -> ParsedLog:
    iterator = iter(lines)
    head: list[str] = []
    for raw in iterator:           # read up to the header line
        head.append(raw)
        if raw.strip():
            break
    start = _first_line(head)
    if start is None:
        raise ValueError("CSV: the file is empty")
    delimiter, header, _ = _split_header(head[start], columns)
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
        if columns and all(name in header for name in columns.values()) or \
                not columns and any(role in auto_columns(header) for role in LOSS_ROLES):
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
        raise ValueError(f"CSV: no loss column recognised in {names(header)}; "
                         "name one with --columns train=COLUMN or val=COLUMN")


def _rows(reader, header: list[str], first_line: int) -> Iterator[tuple[int, dict[str, str]]]:
    for row in reader:
        if row:
            yield first_line + reader.line_num, dict(zip(header, row))
