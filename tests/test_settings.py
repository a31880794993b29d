"""Strict settings, like ruff: an unknown key, selector, threshold or --set key is an error that
names the bad value with one did-you-mean; a CI job with a typo must not pass by checking less."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plateau_doctor.resolve.files import ConfigError
from plateau_doctor.settings import check_selectors, check_set_keys, load_tool_settings

ROOT = Path(__file__).resolve().parents[1]
OVERFIT = ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"
LLMC = ROOT / "tests" / "hostile" / "corpus" / "snippets" / "llmc_stdout.log"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *args],
        capture_output=True,
        cwd=cwd or ROOT,
        timeout=120,
        text=True,
    )


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, lines
    assert lines[0].count("did you mean") <= 1
    return lines[0]


@pytest.mark.parametrize(
    "flag, value, suggestion",
    [
        ("--select", "PD2O1", "'PD201'"),  # the letter O for a zero
        ("--ignore", "overfiting", "'overfitting'"),
        ("--extend-select", "lr-too-high", "'lr_too_high'"),
    ],
)
def test_an_unknown_selector_on_the_command_line_exits_2_with_one_suggestion(flag, value, suggestion):
    line = one_error_line(run("diagnose", str(OVERFIT), flag, value))
    assert repr(value) in line and f"did you mean {suggestion}" in line


def test_codes_prefixes_names_and_categories_are_all_accepted():
    check_selectors(["PD201", "PD2", "pd20", "overfitting", "regression", "regression-best-val"], "--select")


def test_a_prefix_that_matches_no_rule_is_refused():
    with pytest.raises(ConfigError, match="unknown rule code or category 'PD9'"):
        check_selectors(["PD9"], "--select")


@pytest.mark.parametrize(
    "toml, bad, suggestion",
    [
        ('[tool.plateau-doctor]\nselet = ["PD2"]\n', "'selet'", "'select'"),
        ('[tool.plateau-doctor]\nignore = ["PD2O2"]\n', "'PD2O2'", "'PD202'"),
        ("[tool.plateau-doctor.thresholds.PD202]\nwarn_epoch = 3\n", "'warn_epoch'", "'warn_epochs'"),
        ("[tool.plateau-doctor.thresholds.PD2O2]\nwarn_epochs = 3\n", "'PD2O2'", "'PD202'"),
        ('[tool.plateau-doctor.severity]\nPD201 = "warn"\n', "'warn'", "'warning'"),
        ('[tool.plateau-doctor]\nfail-on = "eror"\n', "'eror'", "'error'"),
    ],
)
def test_a_misspelled_setting_in_pyproject_exits_2_naming_it(tmp_path, toml, bad, suggestion):
    (tmp_path / "pyproject.toml").write_text(toml)
    line = one_error_line(run("diagnose", str(OVERFIT), cwd=tmp_path))
    assert str(tmp_path / "pyproject.toml") in line and bad in line and f"did you mean {suggestion}" in line


def test_good_settings_still_load_with_snake_case_aliases(tmp_path):
    path = tmp_path / "pd.toml"
    path.write_text(
        '[tool.plateau-doctor]\nfail_on = "warning"\nextend-select = ["PD101"]\n'
        "[tool.plateau-doctor.thresholds.PD202]\nwarn_epochs = 8\n"
        "[tool.plateau-doctor.run]\nlearning_rate = 1e-3\n"
    )
    tool = load_tool_settings(str(path))
    assert tool.fail_on == "warning" and tool.extend_select == ["PD101"]
    assert tool.thresholds == {"PD202": {"warn_epochs": 8.0}}


def test_extend_select_adds_to_the_selection_of_the_settings_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.plateau-doctor]\nselect = ["PD202"]\n')
    done = run("diagnose", str(OVERFIT), "--format", "json", "--extend-select", "overfitting", cwd=tmp_path)
    codes = {f["code"] for f in json.loads(done.stdout)["findings"]}
    assert codes and codes <= {"PD202", "PD201"} and "PD201" in codes


def test_an_unknown_set_key_for_a_nanogpt_run_is_refused_as_its_configurator_does():
    line = one_error_line(run("diagnose", str(OVERFIT), "--set", "lerning_rate=1e-3"))
    assert "'lerning_rate'" in line and "did you mean 'learning_rate'" in line


def test_set_keys_of_formats_without_a_known_schema_are_not_checked():
    check_set_keys({"anything": 1}, None)
    with pytest.raises(ConfigError):
        check_set_keys({"anything": 1}, "nanogpt")
    check_set_keys({"learning_rate": 1e-3, "max_iters": 10}, "nanogpt")


def test_a_bad_dataset_token_count_is_a_usage_error_not_an_internal_one():
    line = one_error_line(run("diagnose", str(OVERFIT), "--dataset-tokens", "9X"))
    assert "--dataset-tokens" in line and "internal error" not in line


def test_an_unknown_log_format_is_refused_with_a_suggestion():
    line = one_error_line(run("diagnose", str(OVERFIT), "--log-format", "nanogtp"))
    assert "did you mean 'nanogpt'" in line


def test_a_misspelled_option_is_one_line_with_one_suggestion():
    line = one_error_line(run("diagnose", str(OVERFIT), "--selct", "PD201"))
    assert "did you mean '--select'" in line
