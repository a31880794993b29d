"""A Report in a notebook or a REPL: what model.Report's `_repr_html_`, `__repr__`, `__str__`,
`findings_frame()` and `loss_table()` return.

The HTML is html.py's report of one log, as a fragment for a notebook cell: its stylesheet scoped
to the fragment (html.py styles a whole page: `body`, `h2`, `table`, which in a notebook would
restyle every cell), and the plot's element ids made unique, since a notebook shows many reports
on one page. The plot is the annotated matplotlib one where matplotlib is installed and the report
kept its examination (plateau_doctor.diagnose does), else html.py's dependency-free val line.
Nothing is fetched: inline CSS and SVG, no scripts.

pandas is imported only by the two DataFrame methods: the diagnosis itself never imports it.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from .html import CSS, _report, inline_svg

if TYPE_CHECKING:
    import pandas as pd

    from ..model import Report

SCOPE = "plateau-doctor-report"
MAX_LISTED = 6  # raised findings listed in the short repr; the rest are counted
FINDING_COLUMNS = [
    "code",
    "severity",
    "category",
    "confidence",
    "raised",
    "title",
    "message",
    "evidence",
    "counter_evidence",
    "fixes",
    "line",
    "explained_by",
    "ruled_out",
]


def html_fragment(report: Report) -> str:
    """The HTML report of `report` as a self-contained notebook cell (see the module docstring)."""
    plot = _plot(report)
    return (
        f'<div class="{SCOPE}"><style>{scoped_css(CSS, "." + SCOPE)}</style>{_report(1, report, plot)}</div>'
    )


def scoped_css(css: str, scope: str) -> str:
    """Every rule of `css` limited to elements inside `scope`; the page-wide selectors (:root,
    body, main) become the scope element itself."""
    rules = []
    for block in css.split("}"):
        if "{" not in block:
            continue
        selectors, body = block.split("{", 1)
        inside = ", ".join(_scoped(selector.strip(), scope) for selector in selectors.split(","))
        rules.append(f"{inside} {{{body.strip()}}}")
    return "\n".join(rules)


def _scoped(selector: str, scope: str) -> str:
    if selector in (":root", "body", "main"):
        return scope
    return f"{scope} {selector}"


def _plot(report: Report) -> str | None:
    """The annotated plot as inline SVG with ids unique on the page, or None (no matplotlib, no
    examination kept, or nothing to plot)."""
    if report.examination is None:
        return None
    from ..plot.command import plot_svg

    svg = plot_svg([report.examination])
    return inline_svg(svg, prefix=f"pd{uuid.uuid4().hex[:8]}-") if svg else None


def short_text(report: Report) -> str:
    """A few lines for a REPL: the log, the verdict's first sentence, the raised findings."""
    head = f"<plateau-doctor Report {report.path}"
    if report.error:
        return f"{head}: could not be diagnosed: {report.error}>"
    lines = [f"{head} ({report.format}, {report.lines:,} lines)"]
    first = re.match(r"^(.*?[.!?])(?=\s|$)", report.verdict.strip())
    if first:
        lines.append(f"  {first.group(1)}")
    raised = [f for f in report.findings if f.raised]
    lines += [f"  {f.severity:<7} {f.code} {f.category}: {f.title}" for f in raised[:MAX_LISTED]]
    rest = len(report.findings) - min(len(raised), MAX_LISTED)
    if not raised:
        lines.append("  no findings raised")
    if rest:
        lines.append(f"  + {rest} more finding{'s' if rest != 1 else ''}")
    lines[-1] += "; print(report) for the full report>"
    return "\n".join(lines)


def full_text(report: Report) -> str:
    """The text report, plain (as `diagnose` prints it into a pipe)."""
    from .text import render_one

    return render_one(report, color=False, width=0)


def findings_frame(report: Report) -> pd.DataFrame:
    """One row per finding, in the report's order (the verdict first)."""
    import pandas as pd

    rows = [
        {
            "code": f.code,
            "severity": f.severity,
            "category": f.category,
            "confidence": f.confidence,
            "raised": f.raised,
            "title": f.title,
            "message": f.message,
            "evidence": dict(f.evidence),
            "counter_evidence": dict(f.counter_evidence),
            "fixes": list(f.fixes),
            "line": f.line,
            "explained_by": list(f.explained_by),
            "ruled_out": f.ruled_out,
        }
        for f in report.findings
    ]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS).astype({"line": "Int64"})  # None stays missing


def loss_table(report: Report) -> pd.DataFrame:
    """The loss table the diagnosis read: iteration rows and eval rows in one table with a `kind`
    column, ordered by step (the layout of `plateau-doctor parse --to csv`)."""
    from ..export import long_table

    if report.examination is None:
        raise ValueError(
            f"{report.path}: this report does not carry its loss table (only "
            "plateau_doctor.diagnose() keeps it); plateau_doctor.parse(path).iters and .evals give it"
        )
    return long_table(report.examination.parsed).reset_index(drop=True)
