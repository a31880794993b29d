"""The terminal report: verdict first, then ranked findings with evidence and fixes, then the
run's facts. On a terminal: colour, and long lines wrapped to its width with their indent kept.
In a pipe (width 0): plain, each message on one line, so grep and diff see whole sentences."""
from __future__ import annotations

import io
import math

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..model import Report, RunFacts
from .summary import HEALTHY, Summary

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SPARK = "▁▂▃▄▅▆▇█"
PIPE_WIDTH = 100     # layout width of rules and tables when not on a terminal (messages never wrap)


def render(reports: list[Report], rules=None, tool_version: str = "", color: bool = False,
           width: int = 0) -> str:
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
    """The runs grouped by verdict with counts, worst first: one row per run."""
    if not isinstance(summary, Summary):
        summary = Summary.of(summary)
    console, buffer = _console(color, width)
    _summary(console, summary)
    return buffer.getvalue()


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                   width=width or PIPE_WIDTH, highlight=False, soft_wrap=False), buffer


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
    console.rule(f"[bold]{escape(report.path)}[/] ({report.format}, {report.lines:,} lines"
                 + (f", {report.segments} runs" if report.segments > 1 else "") + ")")
    _indented(console, escape(report.verdict), wrap, indent=0)
    spark = report.val_series
    if len(spark) >= 2:
        console.print(f"val loss  {sparkline(spark)}  {spark[0]:.4f} -> {spark[-1]:.4f}")
    raised = [f for f in report.findings if f.raised]
    quiet = [f for f in report.findings if not f.raised]
    if raised:
        console.print()
    for n, f in enumerate(raised, 1):
        _indented(console, f"[{STYLE[f.severity]}]{n}. {f.severity.upper()} {f.code} [{f.category}][/] "
                           f"{escape(f.title)}  (confidence {f.confidence:.2f})", wrap, indent=0)
        _indented(console, escape(f.message), wrap)
        if f.evidence:
            _indented(console, "evidence: " + _pairs(f.evidence), wrap)
        if f.counter_evidence:
            _indented(console, "against: " + _pairs(f.counter_evidence), wrap)
        for fix in f.fixes:
            _indented(console, f"fix: {escape(fix)}", wrap)
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
    return escape(", ".join(f"{k}={_num(v)}" for k, v in values.items()))


def _facts_table(run: RunFacts) -> Table:
    table = Table(title="run", show_header=False, box=None, padding=(0, 2))
    for key in RunFacts.CONTRACT_KEYS:
        value = getattr(run, key)
        if value is None:
            continue
        source = run.sources.get(key)
        table.add_row(key, _num(value), f"[dim]{escape(source)}[/]" if source else "")
    return table


def _summary(console: Console, summary: Summary) -> None:
    table = Table(title=f"{summary.counts_line()} (worst first)", title_justify="left")
    for col in ("verdict", "severity", "run", "best val", "tokens", "epochs", "top finding"):
        table.add_column(col, overflow="fold")
    for verdict, rows in summary.groups():
        for row in rows:
            style = STYLE.get(row.severity or "", "")
            table.add_row(f"[{style}]{verdict}[/]" if style else verdict, row.severity or "ok",
                          escape(row.path), _num(row.best_val) if row.best_val is not None else "",
                          _num(row.tokens) if row.tokens is not None else "",
                          f"{row.epochs:.3g}" if row.epochs is not None else "",
                          escape(row.title) if verdict != HEALTHY else "")
        table.add_section()
    console.print(table)


def sparkline(values: list[float], width: int = 40) -> str:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:   # keep the shape: sample evenly, always keeping the last point
        step = len(finite) / width
        finite = [finite[min(len(finite) - 1, int(i * step))] for i in range(width - 1)] + [finite[-1]]
    lo, hi = min(finite), max(finite)
    # halves keep the span finite for losses near the float limit (+-1e308)
    span = hi / 2 - lo / 2 or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v / 2 - lo / 2) / span * (len(SPARK) - 1) + 0.5))]
                   for v in finite)


def _num(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e7):
            return f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)
