"""PD304: the run is judged before its LR has annealed."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import STRONG, Context, Skip, finding, fmt_lr, fmt_tokens

RULE = RuleInfo(
    code="PD304",
    name="judged-mid-schedule",
    category="lr_schedule",
    severity="warning",
    summary="The loss looks flat but the LR is still well above min_lr: the anneal is still ahead.",
    what="Rebuilds the LR at the last iteration and compares it with min_lr (or, decaying to "
    "zero, with the peak) while the recent loss flattens; says how much of the decay is left "
    "and, where a forecast is possible, what finishing it should reach.",
    why="A cosine schedule bends the curve by itself: most of the late drop in loss comes when "
    "the LR falls towards min_lr, so a plateau seen at a high LR is premature.",
    fix="Let the run reach lr_decay_iters before judging it; to stop earlier, shorten the "
    "schedule (lr_decay_iters = max_iters = where you will stop) so it anneals in time.",
    example="WARNING PD304 Judged mid-schedule: LR is still 2.65e-4, 2.7x min_lr",
    reference="Karpathy, 'A Recipe for Training Neural Networks': people call plateaus too early; "
    "Hagele et al. 2024, Scaling Laws and Compute-Optimal Training beyond Fixed Training "
    "Durations (cooldowns).",
    thresholds=(
        Threshold(
            "cooldown_fraction",
            0.2,
            "of the steps so far",
            "Hagele et al. 2024: a cooldown of ~20% of the run recovers most of a full anneal's gain",
        ),
        Threshold(
            "slow_relative_change",
            0.03,
            "of the loss",
            "a recent fall under 3% of the loss looks like a plateau to a reader",
        ),
    ),
    explained_by=("overfitting", "lr_too_high", "divergence", "init_loss"),
    weight=1.0,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    s = a.schedule
    if s is None:
        return [Skip(RULE.code, "no config: the schedule cannot be rebuilt")]
    if a.lr_state != "annealing":
        return []
    vt = a.trend
    if vt is None:
        return [Skip(RULE.code, "too few evals for a trend")]
    slow = vt.verdict != "improving" or (
        vt.end_value > 0 and -vt.change / vt.end_value < limits.slow_relative_change
    )
    if not slow:
        return []
    if f.max_iters is not None and f.last_iter is not None and f.last_iter >= f.max_iters:
        # a run that ended above min_lr has a schedule longer than the run: PD303's finding
        return []
    cooldown = s.iter + int(s.iter * limits.cooldown_fraction)
    left = (
        f"{s.lr_now_over_min:.1f}x min_lr"
        if s.lr_now_over_min is not None
        else f"{s.lr_now_over_peak:.0%} of its peak"
    )
    to_go = s.iters_to_min_lr or 0
    tokens_to_go = f" ({fmt_tokens(to_go * f.tokens_per_iter)} tokens)" if f.tokens_per_iter else ""
    message = (
        f"At iteration {s.iter:,} the rebuilt cosine LR is {fmt_lr(s.lr_now)} "
        f"({s.decay_fraction:.0%} through the decay to {fmt_lr(s.lr_min)} at {s.lr_decay_iters:,}, "
        f"{to_go:,} iterations{tokens_to_go} to go). The flattening {a.trend_rests_on} curve "
        f"({vt.change:+.3f} over steps {vt.start_step:,}-{vt.end_step:,}) is judged before the "
        "anneal, which usually buys a further drop: a plateau cannot be called yet."
    )
    evidence = {
        "iter": s.iter,
        "lr_now": s.lr_now,
        "min_lr": s.lr_min,
        "lr_now_over_min": s.lr_now_over_min,
        "decay_fraction": s.decay_fraction,
        "lr_decay_iters": s.lr_decay_iters,
        "iters_to_min_lr": s.iters_to_min_lr,
        "recent_change": vt.change,
    }
    now = f.last_val_loss if f.last_val_loss is not None else vt.end_value
    finish = f"train on to lr_decay_iters={s.lr_decay_iters:,} before judging the plateau"
    forecast = f.forecast
    if forecast and forecast.get("iter") == s.lr_decay_iters:
        gain = now - forecast["val_loss"]
        message += (
            f" Finishing it should reach val ~{forecast['val_loss']:.3f} ({forecast['low']:.3f}-"
            f"{forecast['high']:.3f}) at iteration {forecast['iter']:,}, {gain:.3f} below now "
            f"({forecast['method']})."
        )
        evidence.update(
            {
                "forecast_val_loss": forecast["val_loss"],
                "forecast_low": forecast["low"],
                "forecast_high": forecast["high"],
            }
        )
        finish += f": val ~{forecast['val_loss']:.3f} ({-gain:+.3f}, forecast)"
    cooldown_fix = (
        f"or, to stop sooner, resume with {ctx.setting(max_iters=cooldown, lr_decay_iters=cooldown)}: "
        "the LR then falls to min_lr over a short cooldown, which buys most of what the "
        "anneal would (Hagele et al. 2024)"
    )
    short = a.forecast_with_shorter_decay(cooldown)
    if short is not None:
        evidence["forecast_cooldown_val_loss"] = short[0]
        cooldown_fix += (
            f": val ~{short[0]:.3f} ({short[0] - now:+.3f}, forecast) for "
            f"{1 - (cooldown - s.iter) / max(1, s.lr_decay_iters - s.iter):.0%} less of the "
            "remaining compute"
        )
    return [
        finding(
            RULE,
            confidence=STRONG,
            title=f"Judged mid-schedule: LR is still {fmt_lr(s.lr_now)}, {left}",
            message=message,
            evidence=evidence,
            fixes=[finish, cooldown_fix],
        )
    ]
