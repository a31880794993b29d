"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no fetches) with the
verdict, the findings with their evidence and fixes, the run facts and a picture of the curve.

One report for `diagnose --format html`, `plot --output x.html` and `compare --format html`: the
picture is the annotated matplotlib plot (SVG, inlined) wherever matplotlib is installed; the
callers pass it in `plots` (drawn where the run was examined, e.g. in a pool worker) or as
`examinations` to draw here. Without matplotlib, a small val-loss line drawn here from
`report.val_series`, which needs no dependency.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import TYPE_CHECKING, Any

from ..model import RunFacts
from .values import display

if TYPE_CHECKING:
    from ..api import Examination
    from ..model import Finding, Report, RuleInfo

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
FACT_LABELS = {
    "tokens_per_iter": "tokens per iteration",
    "n_params": "parameters",
    "last_iter": "last iteration",
    "max_iters": "max iterations",
    "tokens_seen": "tokens seen",
    "dataset_tokens": "dataset tokens",
    "epochs": "epochs",
    "tokens_per_param": "tokens per parameter",
    "lr_at_last_iter": "learning rate at last iteration",
    "best_val_loss": "best val loss",
    "best_val_step": "best val step",
    "last_val_loss": "last val loss",
    "last_train_loss": "last train loss",
}
_CODE_SPAN = re.compile(r"`([^`\n]+)`")

# Okabe-Ito colours again (as in the plot), so severity reads the same for colour-blind readers;
# each severity also carries its word, never colour alone.
CSS = """
:root { color-scheme: light; --error: #D55E00; --warning: #E69F00; --info: #0072B2; --ok: #009E73;
  --ink: #1d1d1f; --muted: #5f6368; --rule: #dadce0; --panel: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 2px; word-break: break-all; }
h3 { font-size: 16px; margin: 24px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h4 { font-size: 15px; margin: 6px 0; }
code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: var(--panel); padding: 1px 4px; border-radius: 3px; }
.meta, .source { color: var(--muted); margin: 0; }
.verdict { margin: 14px 0; padding: 12px 16px; border-left: 8px solid var(--ok);
  background: #e6f5f0; border-radius: 4px; font-size: 16px; }
.verdict.sev-error { border-color: var(--error); background: #fbe9df; }
.verdict.sev-warning { border-color: var(--warning); background: #fdf3df; }
.verdict.sev-info { border-color: var(--info); background: #e3eef7; }
.verdict strong { display: block; font-size: 13px; text-transform: uppercase; letter-spacing: .05em; }
figure.plot { margin: 12px 0; padding: 8px; border: 1px solid var(--rule); border-radius: 4px; }
figure.plot svg { display: block; width: 100%; height: auto; }
figure.plot svg.valline { max-width: 760px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.finding { border: 1px solid var(--rule); border-left: 6px solid var(--info); border-radius: 4px;
  padding: 10px 14px; margin: 10px 0; }
.finding.sev-error { border-left-color: var(--error); }
.finding.sev-warning { border-left-color: var(--warning); }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff; font-size: 12px;
  font-weight: 600; text-transform: uppercase; background: var(--info); }
.badge.sev-error { background: var(--error); }
.badge.sev-warning { background: var(--warning); color: #1d1d1f; }
.finding header { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap;
  color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
th, td { text-align: left; padding: 3px 14px 3px 0; border-bottom: 1px solid var(--rule);
  vertical-align: top; }
td.num { font-variant-numeric: tabular-nums; }
.columns { display: flex; gap: 28px; flex-wrap: wrap; }
.columns > div { flex: 1 1 320px; min-width: 0; }
ul.fixes { margin: 4px 0; padding-left: 20px; }
details { margin: 10px 0; }
summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"""


