"""What a rule is, what it sees and what it returns.

A rule is one module in this package holding `RULE` (a RuleInfo: code, name, category, default
severity, its thresholds, the categories that explain it, its documentation) and
`check(ctx, limits) -> list[Finding | Skip]`. It reads the shared analyses in `ctx` (computed on
first use, once per run) and never re-parses or re-fits. A rule that cannot tell (no config, too
few evals) returns a Skip saying why, so the report can show what was not checked.

A rule does not look at other rules' findings: which finding explains which is declared as data
(RuleInfo.explained_by) and settled afterwards by the differential diagnosis (differential.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..limits import Limits
from ..model import Finding, ParsedLog, ResolvedConfig, RuleInfo, RunFacts
from ..resolve.schemas import own_settings

__all__ = [
    "TRAINS_NOTHING",
    "Context",
    "Limits",
    "Skip",
    "finding",
    "fmt_count",
    "fmt_loss",
    "fmt_lr",
    "fmt_slope",
    "fmt_tokens",
]

if TYPE_CHECKING:
    from ..analyse import Analyses

# How sure a finding is, in words: rules pick one of these rather than inventing numbers. The
# ranking compares them between rules, so they mean the same everywhere.
CERTAIN = 0.95  # a fact read off the log (a NaN, a printed count that disagrees)
STRONG = 0.85  # the evidence and the mechanism agree, beyond noise
LIKELY = 0.7  # the evidence points one way; an alternative is not excluded
POSSIBLE = 0.5  # suggestive: thin data, or a reference that only roughly applies
WEAK = 0.35  # a hint worth knowing, not a conclusion
DOUBT = 0.15  # taken off a confidence for each named reason to doubt it


TRAINS_NOTHING = "the plan trains nothing (eval_only=True)"


@dataclass
class Skip:
    """A rule that could not judge this run, and why."""

    code: str
    reason: str


@dataclass
class Context:
    """Everything a rule reads: the loss table, the config, the run facts and the analyses."""

    parsed: ParsedLog
    config: ResolvedConfig
    facts: RunFacts
    analyses: Analyses

    @property
    def nanogpt_flags(self) -> bool:
        """Fixes can be written as train.py's `--key=value` flags (the run's config is nanoGPT's)."""
        return self.config.schema == "nanogpt"

    def setting(self, **values: Any) -> str:
        """A config change in the run's own words: `--max_iters=1750 --lr_decay_iters=1750` for a
        nanoGPT run, `max_steps=1750` for an HF TrainingArguments plan, `max_iters=1750,
        lr_decay_iters=1750` for any other."""
        if self.nanogpt_flags:
            return " ".join(f"--{key}={_flag(value)}" for key, value in values.items())
        own = own_settings(self.config.schema, values)
        return ", ".join(f"{key}={_flag(value)}" for key, value in own.items())

    @property
    def trains_nothing(self) -> bool:
        """A plan of a config that trains nothing (nanoGPT's eval_only)."""
        return self.facts.planned and self.facts.max_iters == 0


def finding(
    info: RuleInfo,
    *,
    severity: str | None = None,
    confidence: float,
    title: str,
    message: str,
    evidence: dict[str, Any],
    fixes: list[str] | None = None,
    counter_evidence: dict[str, Any] | None = None,
    line: int | None = None,
    ruled_out: bool = False,
) -> Finding:
    """A Finding carrying its rule's code, category and weight, with numbers rounded for reading."""
    return Finding(
        code=info.code,
        category=info.category,
        severity=severity or info.severity,
        confidence=round(max(0.0, min(1.0, confidence)), 2),
        title=title,
        message=message,
        evidence={k: _rounded(v) for k, v in evidence.items() if v is not None},
        counter_evidence={k: _rounded(v) for k, v in (counter_evidence or {}).items() if v is not None},
        fixes=fixes or [],
        line=line,
        weight=info.weight,
        ruled_out=ruled_out,
    )


ROUND_TO_INTEGER = 1e4  # evidence numbers above this are shown as whole numbers


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return float(f"{value:.4g}") if abs(value) < ROUND_TO_INTEGER else round(value)
    if hasattr(value, "item"):  # numpy scalars
        return _rounded(value.item())
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


SMALL_VALUE = 1e-2  # below it a float reads best in scientific notation (an LR: 3.00e-4)
PRECISE_NOISE = 0.005  # an eval noise below it supports a fourth decimal
COARSE_NOISE = 0.05  # above it, two decimals are all the noise supports


def _flag(value: Any) -> str:
    """A value as nanoGPT's configurator reads it back: its literal_eval must give the default's
    type (it asserts so), so a float stays a float (`1.0`, not `1`)."""
    if isinstance(value, float):
        if abs(value) < SMALL_VALUE:
            return fmt_lr(value)
        text = f"{value:g}"
        return text if any(c in text for c in ".e") or not value.is_integer() else text + ".0"
    return str(value)


def fmt_lr(x: float) -> str:
    return f"{x:.2e}".replace("e-0", "e-")


COUNT_UNITS = (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3))


def fmt_count(n: float) -> str:
    """A count of tokens or parameters as people write it: 7.6B, 40.6M, 300k."""
    for unit, size in COUNT_UNITS:
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


fmt_tokens = fmt_count


def fmt_slope(slope_per_1k: float, last_step: float, signed: bool = True) -> str:
    """A slope in the step unit that suits the run's length: per 1k steps for long runs, per 100
    for a few hundred steps, per step for a handful (a short fine-tune)."""
    for size, unit in ((1000, "1k steps"), (100, "100 steps")):
        if last_step >= SLOPE_UNIT_STEPS * size:
            value = slope_per_1k * size / 1000
            return f"{value:+.4f} per {unit}" if signed else f"{abs(value):.4f} per {unit}"
    value = slope_per_1k / 1000
    return f"{value:+.4f} per step" if signed else f"{abs(value):.4f} per step"


SLOPE_UNIT_STEPS = 5  # a unit of N steps is used once the run spans 5N steps


def fmt_loss(value: float, noise: float | None = None) -> str:
    """A loss to the digits its noise supports: 3 decimals by default, 4 when one eval's noise is
    below PRECISE_NOISE, 2 when it is above COARSE_NOISE."""
    if noise is not None and noise > 0:
        digits = 2 if noise > COARSE_NOISE else 4 if noise < PRECISE_NOISE else 3
    else:
        digits = 3
    return f"{value:.{digits}f}"
