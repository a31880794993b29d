"""Resolve the config a run used, layer by layer, remembering where each value came from.

Order (later wins): nanoGPT's train.py defaults < the file given with --config < the config file
the log echoed < the log's `Overriding: k = v` lines < --set KEY=VALUE. The log is what the run
actually used, so it outranks a --config file that may have been edited since; where the two
disagree we keep the log's value and report the disagreement.
"""
from __future__ import annotations

import ast
from typing import Any

from ..model import ConfigValue, ParsedLog, ResolvedConfig
from .defaults import NANOGPT_DEFAULTS
from .files import ConfigError, load_config_file, read_python_config


def parse_value(text: str) -> Any:
    """A value as nanoGPT's configurator reads `--key=value`: a Python literal, else the string."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text.strip()


def parse_set_options(items: list[str]) -> dict[str, Any]:
    """`--set key=value` (also `--set --key=value`) into a dict; ValueError names a bad item."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        result[key] = parse_value(value)
    return result


def resolve_config(parsed: ParsedLog, config_path: str | None = None,
                   overrides: dict[str, Any] | None = None) -> ResolvedConfig:
    layers: list[tuple[str, dict[str, Any]]] = []
    unknown: list[str] = []
    claims: list[str] = []
    nanogpt = parsed.format == "nanogpt"
    if nanogpt:
        layers.append(("default", dict(NANOGPT_DEFAULTS)))
    given = None
    if config_path:
        given = load_config_file(config_path)
        layers.append((f"config:{config_path}", given.values))
        unknown += given.unknown
        claims += given.claimed_params
    log_values: dict[str, Any] = {}
    for name, text in parsed.meta.config_echo:
        try:
            echoed = read_python_config(text, name)
        except ConfigError:
            continue                       # an echo cut by a crash or an excerpt; skip it
        log_values.update(echoed.values)
        if not given:
            unknown += [k for k in echoed.unknown if k not in unknown]
            claims += [c for c in echoed.claimed_params if c not in claims]
    if log_values:
        layers.append(("log-echo", log_values))
    log_overrides = {k: parse_value(v) for k, v in parsed.meta.overrides.items()}
    if log_overrides:
        layers.append(("log-override", log_overrides))
    if overrides:
        layers.append(("--set", dict(overrides)))

    values: dict[str, ConfigValue] = {}
    for source, layer in layers:
        for key, value in layer.items():
            values[key] = ConfigValue(value, source)
    if parsed.meta.init_from and "init_from" not in log_values and "init_from" not in log_overrides:
        values["init_from"] = ConfigValue(parsed.meta.init_from, "log")
    # A key the log set with code we could not read must not fall back to a default silently.
    for key in unknown:
        if key in values and values[key].source == "default":
            del values[key]

    mismatches = []
    if given:
        said_by_log = {**log_values, **log_overrides}
        for key, value in given.values.items():
            if key in said_by_log and not _same(value, said_by_log[key]):
                mismatches.append({"key": key, "config_file": value, "log": said_by_log[key]})
    return ResolvedConfig(
        values=values, mismatches=mismatches, unknown=unknown, config_path=config_path,
        has_log_config=bool(log_values or log_overrides), claimed_params=claims,
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(abs(float(a)), abs(float(b)), 1.0)
    return a == b or str(a) == str(b)
