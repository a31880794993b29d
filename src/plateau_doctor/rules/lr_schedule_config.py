"""PD303: the LR schedule is set up against nanoGPT's own advice."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding, fmt_lr

INFO = RuleInfo(
    code="PD303", name="schedule-misconfigured", category="lr_schedule", severity="warning",
    summary="lr_decay_iters far from max_iters, min_lr far from learning_rate/10, or a warmup "
            "that is absent or very long.",
    what="Rebuilds nanoGPT's get_lr from the config and compares lr_decay_iters with max_iters, "
         "min_lr with learning_rate/10 and warmup_iters with max_iters.",
    why="If the decay ends early the last part of the run trains at min_lr for nothing; if it ends "
        "late the run stops before the anneal that usually buys the last drop in loss.",
    fix="lr_decay_iters = max_iters, min_lr = learning_rate/10, warmup a few percent of max_iters.",
    reference="nanoGPT train.py: lr_decay_iters 'should be ~= max_iters per Chinchilla', "
              "min_lr 'should be ~= learning_rate/10 per Chinchilla'.",
    thresholds={"decay_mismatch_fraction": 0.1, "min_lr_ratio_high": 0.3, "min_lr_ratio_low": 0.01,
                "long_warmup_fraction": 0.1},
)


def check(ctx: Context, thresholds: dict) -> list:
    a = ctx.analyses
    if not a.config_known or a.schedule is None:
        return [Skip(INFO.code, "no config: the schedule cannot be rebuilt")]
    if not ctx.config.get("decay_lr"):
        return []
    s = a.schedule
    lr, min_lr = s.lr_peak, s.lr_min
    max_iters = s.max_iters
    out = []
    frac = thresholds["decay_mismatch_fraction"]
    if max_iters and s.lr_decay_iters < max_iters * (1 - frac):
        flat = max_iters - s.lr_decay_iters
        out.append(finding(
            INFO, confidence=0.9,
            title=f"LR reaches min_lr at {s.lr_decay_iters:,}, {flat:,} iterations before max_iters",
            message=(f"lr_decay_iters={s.lr_decay_iters:,} < max_iters={max_iters:,}: the last "
                     f"{flat / max_iters:.0%} of the run trains at min_lr={fmt_lr(min_lr)}."),
            evidence={"lr_decay_iters": s.lr_decay_iters, "max_iters": max_iters, "min_lr": min_lr},
            fixes=[f"--lr_decay_iters={max_iters}"], weight=0.6,
        ))
    if max_iters and s.lr_decay_iters > max_iters * (1 + frac):
        end_lr = s.lr_at_max_iters
        out.append(finding(
            INFO, confidence=0.9,
            title=f"The run ends before the anneal: lr_decay_iters={s.lr_decay_iters:,} > max_iters={max_iters:,}",
            message=(f"At max_iters the LR will still be {fmt_lr(end_lr or 0)}, "
                     f"{(end_lr or 0) / min_lr:.1f}x min_lr: the low-LR tail that usually buys the "
                     "last drop in loss never happens." if min_lr > 0 else
                     "At max_iters the LR has not finished decaying."),
            evidence={"lr_decay_iters": s.lr_decay_iters, "max_iters": max_iters,
                      "lr_at_max_iters": end_lr, "min_lr": min_lr},
            fixes=[f"--lr_decay_iters={max_iters}"], weight=0.8,
        ))
    if lr > 0 and min_lr > lr:
        out.append(finding(
            INFO, severity="warning", confidence=0.8,
            title=f"min_lr={fmt_lr(min_lr)} is above learning_rate={fmt_lr(lr)}: the 'decay' raises the LR",
            message=(f"get_lr() moves the LR from learning_rate towards min_lr, so over the decay it "
                     f"climbs {min_lr / lr:.3g}x, from {fmt_lr(lr)} to {fmt_lr(min_lr)}. If the run "
                     "trained smoothly, this is not the config it ran with (a typo such as 1e4 for "
                     "1e-4?)."),
            evidence={"learning_rate": lr, "min_lr": min_lr, "ratio": min_lr / lr},
            fixes=[f"--min_lr={fmt_lr(lr / 10)}"], weight=0.7,
        ))
    elif lr > 0 and min_lr / lr > thresholds["min_lr_ratio_high"]:
        out.append(finding(
            INFO, severity="info", confidence=0.6,
            title=f"min_lr is {min_lr / lr:.2f}x learning_rate: little annealing",
            message=(f"min_lr={fmt_lr(min_lr)} is {min_lr / lr:.2f} of learning_rate={fmt_lr(lr)}; the "
                     "usual tenth anneals further at the end."),
            evidence={"learning_rate": lr, "min_lr": min_lr},
            fixes=[f"--min_lr={fmt_lr(lr / 10)}"], weight=0.4,
        ))
    if lr > 0 and 0 < min_lr / lr < thresholds["min_lr_ratio_low"]:
        out.append(finding(
            INFO, severity="info", confidence=0.4,
            title=f"min_lr is {min_lr / lr:.3f}x learning_rate: the tail anneals to almost nothing",
            message=(f"min_lr={fmt_lr(min_lr)} is far below learning_rate/10 ({fmt_lr(lr / 10)}); the last "
                     "part of the run makes little progress per step."),
            evidence={"learning_rate": lr, "min_lr": min_lr},
            fixes=[f"--min_lr={fmt_lr(lr / 10)}"], weight=0.3,
        ))
    warmup = s.warmup_iters
    if max_iters and warmup > max_iters * thresholds["long_warmup_fraction"]:
        out.append(finding(
            INFO, severity="info", confidence=0.5,
            title=f"Warmup is {warmup / max_iters:.0%} of the run",
            message=f"warmup_iters={warmup:,} of max_iters={max_iters:,} spends a long stretch below the peak LR.",
            evidence={"warmup_iters": warmup, "max_iters": max_iters},
            fixes=[f"--warmup_iters={max(100, max_iters // 50)}"], weight=0.3,
        ))
    return out
