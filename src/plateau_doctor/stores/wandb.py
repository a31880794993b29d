"""A W&B run directory (wandb/run-<date>-<id>/, or offline-run-...): files/output.log is the
run's stdout, read by the log parsers; files/config.yaml is the run's config; wandb-summary.json
holds the last values. The binary run-<id>.wandb is not read: the loss curve comes from stdout.

config.yaml (wandb/sdk/lib/config_util.py): `wandb_version: 1`, then each key as
`{desc: ..., value: ...}` (newer clients drop desc); `_wandb` is W&B's own bookkeeping. An
offline run writes config.yaml and wandb-summary.json only when synced.
"""

from __future__ import annotations

import json
import re

from ..model import ParsedLog
from ..parsers.tabular import LOSS_ROLES, auto_columns, cell_value
from ..read import InputError, LogText
from .fs import Local, Remote
from .scalars import apply_config

NAME = "wandb"
RUN_DIR_RE = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-\w+$")
CONFIG_VERSION = 1  # the only config.yaml version wandb itself reads


def is_run_dir(name: str, names: set[str]) -> bool:
    """wandb's own naming, or the files/ folder next to a run-<id>.wandb file."""
    return "files" in names and (bool(RUN_DIR_RE.match(name)) or any(n.endswith(".wandb") for n in names))


def read(fs: Local | Remote, path: str, log_format: str = "auto") -> ParsedLog:
    from ..parsers import UnknownFormat, parse_source

    files = fs.join(path, "files")
    output = fs.join(files, "output.log")
    if not fs.isfile(output):
        raise InputError(
            path,
            "a W&B run directory without files/output.log: its metrics are only in "
            "the binary .wandb file, which is not read; export the run's history "
            "as CSV and diagnose that",
        )
    source = LogText(output, fs.open(output))
    try:
        parsed = parse_source(source, log_format if log_format != NAME else "auto")
    except (UnknownFormat, ValueError) as exc:
        raise InputError(output, str(exc)) from None
    meta = parsed.meta
    meta.notes.append(f"W&B run directory: files/output.log read as {parsed.format} output")
    config = _config(fs, fs.join(files, "config.yaml"), meta.notes)
    if config:
        apply_config(meta, config, "the W&B run's config.yaml")
    summary = _summary(fs, fs.join(files, "wandb-summary.json"))
    if summary:
        meta.notes.append("W&B summary (last logged values): " + summary)
    return parsed


def _config(fs: Local | Remote, path: str, notes: list[str]) -> dict:
    import yaml

    if not fs.isfile(path):
        return {}
    try:
        with fs.open(path) as handle:
            loaded = yaml.safe_load(handle.read().decode("utf-8", "replace"))
    except yaml.YAMLError as exc:
        notes.append(f"files/config.yaml is not valid YAML ({str(exc).splitlines()[0]}); config not read")
        return {}
    if not isinstance(loaded, dict):
        return {}
    version = loaded.pop("wandb_version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        notes.append(
            f"files/config.yaml has wandb_version {version!r} (this version reads "
            f"{CONFIG_VERSION}); config not read"
        )
        return {}
    return {str(k): v["value"] for k, v in loaded.items() if isinstance(v, dict) and "value" in v}


def _summary(fs: Local | Remote, path: str) -> str:
    """The summary's loss values, as `name=value` text, for a note."""
    if not fs.isfile(path):
        return ""
    try:
        with fs.open(path) as handle:
            summary = json.loads(handle.read())
    except (ValueError, RecursionError):
        return ""
    if not isinstance(summary, dict):
        return ""
    columns = auto_columns(summary)
    shown = [(columns[role], cell_value(summary[columns[role]])) for role in LOSS_ROLES if role in columns]
    return ", ".join(f"{name}={value:g}" for name, value in shown if value is not None)
