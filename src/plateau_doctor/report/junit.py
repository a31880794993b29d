"""JUnit XML output, so CI systems that only understand test reports can show the diagnosis.

Each diagnosed log is a test suite and each rule that ran on it is a test case. A rule with a
raised finding (warning or error) is a failed test; info findings are printed as the test case's
output and do not fail it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from plateau_doctor.model import SEVERITY_RANK, Finding, Report, RuleInfo
from plateau_doctor.report.values import exact

# XML 1.0 cannot carry most control characters, even escaped; a log line may contain them.
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class _Case:
    """One rule's outcome on one log."""

    code: str
    rule: RuleInfo | None
    raised: list[Finding] = field(default_factory=list)
    info: list[Finding] = field(default_factory=list)


def render(reports: list[Report], rules: list[RuleInfo], tool_version: str) -> str:
    docs: dict[str, RuleInfo] = {}
    for rule in rules:
        docs.setdefault(rule.code, rule)
    suites = [_testsuite(report, docs, tool_version) for report in reports]
    root = ET.Element(
        "testsuites",
        {
            "name": "plateau-doctor",
            "tests": str(sum(int(suite.get("tests", "0")) for suite in suites)),
            "failures": str(sum(int(suite.get("failures", "0")) for suite in suites)),
            "errors": str(sum(int(suite.get("errors", "0")) for suite in suites)),
            "skipped": "0",
        },
    )
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testsuite(report: Report, docs: dict[str, RuleInfo], tool_version: str) -> ET.Element:
    if report.error:  # the log could not be read: one case in error, in its place
        suite = ET.Element(
            "testsuite",
            {"name": _clean(report.name), "tests": "1", "failures": "0", "errors": "1", "skipped": "0"},
        )
        case = ET.SubElement(suite, "testcase", {"classname": "plateau-doctor.input", "name": "read log"})
        error = ET.SubElement(case, "error", {"message": _clean(report.error), "type": "input"})
        error.text = _clean(report.error)
        return suite
    cases = _cases(report, docs)
    suite = ET.Element(
        "testsuite",
        {
            "name": _clean(report.name),
            "tests": str(len(cases)),
            "failures": str(sum(1 for case in cases if case.raised)),
            "errors": "0",
            "skipped": "0",
        },
    )
    suite.append(_properties(report, tool_version))
    suite.extend(_testcase(case) for case in cases)
    return suite


def _cases(report: Report, docs: dict[str, RuleInfo]) -> list[_Case]:
    """One case per rule that ran, sorted by code. A finding from a rule missing from
    rules_checked still gets its case: a failure must never disappear from the report."""
    codes = set(report.rules_checked) | {finding.code for finding in report.findings}
    cases = {code: _Case(code, docs.get(code)) for code in sorted(codes)}
    for finding in report.findings:  # already ranked, so each case keeps the ranking
        case = cases[finding.code]
        (case.raised if finding.raised else case.info).append(finding)
    return list(cases.values())


def _properties(report: Report, tool_version: str) -> ET.Element:
    properties = ET.Element("properties")
    values = [
        ("plateau-doctor.version", tool_version),
        ("format", report.format),
        ("lines", str(report.lines)),
        ("segments", str(report.segments)),
        ("verdict", report.verdict),
    ]
    for name, value in values:
        if not value:  # an empty verdict says nothing; leave the property out
            continue
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    return properties


def _testcase(case: _Case) -> ET.Element:
    testcase = ET.Element(
        "testcase",
        {
            "classname": f"plateau-doctor.{_category(case)}",
            "name": _clean(f"{case.code} {case.rule.name}" if case.rule else case.code),
        },
    )
    if case.raised:
        worst = max(case.raised, key=lambda finding: SEVERITY_RANK.get(finding.severity, 0))
        failure = ET.SubElement(
            testcase,
            "failure",
            {
                "message": _clean(case.raised[0].title),
                "type": worst.severity,
            },
        )
        failure.text = _clean(_describe_all(case.raised))
    if case.info:
        ET.SubElement(testcase, "system-out").text = _clean(_describe_all(case.info))
    return testcase


def _category(case: _Case) -> str:
    if case.rule:
        return case.rule.category
    findings = case.raised + case.info
    return findings[0].category if findings else "unknown"


def _describe_all(findings: list[Finding]) -> str:
    return "\n\n".join(_describe(finding) for finding in findings)


def _describe(finding: Finding) -> str:
    lines = [f"[{finding.severity}] {finding.title}"]
    if finding.message:
        lines.append(finding.message)
    if finding.line is not None:
        lines.append(f"log line: {finding.line}")
    if finding.evidence:
        lines.append("evidence:")
        lines.extend(f"  {key}: {exact(value)}" for key, value in finding.evidence.items())
    if finding.fixes:
        lines.append("fixes:")
        lines.extend(f"  - {fix}" for fix in finding.fixes)
    return "\n".join(lines)


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)
