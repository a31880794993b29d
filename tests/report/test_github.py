"""GitHub Actions workflow commands: syntax, escaping and GitHub's 10-per-level display cap."""

from __future__ import annotations

import re

from plateau_doctor.report.github import render

VERSION = "0.1.0"

# ::level key=value,key=value::data -- values and data may not hold raw newlines, and property
# values may not hold raw ':' or ','.
PROPERTY = r"(?:file|line|endLine|col|endColumn|title)=[^,:\r\n]*"
COMMAND = re.compile(rf"^::(error|warning|notice)(?: {PROPERTY}(?:,{PROPERTY})*)?::[^\r\n]*$")


def _lines(reports, rules) -> list[str]:
    text = render(reports, rules, VERSION)
    assert text == "" or text.endswith("\n")
    return text.splitlines()


def _properties(line: str) -> dict[str, str]:
    head = line[2:].split("::", 1)[0]
    _, _, props = head.partition(" ")
    return dict(item.split("=", 1) for item in props.split(",")) if props else {}


def _data(line: str) -> str:
    return line[2:].split("::", 1)[1]


def test_github_every_line_is_a_workflow_command(multi_reports, rules):
    lines = _lines(multi_reports, rules)
    assert lines
    for line in lines:
        assert COMMAND.match(line), line


def test_github_no_findings_prints_nothing(empty_report, rules):
    assert render([empty_report], rules, VERSION) == ""


def test_github_severity_maps_to_command_in_ranked_order(mixed_report, rules):
    commands = [line.split(" ", 1)[0] for line in _lines([mixed_report], rules)]
    assert commands == ["::error", "::warning", "::notice"]


def test_github_annotation_has_file_line_and_escaped_title(mixed_report, rules):
    first = _lines([mixed_report], rules)[0]
    assert _properties(first) == {
        "file": "logs/shakespeare_char.log",
        "line": "412",
        "title": "PD201 Validation loss rises while train loss falls",
    }


def test_github_line_is_omitted_when_finding_has_none(mixed_report, rules):
    assert "line" not in _properties(_lines([mixed_report], rules)[1])


def test_github_file_and_line_are_omitted_for_stdin(second_report, rules):
    properties = _properties(_lines([second_report], rules)[0])
    assert "file" not in properties and "line" not in properties
    assert properties["title"] == "PD101 Loss spikes"


def test_github_message_carries_fixes_on_escaped_new_lines(second_report, rules):
    assert _data(_lines([second_report], rules)[0]) == (
        "3 spikes above 2x the running median%0AFix: lower learning_rate to 3e-4"
    )


def test_github_escapes_data_percent_and_newlines(new_report, new_finding, rules):
    finding = new_finding("PD101", "warning", message="50% worse\r\nthen: a, b")
    assert _data(_lines([new_report([finding])], rules)[0]) == "50%25 worse%0D%0Athen: a, b"


def test_github_escapes_colon_and_comma_in_properties(new_report, new_finding, rules):
    finding = new_finding("PD101", "warning", title="lr: 6e-4, 100% too high")
    report = new_report([finding], path="C:/runs/a,b.log")
    line = _lines([report], rules)[0]
    assert COMMAND.match(line)
    assert _properties(line) == {
        "file": "C%3A/runs/a%2Cb.log",
        "title": "PD101 lr%3A 6e-4%2C 100%25 too high",
    }


def test_github_path_drops_leading_dot_slash(new_report, new_finding, rules):
    line = _lines([new_report([new_finding("PD101", "warning")], path="./logs/a.log")], rules)[0]
    assert _properties(line)["file"] == "logs/a.log"


def test_github_caps_each_level_at_ten_and_summarises_the_rest(new_report, new_finding, rules):
    findings = (
        [new_finding("PD201", "error", i) for i in range(12)]
        + [new_finding("PD101", "warning", i) for i in range(25)]
        + [new_finding("PD901", "info", i) for i in range(3)]
    )
    lines = _lines([new_report(findings)], rules)
    for line in lines:
        assert COMMAND.match(line), line
    counts = {
        level: sum(line.startswith(f"::{level} ") for line in lines)
        for level in ("error", "warning", "notice")
    }
    assert counts == {"error": 10, "warning": 10, "notice": 4}  # 3 findings + the summary
    assert _data(lines[-1]).startswith("2 more errors and 15 more warnings not shown")
    # the cut keeps the top-ranked findings
    assert [_data(line).split("%0A")[0] for line in lines[:10]] == [f"message {i}" for i in range(10)]


def test_github_summary_takes_a_notice_slot_when_notices_are_full(new_report, new_finding, rules):
    findings = [new_finding("PD201", "error", i) for i in range(11)] + [
        new_finding("PD901", "info", i) for i in range(10)
    ]
    lines = _lines([new_report(findings)], rules)
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(notices) == 10
    assert _data(lines[-1]).startswith("1 more error and 1 more notice not shown")


def test_github_exactly_ten_per_level_needs_no_summary(new_report, new_finding, rules):
    findings = [new_finding("PD201", "error", i) for i in range(10)] + [
        new_finding("PD901", "info", i) for i in range(10)
    ]
    lines = _lines([new_report(findings)], rules)
    assert len(lines) == 20
    assert "not shown" not in lines[-1]


def test_github_cap_applies_across_all_logs(new_report, new_finding, rules):
    reports = [
        new_report([new_finding("PD101", "warning", i) for i in range(6)], path=f"{n}.log") for n in range(3)
    ]
    lines = _lines(reports, rules)
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert _data(lines[-1]).startswith("8 more warnings not shown")


def test_github_output_is_deterministic(multi_reports, rules):
    assert render(multi_reports, rules, VERSION) == render(multi_reports, rules, VERSION)
