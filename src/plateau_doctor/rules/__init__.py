"""Rules: one small module per rule, each with its code, documentation and thresholds (INFO) and
a `check(ctx, thresholds)`. This module lists them, runs them and ranks what they find.

Order matters only for PD502 (plateau), which runs last because it reports a flat curve that no
cause-specific rule explained.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from ..model import SEVERITY_RANK, Finding, RuleInfo
from . import (capacity_limited, config_mismatch, data_repetition, divergence_explosion,
               divergence_nan, eval_noise, incomplete_run, init_loss, loss_spikes, lr_schedule_config,
               lr_too_high, lr_too_low, mid_schedule, overfitting, param_count, plateau,
               still_improving, throughput, tokens_per_iter)
from .base import Context, Skip

RULES: tuple[ModuleType, ...] = (
    divergence_nan, divergence_explosion, init_loss, incomplete_run,
    overfitting, data_repetition, capacity_limited,
    lr_too_high, lr_too_low, lr_schedule_config, mid_schedule,
    eval_noise, loss_spikes,
    config_mismatch, param_count, tokens_per_iter,
    throughput,
    still_improving, plateau,
)


def all_rules() -> list[RuleInfo]:
    """Every rule's documentation, including the `compare`-only regression rules."""
    from .regression import INFOS

    return sorted([r.INFO for r in RULES] + list(INFOS), key=lambda info: info.code)


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
        keys = {info.code.upper(), info.category.upper(), info.name.upper()}

        def matches(patterns: list[str]) -> bool:
            return any(p.upper() in keys or (p.upper().startswith("PD") and info.code.startswith(p.upper()))
                       for p in patterns)
        if self.select and not matches(self.select):
            return False
        return not matches(self.ignore)


@dataclass
class RuleOutcome:
    findings: list[Finding]
    skipped: list[Skip]
    checked: list[str]


def run_rules(ctx: Context, settings: RuleSettings | None = None) -> RuleOutcome:
    settings = settings or RuleSettings()
    findings: list[Finding] = []
    skipped: list[Skip] = []
    checked: list[str] = []
    for rule in RULES:
        info = rule.INFO
        if not settings.enabled(info):
            continue
        checked.append(info.code)
        thresholds = {**info.thresholds, **settings.thresholds.get(info.code, {})}
        ctx.earlier = findings
        for item in rule.check(ctx, thresholds):
            if isinstance(item, Skip):
                skipped.append(item)
                continue
            if info.code in settings.severities:
                item.severity = settings.severities[info.code]
            findings.append(item)
    return RuleOutcome(rank(findings), skipped, checked)


def rank(findings: list[Finding]) -> list[Finding]:
    """Most important first: severity, then how directly the finding explains the run (its
    weight) times the confidence, then code for a stable order."""
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], -f.weight * f.confidence, f.code))
