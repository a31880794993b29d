"""PD201: val loss turned up (or stalled) while train loss kept falling."""
from __future__ import annotations

import math

import numpy as np

from ..analyse.medians import median
from ..model import RuleInfo
from .base import Context, Skip, finding

INFO = RuleInfo(
    code="PD201", name="overfitting", category="overfitting", severity="error",
    summary="Val loss rose from its best (or stalled) while train loss kept falling, beyond eval noise.",
    what="Finds the best val eval, measures how much val has lost since, and checks that train kept "
         "falling over the same stretch and that the train/val gap grew, each against the noise of "
         "one eval. Val at or below train is counter-evidence.",
    why="Every eval after the best one is compute spent making the model worse on new text; the "
        "best checkpoint is the model to keep.",
    fix="Stop at the best step (max_iters and lr_decay_iters near it so the schedule anneals in "
        "time), get more data, or regularise harder (dropout, weight decay).",
    reference="Deep Learning Tuning Playbook: overfitting is val error that starts increasing.",
    thresholds={"z": 2.0, "min_rise": 0.005, "min_evals_after_best": 2, "smooth": 3,
                "memorised_ratio": 2.0, "memorised_gap": 0.5},
)


def check(ctx: Context, thresholds: dict) -> list:
    a = ctx.analyses
    val = a.val
    if len(val) < 4:
        return _memorised_with_few_evals(ctx, thresholds) or [Skip(INFO.code, "fewer than 4 val evals")]
    noise = a.eval_noise if a.eval_noise is not None else 0.02
    noise_known = a.eval_noise is not None
    threshold = max(thresholds["z"] * math.sqrt(2) * noise, thresholds["min_rise"])
    # The minimum of many noisy evals sits several standard errors below the true best level, so
    # the best is taken on a rolling mean of `smooth` evals and compared with the mean of the last
    # three: a flat run must not read as a rise.
    smoothed = _rolling_mean(val.values, int(thresholds["smooth"]))
    smooth_best = int(np.argmin(smoothed))
    # What a reader calls the best eval (and the checkpoint to keep): the lowest eval inside that
    # smoothing window, which a V-shaped minimum can put one eval before or after the window's centre.
    half = int(thresholds["smooth"]) // 2
    lo = max(0, smooth_best - half)
    best = lo + int(np.argmin(val.values[lo:smooth_best + half + 1]))
    best_step, best_val, last_val = int(val.steps[best]), float(val.values[best]), float(val.values[-1])
    tail_val = float(np.mean(val.values[-3:])) if len(val) - smooth_best > 3 else last_val
    rise = tail_val - float(smoothed[smooth_best])   # what the decision uses
    shown_rise = last_val - best_val                 # what a reader sees in the log
    train_at_best, train_last = _train_at(ctx, best_step), _train_at(ctx, int(val.steps[-1]))
    evidence = {
        "best_val_step": best_step, "best_val_loss": best_val, "last_val_loss": last_val,
        "val_rise_since_best": shown_rise, "smoothed_rise": rise, "noise_threshold": threshold, "eval_noise": a.eval_noise,
        "train_at_best_step": train_at_best, "last_train_loss": train_last,
        "epochs": ctx.facts.epochs,
    }
    gap_last = None if train_last is None else last_val - train_last
    gap_at_best = None if train_at_best is None else best_val - train_at_best
    if gap_last is not None:
        evidence["gap_last"] = gap_last
        evidence["gap_at_best"] = gap_at_best
    train_fell = (train_at_best is not None and train_last is not None
                  and train_at_best - train_last > threshold)
    train_rose = (train_at_best is not None and train_last is not None
                  and train_last - train_at_best > threshold)
    if train_rose:
        return [Skip(INFO.code, "train rose together with val: instability, not overfitting")]
    evals_after = len(val) - 1 - smooth_best
    saves = _last_checkpoint_step(ctx)
    if saves is not None:
        evidence["last_checkpoint_saved_at"] = saves
    rose = rise > threshold and evals_after >= thresholds["min_evals_after_best"]
    # The evidence is val rising while train falls, i.e. the gap growing; its sign is not: when
    # the val split is easier than the train split val can sit below train and still overfit.
    if rose and (train_fell or train_at_best is None):
        confidence = (0.9 if train_fell else 0.55) - (0 if noise_known else 0.15)
        how = (f"train fell from {train_at_best:.4f} to {train_last:.4f} over the same stretch."
               if train_fell else "the log has no train loss to confirm it with, so the evidence is weaker.")
        return [finding(
            INFO, severity="error" if train_fell else "warning", confidence=confidence,
            title=(f"Overfitting: val is {shown_rise:.3f} above its best (step {best_step:,})"
                   + (" while train fell" if train_fell else "")),
            message=(f"Val loss was lowest around step {best_step:,} ({best_val:.4f}) and has since risen "
                     f"to {last_val:.4f}; smoothed, the rise is {rise / max(noise, 1e-9):.1f}x the noise of one eval "
                     f"({noise:.4f}); " + how + _epochs_clause(ctx)),
            evidence=evidence, fixes=_fixes(ctx, best_step), line=int(val.lines[best]), weight=1.0,
        )]
    if gap_last is not None and gap_last <= noise and not rose:
        return [_not_supported(ctx, evidence, last_val, train_last)]
    vt, tt = a.val_trend, a.train_trend
    gap_at_window = _gap_at(ctx, vt.start_step) if vt else None
    if (vt and tt and vt.verdict != "improving" and tt.verdict == "improving" and gap_last is not None
            and gap_at_window is not None and gap_last - gap_at_window > threshold
            and gap_last > 3 * noise):
        evidence.update({"val_slope_per_1k": vt.slope_per_1k, "train_slope_per_1k": tt.slope_per_1k,
                         "gap_at_window_start": gap_at_window})
        eval_mode_train = len(a.train_eval) > 0
        return [finding(
            INFO, severity="warning", confidence=(0.6 if noise_known else 0.45) - (0 if eval_mode_train else 0.1),
            title=f"Val has stalled while train keeps falling (gap {gap_last:.3f})",
            message=(f"Val has not improved beyond noise since its best at step {best_step:,} "
                     f"({best_val:.4f}) while train keeps falling; the train/val gap grew from "
                     f"{gap_at_window:.3f} at step {vt.start_step:,} to {gap_last:.3f}. The model "
                     "has started to memorise: further steps will mostly widen the gap."
                     + _epochs_clause(ctx)),
            evidence=evidence, fixes=_fixes(ctx, best_step), weight=0.9,
        )]
    return []


