"""The GitHub Action: its script (scripts/action.sh) run as the Action runs it, in a temporary
directory with GITHUB_STEP_SUMMARY, GITHUB_OUTPUT and RUNNER_TEMP set, on the example logs; and
action.yml wired to that script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "action.sh"
OVERFIT = ROOT / "examples/logs/h200_shakespeare_char_overfit_default.log"
OVERFIT_CONFIG = ROOT / "examples/configs/h200_shakespeare_char_overfit_default.py"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the Action's script needs bash")


def run_action(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """The script with the Action's inputs (PD_*), in a fresh working directory; returns the
    process and what it wrote to GITHUB_OUTPUT."""
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "PLATEAU_DOCTOR": f"{sys.executable} -m plateau_doctor",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        **{f"PD_{name.upper()}": value for name, value in inputs.items()},
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    output = tmp_path / "output.txt"
    written = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    assert os.listdir(work) == []  # the reports go to RUNNER_TEMP, never into the checkout
    return done, written


def test_an_overfit_run_fails_the_step_with_sarif_a_summary_and_annotations(tmp_path):
    done, output = run_action(tmp_path, paths=str(OVERFIT), args=f"--config '{OVERFIT_CONFIG}'")

    assert done.returncode == 1, done.stderr
    assert output["exit-code"] == "1"
    sarif = json.loads(Path(output["sarif"]).read_text())
    assert sarif["version"] == "2.1.0"
    assert "PD201" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    summary = (tmp_path / "summary.md").read_text()
    assert summary == Path(output["markdown"]).read_text()
    assert "Verdict: overfitting:" in summary and "PD201" in summary
    assert any(line.startswith("::error file=") and "PD201" in line for line in done.stdout.splitlines())


def test_fail_on_never_passes_the_step_and_still_writes_the_reports(tmp_path):
    done, output = run_action(tmp_path, paths=str(OVERFIT), fail_on="never")

    assert done.returncode == 0, done.stderr
    assert output["exit-code"] == "0"
    assert Path(output["sarif"]).is_file() and (tmp_path / "summary.md").read_text().startswith("## ")


def test_paths_one_per_line_read_every_log(tmp_path):
    logs = [OVERFIT, ROOT / "examples/logs/h200_shakespeare_char_healthy_2k.log"]
    done, output = run_action(tmp_path, paths="\n".join(map(str, logs)) + "\n", fail_on="never")

    assert done.returncode == 0, done.stderr
    sarif = json.loads(Path(output["sarif"]).read_text())
    located = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for loc in result.get("locations", [])
    }
    assert all(any(uri.endswith(log.name) for uri in located) for log in logs)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "diagnoze"}, "command must be diagnose or check, not 'diagnoze'"),
        ({"fail_on": "errors"}, "fail-on must be error, warning, info or never"),
        ({"paths": "  \n "}, "paths is empty"),
        ({"args": "--config 'unclosed"}, "args: No closing quotation"),
    ],
)
def test_bad_inputs_exit_2_with_one_line_before_anything_runs(tmp_path, inputs, message):
    done, output = run_action(tmp_path, **{"paths": str(OVERFIT), **inputs})

    assert done.returncode == 2
    assert message in done.stderr
    assert output == {} and not (tmp_path / "summary.md").exists()


def test_input_the_tool_refuses_exits_2_and_offers_no_sarif_to_upload(tmp_path):
    done, output = run_action(tmp_path, paths=str(OVERFIT), args="--select PD2O1")

    assert done.returncode == 2
    assert "did you mean 'PD201'" in done.stderr
    assert output == {"exit-code": "2"}  # the upload step is skipped: no `sarif` output


def test_action_yml_runs_the_script_with_every_input_through_the_environment():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {"paths", "command", "fail-on", "args", "python-version"}
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    assert '"$GITHUB_ACTION_PATH"' in steps[1]["run"]  # installs the action's own checkout
    run = next(s for s in steps if s.get("id") == "run")
    assert run["run"] == 'bash "$GITHUB_ACTION_PATH/scripts/action.sh"'
    read = {"PD_PATHS", "PD_COMMAND", "PD_FAIL_ON", "PD_ARGS"}
    assert set(run["env"]) == read and all(v.startswith("${{ inputs.") for v in run["env"].values())
    upload = steps[-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"].startswith("always()")
    assert upload["with"]["sarif_file"] == "${{ steps.run.outputs.sarif }}"
    assert all(
        f"${{{{ steps.run.outputs.{name} }}}}" == spec["value"] for name, spec in action["outputs"].items()
    )
