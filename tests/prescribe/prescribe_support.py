"""Shared helpers for the prescribe tests: the example runs and a check that a config would be
accepted by nanoGPT's configurator, done by reading it with ast (nothing is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

from plateau_doctor.resolve.defaults import NANOGPT_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "examples" / "logs"
CONFIGS = ROOT / "examples" / "configs"
OVERFIT_LOG = LOGS / "h200_shakespeare_char_overfit_default.log"
OVERFIT_CONFIG = CONFIGS / "h200_shakespeare_char_overfit_default.py"
SEED_LOG = LOGS / "seed_fineweb_4070.log"
SEED_CONFIG = CONFIGS / "seed_fineweb_4070.py"


def configurator_values(text: str) -> dict:
    """The top-level assignments of a config as nanoGPT's train.py would end up with them, read
    with ast.literal_eval only. Fails the test (AssertionError) where train.py would refuse or
    misread the config: a key train.py does not have, or a value of another type than its
    default (the configurator asserts the exact type of --key=value; a config file of the wrong
    type breaks train.py's arithmetic later)."""
    tree = ast.parse(text)
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            key = node.targets[0].id
            assert key in NANOGPT_DEFAULTS, f"{key} is not a key of nanoGPT's train.py"
            value = ast.literal_eval(node.value)
            assert type(value) is type(NANOGPT_DEFAULTS[key]), f"{key}={value!r}: wrong type"
            values[key] = value
    return values
