"""Config layers: defaults < --config < the log's echo < its Overriding lines < --set."""

from __future__ import annotations

from pathlib import Path

import pytest

from plateau_doctor.api import parse
from plateau_doctor.resolve.config import parse_set_options, parse_value, resolve_config

ROOT = Path(__file__).resolve().parents[2]
LR_HIGH = ROOT / "examples" / "logs" / "h200_shakespeare_char_lr_high_1e-2.log"


def test_layers_apply_in_order_and_remember_their_source():
    parsed = parse(str(LR_HIGH))
    resolved = resolve_config(parsed, overrides={"eval_iters": 50})
    assert resolved.get("beta1") == 0.9 and resolved.source("beta1") == "default"
    assert resolved.get("n_embd") == 384 and resolved.source("n_embd") == "log-echo"
    assert resolved.get("learning_rate") == 0.01 and resolved.source("learning_rate") == "log-override"
    assert resolved.get("eval_iters") == 50 and resolved.source("eval_iters") == "--set"


def test_config_file_disagreeing_with_the_log_is_reported_and_the_log_wins(tmp_path):
    cfg = tmp_path / "c.py"
    cfg.write_text("learning_rate = 1e-3\nn_embd = 384\n")
    resolved = resolve_config(parse(str(LR_HIGH)), str(cfg))
    assert resolved.get("learning_rate") == 0.01
    assert resolved.mismatches == [
        {"key": "learning_rate", "given_by": "--config", "given": 1e-3, "log": 0.01, "used": "log"}
    ]


def test_config_file_fills_in_for_a_headerless_log(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("step 0: train loss 10.9, val loss 10.9\niter 0: loss 10.9, time 100.0ms, mfu -100.00%\n")
    cfg = tmp_path / "c.py"
    cfg.write_text("learning_rate = 1e-3\n")
    resolved = resolve_config(parse(str(log)), str(cfg))
    assert resolved.get("learning_rate") == 1e-3 and resolved.source("learning_rate") == f"config:{cfg}"
    assert not resolved.has_log_config


def test_values_parse_like_nanogpts_configurator():
    assert parse_value("1e-3") == 1e-3 and parse_value("False") is False
    assert parse_value("cpu") == "cpu" and parse_value("'x'") == "x"
    assert parse_set_options(["--learning_rate=3e-4", "device=cpu"]) == {
        "learning_rate": 3e-4,
        "device": "cpu",
    }
    with pytest.raises(ValueError):
        parse_set_options(["learning_rate"])
