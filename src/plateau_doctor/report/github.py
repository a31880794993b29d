"""GitHub Actions workflow commands: one annotation per finding, shown on the job summary and,
when the log is a file in the repository, next to its line in the diff.

GitHub displays at most 10 annotations of each level per step and drops the rest silently, so
we cut each level at 10 ourselves and say how many were left out.
"""

from __future__ import annotations

from collections import Counter

from plateau_doctor.model import Finding, Report, RuleInfo

MAX_PER_LEVEL = 10
LEVEL_BY_SEVERITY = {"error": "error", "warning": "warning", "info": "notice"}
LEVEL_ORDER = ("error", "warning", "notice")
STDIN_NAMES = ("<stdin>", "-", "")


def render(reports: list[Report], rules: list[RuleInfo], tool_version: str) -> str:
    annotated = [(report.path, finding) for report in reports for finding in report.findings]
    totals = Counter(_level(finding) for _, finding in annotated)
    budget = _budget(totals)
    shown: Counter[str] = Counter()
    lines = []
    for path, finding in annotated:  # findings are ranked, so the cut drops the least important
        level = _level(finding)
        if shown[level] < budget[level]:
            shown[level] += 1
            lines.append(_annotation(path, finding))
    # logs that could not be read: always shown, before the findings' annotations
    lines[:0] = [_error_annotation(report) for report in reports if report.error]
    hidden = {level: totals[level] - shown[level] for level in LEVEL_ORDER}
    if any(hidden.values()):
        lines.append(_summary(hidden))
    return "".join(line + "\n" for line in lines)


def _level(finding: Finding) -> str:
    return LEVEL_BY_SEVERITY.get(finding.severity, "warning")


def _budget(totals: Counter[str]) -> dict[str, int]:
    """How many annotations of each level to print. The summary line is itself a notice, so
    when one is needed it takes one of the ten notice slots."""
    needs_summary = any(totals[level] > MAX_PER_LEVEL for level in LEVEL_ORDER)
    budget = {level: MAX_PER_LEVEL for level in LEVEL_ORDER}
    if needs_summary:
        budget["notice"] -= 1
    return budget


def _annotation(path: str, finding: Finding) -> str:
    properties = []
    file = _repo_path(path)
    if file is not None:
        properties.append(f"file={_escape_property(file)}")
        if finding.line is not None and finding.line >= 1:  # a line needs a file to mean anything
            properties.append(f"line={int(finding.line)}")
    properties.append(f"title={_escape_property(f'{finding.code} {finding.title}')}")
    return f"::{_level(finding)} {','.join(properties)}::{_escape_data(_message(finding))}"


def _error_annotation(report: Report) -> str:
    file = _repo_path(report.path)
    where = f"file={_escape_property(file)}," if file else ""
    return f"::error {where}title=plateau-doctor could not read the log::{_escape_data(report.error or '')}"


def _message(finding: Finding) -> str:
    lines = [finding.message or finding.title]
    lines.extend(f"Fix: {fix}" for fix in finding.fixes)
    return "\n".join(lines)


def _repo_path(path: str) -> str | None:
    """The path GitHub should attach the annotation to, or None when there is no file."""
    if path in STDIN_NAMES:
        return None
    while path.startswith("./"):
        path = path[2:]
    return path


def _summary(hidden: dict[str, int]) -> str:
    parts = [_count(hidden[level], level) for level in LEVEL_ORDER if hidden[level]]
    text = (
        f"{_join(parts)} not shown: GitHub displays at most {MAX_PER_LEVEL} annotations of each"
        " level. Run plateau-doctor with --format text or markdown for the full report."
    )
    return f"::notice title=plateau-doctor::{_escape_data(text)}"


def _count(n: int, level: str) -> str:
    return f"{n} more {level}{'' if n == 1 else 's'}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _escape_data(text: str) -> str:
    # Order matters: '%' first, or the escapes themselves would be escaped again.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
