"""The Python API mirrors the CLI (README examples are run here)."""
from __future__ import annotations

from pathlib import Path

import plateau_doctor

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = plateau_doctor.diagnose("examples/logs/h200_shakespeare_char_tiny_model.log")
    assert report.findings[0].category == "capacity_limited"


def test_readme_quick_start_example_names_overfitting_first(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = plateau_doctor.diagnose("examples/logs/h200_shakespeare_char_overfit_default.log",
                                     config="examples/configs/h200_shakespeare_char_overfit_default.py")
    assert report.findings[0].code == "PD201"
    assert report.run.best_val_step == 1750


def test_readme_lists_every_rule():
    readme = (ROOT / "README.md").read_text()
    from plateau_doctor.rules import RULES

    for rule in RULES:
        assert f"| {rule.INFO.code} |" in readme, rule.INFO.code
