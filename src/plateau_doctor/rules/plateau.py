"""PD502: the loss is flat within noise and nothing found explains it."""
from __future__ import annotations

from ..model import RuleInfo
from .base import LIKELY, POSSIBLE, WEAK, Context, Skip, finding

RULE = RuleInfo(
    code="PD502", name="plateau", category="plateau", severity="warning",
    summary="The loss is flat within noise over the recent evals and no specific cause was found.",
    what="When the recent trend (val, else train) is flat (slope within two standard errors of "
         "zero, noise included), reports the plateau with its numbers. A flat loss at the end of "
         "an annealed schedule is a run that converged (info); flat while the LR is still high, "
         "or at a constant LR, is compute spent for nothing (warning). Any raised cause "
         "(overfitting, LR, schedule, capacity, data, noisy evals, divergence) explains it.",
    why="A plateau without a cause is where a person has to look: the config or the data may "
        "hold what the log cannot show.",
    fix="Check the data pipeline and the config; try a lower LR with a fresh anneal, or a bigger model.",
    example="WARNING PD502 Plateau: val flat within noise over steps 3,000-5,000",
    reference="PyTorch ReduceLROnPlateau / Keras EarlyStopping, with noise instead of a fixed min_delta.",
    explained_by=("overfitting", "data_repetition", "lr_too_high", "lr_too_low", "lr_schedule",
                  "capacity_limited", "divergence", "init_loss", "eval_noise"),
    weight=0.4,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    vt = a.trend
    if vt is None:
        return [Skip(RULE.code, "too few points for a trend")]
    if a.pinned is not None:
        return [Skip(RULE.code, "the loss is pinned at a uniform guess: PD503's finding")]
    if vt.verdict != "flat":
        return []
    on = a.trend_rests_on
    state = {"annealed": "annealed", "unknown": "unknown"}.get(a.lr_state, "high")
    ended = f.max_iters is not None and f.last_iter is not None and f.last_iter >= f.max_iters
    evidence = {"slope_per_1k": vt.slope_per_1k, "slope_stderr_per_1k": vt.slope_stderr_per_1k,
                "window": f"{vt.start_step}-{vt.end_step}", "recent_change": vt.change,
                "eval_noise": a.eval_noise, "trend_rests_on": on, "lr_at_end": a.lr_at_end}
    flat = (f"{on.capitalize()} changed {vt.change:+.3f} over steps {vt.start_step:,}-{vt.end_step:,} "
            f"(slope {vt.slope_per_1k:+.4f} +/- {vt.slope_stderr_per_1k:.4f} per 1k steps): flat within noise")
    if state == "annealed" or (state == "unknown" and ended):
        return [finding(
            RULE, severity="info", confidence=POSSIBLE,
            title=f"Converged: {on} flat at the end of the schedule",
            message=flat + (", at the end of an annealed schedule: the run converged for its "
                            "size and data." if state == "annealed" else
                            ", at the end of the run; the log does not show the LR, so whether "
                            "the schedule had annealed is not known."),
            evidence=evidence,
        )]
    why = {"high": "while the LR is still high: the steps are spent without progress",
           "unknown": "; the log does not show where the LR schedule stands"}[state]
    return [finding(
        RULE, severity="warning" if state == "high" else "info",
        confidence=LIKELY if state == "high" else WEAK,
        title=f"Plateau: {on} flat within noise over steps {vt.start_step:,}-{vt.end_step:,}",
        message=(flat + (", " if state == "high" else "") + why + ". No specific cause was found in "
                 "the log and config." + (" The verdict rests on the train loss (no evals)." if on == "train" else "")),
        evidence=evidence, fixes=[RULE.fix] if state == "high" else [],
    )]
