"""Read training configs without running them: nanoGPT .py (via ast), YAML, JSON, TOML.

A nanoGPT config is arbitrary Python that train.py exec()s. We never execute or import it: we
read module-level assignments whose value is a literal, or arithmetic on literals and on keys
assigned earlier in the file (`gradient_accumulation_steps = 5 * 8`, `lr_decay_iters = max_iters`).
Anything else (calls, attribute access, f-strings, comprehensions, conditionals) is reported as
unknown, never evaluated.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

MAX_CONFIG_BYTES = 4 << 20  # a training config is a few KB; refuse to read something huge
MAX_DEPTH = 100  # nesting of lists/mappings in a config value; deeper is hostile
MAX_NODES = 100_000  # values in one config (shared sub-lists counted each time they occur)
MAX_INT_BITS = 256  # a folded integer larger than this is not a training setting


class ConfigError(Exception):
    """The config cannot be read. `str()` is the one line the user sees."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class ConfigFile:
    """A config file's values, read without running it."""

    path: str
    values: dict[str, Any]
    unknown: list[str] = field(default_factory=list)
    claimed_params: list[str] = field(default_factory=list)
    named_gpu: str | None = None  # a GPU its comments say it trains on ('8X A100 40GB')


def load_config_file(path: str) -> ConfigFile:
    """Read a config file by its extension. Raises ConfigError with a one-line reason."""
    from pathlib import Path  # here, not at the top: a diagnosis without --config never needs it

    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError(path, "is a directory, not a config file")
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(path, f"larger than {MAX_CONFIG_BYTES >> 20} MB; not a training config")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "no such file") from None
    except PermissionError:
        raise ConfigError(path, "permission denied") from None
    except OSError as exc:
        raise ConfigError(path, exc.strerror or str(exc)) from None
    text = raw.decode("utf-8", errors="replace")
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return ConfigFile(path, _mapping(path, _load_yaml(path, text)))
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(path, f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
        except RecursionError:
            raise ConfigError(path, "invalid JSON: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise ConfigError(path, f"invalid JSON: {_first_line(exc)}") from None
        return ConfigFile(path, _mapping(path, data))
    if suffix == ".toml":
        return ConfigFile(path, _load_toml(path, text))
    return read_python_config(text, path)


def read_python_config(text: str, path: str = "<config>") -> ConfigFile:
    """Literal assignments of a nanoGPT-style Python config, read with ast only."""
    try:
        with warnings.catch_warnings():
            # compiling warns on stderr about code like `1if x else 2` or "\d": not the user's
            # business here, and it would break the one-line error contract
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise ConfigError(path, f"not valid Python (line {exc.lineno}): {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ConfigError(path, "cannot be parsed as Python") from None
    values: dict[str, Any] = {}
    unknown: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            try:
                values[target.id] = _fold(value, values)
                if target.id in unknown:
                    unknown.remove(target.id)
            except _NotLiteral:
                values.pop(target.id, None)
                if target.id not in unknown:
                    unknown.append(target.id)
    return ConfigFile(path, values, unknown, claimed_params(text), named_gpu(text))


class _NotLiteral(Exception):
    pass


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _fold(node: ast.AST, known: dict[str, Any], depth: int = 0) -> Any:
    """Constant-fold a literal expression; raise _NotLiteral for anything that would need running."""
    if depth > 50:
        raise _NotLiteral
    value = _fold_node(node, known, depth)
    # Results are checked, not just inputs: `a = a * a` repeated would otherwise square a number's
    # size through a name assigned earlier in the file, line after line.
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise _NotLiteral
    return value


def _fold_node(node: ast.AST, known: dict[str, Any], depth: int) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _fold(node.operand, known, depth + 1)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _fold(node.left, known, depth + 1), _fold(node.right, known, depth + 1)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
                raise _NotLiteral  # 10**10**10 must not hang us
            try:
                result = _BINOPS[type(node.op)](left, right)
            except (ZeroDivisionError, OverflowError, ValueError):
                raise _NotLiteral from None
            if isinstance(result, complex) or (isinstance(result, float) and not math.isfinite(result)):
                raise _NotLiteral  # (-8) ** 0.5 is complex: no config value is
            return result
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_fold(e, known, depth + 1) for e in node.elts]
        # A list may hold list literals but not names of lists: `a = [a, a]` repeated would
        # double the value on every line (a 2**200-element list from 200 short lines).
        if any(
            isinstance(item, list) and not isinstance(e, (ast.List, ast.Tuple))
            for item, e in zip(items, node.elts, strict=False)
        ):
            raise _NotLiteral
        return items
    raise _NotLiteral


# "125M parameters", "a 40M model", "GPT-2 124M": sizes a config's comments claim for the model.
# A claim starts where a number starts: otherwise a comment holding a long run of digits is
# rescanned from every digit (quadratic time).
_CLAIM_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?([MB])\b(?![a-zA-Z])")


def claimed_params(text: str) -> list[str]:
    """Model sizes claimed in comments (the seed run's comment called a 40M model 125M)."""
    claims = []
    for line in text.splitlines():
        if "#" not in line:
            continue
        comment = line.split("#", 1)[1]
        lowered = comment.lower()
        if "token" in lowered or not any(w in lowered for w in ("param", "model", "gpt")):
            continue
        for number, unit in _CLAIM_RE.findall(comment):
            claim = f"{number}{unit}"
            if claim not in claims:
                claims.append(claim)
    return claims


def named_gpu(text: str) -> str | None:
    """The GPU the config's comments say it trains on, as 'NAME MEMORYGB' (the first named)."""
    from ..domain.memory import device_named_in

    for line in text.splitlines():
        if "#" in line:
            device = device_named_in(line.split("#", 1)[1])
            if device is not None and not device.unified:
                return f"{device.name} {device.memory_gib:g}GB"
    return None


def _load_yaml(path: str, text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_safe_loader())
    except RecursionError:
        raise ConfigError(path, "YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"invalid YAML: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - PyYAML's safe constructors raise ValueError
        # (a 13th month, a 5000-digit int, `!!float abc`), AttributeError (`!!timestamp x`), ...;
        # for the user each is a config that is not valid YAML, never a crash.
        raise ConfigError(path, f"invalid YAML: {_first_line(exc)}") from None


def _safe_loader():
    """yaml.SafeLoader that also refuses aliases: a config has no use for them, and aliases are
    how a few hundred bytes expand into gigabytes (billion laughs)."""
    import yaml

    class NoAliasSafeLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.events.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "YAML aliases are not allowed", event.start_mark
                )
            return super().compose_node(parent, index)

    return NoAliasSafeLoader


def _load_toml(path: str, text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise ConfigError(path, "reading TOML needs Python 3.11 or newer") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"invalid TOML: {_first_line(exc)}") from None
    except RecursionError:
        raise ConfigError(path, "invalid TOML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(path, f"invalid TOML: {_first_line(exc)}") from None
    # A pyproject.toml keeps the run's config under [tool.plateau-doctor.run]; a standalone
    # TOML file may hold the keys at the top level. (`tool = 1` is a key, not a table.)
    table = data
    for name in ("tool", "plateau-doctor", "run"):
        table = table.get(name) if isinstance(table, dict) else None
    return _mapping(path, table if table is not None else data)


def _mapping(path: str, data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping of config keys, got {type(data).__name__}")
    if _too_big(data):
        raise ConfigError(
            path,
            f"nested more than {MAX_DEPTH} levels deep or holds more than "
            f"{MAX_NODES} values; not a training config",
        )
    # Nested tables (e.g. wandb's config.yaml {key: {value: v}}) flatten to their `value`.
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        flat[str(key)] = value
    return flat


def _too_big(value: Any) -> bool:
    """Is `value` nested deeper than MAX_DEPTH or made of more than MAX_NODES values? Walked
    without recursion, counting a shared sub-list each time it occurs, and stopping at the limit."""
    stack = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES or depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend((v, depth + 1) for v in item)
    return False


def _first_line(exc: BaseException) -> str:
    """An exception's message as one line (YAML and TOML messages span several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
