"""Markdown output, written to be appended to $GITHUB_STEP_SUMMARY (GitHub-flavoured tables).

Per log: a heading with its path, the verdict, a table of all findings, a section per raised
finding with its evidence and fixes, and a table of the key run facts. With several logs, a
summary table ranking the runs comes first.
"""

from __future__ import annotations

import math
import re
from typing import Any

from plateau_doctor.model import SEVERITY_RANK, Finding, Report, RuleInfo, RunFacts
from plateau_doctor.report.values import exact

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
COUNT_FACTS = {"tokens_per_iter", "n_params", "tokens_seen", "dataset_tokens"}
STEP_FACTS = {"last_iter", "max_iters", "best_val_step"}
LOSS_FACTS = {"best_val_loss", "last_val_loss", "last_train_loss"}
LR_FACTS = {"lr_at_last_iter"}

# Characters that GitHub markdown would read as formatting or HTML. Backticks are escaped only
# when unpaired: rule authors use `code` in messages and fixes on purpose.
_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_BLOCK_START = re.compile(r"^[#+-]")
EMPTY_CELL = "—"


def render(reports: list[Report], rules: list[RuleInfo], tool_version: str) -> str:
    blocks: list[str] = []
    if len(reports) > 1:
        from .summary import Summary

        blocks.append(f"## plateau-doctor: {len(reports)} logs")
        summary = Summary.of(reports)
        blocks.append(_escape(summary.counts_line()))
        blocks.append(_runs_table(reports))
        seeds = summary.seed_lines()
        if seeds:
            blocks.append(
                "Seed spread, measured from runs that differ only by seed:\n\n"
                + "\n".join(f"- {_escape(line)}" for line in seeds)
            )
    for report in reports:
        blocks.extend(_report_blocks(report))
    blocks.append(f"<sub>plateau-doctor {_escape(tool_version)}</sub>")
    return "\n\n".join(blocks) + "\n"


# --- several logs ----------------------------------------------------------------------------


def _runs_table(reports: list[Report]) -> str:
    """Runs that need attention first: worst severity, then most raised findings; ties go to
    the lower best val loss, then the path so the order never depends on the input order."""
    ranked = sorted(reports, key=_attention_key)
    from .summary import RunRow

    rows = []
    for report in ranked:
        row = RunRow.of(report)
        worst = report.worst_severity() or ("error" if report.error else "none")
        rows.append(
            [
                _code(report.path) + (f" ({report.run_in_file})" if report.run_in_file else ""),
                row.verdict,
                worst,
                str(_raised_count(report)),
                _format_loss(row.best_val),
                _format_count(row.tokens) if row.tokens is not None else EMPTY_CELL,
                _format_ratio(row.epochs) if row.epochs is not None else EMPTY_CELL,
            ]
        )
    return _table(
        ["run", "verdict", "worst severity", "raised findings", "best val loss", "tokens", "epochs"], rows
    )


def _attention_key(report: Report) -> tuple[int, int, float, str]:
    worst = report.worst_severity()
    severity = SEVERITY_RANK[worst] if worst in SEVERITY_RANK else -1
    if report.error:  # a log that could not be read needs attention first
        severity = len(SEVERITY_RANK)
    best = report.run.best_val_loss
    best = best if isinstance(best, (int, float)) and math.isfinite(best) else math.inf
    return (-severity, -_raised_count(report), best, report.path)


def _raised_count(report: Report) -> int:
    return sum(1 for finding in report.findings if finding.raised)


# --- one log ---------------------------------------------------------------------------------


def _report_blocks(report: Report) -> list[str]:
    blocks = [
        f"## plateau-doctor: {_code(report.path)}"
        + (f" ({report.run_in_file})" if report.run_in_file else "")
    ]
    if report.error:
        return blocks + [f"**Could not be diagnosed:** {_escape(report.error)}"]
    if report.verdict:
        blocks.append(_paragraph(report.verdict))
    blocks.append(f"_{_escape(_source_line(report))}_")
    blocks.append("### Findings")
    blocks.append(_findings_table(report.findings) if report.findings else "No findings.")
    blocks.extend(_finding_section(finding) for finding in report.findings if finding.raised)
    facts = _facts_table(report.run)
    if facts:
        blocks.extend(["### Key facts", facts])
    return blocks


