"""Config changes: the bridge between findings and a corrected config.

A `ConfigChange` is one key set to one value, the finding that asks for it and why, and whether
the diagnosis is sure of it. The rules will emit these directly; until they do,
`changes_from_findings` reads them from the findings' fix strings of the form
`--key=value [--key=value ...] (reason)`, the form the rules write their config fixes in.
Fixes in prose, alternatives ("or --key=...") and placeholders ("--warmup_iters=<about 1-5%>")
are not config changes and are left alone.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Any

from ..model import Finding
from ..resolve.config import value_problem
from ..resolve.defaults import NANOGPT_DEFAULTS

# A finding is sure enough to change the config when it is raised and at least this confident;
# below, its changes are offered commented out with the reason.
CONFIDENT_AT = 0.75

_LEADING_OVERRIDES = re.compile(r"^(?:--[A-Za-z_]\w*=\S+\s*)+")
_OVERRIDE = re.compile(r"--([A-Za-z_]\w*)=(\S+)")


@dataclass(frozen=True)
class ConfigChange:
    key: str
    value: Any
    code: str  # the finding that asks for it, e.g. PD201
    reason: str  # why, in a few words
    confident: bool  # False: offered commented out, with the reason

    def override(self) -> str:
        """The `--key=value` argument nanoGPT's configurator reads back to the same value."""
        return f"--{self.key}={format_value(self.value, quote_strings=False)}"


@dataclass(frozen=True)
class SkippedChange:
    change: ConfigChange
    why: str


def format_value(value: Any, quote_strings: bool = True) -> str:
    """A Python literal for `value` (what ast.literal_eval reads back as the same value and
    type); strings bare when `quote_strings` is False, as the configurator's fallback takes them."""
    if isinstance(value, str) and not quote_strings:
        return value
    return repr(value)  # 1.0 stays 1.0, never 1: the configurator checks the type exactly


def changes_from_findings(findings: list[Finding]) -> tuple[list[ConfigChange], list[SkippedChange]]:
    """The config changes the findings' fixes ask for, highest-ranked finding first. A key asked
    for by several findings keeps the first (the findings arrive ranked); the others are returned
    as skipped, with the conflict named."""
    chosen: dict[str, ConfigChange] = {}
    skipped: list[SkippedChange] = []
    for found in findings:
        confident = found.raised and found.confidence >= CONFIDENT_AT
        for fix in found.fixes:
            for change in _parse_fix(fix, found, confident):
                earlier = chosen.get(change.key)
                if earlier is None:
                    chosen[change.key] = change
                elif earlier.value != change.value:
                    skipped.append(
                        SkippedChange(
                            change, f"{earlier.code} sets {change.key} to {format_value(earlier.value)} first"
                        )
                    )
    return list(chosen.values()), skipped


def _parse_fix(fix: str, found: Finding, confident: bool) -> list[ConfigChange]:
    head = _LEADING_OVERRIDES.match(fix.strip())
    if not head:
        return []
    rest = fix.strip()[head.end() :].strip()
    reason = rest[1:-1] if rest.startswith("(") and rest.endswith(")") else rest
    if not reason or reason.startswith("now "):  # "(now 0.2)" says what was, not why
        reason = found.title.split(":")[0].strip()
        reason = reason[0].lower() + reason[1:]
    if not confident:
        reason = f"not sure (finding {found.severity}, confidence {found.confidence:.2f}): {reason}"
    changes = []
    for key, text in _OVERRIDE.findall(head.group(0)):
        value = _literal(text)
        if value is None:
            return []  # a placeholder such as <about 1-5% of max_iters>: not a value
        changes.append(ConfigChange(key, value, found.code, reason, confident))
    return changes


def _literal(text: str) -> Any:
    """The value nanoGPT's configurator would read from `--key=text`: a Python literal, else the
    bare word (a string); None for something that is neither (a placeholder, punctuation)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text if re.fullmatch(r"[A-Za-z_][\w.\-/]*", text) else None


def nanogpt_value(key: str, value: Any) -> Any:
    """`value` as nanoGPT's train.py global `key` takes it (an int for an int key, a float for a
    float key: the configurator asserts the exact type). ValueError naming the key when train.py
    has no such key or the value cannot be that type."""
    if key not in NANOGPT_DEFAULTS:
        from difflib import get_close_matches

        close = get_close_matches(key, NANOGPT_DEFAULTS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"{key} is not a key of nanoGPT's train.py{hint}")
    default = NANOGPT_DEFAULTS[key]
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif (
        isinstance(default, int)
        and not isinstance(default, bool)
        and isinstance(value, float)
        and value.is_integer()
    ):
        value = int(value)
    problem = value_problem(key, value)
    if problem or type(value) is not type(default):
        raise ValueError(f"{key}={format_value(value)}: {problem or 'expected ' + type(default).__name__}")
    return value
