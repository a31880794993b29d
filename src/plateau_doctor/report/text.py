"""The terminal report: verdict first, then ranked findings with evidence and fixes, then the
run's facts. Colour on a terminal, plain text when piped or with NO_COLOR (rich decides)."""
from __future__ import annotations

import io
import math

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..model import Report, RunFacts

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SPARK = "▁▂▃▄▅▆▇█"


def render(reports: list[Report], rules=None, tool_version: str = "", color: bool = False,
           width: int = 100) -> str:
    """Each report, then (for several) a summary table, worst first."""
    parts = [render_one(report, color, width) for report in reports]
    if len(reports) > 1:
        parts.append(render_summary(reports, color, width))
    return "\n".join(parts)


def render_one(report: Report, color: bool = False, width: int = 100) -> str:
    """One report on its own: what a sweep prints as soon as that log is done."""
    console, buffer = _console(color, width)
    _report(console, report)
    return buffer.getvalue()


def render_summary(reports: list[Report], color: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    _summary(console, reports)
    return buffer.getvalue()


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                   width=width, highlight=False, soft_wrap=False), buffer


def _report(console: Console, report: Report) -> None:
    console.rule(f"[bold]{escape(report.path)}[/] ({report.format}, {report.lines:,} lines"
                 + (f", {report.segments} runs" if report.segments > 1 else "") + ")")
    console.print(escape(report.verdict))
    spark = report.val_series
    if len(spark) >= 2:
        console.print(f"val loss  {sparkline(spark)}  {spark[0]:.4f} -> {spark[-1]:.4f}")
    raised = [f for f in report.findings if f.raised]
    ruled_out = [f for f in report.findings if f.ruled_out]
    quiet = [f for f in report.findings if not f.raised and not f.ruled_out and not f.explained_by]
    if raised:
        console.print()
    for n, f in enumerate(raised, 1):
        console.print(f"[{STYLE[f.severity]}]{n}. {f.severity.upper()} {f.code} [{f.category}][/] "
                      f"{escape(f.title)}  (confidence {f.confidence:.2f})")
        console.print(f"   {escape(f.message)}", soft_wrap=True)
        if f.evidence:
            console.print("   evidence: " + escape(", ".join(f"{k}={_num(v)}" for k, v in f.evidence.items())),
                          soft_wrap=True)
        if f.counter_evidence:
            console.print("   against: " + escape(", ".join(f"{k}={_num(v)}" for k, v in f.counter_evidence.items())),
                          soft_wrap=True)
        for fix in f.fixes:
            console.print(f"   fix: {escape(fix)}", soft_wrap=True)
        for folded in (g for g in report.findings if f.code in g.explained_by):
            console.print(f"   explains: {folded.code} {escape(folded.title)}", soft_wrap=True)
    if ruled_out:
        console.print()
        for f in ruled_out:
            console.print(f"[green]ruled out {f.code}[/] {escape(f.title)}", soft_wrap=True)
    if quiet:
        console.print()
        for f in quiet:
            console.print(f"[cyan]info {f.code}[/] {escape(f.title)}", soft_wrap=True)
    console.print()
    console.print(_facts_table(report.run))
    if report.notes:
        console.print()
        for note in report.notes:
            console.print(f"[dim]note: {escape(note)}[/]", soft_wrap=True)


def _facts_table(run: RunFacts) -> Table:
    table = Table(title="run", show_header=False, box=None, padding=(0, 2))
    for key in RunFacts.CONTRACT_KEYS:
        value = getattr(run, key)
        if value is None:
            continue
        source = run.sources.get(key)
        table.add_row(key, _num(value), f"[dim]{escape(source)}[/]" if source else "")
    return table


def _summary(console: Console, reports: list[Report]) -> None:
    table = Table(title="runs, worst first")
    for col in ("log", "worst", "raised", "top finding", "best val"):
        table.add_column(col)
    order = {"error": 0, "warning": 1, "info": 2, None: 3}
    ranked = sorted(reports, key=lambda r: (order[r.worst_severity() if any(f.raised for f in r.findings) else None], r.path))
    for r in ranked:
        raised = [f for f in r.findings if f.raised]
        table.add_row(escape(r.path), raised[0].severity if raised else "ok", str(len(raised)),
                      escape(raised[0].title) if raised else "",
                      _num(r.run.best_val_loss) if r.run.best_val_loss is not None else "")
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
