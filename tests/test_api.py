"""The Python API mirrors the CLI (README examples are run here)."""

from __future__ import annotations

import re
from pathlib import Path

import plateau_doctor

ROOT = Path(__file__).resolve().parents[1]


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_examples_print_what_their_comments_say(monkeypatch, capsys):
    # Each `print(...)  # expected` line of a README python block must print `expected`.
    monkeypatch.chdir(ROOT)
    blocks = readme_python_blocks()
    assert blocks
    for block in blocks:
        expected = [
            line.split("#", 1)[1].strip()
            for line in block.splitlines()
            if line.startswith("print(") and "#" in line
        ]
        exec(compile(block, "README.md", "exec"), {})
        assert capsys.readouterr().out.splitlines() == expected


def test_readme_quick_start_example_names_overfitting_first(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = plateau_doctor.diagnose(
        "examples/logs/h200_shakespeare_char_overfit_default.log",
        config="examples/configs/h200_shakespeare_char_overfit_default.py",
    )
    assert report.findings[0].code == "PD201"
    assert report.run.best_val_step == 1750


def test_readme_rules_table_is_generated_from_the_rule_definitions():
    from plateau_doctor.report.rules_table import markdown_table, replace_section
    from plateau_doctor.rules import all_rules

    readme = (ROOT / "README.md").read_text()
    assert replace_section(readme, markdown_table(all_rules())) == readme, (
        "stale: run python tools/update_readme.py"
    )
    for info in all_rules():
        assert f"| {info.code} |" in readme, info.code


def test_top_level_functions_stay_functions_once_every_subpackage_is_imported():
    # A subpackage named like an API function replaces it on import (this once broke parse()).
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(plateau_doctor.__path__):
        if module.name != "__main__":  # that one runs the command line
            importlib.import_module(f"plateau_doctor.{module.name}")
    assert callable(plateau_doctor.parse) and callable(plateau_doctor.diagnose)
    assert callable(plateau_doctor.references)  # hence the package is reference_runs


def test_readme_report_example_is_what_the_tool_prints():
    # The README shows an excerpt of a real report; every line of it (wrapped differently, and
    # without the lines elided with '...') must appear in what the command prints today.
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text()
    block = text.split("## What a report looks like", 1)[1].split("```", 2)[1]
    command, *shown = block.strip("\n").splitlines()
    args = command.split("plateau-doctor ", 1)[1].split()
    assert args[0] == "diagnose"
    done = subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"COLUMNS": "100", "PATH": ""},
    )
    printed = " ".join(done.stdout.split())
    for line in shown:
        if "..." in line or not line.strip():
            continue
        assert " ".join(line.split()) in printed, line


def test_diagnose_runs_gives_a_report_per_run_of_a_file_and_diagnose_the_last(tmp_path):
    examples = Path(__file__).resolve().parents[1] / "examples" / "logs"
    path = tmp_path / "two.log"
    path.write_bytes(
        (examples / "h200_shakespeare_char_lr_low_2e-5.log").read_bytes()
        + (examples / "h200_shakespeare_char_healthy_2k.log").read_bytes()
    )
    first, second = plateau_doctor.diagnose_runs(str(path), dataset_tokens=1003854)
    assert (first.run_in_file, second.run_in_file) == ("run 1 of 2, lines 1-380", "run 2 of 2, lines 381-650")
    assert first.findings[0].category == "lr_too_low"
    last = plateau_doctor.diagnose(str(path), dataset_tokens=1003854)
    assert last.run.last_iter == second.run.last_iter and any("2 runs" in n for n in last.notes)
    [one] = plateau_doctor.diagnose_runs(str(examples / "h200_shakespeare_char_healthy_2k.log"))
    assert one.run_in_file is None
