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
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ToolSettings:
    fail_on: str | None = None
    format: str | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    severities: dict[str, str] = field(default_factory=dict)
    path: str | None = None


def find_pyproject(start: str | None = None) -> Path | None:
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_tool_settings(config_file: str | None = None, start: str | None = None) -> ToolSettings:
    from .resolve.files import ConfigError

    path = Path(config_file) if config_file else find_pyproject(start)
    if path is None:
        return ToolSettings()
    try:
        import tomllib
    except ImportError:   # Python 3.10 has no TOML reader in the standard library
        if config_file:
            raise ConfigError(str(path), "reading TOML needs Python 3.11 or newer") from None
        return ToolSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read settings: {exc}") from None
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
    from .resolve.files import ConfigError

    def names(key: str) -> list[str]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            raise ConfigError(path, f"[tool.plateau-doctor] {key} must be a list of rule codes or categories")
        return [str(v).strip() for v in value if str(v).strip()]

    thresholds = {}
    for code, values in _table(table, "thresholds", path).items():
        if not isinstance(values, dict):
            raise ConfigError(path, f"thresholds.{code} must be a table of name = number")
        thresholds[code.upper()] = {k: _number(v, f"thresholds.{code}.{k}", path) for k, v in values.items()}
    severities = {code.upper(): str(v) for code, v in _table(table, "severity", path).items()}
    for code, sev in severities.items():
        if sev not in ("error", "warning", "info"):
            raise ConfigError(path, f"severity.{code} must be error, warning or info, not {sev!r}")
    return ToolSettings(fail_on=table.get("fail-on") or table.get("fail_on"), format=table.get("format"),
                        select=names("select"), ignore=names("ignore"), thresholds=thresholds,
                        severities=severities, path=path)


def _table(table: dict, key: str, path: str) -> dict:
    from .resolve.files import ConfigError

    value = table.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(path, f"[tool.plateau-doctor] {key} must be a table")
    return value


def _number(value, where: str, path: str) -> float:
    from .resolve.files import ConfigError

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"{where} must be a number, not {value!r}")
    return float(value)
