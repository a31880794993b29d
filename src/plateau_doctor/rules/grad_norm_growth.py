"""PD403: the logged gradient norm keeps growing: an early warning of a spike or a divergence."""

from __future__ import annotations

import numpy as np

from ..domain.medians import median
from ..model import RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, Context, Skip, finding

RULE = RuleInfo(
    code="PD403",
    name="gradient-norm-growth",
    category="divergence",
    severity="warning",
    summary="The gradient norm the log prints has grown several-fold over the recent stretch "
    "while the loss has not moved yet: spikes or a divergence often follow.",
    what="Compares the median logged gradient norm over the last `recent_share` of its points "
    "with its median over the stretch before (the first `skip_share` left out: norms are "
    "large at initialisation). A sustained rise of `growth` times or more, while the loss has "
    "not exploded, is the optimiser's updates outgrowing where the model is. A single large "
    "norm is not counted (one real run logs a norm of 72,000 with no trace in the loss). "
    "Iterations the fp16 loss scaler found NaN in (Megatron counts them) are shown too.",
    why="Grad-norm growth often precedes a loss spike or a divergence by hundreds of steps: acting "
    "then (lower LR, clipping) is cheaper than restarting from a checkpoint after.",
    fix="Lower the learning rate (or stop it rising), keep gradient clipping at 1.0, and check "
    "bf16/fp32 instead of fp16 if the loss scaler keeps skipping iterations.",
    example="WARNING PD403 The gradient norm grew 4.2x (0.31 -> 1.30) over the last 20% of the run",
    reference="Deep Learning Tuning Playbook (instability); OLMo and Megatron-LM monitor grad norms.",
    thresholds=(
        Threshold(
            "growth",
            3.0,
            "x the earlier median",
            "clipped, healthy runs keep their norm "
            "within a factor of two after warmup; three times is a trend",
        ),
        Threshold("recent_share", 0.2, "of the logged norms", "the last fifth of the run is 'now'"),
        Threshold(
            "skip_share",
            0.1,
            "of the logged norms",
            "norms at initialisation and early warmup are large by nature",
        ),
        Threshold("min_points", 10, "logged norms", "a median per stretch needs a handful of norms"),
    ),
    explained_by=("lr_too_high",),
    weight=0.8,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    norms = a.grad_norms
    if norms is None or len(norms.values) < 3 * limits.min_points:
        return [Skip(RULE.code, "the log prints no (or too few) gradient norms")]
    n = len(norms.values)
    recent = norms.values[n - max(int(limits.min_points), int(n * limits.recent_share)) :]
    earlier = norms.values[int(n * limits.skip_share) : n - len(recent)]
    if len(earlier) < limits.min_points:
        return []
    before, now = float(median(earlier)), float(median(recent))
    if before <= 0 or now / before < limits.growth:
        return []
    if a.explosion is not None and not a.explosion.recovered:
        return [Skip(RULE.code, "the loss has already exploded: PD102 shows the norm around the jump")]
    since = int(norms.steps[n - len(recent)])
    nan_iters = ctx.parsed.meta.nan_iters
    return [
        finding(
            RULE,
            confidence=LIKELY if now / before >= 2 * limits.growth else POSSIBLE,
            title=f"The gradient norm grew {now / before:.1f}x ({before:.3g} -> {now:.3g}) over the last {len(recent)} logged steps",
            message=(
                f"The median logged gradient norm is {now:.3g} since step {since:,}, against {before:.3g} "
                "before: the updates are outgrowing where the model is. The loss has not exploded "
                "yet; spikes or a divergence often follow such growth."
                + (f" The loss scaler also found NaN in {nan_iters} iterations." if nan_iters else "")
            ),
            evidence={
                "grad_norm_median_recent": now,
                "grad_norm_median_before": before,
                "growth": now / before,
                "since_step": since,
                "recent_points": len(recent),
                "nan_iterations": nan_iters,
                "grad_norm_max_recent": float(np.max(recent)),
            },
            fixes=[RULE.fix],
        )
    ]
