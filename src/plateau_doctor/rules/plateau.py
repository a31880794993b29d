"""PD502: the loss is flat within noise and nothing found explains it."""

from __future__ import annotations

import math

import numpy as np

from ..model import RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, WEAK, Context, Skip, finding, fmt_slope

RULE = RuleInfo(
    code="PD502",
    name="plateau",
    category="plateau",
    severity="warning",
    summary="The loss is flat within noise over the recent evals and no specific cause was found.",
    what="When the recent trend (val, else train) is flat (slope within two standard errors of "
    "zero, noise included), reports the plateau with its numbers. A flat loss at the end of "
    "an annealed schedule is a run that converged (info); flat while the LR is still high, "
    "or at a constant LR, is compute spent for nothing (warning). Two longer plateaus warn "
    "whatever the LR does: a run from scratch flat for nearly all of its steps from early on "
    "(stuck), and a run flat for at least half its steps spanning a whole extra epoch (those "
    "passes bought nothing). Any raised cause (overfitting, LR, schedule, capacity, data, "
    "noisy evals, divergence) explains it.",
    why="A plateau without a cause is where a person has to look: the config or the data may "
    "hold what the log cannot show.",
    fix="Check the data pipeline and the config; try a lower LR with a fresh anneal, or a bigger model.",
    example="WARNING PD502 Plateau: val flat within noise over steps 3,000-5,000",
    reference="PyTorch ReduceLROnPlateau / Keras EarlyStopping, with noise instead of a fixed min_delta.",
    thresholds=(
        Threshold(
            "stuck_share",
            0.9,
            "of the run",
            "flat for 90% of a pretraining run that has fresh data to learn from: it stopped learning",
        ),
        Threshold(
            "early_fraction",
            0.1,
            "of the run",
            "the curve must start within the first 10% of the steps to show where it got stuck",
        ),
        Threshold(
            "flat_share",
            0.5,
            "of the run",
            "flat for at least half the run is a plateau worth acting on, not a late flattening",
        ),
        Threshold(
            "flat_epochs",
            1.0,
            "epochs",
            "and over at least one whole extra pass over the same data: those passes bought nothing",
        ),
    ),
    explained_by=(
        "overfitting",
        "data_repetition",
        "lr_too_high",
        "lr_too_low",
        "lr_schedule",
        "capacity_limited",
        "divergence",
        "init_loss",
        "eval_noise",
    ),
    weight=0.4,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    vt = a.trend
    if vt is None:
        return [Skip(RULE.code, "too few points for a trend")]
    if a.pinned is not None:
        return [Skip(RULE.code, "the loss is pinned at a uniform guess: PD503's finding")]
    on = a.trend_rests_on
    fs = a.flat_since
    stuck = _stuck_early(ctx, fs, limits)
    repeated = _flat_over_repeated_epochs(ctx, fs, limits)
    if vt.verdict != "flat" and not stuck and not repeated:
        return []
    state = {"annealed": "annealed", "unknown": "unknown"}.get(a.lr_state, "high")
    ended = f.max_iters is not None and f.last_iter is not None and f.last_iter >= f.max_iters
    evidence = {
        "slope_per_1k": vt.slope_per_1k,
        "slope_stderr_per_1k": vt.slope_stderr_per_1k,
        "window": f"{vt.start_step}-{vt.end_step}",
        "recent_change": vt.change,
        "eval_noise": a.eval_noise,
        "trend_rests_on": on,
        "lr_at_end": a.lr_at_end,
    }
    if fs is not None:
        evidence.update({"flat_since_step": fs[0], "flat_share_of_run": fs[1], "gain_since_flat": fs[2]})
    if stuck or repeated:
        step, share, gain = fs
        if stuck:
            title = f"Stuck: the {on} loss has not moved since step {step:,} ({share:.0%} of the run)"
            why = (
                "A run training on fresh data keeps lowering its loss for a long time; one that stops "
                "this early has stopped learning (an LR too high to descend, or too low to move, "
                "a data pipeline feeding the same or broken batches)."
            )
        else:
            epochs = f.epochs * share
            title = f"Plateau: the last {epochs:.1f} epochs bought {gain:.3f}"
            why = (
                f"The run went on for {epochs:.1f} more passes over the same data after its loss "
                f"flattened: stop after about {_epoch_at(ctx, step):.0f} epochs (step {step:,}), or "
                "change something (data, LR, model) if the loss there is not good enough."
            )
        message = (
            f"From step {step:,} to the end ({share:.0%} of the run) the {on} loss moved "
            f"{-gain:+.3f}: flat. " + why + _chance_clause(a) + _rests_on_train(a, on)
        )
        return [
            finding(
                RULE,
                severity="warning",
                confidence=LIKELY,
                title=title,
                message=message,
                evidence=evidence,
                fixes=_fixes(ctx, step, stuck),
            )
        ]
    flat = (
        f"{on.capitalize()} changed {vt.change:+.3f} over steps {vt.start_step:,}-{vt.end_step:,} "
        f"(slope {fmt_slope(vt.slope_per_1k, vt.end_step)}, give or take "
        f"{fmt_slope(vt.slope_stderr_per_1k, vt.end_step, signed=False)}): "
        + ("no fall beyond noise" if vt.change > 0 else "flat within noise")
    )
    if state == "annealed" or (state == "unknown" and ended):
        return [
            finding(
                RULE,
                severity="info",
                confidence=POSSIBLE,
                title=f"Converged: {on} flat at the end of the schedule",
                message=flat
                + (
                    ", at the end of an annealed schedule: the run converged for its size and data."
                    if state == "annealed"
                    else ", at the end of the run; the log does not show the LR, so whether "
                    "the schedule had annealed is not known."
                ),
                evidence=evidence,
            )
        ]
    why = {
        "high": (
            "at a constant LR: the steps are spent without progress"
            if a.lr_state == "constant"
            else "while the LR is still high: the steps are spent without progress"
        ),
        "unknown": "; the log does not show where the LR schedule stands",
    }[state]
    val_fell = _val_fell_meanwhile(a, vt) if on == "train" else None
    if val_fell is not None:
        evidence["val_change_meanwhile"] = val_fell
    sure = state == "high" and val_fell is None
    return [
        finding(
            RULE,
            severity="warning" if sure else "info",
            confidence=LIKELY if sure else WEAK,
            title=f"Plateau: {on} flat within noise over steps {vt.start_step:,}-{vt.end_step:,}",
            message=(
                flat + (", " if state == "high" else "") + why + ". No specific cause was found in "
                "the log and config."
                + _longer_stretch(fs, vt, on)
                + _rests_on_train(a, on)
                + (
                    f" But val, with too few evals for a trend of its own, fell {-val_fell:.3f} over "
                    "the same stretch: the flat train loss is not the whole story."
                    if val_fell is not None
                    else ""
                )
            ),
            evidence=evidence,
            fixes=_flat_fixes(a) if sure else [],
        )
    ]


def _longer_stretch(fs, vt, on: str) -> str:
    """Where the loss has been flat since before the trend's window, how long."""
    if fs is None or fs[0] >= vt.start_step:
        return ""
    step, share, gain = fs
    return (
        f" The {on} loss has been within noise of this level since step {step:,} ({share:.0%} of "
        f"the log), moving {-gain:+.3f} since."
    )


def _flat_fixes(a) -> list[str]:
    """At a constant LR a flat loss sits at that LR's noise floor: an anneal is what lowers it."""
    if a.lr_state == "constant":
        return [
            "decay the LR over the remaining steps (cosine or linear, to ~10% of its value): a "
            "loss flat at a constant LR sits at the noise floor of that LR, and an anneal lowers it",
            "if an anneal does not move it: " + RULE.fix[0].lower() + RULE.fix[1:],
        ]
    return [RULE.fix]


def _val_fell_meanwhile(a, vt) -> float | None:
    """Val's change from the last eval at or before the train window's start to the last eval,
    where it fell; None where val is missing, covers no such stretch, or did not fall."""
    val = a.val
    before = np.flatnonzero(val.steps <= vt.start_step)
    if not len(val) or not len(before) or val.steps[-1] <= vt.start_step:
        return None
    change = float(val.values[-1] - val.values[before[-1]])
    return change if change < 0 else None


def _rests_on_train(a, on: str) -> str:
    if on != "train":
        return ""
    if len(a.val):
        return " The verdict rests on the train loss (too few evals for a trend of val)."
    return " The verdict rests on the train loss (no evals)."


def _stuck_early(ctx: Context, fs, limits) -> bool:
    """Flat for nearly the whole run from early on, in a run that is not a fine-tune (which adapts
    fast and then flattens by nature) and not an excerpt (which may start anywhere)."""
    if fs is None or ctx.parsed.meta.excerpt or ctx.analyses.finetune[0] is True:
        return False
    c = ctx.analyses.val if ctx.analyses.trend_rests_on == "val" else ctx.analyses.train_curve
    starts_early = c.steps[0] <= limits.early_fraction * c.steps[-1]
    return starts_early and fs[1] >= limits.stuck_share


def _flat_over_repeated_epochs(ctx: Context, fs, limits) -> bool:
    """Flat over at least half the run and at least one whole extra pass over the data."""
    epochs = ctx.facts.epochs
    return (
        fs is not None
        and epochs is not None
        and fs[1] >= limits.flat_share
        and epochs * fs[1] >= limits.flat_epochs
    )


def _chance_clause(a) -> str:
    """A loss near ln(k) for a small k: chance level, if the task has k classes."""
    level = a.trend.end_value if a.trend is not None else None
    if a.facts.vocab_size or level is None or not 0 < level < math.log(CHANCE_MAX_CLASSES + 1):
        return ""  # a known vocabulary means a language model, not a k-way classifier
    k = round(math.exp(level))
    if 2 <= k <= CHANCE_MAX_CLASSES and abs(level - math.log(k)) <= CHANCE_TOLERANCE * math.log(k):
        return (
            f" The loss ends near ln({k}) = {math.log(k):.3f}: if the task has {k} classes, that is "
            "chance level, the model has learned next to nothing."
        )
    return ""


CHANCE_MAX_CLASSES = 10  # class counts worth naming
CHANCE_TOLERANCE = 0.02  # within 2% of ln(k)


def _fixes(ctx: Context, step: int, stuck: bool) -> list[str]:
    if stuck:
        return [
            "compare the first batches with later ones: a loader that repeats or corrupts data "
            "stops learning like this",
            "try the learning rate 3x lower and 3x higher for a few "
            "hundred steps: the one that moves the loss shows which side the problem is on",
        ]
    if ctx.nanogpt_flags:
        stop = ctx.setting(max_iters=step, lr_decay_iters=step)
    elif ctx.facts.epochs:
        stop = (
            f"train about {max(1, round(_epoch_at(ctx, step)))} epochs instead of "
            f"{ctx.facts.epochs:.0f} (the flattening came at step {step:,}), with the LR schedule ending there"
        )
    else:
        stop = f"stop at about step {step:,}, with the LR schedule ending there"
    return [f"{stop}: the same loss for less compute"]


def _epoch_at(ctx: Context, step: int) -> float:
    """The epoch a step falls in, from the log's own epoch count."""
    f = ctx.facts
    return f.epochs * step / f.last_iter if f.epochs and f.last_iter else 0.0
