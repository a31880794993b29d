"""PD501: the loss is still falling meaningfully at the end of the log."""

from __future__ import annotations

from ..analyse.anneal_forecast import CurveForecast
from ..model import RuleInfo, Threshold
from .base import DOUBT, LIKELY, POSSIBLE, Context, Skip, finding, fmt_slope

RULE = RuleInfo(
    code="PD501",
    name="still-improving",
    category="still_improving",
    severity="warning",
    summary="The loss is still falling beyond noise at the end: not a plateau.",
    what="Fits a line to the recent val evals (the train loss where the log has no val) with an "
    "uncertainty that includes eval noise; a slope below zero by more than two standard "
    "errors is 'still improving'. It is a warning when the run stopped while the LR was "
    "still high (before its anneal, or at a constant LR): training on would pay. A run from "
    "scratch that ran to its last step at a constant LR never annealed: also a warning. On a "
    "run that finished its schedule, or a fine-tune that ran its short constant-LR recipe, it "
    "is a fact (info): a longer schedule would still gain, by as much as the forecast says.",
    why="A run stopped (or judged) while it still improves leaves loss on the table; calling it a "
    "plateau is the most common misreading of a loss curve.",
    fix="Train longer: raise max_iters and lr_decay_iters together.",
    example="INFO PD501 Still improving: val falls 0.0120 per 1k steps at the end",
    reference="Deep Learning Tuning Playbook: still improving at the end means compute-bound.",
    thresholds=(
        Threshold(
            "min_relative_gain",
            0.005,
            "of the loss",
            "a recent fall under half a percent of the loss is not worth training on for",
        ),
    ),
    explained_by=(
        "overfitting",
        "lr_too_high",
        "lr_too_low",
        "divergence",
        "init_loss",
        "lr_schedule",
        "incomplete_run",
        "plateau",
    ),
    weight=0.5,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    vt = a.trend
    if vt is None:
        return [Skip(RULE.code, "too few points for a trend")]
    if vt.verdict != "improving":
        return []
    relative = -vt.change / vt.start_value if vt.start_value > 0 else 0.0  # of where it started
    if relative < limits.min_relative_gain:
        return []
    on = a.trend_rests_on
    evidence = {
        "slope_per_1k": vt.slope_per_1k,
        "slope_stderr_per_1k": vt.slope_stderr_per_1k,
        "t_stat": vt.t_stat,
        "window": f"{vt.start_step}-{vt.end_step}",
        "points": vt.n_points,
        "recent_change": vt.change,
        "relative_gain_recent": relative,
        "trend_rests_on": on,
    }
    message = (
        f"{on.capitalize()} fell {-vt.change:.3f} ({relative:.1%}) over steps {vt.start_step:,}-"
        f"{vt.end_step:,} ({vt.n_points} points), a slope of {fmt_slope(vt.slope_per_1k, vt.end_step)}, "
        f"{abs(vt.t_stat):.1f} standard errors from flat."
    )
    if on == "train":
        message += " The log has no evals to judge by, so this rests on the train loss."
    high_lr = _lr_still_high(a)
    ended = f.max_iters is not None and f.last_iter is not None and f.last_iter >= f.max_iters
    forecast = f.forecast
    if forecast and forecast.get("val_loss") is not None and forecast.get("iter", 0) > (f.last_iter or 0):
        evidence.update({"forecast_iter": forecast["iter"], "forecast_val_loss": forecast["val_loss"]})
        message += (
            f" Forecast for iteration {forecast['iter']:,}: ~{forecast['val_loss']:.3f} "
            f"({forecast['low']:.3f}-{forecast['high']:.3f}, {forecast['method']})."
        )
    longer = a.longer_run_forecast
    if longer is not None and isinstance(longer[1], CurveForecast):
        target, fc = longer
        gain_2x = vt.end_value - fc.predicted
        evidence.update(
            {
                "forecast_at_2x": fc.predicted,
                "forecast_2x_interval": [fc.low, fc.high],
                "forecast_gain_at_2x": gain_2x,
            }
        )
        message += (
            f" A schedule twice as long ({target:,} steps, its decay stretched to match) "
            f"would reach ~{fc.predicted:.3f} ({fc.low:.3f}-{fc.high:.3f}), {max(gain_2x, 0.0):.3f} "
            "below now (forecast)."
        )
    elif longer is not None:
        evidence["forecast_refused"] = longer[1].reason
    # A run that ended at a constant LR never annealed: stopped while learning, it left loss
    # behind. Not so a fine-tune, for which a short constant-LR run is the recipe (nanoGPT's
    # finetune_shakespeare.py: 20 iterations at 3e-5) and training on risks memorising.
    constant_end = ended and a.lr_state == "constant"
    unannealed = constant_end and a.finetune[0] is not True
    if high_lr:
        evidence["lr_now"] = a.lr_at_end
        if not ended:
            message += f" It stopped while the LR was still high ({high_lr}): training on would pay."
        elif unannealed:
            message += (
                " It ran at a constant LR to its last step: it never annealed, and an anneal "
                "alone usually buys a further drop."
            )
        elif constant_end:
            message += " It ran at a constant LR to its last step, the usual recipe for a short fine-tune."
        else:
            message += " The schedule itself ended before its anneal (see PD303)."
    if a.lr_state == "unknown" and not ended:
        message += (
            " The log shows neither the LR nor a config, so whether the schedule had annealed is "
            "not known: if the LR was still high (constant, or mid-schedule), training on would "
            "pay; if it had annealed, a longer schedule would."
        )
    # An excerpt does not show where the run stopped, so it cannot be told to train on.
    stopped_early = high_lr and (not ended or unannealed)
    severity = "warning" if stopped_early and not ctx.parsed.meta.excerpt else "info"
    return [
        finding(
            RULE,
            severity=severity,
            confidence=(LIKELY if on == "val" else POSSIBLE) - (0 if high_lr else DOUBT),
            title=f"Still improving: {on} falls {fmt_slope(vt.slope_per_1k, vt.end_step, signed=False)} at the end",
            message=message,
            evidence=evidence,
            fixes=_fixes(ctx, ended, unannealed),
        )
    ]


def _lr_still_high(a) -> str:
    """Why the LR at the end is still high (words for the message), or '' when it has annealed
    or is unknown."""
    state = a.lr_state
    if state == "constant":
        return f"constant at {a.lr_at_end:.2e}, no anneal" if a.lr_at_end else "constant, no anneal"
    if state == "warmup":
        return "still in its warmup"
    if state == "annealing":
        s = a.schedule
        if s is not None and s.lr_now_over_min is not None:
            return f"{s.lr_now_over_min:.1f}x min_lr"
        peak = a.peak_lr
        return f"{a.lr_at_end / peak:.0%} of its peak" if peak and a.lr_at_end is not None else "mid-anneal"
    return ""


def _fixes(ctx: Context, ended: bool, unannealed: bool) -> list[str]:
    f = ctx.facts
    if unannealed:
        return [
            f"train longer than {f.max_iters:,} steps and decay the LR over the last ~20% of them "
            "(cosine or linear, to ~10%): the run was still learning, and it never annealed"
        ]
    if f.max_iters and not ended:
        return [
            f"let the run reach max_iters={f.max_iters:,}"
            if ctx.nanogpt_flags
            else f"let the run reach its last step ({f.max_iters:,})"
        ]
    if f.max_iters:
        return [
            f"{ctx.setting(max_iters=2 * f.max_iters, lr_decay_iters=2 * f.max_iters)} (a longer "
            "schedule, if the gain is worth the compute)"
        ]
    return ["train longer (more steps, with the LR schedule stretched to match)"]
