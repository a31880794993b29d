"""SARIF 2.1.0 output: the structure code-scanning consumers require, checked by hand (the full
schema cannot be fetched at test time)."""

from __future__ import annotations

import json
import math

from plateau_doctor.report.sarif import render

VERSION = "0.1.0"
LEVELS = {"none", "note", "warning", "error"}


def _sarif(reports, rules) -> dict:
    return json.loads(render(reports, rules, VERSION))


def _assert_valid_sarif(document: dict) -> None:
    """The parts of the SARIF 2.1.0 schema that matter to consumers."""
    assert document["version"] == "2.1.0"
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert isinstance(document["runs"], list) and len(document["runs"]) == 1
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "plateau-doctor"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids)), "rule ids must be unique"
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in LEVELS
    for result in run["results"]:
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        assert result["level"] in LEVELS
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            if "region" in physical:
                start = physical["region"]["startLine"]
                assert isinstance(start, int) and not isinstance(start, bool) and start >= 1


def test_sarif_is_structurally_valid_for_mixed_report(mixed_report, rules):
    _assert_valid_sarif(_sarif([mixed_report], rules))


def test_sarif_empty_report_has_rules_and_no_results(empty_report, rules):
    document = _sarif([empty_report], rules)
    _assert_valid_sarif(document)
    run = document["runs"][0]
    assert run["results"] == []
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["PD101", "PD201", "PD301", "PD901"]


def test_sarif_driver_carries_name_version_and_information_uri(empty_report, rules):
    driver = _sarif([empty_report], rules)["runs"][0]["tool"]["driver"]
    assert driver["version"] == VERSION
    assert driver["informationUri"] == "https://github.com/plateau-doctor/plateau-doctor"


def test_sarif_rule_descriptor_is_built_from_rule_docs(empty_report, rules):
    descriptors = _sarif([empty_report], rules)["runs"][0]["tool"]["driver"]["rules"]
    overfit = next(rule for rule in descriptors if rule["id"] == "PD201")
    assert overfit["name"] == "ValLossRising"
    assert overfit["shortDescription"]["text"] == "val loss rising summary"
    assert overfit["fullDescription"]["text"] == "Checks val loss rising."
    for part in ("Checks val loss rising.", "val loss rising matters.", "Fix val loss rising."):
        assert part in overfit["help"]["text"]
        assert part in overfit["help"]["markdown"]
    assert overfit["defaultConfiguration"]["level"] == "error"
    assert overfit["properties"]["category"] == "overfitting"


def test_sarif_info_severity_maps_to_note(empty_report, mixed_report, rules):
    document = _sarif([mixed_report], rules)
    descriptors = document["runs"][0]["tool"]["driver"]["rules"]
    assert next(r for r in descriptors if r["id"] == "PD901")["defaultConfiguration"]["level"] == ("note")
    levels = [result["level"] for result in document["runs"][0]["results"]]
    assert levels == ["error", "warning", "note"]


def test_sarif_has_one_result_per_finding_in_ranked_order(mixed_report, rules):
    results = _sarif([mixed_report], rules)["runs"][0]["results"]
    assert [result["ruleId"] for result in results] == ["PD201", "PD301", "PD901"]


def test_sarif_message_joins_title_and_message(mixed_report, error_finding, rules):
    result = _sarif([mixed_report], rules)["runs"][0]["results"][0]
    assert result["message"]["text"] == f"{error_finding.title}: {error_finding.message}"


def test_sarif_result_points_at_log_line(mixed_report, rules):
    location = _sarif([mixed_report], rules)["runs"][0]["results"][0]["locations"][0]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "logs/shakespeare_char.log"
    assert physical["region"] == {"startLine": 412}


def test_sarif_result_without_line_has_no_region(mixed_report, rules):
    physical = _sarif([mixed_report], rules)["runs"][0]["results"][1]["locations"][0]["physicalLocation"]
    assert "region" not in physical


def test_sarif_stdin_path_becomes_stdin_uri(second_report, rules):
    result = _sarif([second_report], rules)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stdin"


def test_sarif_uri_is_percent_encoded_and_absolute_paths_use_file_scheme(new_report, new_finding, rules):
    reports = [
        new_report([new_finding("PD101", "warning")], path="./my logs/run 1.log"),
        new_report([new_finding("PD101", "warning")], path="/abs/run.log"),
    ]
    results = _sarif(reports, rules)["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["my%20logs/run%201.log", "file:///abs/run.log"]


def test_sarif_result_properties_carry_category_confidence_and_evidence(mixed_report, rules):
    properties = _sarif([mixed_report], rules)["runs"][0]["results"][0]["properties"]
    assert properties["category"] == "overfitting"
    assert properties["confidence"] == 0.93
    assert properties["evidence"] == {"best_val_loss": 1.4697, "last_val_loss": 1.7036, "gap": 1.0876}


def test_sarif_non_finite_evidence_stays_valid_json(new_report, new_finding, rules):
    finding = new_finding("PD101", "error", evidence={"loss": math.nan, "peak": math.inf, "steps": (1, 2)})
    text = render([new_report([finding])], rules, VERSION)
    assert "NaN" in text
    evidence = json.loads(text, parse_constant=_reject)["runs"][0]["results"][0]["properties"]["evidence"]
    assert evidence == {"loss": "NaN", "peak": "Infinity", "steps": [1, 2]}


def _reject(constant: str):
    raise AssertionError(f"bare {constant} is not JSON")


def test_sarif_fingerprint_depends_on_code_and_path_only(new_report, new_finding, rules):
    first = new_report([new_finding("PD101", "warning", title="a")], path="x.log")
    again = new_report([new_finding("PD101", "error", title="b", line=9)], path="x.log")
    elsewhere = new_report([new_finding("PD101", "warning", title="a")], path="y.log")

    def fingerprint(report) -> str:
        return _sarif([report], rules)["runs"][0]["results"][0]["partialFingerprints"]

    assert fingerprint(first) == fingerprint(again)
    assert fingerprint(first) != fingerprint(elsewhere)


def test_sarif_repeated_code_in_one_log_gets_distinct_fingerprints(new_report, new_finding, rules):
    report = new_report([new_finding("PD101", "warning", 0), new_finding("PD101", "warning", 1)])
    results = _sarif([report], rules)["runs"][0]["results"]
    assert results[0]["partialFingerprints"] != results[1]["partialFingerprints"]


def test_sarif_undocumented_code_still_resolves_to_a_rule(new_report, new_finding, rules):
    document = _sarif([new_report([new_finding("PD999", "warning")])], rules)
    _assert_valid_sarif(document)
    assert document["runs"][0]["results"][0]["ruleId"] == "PD999"


def test_sarif_multiple_logs_share_one_run(multi_reports, rules):
    document = _sarif(multi_reports, rules)
    _assert_valid_sarif(document)
    results = document["runs"][0]["results"]
    assert len(results) == 4
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["logs/shakespeare_char.log"] * 3 + ["stdin"]


def test_sarif_output_is_deterministic_and_keeps_unicode(new_report, new_finding, rules):
    report = new_report([new_finding("PD101", "warning", title="λ too high — 3×")])
    first = render([report], rules, VERSION)
    assert first == render([report], rules, VERSION)
    assert "λ too high — 3×" in first
    assert first.endswith("}\n")
