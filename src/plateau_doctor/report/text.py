"""The terminal report: verdict first, then ranked findings with evidence and fixes, then the
run's facts. On a terminal: colour, and long lines wrapped to its width with their indent kept.
In a pipe (width 0): plain, each message on one line, so grep and diff see whole sentences."""

from __future__ import annotations

import io
import math

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..model import Report, RunFacts
from .summary import HEALTHY, Summary
from .values import display

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SPARK = "▁▂▃▄▅▆▇█"
PIPE_WIDTH = 100  # layout width of rules and tables when not on a terminal (messages never wrap)
UNWRAPPED_WIDTH = 10_000  # the summary table in a pipe: wide enough that no cell wraps


def render(
    reports: list[Report], rules=None, tool_version: str = "", color: bool = False, width: int = 0
) -> str:
    """Each report, then (for several) the ranked summary. `width` 0: plain (not a terminal)."""
    parts = [render_one(report, color, width) for report in reports]
    if len(reports) > 1:
        parts.append(render_summary(Summary.of(reports), color, width))
    return "\n".join(parts)


def render_one(report: Report, color: bool = False, width: int = 0) -> str:
    """One report on its own: what a sweep prints as soon as that log is done."""
    console, buffer = _console(color, width)
    _report(console, report, wrap=width > 0)
    return buffer.getvalue()


def render_summary(summary: Summary | list[Report], color: bool = False, width: int = 0) -> str:
    """The runs grouped by verdict with counts, worst first: one row per run. On a terminal a
    table fitted to its width; in a pipe (width 0) aligned plain rows, one line per run."""
    if not isinstance(summary, Summary):
        summary = Summary.of(summary)
    head = f"{summary.counts_line()} (worst first)"
    rows = [_summary_row(verdict, row) for verdict, group in summary.groups() for row in group]
    seeds = _seed_block(summary)
    if not width:
        return head + "\n\n" + _plain_table([SUMMARY_COLUMNS, *rows]) + seeds
    console, buffer = _console(color, width)
    console.print(head, soft_wrap=True)
    columns = SUMMARY_COLUMNS if width >= WIDE_SUMMARY else SUMMARY_COLUMNS[:-1]  # the verdict says it
    rows = [cells[: len(columns)] for cells in rows]
    table = Table(box=box.SIMPLE_HEAD)
    for i, col in enumerate(columns):
        if col in ("run", "top finding"):  # these wrap; the short columns keep their width
            table.add_column(col, overflow="fold", min_width=12)
        else:
            widest = max(len(cells[i]) for cells in [columns, *rows])
            table.add_column(
                col,
                no_wrap=True,
                min_width=widest,
                justify="right" if col in ("best val", "tokens", "epochs") else "left",
            )
    for cells in rows:
        style = STYLE.get(cells[1])
        first = f"[{style}]{escape(cells[0])}[/]" if style else escape(cells[0])
        table.add_row(first, *(escape(c) for c in cells[1:]))
    console.print(table)
    return buffer.getvalue() + seeds


def _seed_block(summary: Summary) -> str:
    """Seeds of one config found in the sweep (summary.py): the spread they measure, and each
    recipe against the best one in units of it. Empty when the paths name no seeds."""
    lines = summary.seed_lines()
    if not lines:
        return ""
    return "\nSeed spread, measured from runs that differ only by seed:\n" + "".join(
        f"  {line}\n" for line in lines
    )


SUMMARY_COLUMNS = ["verdict", "severity", "run", "best val", "tokens", "epochs", "top finding"]
WIDE_SUMMARY = 110  # narrower terminals get the summary without the top finding's title


def _summary_row(verdict: str, row) -> list[str]:
    return [
        verdict,
        row.severity or "ok",
        row.path,
        display(row.best_val) if row.best_val is not None else "",
        display(row.tokens) if row.tokens is not None else "",
        f"{row.epochs:.3g}" if row.epochs is not None else "",
        row.title if verdict != HEALTHY else "",
    ]


