"""The differential diagnosis: consequences fold into the cause that explains them (kept, with
`explained_by`, and no longer raised); the order rules run in means nothing; a cause must be at
least as severe as what it absorbs; the explanation graph has no cycles."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose
from plateau_doctor.model import Finding, RuleInfo
from plateau_doctor.rules.differential import category_depths, differential


def _info(code: str, category: str, explained_by: tuple[str, ...] = ()) -> RuleInfo:
    return RuleInfo(
        code=code,
        name=code.lower(),
        category=category,
        severity="warning",
        summary="s",
        what="w",
        why="y",
        fix="f",
        explained_by=explained_by,
    )


def _finding(code: str, category: str, severity: str = "warning", confidence: float = 0.7) -> Finding:
    return Finding(
        code=code, category=category, severity=severity, confidence=confidence, title=code, message=code
    )


INFOS = [
    _info("PD201", "overfitting"),
    _info("PD501", "still_improving", ("overfitting", "lr_too_high")),
    _info("PD301", "lr_too_high"),
]


def test_a_consequence_is_folded_into_its_raised_cause_and_no_longer_raised():
    findings = differential(
        [_finding("PD501", "still_improving"), _finding("PD201", "overfitting", "error")], INFOS
    )
    assert [f.code for f in findings] == ["PD201", "PD501"]
    consequence = findings[1]
    assert consequence.explained_by == ["PD201"]
    assert consequence.severity == "info" and consequence.severity_as_found == "warning"


def test_the_order_findings_arrive_in_does_not_change_the_outcome():
    a = differential([_finding("PD201", "overfitting", "error"), _finding("PD501", "still_improving")], INFOS)
    b = differential([_finding("PD501", "still_improving"), _finding("PD201", "overfitting", "error")], INFOS)
    assert [(f.code, f.severity, f.explained_by) for f in a] == [
        (f.code, f.severity, f.explained_by) for f in b
    ]


def test_a_warning_cannot_absorb_an_error():
    findings = differential(
        [_finding("PD501", "still_improving", "error"), _finding("PD201", "overfitting")], INFOS
    )
    assert all(not f.explained_by for f in findings)
    assert findings[0].code == "PD501"


def test_an_info_cause_explains_nothing():
    findings = differential(
        [_finding("PD501", "still_improving"), _finding("PD201", "overfitting", "info")], INFOS
    )
    assert findings[0].code == "PD501" and findings[0].raised


def test_a_ruled_out_finding_is_never_folded():
    ruled_out = _finding("PD501", "still_improving", "info")
    ruled_out.ruled_out = True
    findings = differential([ruled_out, _finding("PD201", "overfitting", "error")], INFOS)
    assert not [f for f in findings if f.code == "PD501"][0].explained_by


def test_an_explanation_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        category_depths(
            [_info("PD1", "plateau", ("overfitting",)), _info("PD2", "overfitting", ("plateau",))]
        )


def test_a_real_overfitting_run_folds_its_mid_schedule_symptoms_into_the_overfitting(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_overfit_default.log")), dataset_tokens=1_003_854)
    raised = [f for f in report.findings if f.raised]
    assert raised[0].category == "overfitting"
    assert all(f.category not in ("still_improving", "plateau") for f in raised)
    for f in report.findings:
        if f.explained_by:
            assert not f.raised and f.severity_as_found in ("warning", "error")
