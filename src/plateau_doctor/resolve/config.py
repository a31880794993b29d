"""Resolve the config a run used, layer by layer, remembering where each value came from.

Order (later wins): nanoGPT's train.py defaults < the file given with --config < the config file
the log echoed < the log's `Overriding: k = v` lines < --set KEY=VALUE. The log is what the run
actually used, so it outranks a --config file that may have been edited since; where the two
disagree we keep the log's value and report the disagreement.
"""

from __future__ import annotations

import ast
import math
import reprlib
import warnings
from typing import Any

from ..model import ConfigValue, ParsedLog, ResolvedConfig
from .defaults import NANOGPT_DEFAULTS
from .files import ConfigError, ConfigFile, load_config_file, read_python_config
from .schemas import schema_defaults


def parse_value(text: str) -> Any:
    """A value as nanoGPT's configurator reads `--key=value`: a Python literal, else the string."""
    try:
        with warnings.catch_warnings():  # `1if`, "\d": no SyntaxWarning on stderr
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
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


def resolve_config(
    parsed: ParsedLog,
    config_path: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    given: ConfigFile | None = None,
) -> ResolvedConfig:
    """The layers merged; `given` is the --config file when the caller has read it already
    (a plan maps another trainer's keys onto the canonical ones first)."""
    layers: list[tuple[str, dict[str, Any]]] = []
    unknown: list[str] = []
    claims: list[str] = []
    schema = parsed.meta.config_schema
    defaults = schema_defaults(schema)
    if defaults:
        layers.append(("default", defaults))
    if given is None and config_path:
        given = load_config_file(config_path)
    if given is not None:
        layers.append((f"config:{config_path}", given.values))
        unknown += given.unknown
        claims += given.claimed_params
    log_values: dict[str, Any] = {}
    for name, text in parsed.meta.config_echo:
        try:
            echoed = read_python_config(text, name)
        except ConfigError:
            continue  # an echo cut by a crash or an excerpt; skip it
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
            problem = value_problem(key, value)
            if problem is None:
                values[key] = ConfigValue(value, source)
            elif source.startswith("config:"):
                raise ConfigError(config_path or source, f"{key} = {_short(value)}: {problem}")
            elif source == "--set":
                raise ConfigError("--set", f"{key}={_short(value)}: {problem}")
            else:
                # The log is evidence, not input we can send back: a garbled value is unknown.
                values.pop(key, None)
                if key not in unknown:
                    unknown.append(key)
    if parsed.meta.init_from and "init_from" not in log_values and "init_from" not in log_overrides:
        values["init_from"] = ConfigValue(parsed.meta.init_from, "log")
    # A key the log set with code we could not read must not fall back to a default silently.
    for key in unknown:
        if key in values and values[key].source == "default":
            del values[key]

    # Where what the user passed contradicts what the log says ran: --config loses to the log
    # (the file may have been edited since), --set wins (it is an explicit instruction); both are
    # reported so that neither difference passes silently.
    said_by_log = {**log_values, **log_overrides}
    mismatches = []
    for given_by, passed in (("--config", given.values if given else {}), ("--set", overrides or {})):
        for key, value in passed.items():
            if key in said_by_log and not _same(value, said_by_log[key]):
                mismatches.append(
                    {
                        "key": key,
                        "given_by": given_by,
                        "given": value,
                        "log": said_by_log[key],
                        "used": "log" if given_by == "--config" else "--set",
                    }
                )
    return ResolvedConfig(
        values=values,
        mismatches=mismatches,
        unknown=unknown,
        config_path=config_path,
        has_log_config=bool(log_values or log_overrides),
        claimed_params=claims,
        schema=schema,
    )


# nanoGPT keys that hold counts but have no default in train.py
COUNT_KEYS = {"vocab_size"}
MAX_COUNT = 2**53  # counts beyond this are not settings (and overflow float arithmetic)
MAX_FLOAT = 1e300  # finite, with room to multiply by a count without overflowing


def value_problem(key: str, value: Any) -> str | None:
    """Why `value` cannot be nanoGPT's `key` (None if it can): every later computation (tokens per
    iteration, the LR schedule, the model size) takes the type of train.py's default for granted.
    Keys nanoGPT does not have are not checked."""
    default = NANOGPT_DEFAULTS.get(key, 0 if key in COUNT_KEYS else None)
    if default is None:
        return None
    if isinstance(default, bool):
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return None
        return "expected True or False"
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        if (
            number
            and (isinstance(value, int) or (math.isfinite(value) and value.is_integer()))
            and 0 <= value < MAX_COUNT
        ):
            return None
        return "expected a whole number from 0 to 2**53"
    if isinstance(default, float):
        # compared, not math.isfinite(): that raises OverflowError on a 400-digit int
        if number and -MAX_FLOAT <= value <= MAX_FLOAT:
            return None
        return "expected a finite number"
    # strings: names are looked up in tables (dataset, init_from), so they must be scalars
    return None if value is None or isinstance(value, (str, int, float)) else "expected a string"


def _short(value: Any) -> str:
    """A value for a one-line message: repr (quotes, escaped newlines), cut to 60 characters."""
    short = reprlib.Repr()  # (keyword arguments only from Python 3.12)
    short.maxstring = short.maxother = 60
    short.maxlevel = 3
    return short.repr(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(abs(float(a)), abs(float(b)), 1.0)
    return a == b or str(a) == str(b)
