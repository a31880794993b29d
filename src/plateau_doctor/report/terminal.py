"""The text report on a terminal, drawn with rich: colour, and paragraphs wrapped to the width
with their indent kept. What it says comes from text.report_lines; a pipe gets the same lines
plain (text.plain_line) without importing rich."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .text import STYLE, Line

WIDE_SUMMARY = 110  # narrower terminals get the summary without the top finding's title
NUMBER_COLUMNS = ("best val", "tokens", "epochs")
WRAPPING_COLUMNS = ("run", "top finding")  # these wrap; the short columns keep their width


def draw(lines: list[Line], color: bool, width: int) -> str:
    """The report's lines at `width` (0: the plain layout width, nothing wrapped)."""
    from .text import PIPE_WIDTH

    console, buffer = _console(color, width or PIPE_WIDTH)
    for line in lines:
        if line.kind == "rule":
            console.rule(Text.assemble(*line.pieces))
        elif line.kind == "blank":
            console.print()
        elif line.kind == "facts":
            console.print(_facts_table(line.rows))
        elif width:  # wrapped at the width with a hanging indent
            console.print(Padding(Text.assemble(*line.pieces), (0, 0, 0, line.indent), expand=False))
        else:
            console.print(Text.assemble((" " * line.indent, None), *line.pieces), soft_wrap=True)
    return buffer.getvalue()


def _facts_table(rows) -> Table:
    table = Table(title="run", show_header=False, box=None, padding=(0, 2))
    for key, value, source in rows:
        table.add_row(key, value, Text.assemble((source, "dim")))
    return table


def summary_table(head: str, columns: list[str], rows: list[list[str]], color: bool, width: int) -> str:
    """The sweep's runs as a table fitted to the terminal; the verdict column coloured by severity."""
    console, buffer = _console(color, width)
    console.print(head, soft_wrap=True, markup=False)
    if width < WIDE_SUMMARY:
        columns = columns[:-1]  # the verdict says it
    rows = [cells[: len(columns)] for cells in rows]
    table = Table(box=box.SIMPLE_HEAD)
    for i, col in enumerate(columns):
        if col in WRAPPING_COLUMNS:
            table.add_column(col, overflow="fold", min_width=12)
        else:
            widest = max(len(cells[i]) for cells in [columns, *rows])
            table.add_column(
                col, no_wrap=True, min_width=widest, justify="right" if col in NUMBER_COLUMNS else "left"
            )
    for cells in rows:
        table.add_row(Text.assemble((cells[0], STYLE.get(cells[1]))), *(Text(c) for c in cells[1:]))
    console.print(table)
    return buffer.getvalue()


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(
        file=buffer,
        force_terminal=color,
        color_system="standard" if color else None,
        width=width,
        highlight=False,
        soft_wrap=False,
    ), buffer
