"""SARIF 2.1.0 output, for GitHub code scanning and other static-analysis dashboards.

All logs diagnosed in one invocation go into a single run: one tool, one rule table, and one
result per finding (info findings included, as level "note").
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any
from urllib.parse import quote

from plateau_doctor.model import Finding, Report, RuleInfo

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/plateau-doctor/plateau-doctor"
FINGERPRINT_KEY = "plateauDoctor/v1"

# SARIF has no "info" level; "note" is its equivalent.
LEVEL_BY_SEVERITY = {"error": "error", "warning": "warning", "info": "note"}

STDIN_NAMES = ("<stdin>", "-", "")


def render(reports: list[Report], rules: list[RuleInfo], tool_version: str) -> str:
    descriptors, index_by_code = _rule_table(reports, rules)
    results = [
        _result(report, finding, index_by_code[finding.code], fingerprint)
        for report in reports
        for finding, fingerprint in zip(report.findings, _fingerprints(report), strict=True)
    ]
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "plateau-doctor",
                        "version": tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "results": results,
            }
        ],
    }
    failures = [report for report in reports if report.error]
    if failures:  # logs that could not be read: notifications, so a dashboard shows the gap
        document["runs"][0]["invocations"] = [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": report.error},
                        "locations": [_location(report.path, None)],
                    }
                    for report in failures
                ],
            }
        ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- rules -----------------------------------------------------------------------------------


def _rule_table(
    reports: list[Report],
    rules: list[RuleInfo],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Descriptors sorted by code, plus each code's index (results refer to rules by index).

    A finding whose code has no documentation (should not happen, but a missing doc must not
    produce a result whose ruleIndex points nowhere) gets a minimal descriptor of its own.
    """
    by_code: dict[str, RuleInfo] = {}
    for rule in rules:
        by_code.setdefault(rule.code, rule)
    for report in reports:
        for finding in report.findings:
            by_code.setdefault(finding.code, _undocumented_rule(finding))
    codes = sorted(by_code)
    descriptors = [_descriptor(by_code[code]) for code in codes]
    return descriptors, {code: index for index, code in enumerate(codes)}


def _undocumented_rule(finding: Finding) -> RuleInfo:
    return RuleInfo(
        code=finding.code,
        name=finding.code,
        category=finding.category,
        severity=finding.severity,
        summary=finding.title,
        what=finding.title,
        why="",
        fix="",
    )


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": _pascal_case(rule.name) or rule.code,
        "shortDescription": {"text": rule.summary or rule.name or rule.code},
        "fullDescription": {"text": rule.what or rule.summary or rule.code},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL_BY_SEVERITY.get(rule.severity, "warning")},
        # `tags` is what GitHub code scanning shows as labels; `category` is for everyone else.
        "properties": {"category": rule.category, "tags": [rule.category]},
    }
    if rule.reference.startswith(("http://", "https://")):
        descriptor["helpUri"] = rule.reference
    return descriptor


def _pascal_case(name: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", name)
    return "".join(word[:1].upper() + word[1:] for word in words if word)


def _help_text(rule: RuleInfo) -> str:
    parts = [rule.what, _labelled("Why", rule.why), _labelled("Fix", rule.fix)]
    if rule.reference:
        parts.append(_labelled("Reference", rule.reference))
    return "\n\n".join(part for part in parts if part) or rule.code


def _help_markdown(rule: RuleInfo) -> str:
    sections = [
        ("What it checks", rule.what),
        ("Why it matters", rule.why),
        ("How to fix", rule.fix),
        ("Reference", rule.reference),
    ]
    parts = [f"**{label}.** {text}" for label, text in sections if text]
    return "\n\n".join(parts) or f"`{rule.code}`"


def _labelled(label: str, text: str) -> str:
    return f"{label}: {text}" if text else ""


# --- results ---------------------------------------------------------------------------------


def _result(report: Report, finding: Finding, rule_index: int, fingerprint: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "category": finding.category,
        "confidence": _json_safe(finding.confidence),
        "evidence": _json_safe(finding.evidence),
    }
    if finding.counter_evidence:
        properties["counterEvidence"] = _json_safe(finding.counter_evidence)
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVEL_BY_SEVERITY.get(finding.severity, "warning"),
        "message": {"text": _message_text(finding)},
        "locations": [_location(report.path, finding.line)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": properties,
    }


def _message_text(finding: Finding) -> str:
    if finding.title and finding.message:
        return f"{finding.title}: {finding.message}"
    return finding.title or finding.message or finding.code


def _location(path: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(path)}}
    # SARIF requires startLine >= 1; a line we cannot trust is better left out than invented.
    if isinstance(line, int) and not isinstance(line, bool) and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _artifact_uri(path: str) -> str:
    """The log path as a URI reference: relative paths stay relative (code scanning resolves
    them against the repository root), absolute ones become file:// URIs."""
    if path in STDIN_NAMES:
        return "stdin"
    posix = path.replace("\\", "/")
    if re.match(r"^[A-Za-z]:/", posix):  # a Windows drive path
        return "file:///" + quote(posix, safe="/:")
    if posix.startswith("/"):
        return "file://" + quote(posix, safe="/")
    while posix.startswith("./"):
        posix = posix[2:]
    return quote(posix, safe="/")


def _fingerprints(report: Report) -> list[str]:
    """One per finding: a hash of code and path, so an alert keeps its identity across runs.

    A second finding with the same code in the same log gets an occurrence number mixed in, so
    the two are not merged into one alert.
    """
    seen: dict[str, int] = {}
    fingerprints = []
    for finding in report.findings:
        occurrence = seen.get(finding.code, 0)
        seen[finding.code] = occurrence + 1
        key = f"{finding.code}\0{report.path}"
        if occurrence:
            key += f"\0{occurrence}"
        fingerprints.append(hashlib.sha256(key.encode("utf-8")).hexdigest()[:32])
    return fingerprints


def _json_safe(value: Any) -> Any:
    """Evidence may hold numpy scalars, tuples or NaN; JSON (and SARIF viewers) take none of
    them. Non-finite floats become strings, since bare NaN is not valid JSON."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if callable(getattr(value, "tolist", None)):  # numpy scalar or array -> Python values
        return _json_safe(value.tolist())
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    return str(value)
