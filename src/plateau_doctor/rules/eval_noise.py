"""PD401: the evals are too noisy to support conclusions drawn from them."""

from __future__ import annotations

import math

import numpy as np

from ..domain.medians import median
from ..model import RuleInfo, Threshold
from .base import LIKELY, STRONG, Context, Skip, finding

RULE = RuleInfo(
    code="PD401",
    name="eval-noise",
    category="eval_noise",
    severity="warning",
    summary="Eval-to-eval jumps are within the noise of one eval: the evals cannot tell a trend.",
    what="Estimates the noise of one eval: the per-batch sigma of the iteration losses divided by "
    "sqrt(eval_iters) where each eval draws fresh batches (nanoGPT), else the scatter of val "
    "around its own local trend, and compares it with the real change between evals (the "
    "trend's slope times the eval interval) and with the jumps seen. Says how many "
    "eval_iters would be enough. A fixed val set (llm.c, HF, ...) scores the same text every "
    "time: its evals are not noisy that way, and the rule does not judge them.",
    why="An eval averages eval_iters random batches; with few of them its error is larger than "
    "the improvements being looked for, so upticks, plateaus and 'best checkpoints' are noise.",
    fix="Raise eval_iters (the error falls as 1/sqrt(eval_iters)), or evaluate less often on more batches.",
    reference="Standard error of a mean: sigma / sqrt(n).",
    example="WARNING PD401 Evals are noisy: one eval's error (~0.034) exceeds the change between evals",
    thresholds=(
        Threshold(
            "min_noise",
            0.01,
            "nats",
            "an eval accurate to a hundredth of a nat supports the decisions people make from it",
        ),
        Threshold("target_se", 0.005, "nats", "the eval error to aim for: half a hundredth"),
        Threshold(
            "snr",
            1.0,
            "change / noise",
            "a trend that moves val less per eval than one eval's noise cannot be seen eval to eval",
        ),
        Threshold(
            "co_movement",
            0.6,
            "correlation",
            "train and val batches are drawn "
            "independently: jumps they share (correlation above 0.6) are the model moving",
        ),
        Threshold(
            "resolved_trend_noise_multiple",
            3.0,
            "evals' noise",
            "a change over the recent window of 3x one eval's noise is a trend the evals resolve",
        ),
    ),
    weight=1.0,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    if a.eval_kind == "fixed":
        return [
            Skip(
                RULE.code,
                "a fixed val set: two evals of the same weights agree, so eval-to-eval "
                "differences are the model's own movement, not sampling noise",
            )
        ]
    if a.eval_noise is None or len(a.val) < 5:
        return [Skip(RULE.code, "too few evals to measure their noise")]
    noise = a.eval_noise
    steps, values = a.val.steps, a.val.values
    recent = slice(max(0, len(values) - max(5, len(values) * 3 // 10)), len(values))
    jumps = np.abs(np.diff(values[recent]))
    typical_jump = float(median(jumps)) if len(jumps) else 0.0
    interval = float(median(np.diff(steps))) if len(steps) > 1 else 0.0
    vt = a.val_trend
    signal = abs(vt.slope_per_1k) * interval / 1000 if vt else 0.0
    snr = signal / noise if noise > 0 else math.inf
    evidence = {
        "eval_noise": noise,
        "eval_se_from_batches": a.eval_se_predicted,
        "val_scatter": a.val_scatter.scatter if a.val_scatter else None,
        "per_batch_sigma": a.sigma.sigma if a.sigma else None,
        "eval_iters": a.eval_iters,
        "batches_per_eval_implied": (
            round((a.sigma.sigma / noise) ** 2, 1) if a.sigma and a.eval_iters is None and noise > 0 else None
        ),
        "typical_jump_between_evals": typical_jump,
        "trend_change_per_eval": signal,
        "signal_to_noise": snr if math.isfinite(snr) else None,
        "eval_interval": interval,
        "train_val_co_movement": a.train_val_co_movement,
    }
    # Many noisy evals still show a trend: what matters is whether the recent window's trend is
    # resolved. Jumps between consecutive evals within noise are only a problem when the trend
    # over the window is not resolved either.
    trend_resolved = (
        vt is not None
        and vt.verdict != "flat"
        and abs(vt.change) > limits.resolved_trend_noise_multiple * noise
    )
    if noise < limits.min_noise:
        if a.eval_se_predicted is not None and a.eval_iters:
            return [
                finding(
                    RULE,
                    severity="info",
                    confidence=STRONG,
                    ruled_out=True,
                    title=f"Not noisy evals: one eval's error is about {noise:.4f}",
                    message=(
                        f"Per-batch sigma {a.sigma.sigma:.3f} / sqrt(eval_iters={a.eval_iters}) gives "
                        f"{a.eval_se_predicted:.4f}; val scatters {evidence['val_scatter'] or 0:.4f} "
                        f"around its trend. Differences between two evals above "
                        f"{2 * math.sqrt(2) * noise:.4f} are real."
                    ),
                    evidence=evidence,
                )
            ]
        return []
    if snr >= limits.snr or trend_resolved:
        between = "more than" if snr < limits.snr else "less than"
        return [
            finding(
                RULE,
                severity="info",
                confidence=LIKELY,
                title=f"Single evals are noisy (~{noise:.3f}) but the trend is resolved",
                message=(
                    f"One eval's error is about {noise:.3f}, {between} the change between two evals "
                    f"({signal:.4f}), so a single uptick means little; over the recent window the "
                    "trend stands out of that noise."
                ),
                evidence=evidence,
            )
        ]
    reason = _real_movement(a, noise, limits)
    if reason:
        return [Skip(RULE.code, reason)]
    needed = _eval_iters_needed(a, limits.target_se, noise)
    if needed:
        evidence["eval_iters_needed"] = needed
    # Noisy evals waste no compute and break no run: a warning (what to change: eval_iters).
    severity = "warning"
    if needed and ctx.nanogpt_flags:
        fixes = [ctx.setting(eval_iters=needed) + (f" (now {a.eval_iters})" if a.eval_iters else "")]
    elif needed and a.eval_iters:
        fixes = [
            f"evaluate on about {needed / a.eval_iters:.0f}x as many batches ({needed:,} instead of {a.eval_iters:,})"
        ]
    else:
        fixes = [
            "evaluate on more examples (a larger eval set, or more eval batches) until one eval's "
            "error is below the changes you care about"
        ]
    return [
        finding(
            RULE,
            severity=severity,
            confidence=STRONG if a.eval_se_predicted is not None else LIKELY,
            title=f"Evals are noisy: one eval's error (~{noise:.3f}) exceeds the change between evals",
            message=(
                f"Over the recent evals val jumps by {typical_jump:.3f} from one eval to the next, "
                f"while the trend moves it only {signal:.4f} per eval; the noise of one eval is about "
                f"{noise:.3f}"
                + (
                    f" (sigma {a.sigma.sigma:.3f} / sqrt({a.eval_iters}) = {a.eval_se_predicted:.3f})"
                    if a.eval_se_predicted is not None
                    else " (from the scatter of val around its trend)"
                )
                + ". Upticks, plateaus and the 'best' eval are within noise."
            ),
            evidence=evidence,
            fixes=fixes,
        )
    ]


def _eval_iters_needed(a, target_se: float, noise: float) -> int | None:
    if a.sigma is not None and not a.train_memorised:
        return max(1, math.ceil((a.sigma.sigma / target_se) ** 2))
    if a.eval_iters:
        return max(1, math.ceil(a.eval_iters * (noise / target_se) ** 2))
    return None


def _real_movement(a, noise: float, limits) -> str | None:
    """Reasons to read big eval-to-eval jumps as the model changing rather than as noise."""
    if a.val_explosion is not None:
        return "val jumps with an explosion of the loss: real movement, not eval noise"
    if (
        a.eval_se_predicted is None
        and a.sigma is not None
        and not a.train_memorised
        and noise > a.sigma.sigma
    ):
        # An eval averages at least one batch, so its sampling error cannot exceed the per-batch
        # sigma: val moving more than that is the model changing (instability), not noise.
        return "val moves more than one batch's sampling noise: instability, not eval noise"
    if a.train_val_co_movement is not None and a.train_val_co_movement >= limits.co_movement:
        # Train and val batches are drawn independently: sampling noise cannot make them jump
        # together, a changing model does.
        return (
            f"train and val jump together (correlation {a.train_val_co_movement:.2f}): "
            "the model is changing between evals, not the estimate"
        )
    return None
