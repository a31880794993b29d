"""PD302: the learning rate is so small that progress is slow."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import POSSIBLE, STRONG, TRAINS_NOTHING, WEAK, Context, Skip, finding, fmt_count, fmt_lr, fmt_slope

RULE = RuleInfo(
    code="PD302",
    name="learning-rate-too-low",
    category="lr_too_low",
    severity="warning",
    summary="A learning rate far below the reference for the model's size while the loss is "
    "still falling slowly.",
    what="Compares the peak LR with GPT-3's table for the model's size (a hundredth of it for "
    "fine-tuning from pretrained weights, which rightly uses small LRs) and checks that the "
    "loss is still falling at the end.",
    why="With a tiny step the loss keeps falling but slowly: the run ends far above where the same "
    "compute would have taken it.",
    fix="Raise learning_rate towards the reference (min_lr to a tenth of it).",
    example="ERROR PD302 Learning rate 2.00e-5 is 50x below the reference for this model",
    reference="Brown et al. 2020 (GPT-3) Table 2.1.",
    thresholds=(
        Threshold(
            "ratio_warn",
            0.1,
            "x reference",
            "a tenth of the usual peak for the size is slow enough to show in the loss",
        ),
        Threshold(
            "ratio_error", 0.03, "x reference", "at 1/30 of the usual peak the run wastes most of its compute"
        ),
        Threshold(
            "finetune_ratio", 0.01, "x reference", "fine-tunes rightly use LRs 10-100x below pretraining ones"
        ),
    ),
    weight=1.0,
    log_free=True,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    if a.peak_lr is None or a.reference_lr is None:
        return [Skip(RULE.code, "learning rate or model size unknown")]
    if a.logged_lr is not None and a.schedule_settings is None:
        if not len(a.iter_loss):  # e.g. NaN from the first step: nothing to place the peak against
            return [Skip(RULE.code, "no finite iteration loss to set the logged LR against")]
        if a.logged_lr.peak_iter >= a.iter_loss.steps[-1]:
            return [Skip(RULE.code, "the logged LR is still rising (warmup): its peak is not known yet")]
    # Only a run known to start from scratch is held to pretraining LRs: fine-tunes rightly use
    # small ones, and a log that does not say how the model was initialised may be one.
    finetune = a.finetune[0] is not False
    ratio = a.peak_lr / a.reference_lr
    limit = limits.finetune_ratio if finetune else limits.ratio_warn
    if ratio >= limit:
        return []
    if f.planned:
        return [_plan(ctx, ratio, finetune)]
    vt = a.trend
    still_falling = vt is not None and vt.verdict == "improving"
    severity = "warning"
    if still_falling and ratio < (limits.finetune_ratio / 3 if finetune else limits.ratio_error):
        severity = "error"
    elif not still_falling:
        severity = "info"
    return [
        finding(
            RULE,
            severity=severity,
            confidence=STRONG if still_falling else WEAK,
            # (an LR of 0, from --set or a log's override, is no multiple of anything)
            title=(
                f"Learning rate {fmt_lr(a.peak_lr)} is "
                f"{f'{1 / ratio:.0f}x' if ratio > 0 else 'far'} below the reference for this model"
            ),
            message=(
                f"The peak LR {fmt_lr(a.peak_lr)} is {ratio:.3f}x the reference {fmt_lr(a.reference_lr)} "
                f"for {fmt_count(f.n_params)} parameters"
                + (
                    f", and {a.trend_rests_on} is still falling ({fmt_slope(vt.slope_per_1k, vt.end_step)}) "
                    "at the end: the run is slow, not finished."
                    if still_falling
                    else "."
                )
            ),
            evidence={
                "peak_lr": a.peak_lr,
                "reference_lr": a.reference_lr,
                "ratio_to_reference": ratio,
                "n_params": f.n_params,
                "fine_tuning": finetune,
                "slope_per_1k": vt.slope_per_1k if vt else None,
                "trend": vt.verdict if vt else None,
                "trend_rests_on": a.trend_rests_on if vt else None,
            },
            fixes=[ctx.setting(learning_rate=a.reference_lr, min_lr=a.reference_lr / 10)],
        )
    ]


def _plan(ctx: Context, ratio: float, finetune: bool):
    """A plan's LR below the limit: a warning (before the run it is a cheap change), never an
    error: there is no curve yet to show the slowness."""
    a, f = ctx.analyses, ctx.facts
    return finding(
        RULE,
        severity="warning",
        confidence=POSSIBLE,
        title=(
            f"Learning rate {fmt_lr(a.peak_lr)} is "
            f"{f'{1 / ratio:.0f}x' if ratio > 0 else 'far'} below the reference for this model"
        ),
        message=(
            f"The planned peak LR {fmt_lr(a.peak_lr)} is {ratio:.3f}x the reference "
            f"{fmt_lr(a.reference_lr)} for {fmt_count(f.n_params)} parameters"
            + (" (a hundredth of it is already low for a fine-tune)" if finetune else "")
            + ": a run this slow usually ends far above where the same compute could take it."
        ),
        evidence={
            "peak_lr": a.peak_lr,
            "reference_lr": a.reference_lr,
            "ratio_to_reference": ratio,
            "n_params": f.n_params,
            "fine_tuning": finetune,
        },
        fixes=[ctx.setting(learning_rate=a.reference_lr, min_lr=a.reference_lr / 10)],
    )