def _source_line(report: Report) -> str:
    segments = "segment" if report.segments == 1 else "segments"
    return f"{report.format} log, {report.lines:,} lines, {report.segments} {segments}"


def _findings_table(findings: list[Finding]) -> str:
    rows = [
        [
            finding.severity,
            finding.code,
            finding.category,
            _escape(finding.title),
            _format_confidence(finding.confidence),
        ]
        for finding in findings
    ]
    return _table(["severity", "code", "category", "finding", "confidence"], rows)


def _finding_section(finding: Finding) -> str:
    parts = [f"#### {finding.code} ({finding.severity}): {_escape(finding.title)}"]
    if finding.message:
        parts.append(_paragraph(finding.message))
    if finding.line is not None:
        parts.append(f"Log line {finding.line}.")
    if finding.evidence:
        parts.append("**Evidence**")
        parts.append(
            "\n".join(
                f"- {_code(str(key))} = {_escape(exact(value))}" for key, value in finding.evidence.items()
            )
        )
    if finding.fixes:
        parts.append("**Fixes**")
        parts.append("\n".join(f"- {_escape(fix)}" for fix in finding.fixes))
    return "\n\n".join(parts)


def _facts_table(run: RunFacts) -> str:
    rows = [
        [FACT_LABELS.get(key, key.replace("_", " ")), _format_fact(key, getattr(run, key))]
        for key in RunFacts.CONTRACT_KEYS
        if getattr(run, key, None) is not None
    ]
    return _table(["fact", "value"], rows) if rows else ""


# --- number formatting -----------------------------------------------------------------------


def _format_fact(key: str, value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return exact(value)
    if key in COUNT_FACTS:
        return _format_count(value)
    if key in STEP_FACTS:
        return f"{int(value):,}"
    if key in LOSS_FACTS:
        return _format_loss(value)
    if key in LR_FACTS:
        return f"{value:.2e}"
    return _format_ratio(value)


def _format_count(value: float) -> str:
    """Exact with separators, plus a suffix (81.9M, 9.20B) once the digits get hard to read."""
    exact = f"{round(value):,}"
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= threshold:
            return f"{exact} ({_three_significant(value / threshold)}{suffix})"
    return exact


def _three_significant(value: float) -> str:
    decimals = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    return f"{value:.{decimals}f}"


def _format_ratio(value: float) -> str:
    if abs(value) >= 0.01 or value == 0:
        return f"{value:,.2f}"
    return f"{value:.2g}"


def _format_loss(value: float | None) -> str:
    if value is None:
        return EMPTY_CELL
    return f"{value:.4f}" if math.isfinite(value) else exact(value)


def _format_confidence(confidence: float) -> str:
    return f"{confidence:.0%}" if math.isfinite(confidence) else EMPTY_CELL


# --- markdown primitives ---------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    """A cell must stay on one line, and a bare `|` would end it (even inside code spans)."""
    return " ".join(text.splitlines()).replace("|", r"\|")


def _escape(text: str) -> str:
    """Escape formatting characters outside `code spans`, which are kept as written."""
    parts = _CODE_SPAN.split(text)
    return "".join(part if index % 2 else _SPECIAL.sub(r"\\\1", part) for index, part in enumerate(parts))


def _paragraph(text: str) -> str:
    """Escaped text that cannot turn into a heading, list item or rule by how it starts."""
    escaped = _escape(text.strip())
    return "\\" + escaped if _BLOCK_START.match(escaped) else escaped


def _code(text: str) -> str:
    """`text` as a code span, with a fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"
