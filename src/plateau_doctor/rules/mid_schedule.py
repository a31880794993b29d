"""PD304: the run is judged before its LR has annealed."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding, fmt_lr

INFO = RuleInfo(
    code="PD304", name="judged-mid-schedule", category="lr_schedule", severity="warning",
    summary="The loss looks flat but the LR is still well above min_lr: the anneal is still ahead.",
    what="Rebuilds the LR at the last iteration and compares it with min_lr while the val curve "
         "flattens.",
    why="A cosine schedule bends the curve by itself: most of the late drop in loss comes when "
        "the LR falls towards min_lr, so a plateau seen at a high LR is premature.",
    fix="Let the run reach lr_decay_iters before judging it; to stop earlier, shorten the "
        "schedule (lr_decay_iters = max_iters = where you will stop) so it anneals in time.",
    reference="Karpathy, 'A Recipe for Training Neural Networks': people call plateaus too early.",
    thresholds={"lr_over_min": 1.5, "lr_left_of_peak": 0.15},
)


def check(ctx: Context, thresholds: dict) -> list:
    a, f = ctx.analyses, ctx.facts
    s = a.schedule
    if s is None:
        return [Skip(INFO.code, "no config: the schedule cannot be rebuilt")]
    if s.phase != "decay":
        return []
    if s.lr_now_over_min is not None:
        ahead = s.lr_now_over_min >= thresholds["lr_over_min"]
    else:   # a decay to zero: judge by how much of the peak LR is left
        ahead = s.lr_now_over_peak >= thresholds["lr_left_of_peak"]
    if not ahead:
        return []
    vt = a.val_trend
    if vt is None:
        return [Skip(INFO.code, "too few val evals")]
    slow = vt.verdict != "improving" or (vt.end_value > 0 and -vt.change / vt.end_value < 0.03)
    if not slow:
        return []
    if f.max_iters is not None and f.last_iter is not None and f.last_iter >= f.max_iters:
        # a run that ended above min_lr has a schedule longer than the run: PD303's finding
        return []
    left = (f"{s.lr_now_over_min:.1f}x min_lr" if s.lr_now_over_min is not None
            else f"{s.lr_now_over_peak:.0%} of its peak")
    title = f"Judged mid-schedule: LR is still {fmt_lr(s.lr_now)}, {left}"
    return [finding(
        INFO, confidence=0.75,
        title=title,
        message=(f"At iteration {s.iter:,} the rebuilt cosine LR is {fmt_lr(s.lr_now)} "
                 f"({s.decay_fraction:.0%} through the decay to {fmt_lr(s.lr_min)} at "
                 f"{s.lr_decay_iters:,}). The flattening val curve ({vt.change:+.4f} over steps "
                 f"{vt.start_step:,}-{vt.end_step:,}) is judged before the anneal, which usually "
                 "buys a further drop."),
        evidence={"iter": s.iter, "lr_now": s.lr_now, "min_lr": s.lr_min, "lr_now_over_min": s.lr_now_over_min,
                  "decay_fraction": s.decay_fraction, "lr_decay_iters": s.lr_decay_iters,
                  "iters_to_min_lr": s.iters_to_min_lr, "val_change_recent": vt.change},
        fixes=[f"train on to lr_decay_iters={s.lr_decay_iters:,} before judging the plateau",
               f"or --lr_decay_iters={s.iter} --max_iters={s.iter} to anneal by the point you stop at"],
        weight=0.85,
    )]