def _plain_table(rows: list[list[str]]) -> str:
    """Columns aligned with spaces, no box, no trailing blanks: for pipes, grep and diff."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(
        file=buffer,
        force_terminal=color,
        color_system="standard" if color else None,
        width=width or PIPE_WIDTH,
        highlight=False,
        soft_wrap=False,
    ), buffer


def _indented(console: Console, markup: str, wrap: bool, indent: int = 3) -> None:
    """A paragraph under a finding: wrapped at the width with a hanging indent on a terminal, one
    unbroken line in a pipe."""
    if wrap:
        console.print(Padding(Text.from_markup(markup), (0, 0, 0, indent), expand=False))
    else:
        console.print(" " * indent + markup, soft_wrap=True)


def _report(console: Console, report: Report, wrap: bool = False) -> None:
    if report.error:
        console.rule(f"[bold]{escape(report.path)}[/] (not diagnosed)")
        console.print(f"[bold red]ERROR[/] {escape(report.error)}", soft_wrap=not wrap)
        return
    console.rule(
        f"[bold]{escape(report.name)}[/] ({report.format}, {report.lines:,} lines"
        + (f", {report.segments} runs" if report.segments > 1 else "")
        + ")"
    )
    _indented(console, escape(report.verdict), wrap, indent=0)
    spark = report.val_series
    if len(spark) >= 2:
        console.print(f"val loss  {sparkline(spark)}  {spark[0]:.4f} -> {spark[-1]:.4f}")
    raised = [f for f in report.findings if f.raised]
    ruled_out = [f for f in report.findings if f.ruled_out]
    quiet = [f for f in report.findings if not f.raised and not f.ruled_out and not f.explained_by]
    if raised:
        console.print()
    for n, f in enumerate(raised, 1):
        _indented(
            console,
            f"[{STYLE[f.severity]}]{n}. {f.severity.upper()} {f.code} [{f.category}][/] "
            f"{escape(f.title)}  (confidence {f.confidence:.2f})",
            wrap,
            indent=0,
        )
        _indented(console, escape(f.message), wrap)
        if f.evidence:
            _indented(console, "evidence: " + _pairs(f.evidence), wrap)
        if f.counter_evidence:
            _indented(console, "against: " + _pairs(f.counter_evidence), wrap)
        for fix in f.fixes:
            _indented(console, f"fix: {escape(fix)}", wrap)
        for folded in (g for g in report.findings if f.code in g.explained_by):
            _indented(console, f"explains: {folded.code} {escape(folded.title)}", wrap)
    if ruled_out:
        console.print()
        for f in ruled_out:
            _indented(console, f"[green]ruled out {f.code}[/] {escape(f.title)}", wrap, indent=0)
    if quiet:
        console.print()
        for f in quiet:
            _indented(console, f"[cyan]info {f.code}[/] {escape(f.title)}", wrap, indent=0)
    console.print()
    console.print(_facts_table(report.run))
    if report.notes:
        console.print()
        for note in report.notes:
            _indented(console, f"[dim]note: {escape(note)}[/]", wrap, indent=0)


def _pairs(values: dict) -> str:
    return escape(", ".join(f"{k}={display(v)}" for k, v in values.items()))


def _facts_table(run: RunFacts) -> Table:
    table = Table(title="run", show_header=False, box=None, padding=(0, 2))
    for key in RunFacts.CONTRACT_KEYS:
        value = getattr(run, key)
        if value is None:
            continue
        source = run.sources.get(key)
        table.add_row(key, display(value), f"[dim]{escape(source)}[/]" if source else "")
    return table


def sparkline(values: list[float], width: int = 40) -> str:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:  # keep the shape: sample evenly, always keeping the last point
        step = len(finite) / width
        finite = [finite[min(len(finite) - 1, int(i * step))] for i in range(width - 1)] + [finite[-1]]
    lo, hi = min(finite), max(finite)
    # halves keep the span finite for losses near the float limit (+-1e308)
    span = hi / 2 - lo / 2 or 1.0
    return "".join(
        SPARK[min(len(SPARK) - 1, int((v / 2 - lo / 2) / span * (len(SPARK) - 1) + 0.5))] for v in finite
    )
