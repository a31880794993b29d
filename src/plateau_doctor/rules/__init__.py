"""Rules: one small module per rule, found by looking in this package (a module with a `RULE`
and a `check` is a rule; nothing lists them by hand). This module loads them, checks that their
declarations hang together, runs the selected ones and hands what they find to the differential
diagnosis, which folds consequences into their causes and ranks the rest.

Adding a rule is adding a module here (and its test): `rules`, `explain`, the README table and
the SARIF rule metadata are all generated from its RULE.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from ..model import CATEGORIES, SEVERITIES, Finding, RuleInfo
from .base import Context, Limits, Skip
from .differential import category_depths, differential

__all__ = [
    "NEEDS_A_LOG",
    "Context",
    "Limits",
    "Rule",
    "RuleOutcome",
    "RuleSettings",
    "Skip",
    "all_rules",
    "find_rule",
    "load_rules",
    "run_rules",
]


class RuleDefinitionError(Exception):
    """Rule declarations that contradict each other: a bug in a rule module, caught at load."""


@dataclass(frozen=True)
class Rule:
    """A rule module: its documentation and its check."""

    info: RuleInfo
    check: Callable[[Context, Limits], list]


def discover(package: str) -> list[Rule]:
    """Every module of `package` that defines RULE and check, in code order."""
    root = importlib.import_module(package)
    found = []
    for module_info in pkgutil.iter_modules(root.__path__):
        module = importlib.import_module(f"{package}.{module_info.name}")
        if hasattr(module, "RULE") and hasattr(module, "check"):
            found.append(Rule(module.RULE, module.check))
    return sorted(found, key=lambda rule: rule.info.code)


def validate(rules: list[Rule]) -> None:
    """Unique codes and names, contract categories and severities, unique threshold names, and
    an explanation graph without cycles (a cause cannot be explained by its own consequence)."""
    seen: dict[str, str] = {}
    for rule in rules:
        info = rule.info
        for key in (info.code, info.name):
            if key in seen:
                raise RuleDefinitionError(f"{info.code}: {key!r} is also used by {seen[key]}")
            seen[key] = info.code
        if info.category not in CATEGORIES or info.severity not in SEVERITIES:
            raise RuleDefinitionError(
                f"{info.code}: category {info.category!r} / severity {info.severity!r} is not in the contract"
            )
        names = [t.name for t in info.thresholds]
        if len(set(names)) != len(names):
            raise RuleDefinitionError(f"{info.code}: a threshold name is declared twice")
        unknown = set(info.explained_by) - set(CATEGORIES)
        if unknown or info.category in info.explained_by:
            raise RuleDefinitionError(
                f"{info.code}: explained_by {sorted(unknown) or info.category} "
                "is not another contract category"
            )
    try:
        category_depths([rule.info for rule in rules])
    except ValueError as exc:
        raise RuleDefinitionError(str(exc)) from None


def load_rules(package: str = __name__) -> tuple[Rule, ...]:
    """The rules of a package, checked. The project's own are loaded once per process."""
    if package == __name__:
        return _own_rules()
    rules = discover(package)
    validate(rules)
    return tuple(rules)


@cache
def _own_rules() -> tuple[Rule, ...]:
    rules = discover(__name__)
    validate(rules)
    return tuple(rules)


def all_rules() -> list[RuleInfo]:
    """Every rule's documentation, including the `compare`-only regression rules."""
    from .regression import INFOS

    return sorted([r.info for r in load_rules()] + list(INFOS), key=lambda info: info.code)


def find_rule(code: str) -> RuleInfo | None:
    code = code.strip().upper()
    for info in all_rules():
        if info.code == code or info.name.upper() == code:
            return info
    return None


@dataclass
class RuleSettings:
    """Which rules run and how: selection by code or category, per-rule threshold and severity
    overrides (from the command line or [tool.plateau-doctor] in pyproject.toml)."""

    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    severities: dict[str, str] = field(default_factory=dict)

    def enabled(self, info: RuleInfo) -> bool:
        if not self.select and not self.ignore:  # the usual case, asked for every rule of every run
            return True
        keys = {info.code.upper(), info.category.upper(), info.name.upper()}

        def matches(patterns: list[str]) -> bool:
            return any(
                p.upper() in keys or (p.upper().startswith("PD") and info.code.startswith(p.upper()))
                for p in patterns
            )

        if self.select and not matches(self.select):
            return False
        return not matches(self.ignore)


NEEDS_A_LOG = "judges the loss curves: it needs a training log"


@dataclass
class RuleOutcome:
    """What a rule run gives: the findings, the rules that skipped, the rules that ran."""

    findings: list[Finding]  # ranked, consequences folded into their causes
    skipped: list[Skip]
    checked: list[str]


def run_rules(
    ctx: Context, settings: RuleSettings | None = None, rules: tuple[Rule, ...] | None = None
) -> RuleOutcome:
    settings = settings or RuleSettings()
    rules = load_rules() if rules is None else rules
    findings: list[Finding] = []
    skipped: list[Skip] = []
    checked: list[str] = []
    for rule in rules:
        info = rule.info
        if not settings.enabled(info):
            continue
        if ctx.facts.planned and not info.log_free:  # a plan has no loss curves to read
            skipped.append(Skip(info.code, NEEDS_A_LOG))
            continue
        if info.plan_only and not ctx.facts.planned:  # what it predicts, a log shows
            continue
        checked.append(info.code)
        limits = Limits(info.thresholds, settings.thresholds.get(info.code))
        for item in rule.check(ctx, limits):
            if isinstance(item, Skip):
                skipped.append(item)
                continue
            if info.code in settings.severities and not item.ruled_out:
                item.severity = settings.severities[info.code]
            findings.append(item)
    return RuleOutcome(differential(findings, [rule.info for rule in rules]), skipped, checked)
