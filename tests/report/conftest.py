"""Report objects built by hand, so the renderer tests need no parser, resolver or rules."""

from __future__ import annotations

import pytest

from plateau_doctor.model import Finding, Report, RuleInfo, RunFacts

TOOL_VERSION = "0.1.0"


def _rule(code: str, name: str, category: str, severity: str) -> RuleInfo:
    return RuleInfo(
        code=code,
        name=name,
        category=category,
        severity=severity,
        summary=f"{name} summary",
        what=f"Checks {name}.",
        why=f"{name} matters.",
        fix=f"Fix {name}.",
        reference="https://example.org/ref",
        thresholds={"min": 1.0},
    )


@pytest.fixture
def rules() -> list[RuleInfo]:
    return [
        _rule("PD101", "loss spikes", "loss_spikes", "warning"),
        _rule("PD201", "val loss rising", "overfitting", "error"),
        _rule("PD301", "data repeated", "data_repetition", "warning"),
        _rule("PD901", "still improving", "still_improving", "info"),
    ]


@pytest.fixture
def facts() -> RunFacts:
    return RunFacts(
        tokens_per_iter=16384,
        n_params=10650000,
        last_iter=5000,
        max_iters=5000,
        tokens_seen=81920000,
        dataset_tokens=1003854,
        epochs=81.6,
        tokens_per_param=7.7,
        lr_at_last_iter=0.0001,
        best_val_loss=1.4697,
        best_val_step=2250,
        last_val_loss=1.7036,
        last_train_loss=0.6160,
    )


@pytest.fixture
def error_finding() -> Finding:
    return Finding(
        code="PD201",
        category="overfitting",
        severity="error",
        confidence=0.93,
        title="Validation loss rises while train loss falls",
        message="val loss rose from 1.4697 at step 2250 to 1.7036 at step 5000",
        evidence={"best_val_loss": 1.4697, "last_val_loss": 1.7036, "gap": 1.0876},
        fixes=["stop at step 2250 (max_iters=2250)", "raise dropout to 0.2"],
        line=412,
    )


@pytest.fixture
def warning_finding() -> Finding:
    return Finding(
        code="PD301",
        category="data_repetition",
        severity="warning",
        confidence=0.88,
        title="Dataset repeated 81.6 times",
        message="81,920,000 tokens seen over a 1,003,854-token dataset",
        evidence={"epochs": 81.6, "dataset_tokens": 1003854},
        fixes=["use a larger dataset"],
        line=None,
    )


@pytest.fixture
def info_finding() -> Finding:
    return Finding(
        code="PD901",
        category="still_improving",
        severity="info",
        confidence=0.5,
        title="Train loss still falling",
        message="train loss fell 3% over the last 10% of the run",
        evidence={"slope": -0.0004},
        fixes=[],
        line=None,
    )


@pytest.fixture
def empty_report() -> Report:
    """A healthy run: every rule ran, none found anything."""
    return Report(
        path="logs/clean.log",
        format="nanogpt",
        lines=120,
        segments=1,
        run=RunFacts(),
        findings=[],
        verdict="No problems found.",
        rules_checked=["PD101", "PD201", "PD301", "PD901"],
    )


@pytest.fixture
def mixed_report(facts, error_finding, warning_finding, info_finding) -> Report:
    """One finding of each severity, already ranked most important first."""
    return Report(
        path="logs/shakespeare_char.log",
        format="nanogpt",
        lines=1234,
        segments=1,
        run=facts,
        findings=[error_finding, warning_finding, info_finding],
        verdict="The run overfits: stop at step 2250 or add data.",
        rules_checked=["PD101", "PD201", "PD301", "PD901"],
    )


@pytest.fixture
def second_report() -> Report:
    """A second log of a multi-log run: read from stdin, one warning, a better val loss."""
    finding = Finding(
        code="PD101",
        category="loss_spikes",
        severity="warning",
        confidence=0.7,
        title="Loss spikes",
        message="3 spikes above 2x the running median",
        evidence={"spikes": 3},
        fixes=["lower learning_rate to 3e-4"],
        line=77,
    )
    return Report(
        path="<stdin>",
        format="llmc_stdout",
        lines=500,
        segments=2,
        run=RunFacts(best_val_loss=1.2, last_iter=1000),
        findings=[finding],
        verdict="Spiky but converging.",
        rules_checked=["PD101", "PD201"],
    )


@pytest.fixture
def multi_reports(mixed_report, second_report) -> list[Report]:
    return [mixed_report, second_report]


def make_finding(code: str, severity: str, index: int = 0, **changes) -> Finding:
    """A minimal finding for tests that need many of them."""
    fields = dict(
        code=code,
        category="plateau",
        severity=severity,
        confidence=0.5,
        title=f"{severity} {index}",
        message=f"message {index}",
    )
    fields.update(changes)
    return Finding(**fields)


def make_report(findings: list[Finding], path: str = "run.log", **changes) -> Report:
    fields = dict(
        path=path,
        format="nanogpt",
        lines=10,
        segments=1,
        run=RunFacts(),
        findings=findings,
        rules_checked=sorted({finding.code for finding in findings}),
    )
    fields.update(changes)
    return Report(**fields)


@pytest.fixture
def new_finding():
    """make_finding as a fixture: test modules cannot import conftest by name safely."""
    return make_finding


@pytest.fixture
def new_report():
    return make_report