def render(
    reports: list[Report],
    rules: list[RuleInfo] | None,
    tool_version: str,
    *,
    examinations: list[Examination] | None = None,
    log_x: bool = False,
    align: str = "iter",
    plots: dict[Any, str] | None = None,
) -> str:
    """The whole HTML document. `plots`: SVG text by report index (and "overlay"), as plot_bytes
    draws it; `examinations` (one per report, same order) are drawn here instead."""
    if examinations:
        plots = _plots(examinations, log_x, align)
    else:
        plots = {key: inline_svg(svg, prefix=f"{key}-") for key, svg in (plots or {}).items() if svg}
    title = reports[0].path if len(reports) == 1 else f"{len(reports)} logs"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>plateau-doctor: {escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        '<header id="top">',
        "<h1>plateau-doctor report</h1>",
        f'<p class="meta">{len(reports)} log{"s" if len(reports) != 1 else ""} diagnosed by '
        f"plateau-doctor {escape(tool_version)}</p>",
        "</header>",
    ]
    if len(reports) > 1:
        parts.append(_summary(reports))
        if "overlay" in plots:
            parts.append(
                _figure(
                    plots["overlay"],
                    "All runs overlaid, aligned by "
                    + ("tokens seen." if align == "tokens" else "iteration."),
                    "plot-all",
                )
            )
    for n, report in enumerate(reports, 1):
        parts.append(_report(n, report, plots.get(n - 1)))
    parts += [
        f"<footer>plateau-doctor {escape(tool_version)}. Same input, same bytes: the report "
        "is deterministic.</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# --- one log ---------------------------------------------------------------------------------


def _report(n: int, report: Report, plot_svg: str | None) -> str:
    if report.error:
        return (
            f'<section class="report" id="report-{n}"><h2>{escape(report.name)}</h2>'
            f'<div class="verdict sev-error" id="verdict-{n}"><strong>Could not be diagnosed</strong>'
            f"{_text(report.error)}</div></section>"
        )
    raised = [f for f in report.findings if f.raised]
    quiet = [f for f in report.findings if not f.raised]
    worst = min((f.severity for f in raised), key=SEVERITY_ORDER.__getitem__, default=None)
    segments = f", {report.segments} runs in one file" if report.segments > 1 else ""
    verdict_class = f"verdict sev-{worst}" if worst else "verdict"
    headline = (
        f"{worst}: {len(raised)} raised finding{'s' if len(raised) != 1 else ''}"
        if worst
        else "no raised findings"
    )
    out = [
        f'<section class="report" id="report-{n}">',
        f"<h2>{escape(report.name)}</h2>",
        f'<p class="source">{escape(report.format)} log, {report.lines:,} lines{segments}</p>',
        f'<div class="{verdict_class}" id="verdict-{n}"><strong>Verdict: {escape(headline)}</strong>'
        f"{_text(report.verdict or 'No verdict.')}</div>",
    ]
    if plot_svg:
        out.append(_figure(plot_svg, "Loss curves with the findings drawn where they happen.", f"plot-{n}"))
    elif len(report.val_series) >= 2:
        out.append(
            _figure(
                val_polyline(report.val_series),
                "Val loss at each eval (install "
                "plateau-doctor[plot] and use `plateau-doctor plot --output x.html` for "
                "the full annotated plot).",
                f"plot-{n}",
            )
        )
    out.append(f'<h3 id="findings-{n}">Findings</h3>')
    if not report.findings:
        out.append("<p>No findings.</p>")
    out += [_finding(n, i, f) for i, f in enumerate(raised, 1)]
    if quiet:
        out.append(
            f"<details><summary>{len(quiet)} informational finding{'s' if len(quiet) != 1 else ''}</summary>"
        )
        out += [_finding(n, len(raised) + i, f) for i, f in enumerate(quiet, 1)]
        out.append("</details>")
    out.append(f'<h3 id="facts-{n}">Run facts</h3>')
    out.append(_facts(report.run))
    if report.notes:
        out.append(
            f"<details><summary>{len(report.notes)} note{'s' if len(report.notes) != 1 else ''}"
            "</summary><ul>" + "".join(f"<li>{_inline(x)}</li>" for x in report.notes) + "</ul></details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _finding(n: int, i: int, f: Finding) -> str:
    head = (
        f'<header><span class="badge sev-{escape(f.severity)}">{escape(f.severity)}</span>'
        f"<code>{escape(f.code)}</code><span>{escape(f.category)}</span>"
        f"<span>confidence {_confidence(f.confidence)}</span>"
        + (f"<span>log line {f.line}</span>" if f.line is not None else "")
        + "</header>"
    )
    body = [head, f"<h4>{_inline(f.title)}</h4>", _text(f.message)]
    tables = []
    if f.evidence:
        tables.append(f"<div><strong>Evidence</strong>{_pairs(f.evidence)}</div>")
    if f.counter_evidence:
        tables.append(f"<div><strong>Against</strong>{_pairs(f.counter_evidence)}</div>")
    if f.fixes:
        tables.append(
            '<div><strong>Fixes</strong><ul class="fixes">'
            + "".join(f"<li>{_inline(fix)}</li>" for fix in f.fixes)
            + "</ul></div>"
        )
    if tables:
        body.append('<div class="columns">' + "".join(tables) + "</div>")
    return (
        f'<article class="finding sev-{escape(f.severity)}" id="r{n}-f{i}" '
        f'data-code="{escape(f.code)}">' + "".join(body) + "</article>"
    )


def _pairs(values: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><th><code>{escape(str(k))}</code></th><td class="num">{escape(display(v))}</td></tr>'
        for k, v in values.items()
    )
    return f"<table>{rows}</table>"


def _facts(run: RunFacts) -> str:
    rows = []
    for key in RunFacts.CONTRACT_KEYS:
        value = getattr(run, key)
        if value is None:
            continue
        source = run.sources.get(key)
        rows.append(
            f'<tr><th>{escape(FACT_LABELS.get(key, key))}</th><td class="num">'
            f'{escape(display(value))}</td><td class="source">{escape(source or "")}</td></tr>'
        )
    return f'<table class="facts">{"".join(rows)}</table>' if rows else "<p>No run facts known.</p>"


def _summary(reports: list[Report]) -> str:
    rows = []
    for n, r in enumerate(reports, 1):
        raised = [f for f in r.findings if f.raised]
        worst = min((f.severity for f in raised), key=SEVERITY_ORDER.__getitem__, default=None)
        badge = f'<span class="badge sev-{worst}">{worst}</span>' if worst else "ok"
        if r.error:
            badge = '<span class="badge sev-error">unreadable</span>'
            raised = []
        best = display(r.run.best_val_loss) if r.run.best_val_loss is not None else ""
        top = _inline(raised[0].title) if raised else (_inline(r.error) if r.error else "")
        rows.append(
            f'<tr><td><a href="#report-{n}">{escape(r.path)}</a></td><td>{badge}</td>'
            f'<td>{top}</td><td class="num">'
            f"{escape(best)}</td></tr>"
        )
    return (
        '<table class="summary" id="summary"><tr><th>log</th><th>worst</th><th>top finding</th>'
        "<th>best val</th></tr>" + "".join(rows) + "</table>"
    )


def _figure(svg: str, caption: str, ident: str) -> str:
    return f'<figure class="plot" id="{ident}">{svg}<figcaption>{_inline(caption)}</figcaption></figure>'


# --- pictures --------------------------------------------------------------------------------


def _plots(exams: list[Examination], log_x: bool, align: str) -> dict[Any, str]:
    """Inline SVG of each run's plot (and of the overlay when there are several runs), keyed by
    index; empty when matplotlib is missing, so the page falls back to the dependency-free line."""
    from ..plot.command import plot_svg

    groups: list[tuple[Any, list]] = [(i, [e]) for i, e in enumerate(exams)]
    if len(exams) > 1:
        groups.append(("overlay", exams))
    plots = {key: plot_svg(group, log_x=log_x, align=align) for key, group in groups}
    return {key: inline_svg(svg, prefix=f"{key}-") for key, svg in plots.items() if svg}


def inline_svg(svg: str, prefix: str = "") -> str:
    """A standalone SVG file made fit to sit inside HTML: no XML prolog or doctype, no metadata,
    no fixed size (CSS scales it to the page width; the viewBox keeps its proportions), and every
    element id (with the references to it) prefixed, since ids must be unique across the page and
    matplotlib names the groups of every figure alike (axes_1, patch_1, ...)."""
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    if prefix:
        svg = re.sub(r'(\sid="|url\(#|href="#)', lambda m: m.group(1) + prefix, svg)

    def root(match: re.Match) -> str:
        tag = re.sub(r'\s(width|height)="[^"]*"', "", match.group(0))
        return tag.replace("<svg", '<svg role="img" aria-label="annotated loss curves"', 1)

    return re.sub(r"<svg\b[^>]*>", root, svg, count=1).strip()


def val_polyline(values: list[float], width: int = 720, height: int = 180) -> str:
    """Val loss per eval as an inline SVG line with its best value: the picture `diagnose --format
    html` can draw from a Report alone. As in the full plot, the first eval (the loss at
    initialisation) does not stretch the scale: it is pinned to the top edge and labelled."""
    ys = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(ys) < 2:
        return ""
    pad_l, pad_r, pad_y = 64, 16, 22
    lo = min(ys)
    hi = max(ys[1:]) if len(ys) >= 4 else max(ys)
    span = (hi - lo) or 1.0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + i * (width - pad_l - pad_r) / (len(ys) - 1)
        return x, pad_y + (hi - min(v, hi)) / span * (height - 2 * pad_y)

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(ys)))
    best = min(range(len(ys)), key=ys.__getitem__)
    bx, by = xy(best, ys[best])
    first = (
        (f'<text x="{pad_l + 6}" y="{pad_y - 6}" fill="#5f6368">first eval {ys[0]:.4f} (off the top)</text>')
        if ys[0] > hi
        else ""
    )
    return (
        f'<svg class="valline" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="val loss per eval" xmlns="http://www.w3.org/2000/svg" '
        'font-family="DejaVu Sans, sans-serif" font-size="12">'
        f'<rect x="{pad_l}" y="{pad_y}" width="{width - pad_l - pad_r}" '
        f'height="{height - 2 * pad_y}" fill="#f6f7f9"/>'
        f'<text x="{pad_l - 6}" y="{pad_y + 4}" text-anchor="end">{hi:.4f}</text>'
        f'<text x="{pad_l - 6}" y="{height - pad_y + 4}" text-anchor="end">{lo:.4f}</text>{first}'
        f'<polyline points="{points}" fill="none" stroke="#D55E00" stroke-width="2.5"/>'
        f'<circle cx="{bx:.1f}" cy="{by:.1f}" r="5" fill="#F0E442" stroke="#000"/>'
        f'<text x="{min(bx, width - 120):.1f}" y="{by - 10:.1f}">best val {ys[best]:.4f}</text>'
        f'<text x="{pad_l}" y="{height - 4}" fill="#5f6368">val loss at each of {len(ys)} evals, '
        "first to last</text></svg>"
    )


# --- text ------------------------------------------------------------------------------------


def _text(text: str) -> str:
    return f"<p>{_inline(text)}</p>"


def _inline(text: str) -> str:
    """Escaped text with `code spans` (as rule authors write them) shown as code."""
    return _CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


def _confidence(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else "unknown"
