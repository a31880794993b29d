"""PD501: the loss is still falling meaningfully at the end of the log."""
from __future__ import annotations

from ..analyse.forecast import Forecast
from ..model import RuleInfo
from .base import Context, Skip, finding

INFO = RuleInfo(
    code="PD501", name="still-improving", category="still_improving", severity="warning",
    summary="Val is still falling beyond noise at the end: not a plateau, more training helps.",
    what="Fits a line to the recent val evals with an uncertainty that includes eval noise; a slope "
         "below zero by more than two standard errors is 'still improving'. Where the LR schedule "
         "does not explain the bend, a saturating power law projects the loss at max_iters and at "
         "twice that. It stays informational when the fall is the LR annealing at the end of its "
         "schedule (val falling faster than in the window before, as the LR decays), or when the law "
         "gains under 1% from twice the steps.",
    why="A run stopped (or judged) while it still improves leaves loss on the table; calling it a "
        "plateau is the most common misreading of a loss curve.",
    fix="Train longer: raise max_iters and lr_decay_iters together.",
    reference="Deep Learning Tuning Playbook: still improving at the end means compute-bound.",
    thresholds={"min_relative_gain": 0.005, "min_relative_gain_2x": 0.01},
)


def check(ctx: Context, thresholds: dict) -> list:
    a, f = ctx.analyses, ctx.facts
    vt = a.val_trend
    if vt is None:
        return [Skip(INFO.code, "fewer than 4 val evals")]
    if vt.verdict != "improving":
        return []
    broken = {f.category for f in ctx.earlier if f.severity == "error"
              and f.category in ("divergence", "init_loss")}
    if broken:
        # a broken run recovering from its own damage is not "keep training" territory
        return [Skip(INFO.code, f"the run is broken ({', '.join(sorted(broken))}): falling loss is recovery")]
    relative = -vt.change / vt.start_value if vt.start_value > 0 else 0.0   # of where it started
    if relative < thresholds["min_relative_gain"]:
        return []
    evidence = {"val_slope_per_1k": vt.slope_per_1k, "slope_stderr_per_1k": vt.slope_stderr_per_1k,
                "t_stat": vt.t_stat, "window": f"{vt.start_step}-{vt.end_step}",
                "val_change_recent": vt.change, "relative_gain_recent": relative}
    message = (f"Val fell {-vt.change:.4f} ({relative:.1%}) over steps {vt.start_step:,}-{vt.end_step:,}, "
               f"a slope of {vt.slope_per_1k:+.4f} per 1k steps, {abs(vt.t_stat):.1f} standard errors "
               "from flat.")
    fc = a.forecast
    if isinstance(fc, Forecast):
        evidence.update({"forecast_at_max_iters": fc.predicted_at_target,
                         "forecast_interval": list(fc.interval_at_target),
                         "forecast_at_2x": fc.predicted_at_double, "forecast_l_inf": fc.l_inf})
        message += (f" A power law fitted on the tail projects {fc.predicted_at_target:.3f} at step "
                    f"{fc.target_step:,} ({fc.interval_at_target[0]:.3f}-{fc.interval_at_target[1]:.3f}) "
                    f"and {fc.predicted_at_double:.3f} at twice that.")
    elif fc is not None:
        evidence["forecast_refused"] = fc.reason
    ended = f.max_iters is not None and f.last_iter is not None and f.last_iter >= f.max_iters
    # Two reasons a falling val is weak evidence that more steps pay: the fall is what the LR
    # decay gives at the end of a schedule, or the fitted law says doubling the run gains little.
    weak = []
    before = a.val_trend_before
    # The decay's own drop: the LR fell over the window and val falls faster there than before it.
    # A fall that merely goes on at the pace it had is the model still learning.
    anneal_drop = (a.lr_annealed_over_tail and before is not None
                   and before.slope_per_1k > 0.5 * vt.slope_per_1k)
    if before is not None:
        evidence["val_slope_per_1k_before"] = before.slope_per_1k
    if anneal_drop:
        evidence.update({"lr_at_window_start": a.lr_at_tail_start, "lr_at_end": a.lr_at_end})
        weak.append(f"over that stretch the LR fell from {a.lr_at_tail_start:.3g} to {a.lr_at_end:.3g} "
                    f"and val fell faster than before it ({before.slope_per_1k:+.4f} per 1k steps): "
                    "that is the drop a decaying schedule gives at its end, and it does not by "
                    "itself show how much a longer run would gain")
    if isinstance(fc, Forecast):
        gain_2x = vt.end_value - fc.predicted_at_double
        evidence["forecast_gain_at_2x"] = gain_2x
        if gain_2x < thresholds["min_relative_gain_2x"] * vt.end_value:
            weak.append(f"the fitted law gains only {max(gain_2x, 0.0):.4f} "
                        f"({max(gain_2x, 0.0) / vt.end_value:.1%}) from twice the steps")
    if weak:
        message += " But " + "; and ".join(weak) + "."
    fixes = []
    if f.max_iters and not ended:
        fixes.append(f"let the run reach max_iters={f.max_iters:,}" if ctx.parsed.format == "nanogpt"
                     else f"let the run reach its last step ({f.max_iters:,})")
    elif f.max_iters and ctx.parsed.format == "nanogpt":
        fixes.append(f"--max_iters={2 * f.max_iters} --lr_decay_iters={2 * f.max_iters}")
    elif f.max_iters:
        fixes.append(f"train about twice as long ({2 * f.max_iters:,} steps), with the LR schedule "
                     "stretched to match")
    else:
        fixes.append("train longer (more steps, with the LR schedule stretched to match)")
    strong = (ended or f.max_iters is None) and not weak
    return [finding(
        INFO, severity="warning" if strong else "info", confidence=0.7 if not weak else 0.5,
        title=f"Still improving: val falls {-vt.slope_per_1k:.4f} per 1k steps at the end",
        message=message, evidence=evidence, fixes=fixes, weight=0.5,
    )]
