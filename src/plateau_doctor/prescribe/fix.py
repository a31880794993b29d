"""The corrected config: changes applied to a copy of the user's config text, a diff, and the
`--key=value` overrides for nanoGPT's train.py. Nothing here writes a file; the command decides
where the text goes (never over the input)."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

from .changes import ConfigChange, SkippedChange, nanogpt_value
from .data_config import (
    edit_json_config,
    edit_toml_config,
    edit_yaml_config,
    hf_changes,
    is_hf_training_arguments,
)
from .python_config import edit_python_config

SCHEMAS = ("nanogpt", "hf_training_arguments", "keys")


@dataclass
class FixResult:
    path: str
    original: str
    corrected: str
    schema: str  # whose key names the file uses (SCHEMAS)
    applied: list[ConfigChange] = field(default_factory=list)  # written into the config
    offered: list[ConfigChange] = field(default_factory=list)  # written as comments: unsure
    skipped: list[SkippedChange] = field(default_factory=list)  # not written, and why

    @property
    def changed(self) -> bool:
        return self.corrected != self.original


def correct_config(
    path: str, text: str, changes: list[ConfigChange], skipped: list[SkippedChange] | None = None
) -> FixResult:
    """Apply `changes` to the text of the config at `path` (by its extension). ValueError with a
    one-line reason when the text cannot be edited."""
    suffix = os.path.splitext(path)[1].lower()
    skipped = list(skipped or [])
    data_file = suffix in (".yaml", ".yml", ".json", ".toml")
    values = _top_level_values(suffix, text) if data_file else {}
    if data_file and is_hf_training_arguments(values):
        schema = "hf_training_arguments"
    elif not data_file or _has_nanogpt_keys(values):
        schema = "nanogpt"  # a .py config is nanoGPT's: train.py exec()s it
    else:
        schema = "keys"  # someone else's keys: written as the findings name them
    if schema == "hf_training_arguments":
        changes, unmapped = hf_changes(changes)
        skipped += unmapped
    elif schema == "nanogpt":
        changes, invalid = _checked_for_nanogpt(changes)
        skipped += invalid

    if suffix == ".json":
        corrected, left_out = edit_json_config(text, changes)
        skipped += left_out
        written = [c for c in changes if c.confident]
        return FixResult(path, text, corrected, schema, applied=written, skipped=skipped)
    if suffix in (".yaml", ".yml"):
        corrected = edit_yaml_config(text, changes)
    elif suffix == ".toml":
        corrected = edit_toml_config(text, changes)
    else:
        corrected = edit_python_config(text, changes)
    return FixResult(
        path,
        text,
        corrected,
        schema,
        applied=[c for c in changes if c.confident],
        offered=[c for c in changes if not c.confident],
        skipped=skipped,
    )


def unified_diff(result: FixResult, new_name: str | None = None) -> str:
    return "".join(
        difflib.unified_diff(
            result.original.splitlines(keepends=True),
            result.corrected.splitlines(keepends=True),
            fromfile=result.path,
            tofile=new_name or result.path + " (corrected)",
        )
    )


def overrides_line(changes: list[ConfigChange], config_path: str | None) -> str:
    """`python train.py CONFIG --key=value ...` for the confident changes: what nanoGPT's
    configurator accepts (it splits each argument at its first '=' and checks the type)."""
    args = [c.override() for c in changes if c.confident]
    for arg in args:
        if arg.count("=") > 1 or any(ch.isspace() for ch in arg):
            raise ValueError(
                f"{arg}: nanoGPT's configurator cannot take this value on the "
                "command line (it splits at '=' and on spaces); edit the config instead"
            )
    return " ".join(["python", "train.py", *([config_path] if config_path else []), *args])


def summary(result: FixResult) -> list[str]:
    """One line per change: what was written, offered or skipped, and which finding asked."""
    lines = [f"{c.key} = {c.value!r}  ({c.code}: {c.reason})" for c in result.applied]
    lines += [
        f"offered, commented out: {c.key} = {c.value!r}  ({c.code}: {c.reason})" for c in result.offered
    ]
    lines += [
        f"not applied: {s.change.key} = {s.change.value!r}  ({s.change.code}): {s.why}"
        for s in result.skipped
    ]
    return lines


def _checked_for_nanogpt(changes: list[ConfigChange]) -> tuple[list[ConfigChange], list[SkippedChange]]:
    """The changes with values of train.py's types; those nanoGPT would refuse are skipped."""
    kept, skipped = [], []
    for change in changes:
        try:
            value = nanogpt_value(change.key, change.value)
        except ValueError as exc:
            skipped.append(SkippedChange(change, str(exc)))
            continue
        kept.append(ConfigChange(change.key, value, change.code, change.reason, change.confident))
    return kept, skipped


def _top_level_values(suffix: str, text: str) -> dict:
    """The file's top-level keys, to tell whose schema it is (never raises; {} when unreadable)."""
    import json

    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                return {}
            data = tomllib.loads(text)
        else:
            return {}
    except Exception:  # noqa: BLE001 - any parse failure: the editor reports it properly
        return {}
    return data if isinstance(data, dict) else {}


def _has_nanogpt_keys(values: dict) -> bool:
    from ..resolve.defaults import NANOGPT_DEFAULTS

    return bool(set(values) & set(NANOGPT_DEFAULTS))