def _memorised_with_few_evals(ctx: Context, thresholds: dict) -> list:
    """Too few evals to find the best one, but the last eval alone can show memorisation: the
    train estimate (same eval code, same batch count) far below val."""
    a = ctx.analyses
    if not len(a.val) or not len(a.train_eval) or a.train_eval.steps[-1] != a.val.steps[-1]:
        return []
    train, val = float(a.train_eval.values[-1]), float(a.val.values[-1])
    ratio = val / train if train > 0 else math.inf
    if ratio < thresholds["memorised_ratio"] or val - train < thresholds["memorised_gap"]:
        return []
    step = int(a.val.steps[-1])
    return [finding(
        INFO, severity="warning", confidence=0.6,
        title=f"Train has been memorised: val {val:.3f} is {ratio:.1f}x train {train:.3f}",
        message=(f"At step {step:,} the train estimate is {train:.4f} and val {val:.4f}: the model "
                 "scores the text it trains on far better than new text. With only "
                 f"{len(a.val)} evals the log cannot show where val was best, so the step to stop "
                 "at is unknown; evaluate more often to find it." + _epochs_clause(ctx)),
        evidence={"step": step, "train_loss": train, "val_loss": val, "val_over_train": ratio,
                  "gap": val - train, "evals": len(a.val), "epochs": ctx.facts.epochs},
        fixes=[f"--eval_interval={max(1, step // 10)} (ten evals over this run) to find the best step",
               *_fixes(ctx, step)[1:]],
        line=int(a.val.lines[-1]), weight=0.9,
    )]


