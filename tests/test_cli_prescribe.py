"""`whatif` and `fix` on the command line: output conventions, exit codes, never over the input."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS, CONFIGS = ROOT / "examples" / "logs", ROOT / "examples" / "configs"
SEED_LOG, SEED_CONFIG = LOGS / "seed_fineweb_4070.log", CONFIGS / "seed_fineweb_4070.py"
OVERFIT_LOG = LOGS / "h200_shakespeare_char_overfit_default.log"
OVERFIT_CONFIG = CONFIGS / "h200_shakespeare_char_overfit_default.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *map(str, args)],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        text=True,
    )


def test_whatif_text_compares_the_two_schedules():
    done = run("whatif", SEED_LOG, "--set", "max_iters=30000", "--set", "lr_decay_iters=30000")
    assert done.returncode == 0, done.stderr
    assert "as configured" in done.stdout and "iter 30,000: val ~" in done.stdout
    assert "change: val -" in done.stdout


def test_whatif_json_is_one_document():
    done = run("whatif", SEED_LOG, "--set", "max_iters=30000", "--format", "json")
    data = json.loads(done.stdout)
    assert data["new"]["iterations"] == 30000 and data["old"]["predicted"] > data["new"]["predicted"]


def test_whatif_bad_key_is_one_line_and_exit_2():
    done = run("whatif", SEED_LOG, "--set", "max_iter=30000")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "did you mean max_iters" in done.stderr


def test_whatif_without_set_is_a_usage_error():
    done = run("whatif", SEED_LOG)
    assert done.returncode == 2 and "--set" in done.stderr


def test_fix_writes_a_new_config_and_leaves_the_input_alone(tmp_path):
    config = tmp_path / "train.py"
    shutil.copy(OVERFIT_CONFIG, config)
    before = config.read_bytes()
    out = tmp_path / "fixed.py"
    done = run("fix", OVERFIT_LOG, "--config", config, "--output", out, "--dataset-tokens", "1003854")
    assert done.returncode == 0, done.stderr
    assert config.read_bytes() == before
    tree = ast.parse(out.read_text())  # parsed, never executed
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}
    assert values["max_iters"] == values["lr_decay_iters"] < 5000
    assert "PD201" in done.stderr


def test_fix_refuses_to_write_over_its_input(tmp_path):
    config = tmp_path / "train.py"
    shutil.copy(OVERFIT_CONFIG, config)
    done = run("fix", OVERFIT_LOG, "--config", config, "--output", config)
    assert done.returncode == 2 and "input" in done.stderr
    assert config.read_bytes() == OVERFIT_CONFIG.read_bytes()


def test_fix_diff_and_overrides():
    diff = run("fix", OVERFIT_LOG, "--config", OVERFIT_CONFIG, "--diff")
    assert diff.returncode == 0 and "\n-max_iters = 5000\n" in diff.stdout
    line = run("fix", OVERFIT_LOG, "--config", OVERFIT_CONFIG, "--format", "overrides").stdout
    assert line.startswith(f"python train.py {OVERFIT_CONFIG} --max_iters=")


def test_fix_json_lists_every_change_with_its_finding():
    data = json.loads(run("fix", OVERFIT_LOG, "--config", OVERFIT_CONFIG, "--format", "json").stdout)
    assert data["schema"] == "nanogpt"
    assert {c["code"] for c in data["applied"]} >= {"PD201"}


def test_fix_with_a_gpu_keeps_a_suggested_model_on_it():
    done = run("fix", SEED_LOG, "--config", SEED_CONFIG, "--dataset-tokens", "1B", "--gpu", "RTX 4070 12GB")
    assert done.returncode == 0, done.stderr
    assert "RTX 4070" in done.stderr and "# batch_size = " in done.stdout


def test_fix_unknown_gpu_is_a_usage_error():
    done = run("fix", SEED_LOG, "--config", SEED_CONFIG, "--gpu", "Voodoo 5")
    assert done.returncode == 2 and "add the size" in done.stderr
