"""The rule engine: selection by code, category, name or code prefix; ignore; per-rule
threshold and severity overrides; ranking (severity, then weight x confidence, then code)."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose
from plateau_doctor.model import CATEGORIES, SEVERITIES, Finding
from plateau_doctor.rules import RuleSettings, all_rules, find_rule, load_rules
from plateau_doctor.rules.differential import rank


@pytest.fixture
def overfit_run(kit):
    """Overfits (PD201 error) on data seen 81.6 times (PD202 error), with a 125M claim (PD602)."""
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08),
        train_curve=kit.power_law(4.2, 0.6, scale=500),
        comments=("baby GPT model, 125M params",),
    )
    return lambda settings=None: diagnose(path, dataset_tokens=1_003_854, settings=settings)


def test_every_rule_has_a_unique_code_a_contract_category_and_its_documentation():
    infos = [rule.info for rule in load_rules()]
    assert len({i.code for i in infos}) == len(infos)
    for info in infos:
        assert info.category in CATEGORIES
        assert info.severity in SEVERITIES
        assert info.summary and info.what and info.why and info.fix and info.example
        for threshold in info.thresholds:
            assert threshold.unit and threshold.why, (info.code, threshold.name)


def test_find_rule_by_code_or_name():
    assert find_rule("pd201").category == "overfitting"
    assert find_rule("overfitting").code == "PD201"
    assert find_rule("PD999") is None
    assert [i.code for i in all_rules()] == sorted(i.code for i in all_rules())


def test_select_by_code_runs_only_that_rule(overfit_run):
    report = overfit_run(RuleSettings(select=["PD201"]))
    assert report.rules_checked == ["PD201"]
    assert {f.code for f in report.findings} == {"PD201"}


def test_select_by_category_runs_every_rule_of_it(overfit_run):
    report = overfit_run(RuleSettings(select=["lr_schedule"]))
    assert sorted(report.rules_checked) == ["PD303", "PD304"]


def test_select_by_code_prefix(overfit_run):
    report = overfit_run(RuleSettings(select=["PD2"]))
    pd2 = sorted(i.code for i in all_rules() if i.code.startswith("PD2"))
    assert sorted(report.rules_checked) == pd2 and "PD201" in pd2
    assert {f.code for f in report.findings} <= set(pd2)


def test_select_is_case_insensitive_and_accepts_rule_names(overfit_run):
    report = overfit_run(RuleSettings(select=["data-repetition", "pd602"]))
    assert sorted(report.rules_checked) == ["PD202", "PD602"]


def test_ignore_by_category_drops_its_rules(overfit_run):
    report = overfit_run(RuleSettings(ignore=["data_repetition"]))
    assert "PD202" not in report.rules_checked
    assert not [f for f in report.findings if f.category == "data_repetition"]
    assert any(f.code == "PD201" for f in report.findings)


def test_ignore_wins_over_select(overfit_run):
    report = overfit_run(RuleSettings(select=["PD2"], ignore=["PD202"]))
    assert sorted(report.rules_checked) == sorted(
        i.code for i in all_rules() if i.code.startswith("PD2") and i.code != "PD202"
    )


def test_a_threshold_override_changes_the_outcome(overfit_run):
    default = overfit_run()
    assert any(f.code == "PD202" and f.severity == "error" for f in default.findings)
    # 81.6 epochs with the model memorising: with error_epochs=100 it is only a warning
    # (warn_epochs keeps its default 4), with warn_epochs=100 nothing
    softer = overfit_run(RuleSettings(thresholds={"PD202": {"error_epochs": 100.0}}))
    assert [f.severity for f in softer.findings if f.code == "PD202"] == ["warning"]
    silent = overfit_run(RuleSettings(thresholds={"PD202": {"warn_epochs": 100.0, "error_epochs": 200.0}}))
    assert not [f for f in silent.findings if f.code == "PD202"]


def test_a_severity_override_applies_to_the_rules_findings(overfit_run):
    report = overfit_run(RuleSettings(severities={"PD602": "error", "PD201": "info"}))
    by_code = {f.code: f.severity for f in report.findings}
    assert by_code["PD602"] == "error"
    assert by_code["PD201"] == "info"


def test_a_severity_override_changes_the_ranking(overfit_run):
    report = overfit_run(RuleSettings(severities={"PD201": "info"}))
    assert report.findings[0].code != "PD201"
    assert report.findings[0].severity == "error"


def _f(code: str, severity: str, confidence: float, weight: float = 1.0) -> Finding:
    return Finding(
        code=code,
        category="plateau",
        severity=severity,
        confidence=confidence,
        title=code,
        message=code,
        weight=weight,
    )


def test_an_unknown_threshold_override_is_refused():
    from plateau_doctor.limits import Limits
    from plateau_doctor.model import Threshold

    with pytest.raises(KeyError):
        Limits((Threshold("z", 2.0, "sd", "why"),), {"zz": 3.0})


def test_rank_orders_by_severity_first():
    ranked = rank([_f("PD1", "info", 1.0, 2.0), _f("PD2", "warning", 0.1, 0.1), _f("PD3", "error", 0.1, 0.1)])
    assert [f.code for f in ranked] == ["PD3", "PD2", "PD1"]


def test_rank_orders_by_weight_times_confidence_within_a_severity():
    ranked = rank(
        [
            _f("PD1", "warning", 0.9, 0.5),  # 0.45
            _f("PD2", "warning", 0.5, 1.0),  # 0.50
            _f("PD3", "warning", 0.6, 0.7),
        ]
    )  # 0.42
    assert [f.code for f in ranked] == ["PD2", "PD1", "PD3"]


def test_rank_breaks_ties_by_code_for_a_stable_order():
    ranked = rank([_f("PD9", "warning", 0.5), _f("PD1", "warning", 0.5)])
    assert [f.code for f in ranked] == ["PD1", "PD9"]


def test_report_findings_are_ranked(overfit_run):
    findings = overfit_run().findings
    assert findings == rank(list(findings))
    assert findings[0].code == "PD201"  # error, weight 1.0 beats PD202's 0.7 at equal confidence


def test_the_same_input_gives_the_same_findings(overfit_run):
    a, b = overfit_run(), overfit_run()
    assert [(f.code, f.severity, f.confidence, f.evidence) for f in a.findings] == [
        (f.code, f.severity, f.confidence, f.evidence) for f in b.findings
    ]