def _not_supported(ctx: Context, evidence: dict, last_val: float, train_last: float):
    return finding(
        INFO, severity="info", confidence=0.9,
        title="Overfitting is not supported: val is at or below train",
        message=(f"At the last eval val is {last_val:.4f} and train {train_last:.4f}: a model that "
                 "overfits scores clearly better on the text it trains on. Shrinking the model or "
                 "adding regularisation would not help here."),
        evidence={}, counter_evidence=evidence, weight=0.2,
    )


def _rolling_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred rolling mean (shorter at the ends)."""
    if width <= 1 or len(values) < width:
        return values.astype(float)
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(np.ones(len(values)), kernel, mode="same")
    return sums / counts


def _train_at(ctx: Context, step: int) -> float | None:
    """Train loss at a step: the eval-mode train estimate, else the median of nearby iter losses."""
    train = ctx.analyses.train_eval
    if len(train):
        i = int(np.argmin(np.abs(train.steps - step)))
        return float(train.values[i])
    it = ctx.analyses.iter_loss
    # A logged window mean (HF) already averages many steps: one is a train loss. Micro-batch
    # losses are noisy: the median of the 21 around the step.
    reach = 10 if ctx.parsed.meta.loss_kind == "micro_batch" else 0
    if len(it) < max(2 * reach, 4) or not ctx.analyses.train_val_comparable:
        return None
    i = int(np.argmin(np.abs(it.steps - step)))
    lo, hi = max(0, i - reach), min(len(it), i + reach + 1)
    return float(median(it.values[lo:hi]))


def _gap_at(ctx: Context, step: int) -> float | None:
    val = ctx.analyses.val
    train = _train_at(ctx, step)
    if train is None or not len(val):
        return None
    i = int(np.argmin(np.abs(val.steps - step)))
    return float(val.values[i]) - train


def _last_checkpoint_step(ctx: Context) -> int | None:
    """With always_save_checkpoint=False nanoGPT saves only when val improves: a free signal."""
    if not ctx.analyses.config_known or ctx.config.get("always_save_checkpoint") is not False:
        return None
    evals = ctx.parsed.eval_table
    saved = evals["step"][evals["checkpoint_saved"].astype(bool)] if not evals.empty else []
    return int(saved[-1]) if len(saved) else None


def _epochs_clause(ctx: Context) -> str:
    e = ctx.facts.epochs
    return f" The run has seen the training data {e:.1f} times." if e and e > 1 else ""


def _fixes(ctx: Context, stop_step: int) -> list[str]:
    if ctx.parsed.format == "nanogpt":
        fixes = [f"--max_iters={stop_step} --lr_decay_iters={stop_step} (stop where val was best, "
                 "annealed by then)"]
    else:
        fixes = [f"stop at step {stop_step:,}, where val was best (and end the LR schedule there)"]
    if ctx.facts.epochs and ctx.facts.epochs > 4:
        fixes.append(f"more training data: {ctx.facts.epochs:.0f} epochs is far past the ~4 that "
                     "repetition tolerates")
    dropout = ctx.config.get("dropout") if ctx.analyses.config_known else None
    if dropout is not None:
        try:
            new = 0.2 if float(dropout) < 0.2 else min(0.5, round(float(dropout) + 0.1, 2))
            fixes.append(f"--dropout={new} (now {dropout})")
        except (TypeError, ValueError):
            pass
    if ctx.analyses.config_known and ctx.config.get("always_save_checkpoint") is not False:
        fixes.append("--always_save_checkpoint=False (keep only the best-val checkpoint)")
    return fixes
