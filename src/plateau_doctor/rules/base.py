"""What a rule sees and what it returns.

A rule is a module with `INFO` (a RuleInfo: code, category, default severity, thresholds and its
documentation) and `check(ctx, thresholds) -> list[Finding | Skip]`. It reads the shared analyses
in `ctx` and never re-parses or re-fits. A rule that cannot tell (no config, too few evals)
returns a Skip saying why, so the report can show what was not checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..analyse import Analyses
from ..model import Finding, ParsedLog, ResolvedConfig, RuleInfo, RunFacts


@dataclass
class Skip:
    code: str
    reason: str


@dataclass
class Context:
    parsed: ParsedLog
    config: ResolvedConfig
    facts: RunFacts
    analyses: Analyses
    earlier: list[Finding] = field(default_factory=list)   # findings of rules run before

    def raised_categories(self) -> set[str]:
        return {f.category for f in self.earlier if f.raised}


def train_val_gap(ctx: Context) -> float | None:
    """Last val minus last train, or None where unknown or in different units."""
    f = ctx.facts
    if f.last_val_loss is None or f.last_train_loss is None or not ctx.analyses.train_val_comparable:
        return None
    return f.last_val_loss - f.last_train_loss


def finding(info: RuleInfo, *, severity: str | None = None, confidence: float, title: str,
            message: str, evidence: dict[str, Any], fixes: list[str] | None = None,
            counter_evidence: dict[str, Any] | None = None, line: int | None = None,
            weight: float = 1.0) -> Finding:
    """A Finding carrying its rule's code and category, with numbers rounded for reading."""
    return Finding(
        code=info.code, category=info.category, severity=severity or info.severity,
        confidence=round(max(0.0, min(1.0, confidence)), 2), title=title, message=message,
        evidence={k: _rounded(v) for k, v in evidence.items() if v is not None},
        counter_evidence={k: _rounded(v) for k, v in (counter_evidence or {}).items() if v is not None},
        fixes=fixes or [], line=line, weight=weight,
    )


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return float(f"{value:.4g}") if abs(value) < 1e4 else round(value)
    if hasattr(value, "item"):          # numpy scalars
        return _rounded(value.item())
    return value


def fmt_lr(x: float) -> str:
    return f"{x:.2e}".replace("e-0", "e-")


def fmt_tokens(n: float) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"
