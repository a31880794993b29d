"""PD303: the LR schedule is set up so that the run cannot anneal as it should."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, STRONG, TRAINS_NOTHING, Context, Skip, finding, fmt_lr

RULE = RuleInfo(
    code="PD303",
    name="schedule-misconfigured",
    category="lr_schedule",
    severity="warning",
    summary="The decay is off or ends far from max_iters, min_lr is above the LR, or the warmup "
    "takes much of the run.",
    what="Rebuilds nanoGPT's get_lr from the config and compares lr_decay_iters with max_iters, "
    "min_lr with learning_rate, and warmup_iters with max_iters; decay_lr=False in a "
    "pretraining run is a run with no anneal.",
    why="If the decay ends early the last part of the run trains at min_lr for nothing; if it ends "
    "late, or is off, the run stops before the anneal that usually buys the last drop in "
    "loss; a warmup that is most of the run never trains at the peak LR.",
    fix="lr_decay_iters = max_iters, min_lr about learning_rate/10 (or lower: decaying to zero is "
    "fine), decay_lr = True, warmup a few percent of max_iters.",
    example="WARNING PD303 The run ends before the anneal: lr_decay_iters=600,000 > max_iters=3,000",
    reference="nanoGPT train.py: lr_decay_iters 'should be ~= max_iters per Chinchilla', "
    "min_lr 'should be ~= learning_rate/10 per Chinchilla'; Bergsma et al. 2025: "
    "linear decay to zero works best.",
    thresholds=(
        Threshold(
            "decay_mismatch_fraction",
            0.1,
            "of max_iters",
            "lr_decay_iters within 10% of max_iters anneals about where the run ends",
        ),
        Threshold(
            "no_anneal_ratio",
            0.9,
            "x learning_rate",
            "a min_lr within 10% of the peak keeps the LR practically constant: no anneal at all",
        ),
        Threshold(
            "min_lr_ratio_high",
            0.3,
            "x learning_rate",
            "a min_lr above 0.3x the peak leaves little of the anneal",
        ),
        Threshold(
            "long_warmup_fraction",
            0.1,
            "of max_iters",
            "warmups are usually 1-5% of a run; over 10% is worth knowing",
        ),
        Threshold(
            "warmup_warn_fraction",
            0.5,
            "of max_iters",
            "a warmup over half the run spends most of it below the peak LR",
        ),
    ),
    weight=0.8,
    log_free=True,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    if a.schedule is None:
        if ctx.facts.planned:
            return [
                Skip(RULE.code, "the schedule cannot be rebuilt: its LR settings or the run's length unknown")
            ]
        return [Skip(RULE.code, "no config: the schedule cannot be rebuilt")]
    s = a.schedule
    finetune = a.finetune[0] is True
    lr, min_lr, max_iters = s.lr_peak, s.lr_min, s.max_iters
    out = []
    if s.phase == "constant" or not ctx.config.get("decay_lr", True):
        out.append(_no_anneal(ctx, s, finetune, _decay_off_words(ctx)))
        return out  # get_lr (and its warmup) is not used when decay_lr is off
    if lr > 0 and lr >= min_lr >= lr * limits.no_anneal_ratio:
        # the cosine runs from learning_rate to (almost) itself: a constant LR by another name
        no_anneal = _no_anneal(ctx, s, finetune, f"min_lr={fmt_lr(min_lr)}, learning_rate={fmt_lr(lr)}")
        return [no_anneal, *_warmup(ctx, s, limits)]  # where the decay ends no longer matters
    frac = limits.decay_mismatch_fraction
    if max_iters and s.lr_decay_iters < max_iters * (1 - frac):
        flat = max_iters - s.lr_decay_iters
        out.append(
            finding(
                RULE,
                confidence=STRONG,
                title=f"LR reaches min_lr at {s.lr_decay_iters:,}, {flat:,} iterations before max_iters",
                message=(
                    f"lr_decay_iters={s.lr_decay_iters:,} < max_iters={max_iters:,}: the last "
                    f"{flat / max_iters:.0%} of the run {_will(ctx)}train{'' if ctx.facts.planned else 's'} "
                    f"at min_lr={fmt_lr(min_lr)}."
                ),
                evidence={"lr_decay_iters": s.lr_decay_iters, "max_iters": max_iters, "min_lr": min_lr},
                fixes=[ctx.setting(lr_decay_iters=max_iters)],
            )
        )
    if max_iters and s.lr_decay_iters > max_iters * (1 + frac):
        end_lr = s.lr_at_max_iters or 0.0
        out.append(
            finding(
                RULE,
                confidence=STRONG,
                title=f"The run ends before the anneal: lr_decay_iters={s.lr_decay_iters:,} > max_iters={max_iters:,}",
                message=(
                    f"At max_iters the LR will still be {fmt_lr(end_lr)}, {end_lr / min_lr:.1f}x "
                    "min_lr: the low-LR tail that usually buys the last drop in loss never happens."
                    if min_lr > 0
                    else "At max_iters the LR has not finished decaying."
                ),
                evidence={
                    "lr_decay_iters": s.lr_decay_iters,
                    "max_iters": max_iters,
                    "lr_at_max_iters": end_lr,
                    "min_lr": min_lr,
                },
                fixes=[ctx.setting(lr_decay_iters=max_iters)],
            )
        )
    if lr > 0 and min_lr > lr:
        out.append(
            finding(
                RULE,
                severity="warning",
                confidence=LIKELY,
                title=f"min_lr={fmt_lr(min_lr)} is above learning_rate={fmt_lr(lr)}: the 'decay' raises the LR",
                message=(
                    f"get_lr() moves the LR from learning_rate towards min_lr, so over the decay it "
                    f"climbs {min_lr / lr:.3g}x, from {fmt_lr(lr)} to {fmt_lr(min_lr)}. "
                    + (
                        "A typo such as 1e4 for 1e-4?"
                        if ctx.facts.planned
                        else "If the run trained smoothly, this is not the config it ran with (a "
                        "typo such as 1e4 for 1e-4?)."
                    )
                ),
                evidence={"learning_rate": lr, "min_lr": min_lr, "ratio": min_lr / lr},
                fixes=[ctx.setting(min_lr=lr / 10)],
            )
        )
    elif lr > 0 and min_lr / lr > limits.min_lr_ratio_high:
        out.append(
            finding(
                RULE,
                severity="info",
                confidence=POSSIBLE,
                title=f"min_lr is {min_lr / lr:.2f}x learning_rate: little annealing",
                message=(
                    f"min_lr={fmt_lr(min_lr)} is {min_lr / lr:.2f} of learning_rate={fmt_lr(lr)}; the "
                    "usual tenth (or less) anneals further at the end."
                ),
                evidence={"learning_rate": lr, "min_lr": min_lr},
                fixes=[ctx.setting(min_lr=lr / 10)],
            )
        )
    return out + _warmup(ctx, s, limits)


def _warmup(ctx: Context, s, limits) -> list:
    max_iters, warmup = s.max_iters, s.warmup_iters
    if not max_iters or warmup <= max_iters * limits.long_warmup_fraction:
        return []
    most = warmup > max_iters * limits.warmup_warn_fraction
    fix = ctx.setting(warmup_iters=max(WARMUP_MIN_ITERS, max_iters // WARMUP_SHARE))
    if warmup >= max_iters:
        reached = s.lr_at_max_iters if s.lr_at_max_iters is not None else s.lr_now
        return [
            finding(
                RULE,
                confidence=STRONG,
                title=f"Warmup ({warmup:,} iterations) is longer than the run (max_iters={max_iters:,})",
                message=(
                    f"The LR {_will(ctx)}climb{'' if ctx.facts.planned else 's'} for the whole run and "
                    f"stops at {fmt_lr(reached)}, {reached / s.lr_peak:.0%} of learning_rate="
                    f"{fmt_lr(s.lr_peak)}: the run never trains at its peak LR and never anneals."
                    if s.lr_peak > 0
                    else "The run never leaves its warmup."
                ),
                evidence={"warmup_iters": warmup, "max_iters": max_iters, "lr_at_max_iters": reached},
                fixes=[fix],
            )
        ]
    return [
        finding(
            RULE,
            severity="warning" if most else "info",
            confidence=LIKELY if most else POSSIBLE,
            title=f"Warmup is {warmup / max_iters:.0%} of the run",
            message=(
                f"warmup_iters={warmup:,} of max_iters={max_iters:,}"
                + (
                    f": the run {_will(ctx)}spend{'' if ctx.facts.planned else 's'} most of its steps "
                    "below the peak LR, and what is left is too short to decay properly."
                    if most
                    else f" {_will(ctx)}spend{'' if ctx.facts.planned else 's'} a long stretch below the peak LR."
                )
            ),
            evidence={"warmup_iters": warmup, "max_iters": max_iters},
            fixes=[fix],
        )
    ]


def _no_anneal(ctx: Context, s, finetune: bool, how: str):
    """The LR stays at its peak for the whole run: no decay, or a decay to itself."""
    lr, max_iters = s.lr_peak, s.max_iters
    return finding(
        RULE,
        severity="info" if finetune else "warning",
        confidence=LIKELY,
        title=f"The learning rate never decays ({how})",
        message=(
            f"The LR {_will(ctx)}stay{'' if ctx.facts.planned else 's'} at {fmt_lr(lr)} for the "
            "whole run: there is no anneal, which usually buys the last drop in loss at the end of "
            "a pretraining run." + (" Constant LRs are common in fine-tunes." if finetune else "")
        ),
        evidence={
            "decay_lr": bool(ctx.config.get("decay_lr", True)),
            "learning_rate": lr,
            "min_lr": s.lr_min if ctx.config.get("decay_lr", True) else None,
            "max_iters": max_iters,
        },
        fixes=[]
        if finetune
        else [ctx.setting(decay_lr=True, lr_decay_iters=max_iters or s.iter, min_lr=lr / 10)],
    )


def _decay_off_words(ctx: Context) -> str:
    """How the config turned the decay off, in its own words."""
    scheduler = ctx.config.get("lr_scheduler_type")
    return f"lr_scheduler_type={scheduler!r}" if scheduler is not None else "decay_lr=False"


def _will(ctx: Context) -> str:
    """'will ' for a plan, whose run has not happened; '' for a log's."""
    return "will " if ctx.facts.planned else ""


WARMUP_MIN_ITERS, WARMUP_SHARE = 100, 50  # a warmup of 2% of the run, at least 100 iterations
