"""The text report: verdict first, then ranked findings with evidence and fixes, then the run's
facts. What it says is built once here, as lines of styled pieces; two looks draw them:

- in a pipe (width 0, no colour): plain lines written here, each message on one line so grep
  and diff see whole sentences. No rich: a pipe needs none of it, and importing it is a tenth
  of a small diagnosis.
- on a terminal: colour, and long lines wrapped to its width with their indent kept
  (report/terminal.py, with rich).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from ..model import Report, RunFacts
from .summary import HEALTHY, Summary
from .values import display

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SPARK = "▁▂▃▄▅▆▇█"
PIPE_WIDTH = 100  # layout width of the title rule and the facts table when not on a terminal
RULE = "─"
# Characters a terminal would act on (bell, backspace, vertical tab, form feed, carriage return)
# are dropped from what the log put in a message, as rich drops them on a terminal.
CONTROL_CODES = dict.fromkeys((7, 8, 11, 12, 13))

Piece = tuple[str, str | None]  # text and its rich style (None: plain)


@dataclass(frozen=True)
class Line:
    """One line of the report: a title rule, a paragraph of styled pieces under an indent (wrapped
    on a terminal), a blank line, or the table of run facts (rows of key, value, source)."""

    kind: str  # "rule", "text", "blank", "facts"
    pieces: tuple[Piece, ...] = ()
    indent: int = 0
    rows: tuple[tuple[str, str, str], ...] = ()


BLANK = Line("blank")


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
    lines = report_lines(report)
    if color or width:
        from .terminal import draw

        return draw(lines, color, width)
    return "".join(plain_line(line) + "\n" for line in lines)


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
    from .terminal import summary_table

    return summary_table(head, SUMMARY_COLUMNS, rows, color, width) + seeds


# -- what the report says -----------------------------------------------------------------------


def report_lines(report: Report) -> list[Line]:
    if report.error:
        return [
            Line("rule", ((report.path, "bold"), (" (not diagnosed)", None))),
            Line("text", (("ERROR", "bold red"), (" " + report.error, None))),
        ]
    lines = [
        Line(
            "rule",
            (
                (report.name, "bold"),
                (
                    f" ({report.format}, {report.lines:,} lines"
                    + (f", {report.segments} runs" if report.segments > 1 else "")
                    + ")",
                    None,
                ),
            ),
        ),
        Line("text", ((report.verdict, None),)),
    ]
    spark = report.val_series
    if len(spark) >= 2:
        lines.append(
            Line("text", ((f"val loss  {sparkline(spark)}  {spark[0]:.4f} -> {spark[-1]:.4f}", None),))
        )
    raised = [f for f in report.findings if f.raised]
    ruled_out = [f for f in report.findings if f.ruled_out]
    quiet = [f for f in report.findings if not f.raised and not f.ruled_out and not f.explained_by]
    if raised:
        lines.append(BLANK)
    for n, f in enumerate(raised, 1):
        head = f"{n}. {f.severity.upper()} {f.code} [{f.category}]"
        lines.append(
            Line("text", ((head, STYLE[f.severity]), (f" {f.title}  (confidence {f.confidence:.2f})", None)))
        )
        under = [f.message]
        if f.evidence:
            under.append("evidence: " + _pairs(f.evidence))
        if f.counter_evidence:
            under.append("against: " + _pairs(f.counter_evidence))
        under += [f"fix: {fix}" for fix in f.fixes]
        under += [f"explains: {g.code} {g.title}" for g in report.findings if f.code in g.explained_by]
        lines += [Line("text", ((text, None),), indent=3) for text in under]
    if ruled_out:
        lines.append(BLANK)
        lines += [Line("text", ((f"ruled out {f.code}", "green"), (" " + f.title, None))) for f in ruled_out]
    if quiet:
        lines.append(BLANK)
        lines += [Line("text", ((f"info {f.code}", "cyan"), (" " + f.title, None))) for f in quiet]
    lines += [BLANK, Line("facts", rows=_facts(report.run))]
    if report.notes:
        lines.append(BLANK)
        lines += [Line("text", ((f"note: {note}", "dim"),)) for note in report.notes]
    return lines


def _pairs(values: dict) -> str:
    return ", ".join(f"{k}={display(v)}" for k, v in values.items())


def _facts(run: RunFacts) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (key, display(getattr(run, key)), run.sources.get(key) or "")
        for key in RunFacts.CONTRACT_KEYS
        if getattr(run, key) is not None
    )


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


# -- the plain look -----------------------------------------------------------------------------


def plain_line(line: Line) -> str:
    """A line as a pipe gets it: no colour, no wrapping; the rule and the facts table laid out
    at PIPE_WIDTH as on a terminal that wide."""
    text = "".join(piece for piece, _ in line.pieces).translate(CONTROL_CODES)
    if line.kind == "rule":
        return _plain_rule(text, PIPE_WIDTH)
    if line.kind == "facts":
        return _plain_facts(line.rows)
    return " " * line.indent + text if text else ""


def cell_width(text: str) -> int:
    """Columns the text takes on a terminal: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _plain_rule(title: str, width: int) -> str:
    """The title centred in a rule `width` wide, as rich draws it; a title too long for that is
    kept whole (a path is worth more than the rule)."""
    title = title.replace("\n", " ")
    length = cell_width(title)
    if length > width - 4:
        return f"{RULE} {title} {RULE}"
    side = (width - length) // 2
    line = f"{RULE * (side - 1)} {title} {RULE * (side + 1)}"
    return line[: len(line) - (cell_width(line) - width)]  # cut at the right end, as rich does


def _plain_facts(rows: tuple[tuple[str, str, str], ...]) -> str:
    """The run's facts: three columns, each cell padded by two spaces a side, under the centred
    title "run" (rich's borderless table); never wrapped."""
    widths = [max(cell_width(row[i]) for row in rows) for i in range(3)] if rows else [0, 0, 0]
    total = sum(w + 4 for w in widths)
    left = (total - 3) // 2
    lines = [" " * left + "run" + " " * (total - 3 - left)]
    for row in rows:
        lines.append(
            "".join(f"  {cell}{' ' * (w - cell_width(cell))}  " for cell, w in zip(row, widths, strict=True))
        )
    return "\n".join(lines)


# -- the sweep summary --------------------------------------------------------------------------


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
