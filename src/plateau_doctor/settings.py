"""The tool's own settings: [tool.plateau-doctor] in the nearest pyproject.toml (as ruff does),
or a standalone TOML file given with --config-file. Command-line flags win over both.

    [tool.plateau-doctor]
    fail-on = "warning"
    select = ["PD2", "lr_too_high"]
    ignore = ["PD701"]
    [tool.plateau-doctor.thresholds.PD202]
    warn_epochs = 8
    [tool.plateau-doctor.severity]
    PD104 = "warning"

Strict, like ruff: an unknown key, rule code, category or threshold name is an error naming the
bad value with one did-you-mean. A CI job with a typo in its settings must fail, not check less.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from .resolve.files import ConfigError

# Keys of [tool.plateau-doctor]. `run` holds a run's config (read by resolve.files), not settings.
SETTING_KEYS = ("select", "extend-select", "ignore", "fail-on", "format", "thresholds", "severity", "run")
# snake_case spellings, as a Python user writes them
ALIASES = {"fail_on": "fail-on", "extend_select": "extend-select"}
SEVERITY_NAMES = ("error", "warning", "info")
ANALYSES = "analyses"  # [tool.plateau-doctor.thresholds.analyses]: the shared analyses' thresholds


@dataclass
class ToolSettings:
    """The tool's settings as read from [tool.plateau-doctor] or a --config-file, checked."""

    fail_on: str | None = None
    format: str | None = None
    select: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    severities: dict[str, str] = field(default_factory=dict)
    path: str | None = None


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """'; did you mean X?' for the closest choice, or '' when none is close. At most one."""
    import difflib

    choices = list(choices)
    folded = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(value.lower(), list(folded), n=1, cutoff=0.6)
    return f"; did you mean {folded[match[0]]!r}?" if match else ""


