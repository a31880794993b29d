"""JUnit XML output: parseable, one test case per rule that ran, counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from plateau_doctor.report.junit import render

VERSION = "0.1.0"


def _xml(reports, rules) -> ET.Element:
    return ET.fromstring(render(reports, rules, VERSION))


def _assert_counts_match(root: ET.Element) -> None:
    suites = root.findall("testsuite")
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert suite.get("errors") == "0"
        assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
    for attribute in ("tests", "failures", "skipped"):
        assert int(root.get(attribute)) == sum(int(s.get(attribute)) for s in suites)
    assert root.get("errors") == "0"


def _case(suite: ET.Element, code: str) -> ET.Element:
    matches = [case for case in suite.findall("testcase") if case.get("name").startswith(code)]
    assert len(matches) == 1
    return matches[0]


def test_junit_root_is_named_testsuites(empty_report, rules):
    root = _xml([empty_report], rules)
    assert root.tag == "testsuites"
    assert root.get("name") == "plateau-doctor"


def test_junit_output_has_xml_declaration(empty_report, rules):
    assert render([empty_report], rules, VERSION).startswith('<?xml version="1.0"')


def test_junit_empty_report_has_passing_case_per_rule_checked(empty_report, rules):
    root = _xml([empty_report], rules)
    _assert_counts_match(root)
    suite = root.find("testsuite")
    assert suite.get("name") == "logs/clean.log"
    names = [case.get("name") for case in suite.findall("testcase")]
    assert names == [
        "PD101 loss spikes",
        "PD201 val loss rising",
        "PD301 data repeated",
        "PD901 still improving",
    ]
    assert root.get("failures") == "0"


def test_junit_testcase_classname_is_rule_category(empty_report, rules):
    suite = _xml([empty_report], rules).find("testsuite")
    assert _case(suite, "PD201").get("classname") == "plateau-doctor.overfitting"


def test_junit_raised_findings_fail_their_testcase(mixed_report, rules):
    root = _xml([mixed_report], rules)
    _assert_counts_match(root)
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "2"
    failure = _case(suite, "PD201").find("failure")
    assert failure.get("message") == "Validation loss rises while train loss falls"
    assert failure.get("type") == "error"
    assert _case(suite, "PD301").find("failure").get("type") == "warning"


def test_junit_failure_text_has_message_evidence_and_fixes(mixed_report, rules):
    failure = _case(_xml([mixed_report], rules).find("testsuite"), "PD201").find("failure")
    text = failure.text
    assert "val loss rose from 1.4697 at step 2250 to 1.7036 at step 5000" in text
    assert "best_val_loss: 1.4697" in text
    assert "gap: 1.0876" in text
    assert "stop at step 2250 (max_iters=2250)" in text
    assert "raise dropout to 0.2" in text


def test_junit_info_finding_goes_to_system_out_without_failing(mixed_report, rules):
    case = _case(_xml([mixed_report], rules).find("testsuite"), "PD901")
    assert case.find("failure") is None
    assert "Train loss still falling" in case.find("system-out").text


def test_junit_findings_sharing_a_code_share_one_failure(new_report, new_finding, rules):
    findings = [new_finding("PD101", "warning", 0), new_finding("PD101", "error", 1)]
    root = _xml([new_report(findings)], rules)
    _assert_counts_match(root)
    failure = _case(root.find("testsuite"), "PD101").find("failure")
    assert failure.get("message") == "warning 0"  # the top-ranked finding's title
    assert failure.get("type") == "error"  # the worst severity
    assert "message 0" in failure.text and "message 1" in failure.text


def test_junit_finding_from_rule_not_in_rules_checked_still_fails(new_report, new_finding, rules):
    report = new_report([new_finding("PD999", "error")], rules_checked=["PD101"])
    root = _xml([report], rules)
    _assert_counts_match(root)
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert _case(suite, "PD999").get("classname") == "plateau-doctor.plateau"


def test_junit_one_testsuite_per_report_and_totals_add_up(multi_reports, rules):
    root = _xml(multi_reports, rules)
    _assert_counts_match(root)
    assert [suite.get("name") for suite in root.findall("testsuite")] == [
        "logs/shakespeare_char.log",
        "<stdin>",
    ]
    assert root.get("tests") == "6" and root.get("failures") == "3"


def test_junit_escapes_markup_and_drops_control_characters(new_report, new_finding, rules):
    finding = new_finding("PD101", "error", title='a <b> & "c"', message="bad\x00byte\x1b")
    root = _xml([new_report([finding], path="we<ird>&.log")], rules)
    suite = root.find("testsuite")
    assert suite.get("name") == "we<ird>&.log"
    failure = _case(suite, "PD101").find("failure")
    assert failure.get("message") == 'a <b> & "c"'
    assert "badbyte" in failure.text


def test_junit_output_is_deterministic(multi_reports, rules):
    assert render(multi_reports, rules, VERSION) == render(multi_reports, rules, VERSION)
