"""tools/score_labels.py judges a report the way ../shared/tools/check_labels.py does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("score_labels", ROOT / "tools" / "score_labels.py")
score_labels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(score_labels)


def _report(*findings: tuple[str, str], fmt: str = "nanogpt") -> dict:
    return {
        "source": {"format": fmt},
        "findings": [{"code": f"PD{i}", "category": c, "severity": s} for i, (c, s) in enumerate(findings)],
    }


def test_expect_top_looks_only_at_the_first_two_raised_findings():
    report = _report(
        ("still_improving", "info"),
        ("data_repetition", "warning"),
        ("lr_schedule", "warning"),
        ("overfitting", "error"),
    )
    problems, raised = score_labels.judge_report({"expect_top": ["overfitting"]}, report)
    assert raised == ["data_repetition", "lr_schedule", "overfitting"]
    assert problems == ["overfitting not in top 2 ['data_repetition', 'lr_schedule']"]


def test_a_quiet_log_is_noisy_only_for_raised_categories_it_does_not_expect_or_allow():
    report = _report(("plateau", "warning"), ("still_improving", "info"), ("throughput", "warning"))
    problems, _ = score_labels.judge_report({"quiet": True, "allow": ["plateau"]}, report)
    assert problems == ["NOISY: quiet log raises ['PD2:throughput']"]


def test_forbid_errors_and_a_wrong_format_are_each_reported():
    report = _report(("divergence", "error"), fmt="csv")
    problems, _ = score_labels.judge_report({"format": "jsonl", "forbid_errors": True}, report)
    assert problems == ["format 'csv', expected 'jsonl'", "errors raised ['divergence']"]


def test_the_default_labels_are_the_wild_set_of_this_repository():
    assert score_labels.DEFAULT_LABELS == ROOT / "tests" / "data" / "wild" / "labels.yaml"
