"""PD603: the printed tokens per iteration differs from the config's."""

from __future__ import annotations

from ..model import RuleInfo
from .base import CERTAIN, Context, Skip, finding

RULE = RuleInfo(
    code="PD603",
    name="tokens-per-iteration",
    category="config",
    severity="warning",
    summary="`tokens per iteration will be` differs from gradient_accumulation_steps x batch_size x block_size.",
    what="Recomputes tokens per iteration from the resolved config and compares with the printed line.",
    why="Tokens seen, epochs and tokens per parameter all scale with it; a difference means the "
    "config read here is not the one that ran (or an old nanoGPT that scaled grad accumulation).",
    fix="Pass the run's own config; check gradient_accumulation_steps under DDP.",
    example="WARNING PD603 Tokens per iteration: printed 491,520, config gives 12,288",
    weight=0.5,
)


def check(ctx: Context, limits) -> list:
    printed = ctx.parsed.meta.tokens_per_iter
    if not printed or not ctx.analyses.config_known:
        return [Skip(RULE.code, "no printed tokens-per-iteration line or no config")]
    try:
        computed = (
            int(ctx.config.get("gradient_accumulation_steps"))
            * int(ctx.config.get("batch_size"))
            * int(ctx.config.get("block_size"))
        )
    except (TypeError, ValueError):
        return [Skip(RULE.code, "batch settings unknown")]
    if computed == printed:
        return []
    return [
        finding(
            RULE,
            confidence=CERTAIN,
            title=f"Tokens per iteration: printed {printed:,}, config gives {computed:,}",
            message=(
                "The log's tokens-per-iteration line disagrees with gradient_accumulation_steps x "
                "batch_size x block_size from the resolved config; the printed value is used."
            ),
            evidence={"printed": printed, "computed": computed},
            fixes=[RULE.fix],
        )
    ]
