"""PD102: the loss left its minimum and climbed far above it (an explosion)."""

from __future__ import annotations

from ..domain.medians import median
from ..model import RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, STRONG, Context, Skip, finding, fmt_lr

RULE = RuleInfo(
    code="PD102",
    name="loss-explosion",
    category="divergence",
    severity="error",
    summary="The smoothed training loss climbed far above its minimum and did not come back.",
    what="Smooths the iteration losses (and the val curve) with a rolling median so single spikes "
    "vanish, then looks for a stretch well above the running minimum: `ratio` times it, or "
    "`abs_rise` nats above it (at a loss of 9 a climb to 13 is only 1.4x). A divergence is "
    "the training loss rising: a val curve that climbs while train keeps falling is "
    "overfitting (PD201), not this. Where the log prints the gradient norm, its median "
    "before and after the jump is shown: a norm that falls marks a collapse, one that rises "
    "updates still too large.",
    why="A loss that rises and stays up means the optimiser left the basin it was in: later "
    "training starts from a worse model, and the compute after the jump is mostly wasted.",
    fix="Restart from the last checkpoint before the jump with a lower learning rate, a warmup, "
    "and gradient clipping; if the LR was rising at the time, cap it.",
    example="ERROR PD102 Loss exploded at iteration 6,600 and stayed up",
    reference="Megatron-LM and OLMo spike/divergence detectors; Deep Learning Tuning Playbook.",
    thresholds=(
        Threshold(
            "ratio",
            1.5,
            "x the minimum",
            "half again the best loss is far beyond noise and "
            "beyond what a cosine restart or a data shift moves a smoothed loss",
        ),
        Threshold(
            "abs_rise",
            1.0,
            "nats",
            "at high losses (early training) a ratio is too strict: "
            "a 1-nat climb of the smoothed loss is e-fold worse perplexity",
        ),
    ),
    explained_by=("lr_too_high",),
    weight=1.1,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    candidates = [(e, "iteration loss") for e in (a.explosion,) if e is not None]
    val_event = a.val_explosion
    if val_event is not None:
        if _train_kept_falling(a, val_event):
            if not candidates:
                return [Skip(RULE.code, "val climbed while train kept falling: overfitting, not divergence")]
        else:
            candidates.append((val_event, "val loss"))
    candidates = [
        (e, what)
        for e, what in candidates
        if (e.ratio >= limits.ratio or e.level_after - e.min_before >= limits.abs_rise)
        and not a.near_resume(e.start_iter)
    ]  # a jump at a resume is PD606's
    if not candidates:
        return []
    event, curve = min(candidates, key=lambda c: c[0].start_iter)
    recovered = all(e.recovered for e, _ in candidates)
    evidence = {
        "curve": curve,
        "start_iter": event.start_iter,
        "min_before": event.min_before,
        "level_after": event.level_after,
        "ratio": event.ratio,
        "recovered": recovered,
        "last_val_loss": ctx.facts.last_val_loss,
        "best_val_loss": ctx.facts.best_val_loss,
    }
    fixes = [
        f"restart from the checkpoint before iteration {event.start_iter:,} with a lower "
        "learning rate and gradient clipping"
    ]
    grad = _grad_norm_clause(a, event.start_iter, evidence)
    if a.logged_lr and a.logged_lr.doublings:
        evidence["lr_doublings_logged"] = a.logged_lr.doublings
        evidence["lr_peak_logged"] = a.logged_lr.peak
        fixes.insert(
            0,
            f"cap the learning rate below {fmt_lr(a.logged_lr.first * 2)}: the logged LR "
            f"kept growing to {fmt_lr(a.logged_lr.peak)}",
        )
    rise = event.level_after - event.min_before
    if recovered:
        return [
            finding(
                RULE,
                severity="warning",
                confidence=POSSIBLE,
                title=f"Loss excursion at iteration {event.start_iter:,}, later recovered",
                message=(
                    f"The smoothed {curve} rose from {event.min_before:.3f} to about "
                    f"{event.level_after:.3f} ({event.ratio:.1f}x, +{rise:.2f}) from iteration "
                    f"{event.start_iter:,}, then came back near its minimum." + grad
                ),
                evidence=evidence,
                fixes=fixes,
            )
        ]
    return [
        finding(
            RULE,
            confidence=STRONG if curve == "iteration loss" else LIKELY,
            title=f"Loss exploded at iteration {event.start_iter:,} and stayed up",
            message=(
                f"The smoothed {curve} rose from {event.min_before:.3f} to about "
                f"{event.level_after:.3f} ({event.ratio:.1f}x its minimum, +{rise:.2f}) from "
                f"iteration {event.start_iter:,} and did not recover: the run diverged." + grad
            ),
            evidence=evidence,
            fixes=fixes,
        )
    ]


def _train_kept_falling(a, event) -> bool:
    """Over the stretch where val was up, train sat below where it was just before (its median
    there against the last value before): val rising on its own is the model fitting train,
    not the optimiser leaving the basin."""
    train = a.train_curve
    end = event.end_iter if event.end_iter >= event.start_iter else train.steps[-1] if len(train) else 0
    before = train.values[train.steps < event.start_iter]
    during = train.values[(train.steps >= event.start_iter) & (train.steps <= end)]
    if not len(before) or not len(during):
        return False
    return float(median(during)) < float(before[-1])


def _grad_norm_clause(a, start_iter: int, evidence: dict) -> str:
    """What the logged gradient norm did around the jump, added to the evidence; a sentence for
    the message when it moved clearly."""
    around = a.grad_norms.around(start_iter) if a.grad_norms is not None else None
    if around is None:
        return ""
    evidence["grad_norm_median_before"] = around.median_before
    evidence["grad_norm_median_after"] = around.median_after
    if around.fell:
        return (
            f" The logged gradient norm fell from a median {around.median_before:.3g} before to "
            f"{around.median_after:.3g} after: the model settled at a flat, worse point (a "
            "collapse) rather than bouncing around; restart from before the jump rather than "
            "training on."
        )
    if around.rose:
        return (
            f" The logged gradient norm rose from a median {around.median_before:.3g} before to "
            f"{around.median_after:.3g} after: the updates are still too large for where the "
            "model is."
        )
    return ""