def toml_module():
    """tomllib on 3.11+; before that tomli, the same parser (a dependency on Python 3.10)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    return tomllib


def find_pyproject(start: str | None = None) -> str | None:
    """The nearest pyproject.toml in `start` (default: the working directory) or above it."""
    folder = os.path.realpath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load_tool_settings(config_file: str | None = None, start: str | None = None) -> ToolSettings:
    path = str(config_file) if config_file else find_pyproject(start)
    if path is None:
        return ToolSettings()
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except FileNotFoundError:
        raise ConfigError(path, "no such file") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read settings: {exc.strerror or exc}") from None
    toml = toml_module()
    try:
        data = toml.loads(text)
    except (toml.TOMLDecodeError, ValueError, RecursionError) as exc:  # ValueError: a 5000-digit int
        first_line = (str(exc) or type(exc).__name__).splitlines()[0]
        raise ConfigError(str(path), f"invalid TOML: {first_line}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(str(path), "[tool] must be a table")
    table = tool.get("plateau-doctor")
    if table is None:
        table = data if config_file else {}
    if not isinstance(table, dict):
        raise ConfigError(str(path), "[tool.plateau-doctor] must be a table")
    return _from_table(table, str(path))


def _from_table(table: dict, path: str) -> ToolSettings:
    for key in table:
        if key not in SETTING_KEYS and key not in ALIASES:
            raise ConfigError(
                path, f"[tool.plateau-doctor]: unknown setting {key!r}" + did_you_mean(key, SETTING_KEYS)
            )
    table = {ALIASES.get(k, k): v for k, v in table.items()}

    def names(key: str) -> list[str]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            raise ConfigError(path, f"[tool.plateau-doctor] {key} must be a list of rule codes or categories")
        found = [str(v).strip() for v in value if str(v).strip()]
        check_selectors(found, f"[tool.plateau-doctor] {key}", path)
        return found

    thresholds = {}
    for code, values in _table(table, "thresholds", path).items():
        if not isinstance(values, dict):
            raise ConfigError(path, f"thresholds.{code} must be a table of name = number")
        if code.lower() == ANALYSES:  # the shared analyses' thresholds
            from .analyse.thresholds import ANALYSIS_THRESHOLDS

            owner, known = ANALYSES.upper(), [t.name for t in ANALYSIS_THRESHOLDS]
        else:
            info = _rule(code, "thresholds", path)
            owner, known = info.code, [t.name for t in info.thresholds]
        for name in values:
            if name not in known:
                hint = did_you_mean(name, known) or f" (it has: {', '.join(known) or 'none'})"
                problem = f"{owner} has no threshold {name!r}{hint}"
                raise ConfigError(path, f"thresholds.{code}: {problem}")
        thresholds[owner] = {k: _number(v, f"thresholds.{code}.{k}", path) for k, v in values.items()}
    severities = {}
    for code, sev in _table(table, "severity", path).items():
        info = _rule(code, "severity", path)
        if sev not in SEVERITY_NAMES:
            raise ConfigError(
                path,
                f"severity.{code} must be error, warning or info, not {sev!r}"
                + did_you_mean(str(sev), SEVERITY_NAMES),
            )
        severities[info.code] = sev
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in (*SEVERITY_NAMES, "never"):
        raise ConfigError(
            path,
            f"fail-on must be error, warning, info or never, not {fail_on!r}"
            + did_you_mean(str(fail_on), (*SEVERITY_NAMES, "never")),
        )
    return ToolSettings(
        fail_on=fail_on,
        format=table.get("format"),
        select=names("select"),
        extend_select=names("extend-select"),
        ignore=names("ignore"),
        thresholds=thresholds,
        severities=severities,
        path=path,
    )


def _rule(code: str, where: str, path: str):
    from .rules import all_rules

    rules = all_rules()
    for info in rules:
        if info.code == code.upper():
            return info
    raise ConfigError(path, f"{where}.{code}: no rule {code!r}" + did_you_mean(code, [r.code for r in rules]))


def selector_vocabulary() -> list[str]:
    """Everything --select/--ignore accept: codes, rule names and categories (prefixes of codes
    are checked separately)."""
    from .model import CATEGORIES
    from .rules import all_rules

    rules = all_rules()
    return [r.code for r in rules] + [r.name for r in rules] + list(CATEGORIES)


def check_selectors(selectors: list[str], where: str, path: str | None = None) -> None:
    """Each selector must be a rule code, a prefix of one (PD2), a rule name or a category;
    ConfigError naming `path` (the settings file) or `where` (the flag) otherwise."""
    from .rules import all_rules

    codes = [r.code for r in all_rules()]
    words = {w.upper() for w in selector_vocabulary()}
    for selector in selectors:
        upper = selector.upper()
        if upper in words or (
            upper.startswith("PD") and len(upper) > 2 and any(code.startswith(upper) for code in codes)
        ):
            continue
        problem = f"unknown rule code or category {selector!r}" + (
            did_you_mean(selector, selector_vocabulary()) or " (see `plateau-doctor rules`)"
        )
        raise ConfigError(path, f"{where}: {problem}") if path else ConfigError(where, problem)


def check_set_keys(overrides: dict, config_schema: str | None) -> None:
    """--set keys must be config keys of the run's schema where the schema's keys are known
    (nanoGPT's configurator refuses an unknown --key=value: `Unknown config key`)."""
    if config_schema != "nanogpt" or not overrides:
        return
    from .resolve.defaults import NANOGPT_DEFAULTS

    for key in overrides:
        if key not in NANOGPT_DEFAULTS:
            raise ConfigError(
                "--set",
                f"unknown config key {key!r} (nanoGPT's train.py has no such key)"
                + did_you_mean(key, NANOGPT_DEFAULTS),
            )


def check_config_keys(config, kind: str | None) -> None:
    """A nanoGPT config's keys must be train.py's: its configurator exec()s the file, so an
    unknown key (a typo such as `learning_rte`) would be ignored and the run would silently use
    the default. ConfigError naming the first such key, with one did-you-mean."""
    from .resolve.defaults import NANOGPT_DEFAULTS
    from .resolve.schemas import NANOGPT, unknown_nanogpt_keys

    if kind != NANOGPT:
        return
    for key in unknown_nanogpt_keys([*config.values, *config.unknown]):
        raise ConfigError(
            config.path,
            f"unknown config key {key!r} (nanoGPT's train.py has no such key: the run would ignore it)"
            + did_you_mean(key, NANOGPT_DEFAULTS),
        )


def _table(table: dict, key: str, path: str) -> dict:
    value = table.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(path, f"[tool.plateau-doctor] {key} must be a table")
    return value


def _number(value, where: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"{where} must be a number, not {value!r}")
    return float(value)
