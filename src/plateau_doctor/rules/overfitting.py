"""PD201: val loss turned up (or stalled) while train loss kept falling."""

from __future__ import annotations

import math

import numpy as np

from ..domain.medians import median
from ..model import RuleInfo, Threshold
from .base import DOUBT, LIKELY, POSSIBLE, STRONG, Context, Skip, finding, fmt_loss

RULE = RuleInfo(
    code="PD201",
    name="overfitting",
    category="overfitting",
    severity="error",
    summary="Val loss rose from its best (or stalled) while train loss kept falling, beyond eval noise.",
    what="Finds the best val eval, measures how much val has lost since, and checks that train kept "
    "falling over the same stretch and that the train/val gap grew, each against the noise of "
    "one eval. Val at or below train is counter-evidence and rules overfitting out. In a "
    "fine-tune, where eval loss often rises after the first epoch while the model still "
    "improves at its task, it is a warning that names the checkpoint to keep.",
    why="Every eval after the best one is compute spent making the model worse on new text; the "
    "best checkpoint is the model to keep.",
    fix="Stop at the best step (max_iters and lr_decay_iters near it so the schedule anneals in "
    "time), get more data, or regularise harder (dropout, weight decay).",
    example="ERROR PD201 Overfitting: val is 0.239 above its best (step 1,750) while train fell",
    reference="Deep Learning Tuning Playbook: overfitting is val error that starts increasing.",
    thresholds=(
        Threshold(
            "z",
            2.0,
            "standard errors",
            "a rise of the smoothed val beyond 2 combined "
            "standard errors of two evals (~95%) is not sampling noise",
        ),
        Threshold(
            "min_rise",
            0.005,
            "nats",
            "below half a hundredth of a nat nobody would act on a rise, however precise the evals",
        ),
        Threshold(
            "min_evals_after_best",
            2,
            "evals",
            "one eval after the best can be an unlucky draw; two that stay up are a direction",
        ),
        Threshold(
            "smooth",
            3,
            "evals",
            "the minimum of many noisy evals sits below the true best: "
            "the best is taken on a rolling mean of 3",
        ),
        Threshold(
            "memorised_ratio",
            2.0,
            "val / train",
            "with too few evals to find the best one, "
            "val at 2x train at the last eval is memorisation on its own",
        ),
        Threshold(
            "memorised_gap",
            0.5,
            "nats",
            "and at least half a nat apart, so small losses (near 0.1) do not qualify by ratio alone",
        ),
        Threshold(
            "more_data_epochs",
            4.0,
            "epochs",
            "Muennighoff et al. 2023: up to ~4 epochs "
            "repeated data is nearly as good as new, so more data is the fix only beyond that",
        ),
        Threshold(
            "fallback_noise",
            0.02,
            "nats",
            "an eval noise to judge rises with when the log "
            "lets us measure none: a typical eval's error, stated and marked less sure",
        ),
    ),
    weight=1.0,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    val = a.val
    if len(val) < 2:
        return [Skip(RULE.code, "fewer than 2 val evals")]
    if len(val) < 4:
        return _memorised_with_few_evals(ctx, limits) or [Skip(RULE.code, "fewer than 4 val evals")]
    noise_known = a.eval_noise is not None
    noise = a.eval_noise if noise_known else limits.fallback_noise
    threshold = max(limits.z * math.sqrt(2) * noise, limits.min_rise)
    smoothed = _rolling_mean(val.values, int(limits.smooth))
    smooth_best = int(np.argmin(smoothed))
    # What a reader calls the best eval (and the checkpoint to keep): the lowest eval inside that
    # smoothing window, which a V-shaped minimum can put one eval before or after its centre.
    half = int(limits.smooth) // 2
    lo = max(0, smooth_best - half)
    best = lo + int(np.argmin(val.values[lo : smooth_best + half + 1]))
    best_step, best_val, last_val = int(val.steps[best]), float(val.values[best]), float(val.values[-1])
    last_step = int(val.steps[-1])
    tail_val = float(np.mean(val.values[-3:])) if len(val) - smooth_best > 3 else last_val
    rise = tail_val - float(smoothed[smooth_best])  # what the decision uses
    shown_rise = last_val - best_val  # what a reader sees in the log
    train_at_best, train_last = _train_at(ctx, best_step), _train_at(ctx, last_step)
    evidence = {
        "best_val_step": best_step,
        "best_val_loss": best_val,
        "last_val_step": last_step,
        "last_val_loss": last_val,
        "val_rise_since_best": shown_rise,
        "smoothed_rise": rise,
        "noise_threshold": threshold,
        "eval_noise": a.eval_noise,
        "train_at_best_step": train_at_best,
        "last_train_loss": train_last,
        "epochs": ctx.facts.epochs,
    }
    gap_last = None if train_last is None else last_val - train_last
    if gap_last is not None:
        evidence["gap_last"] = gap_last
        evidence["gap_at_best"] = None if train_at_best is None else best_val - train_at_best
    train_fell = (
        train_at_best is not None and train_last is not None and train_at_best - train_last > threshold
    )
    train_rose = (
        train_at_best is not None and train_last is not None and train_last - train_at_best > threshold
    )
    if train_rose:
        return [Skip(RULE.code, "train rose together with val: instability, not overfitting")]
    evals_after = len(val) - 1 - smooth_best
    saves = _last_checkpoint_step(ctx)
    if saves is not None:
        evidence["last_checkpoint_saved_at"] = saves
    rose = rise > threshold and evals_after >= limits.min_evals_after_best
    finetune = a.finetune[0] is True
    # The evidence is val rising while train falls, i.e. the gap growing; its sign is not: when
    # the val split is easier than the train split val can sit below train and still overfit.
    if rose and (train_fell or train_at_best is None):
        confidence = (STRONG if train_fell else POSSIBLE) - (0 if noise_known else DOUBT)
        how = (
            f"train fell from {fmt_loss(train_at_best, noise)} to {fmt_loss(train_last, noise)} "
            "over the same stretch."
            if train_fell
            else "the log has no train loss to confirm it with, so the evidence is weaker."
        )
        severity = "warning" if finetune or not train_fell else "error"
        return [
            finding(
                RULE,
                severity=severity,
                confidence=confidence,
                title=(
                    f"Overfitting: val is {shown_rise:.3f} above its best (step {best_step:,})"
                    + (" while train fell" if train_fell else "")
                ),
                message=(
                    f"Val was lowest at step {best_step:,} ({fmt_loss(best_val, noise)}) and has since "
                    f"risen to {fmt_loss(last_val, noise)} at step {last_step:,}; smoothed, the rise is "
                    f"{rise / noise if noise > 0 else math.inf:.0f}x the noise of one eval ({noise:.2g}"
                    + ("" if noise_known else ", assumed: the log gives no way to measure it")
                    + "); "
                    + how
                    + _epochs_clause(ctx)
                    + _finetune_clause(finetune)
                ),
                evidence=evidence,
                fixes=_fixes(ctx, best_step, last_step, finetune, limits),
                line=int(val.lines[best]),
            )
        ]
    if gap_last is not None and gap_last <= noise and not rose:
        return [_not_supported(evidence, last_val, train_last, noise)]
    vt, tt = a.val_trend, a.train_trend
    gap_at_window = _gap_at(ctx, vt.start_step) if vt else None
    if (
        vt
        and tt
        and vt.verdict != "improving"
        and -vt.change <= threshold  # what "stalled" claims: no fall beyond noise over the window
        and tt.verdict == "improving"
        and gap_last is not None
        and gap_at_window is not None
        and gap_last - gap_at_window > threshold
        and a.gap is not None
        and a.gap.memorising
    ):
        evidence.update(
            {
                "val_slope_per_1k": vt.slope_per_1k,
                "train_slope_per_1k": tt.slope_per_1k,
                "gap_at_window_start": gap_at_window,
            }
        )
        eval_mode_train = len(a.train_eval) > 0
        return [
            finding(
                RULE,
                severity="warning",
                confidence=(LIKELY if noise_known else POSSIBLE) - (0 if eval_mode_train else DOUBT),
                title=f"Val has stalled while train keeps falling (gap {gap_last:.3f})",
                message=(
                    f"Val has not improved beyond noise since its best at step {best_step:,} "
                    f"({fmt_loss(best_val, noise)}) while train keeps falling; the train/val gap grew "
                    f"from {gap_at_window:.3f} at step {vt.start_step:,} to {gap_last:.3f}. The model "
                    "has started to memorise: further steps will mostly widen the gap."
                    + _epochs_clause(ctx)
                    + _finetune_clause(finetune)
                ),
                evidence=evidence,
                fixes=_fixes(ctx, best_step, last_step, finetune, limits),
            )
        ]
    return []


def _memorised_with_few_evals(ctx: Context, limits) -> list:
    """Too few evals to find the best one, but the last eval alone can show memorisation: the
    train estimate (same eval code, same batch count) far below val."""
    a = ctx.analyses
    if not len(a.train_eval) or a.train_eval.steps[-1] != a.val.steps[-1]:
        return []
    train, val = float(a.train_eval.values[-1]), float(a.val.values[-1])
    ratio = val / train if train > 0 else math.inf
    if ratio < limits.memorised_ratio or val - train < limits.memorised_gap:
        return []
    step = int(a.val.steps[-1])
    return [
        finding(
            RULE,
            severity="warning",
            confidence=LIKELY - DOUBT,
            title=f"Train has been memorised: val {val:.3f} is {ratio:.1f}x train {train:.3f}",
            message=(
                f"At step {step:,} the train estimate is {train:.4f} and val {val:.4f}: the model "
                "scores the text it trains on far better than new text. With only "
                f"{len(a.val)} evals the log cannot show where val was best, so the step to stop "
                "at is unknown; evaluate more often to find it." + _epochs_clause(ctx)
            ),
            evidence={
                "step": step,
                "train_loss": train,
                "val_loss": val,
                "val_over_train": ratio,
                "gap": val - train,
                "evals": len(a.val),
                "epochs": ctx.facts.epochs,
            },
            fixes=[
                f"{ctx.setting(eval_interval=max(1, step // 10))} (ten evals over this run) to find the best step",
                *_fixes(ctx, step, step, a.finetune[0] is True, limits)[1:],
            ],
            line=int(a.val.lines[-1]),
        )
    ]


def _not_supported(evidence: dict, last_val: float, train_last: float, noise: float):
    return finding(
        RULE,
        severity="info",
        confidence=STRONG,
        title=f"Not overfitting: val {fmt_loss(last_val, noise)} is at or below train {fmt_loss(train_last, noise)}",
        message=(
            f"At the last eval val is {fmt_loss(last_val, noise)} and train "
            f"{fmt_loss(train_last, noise)}: a model that overfits scores clearly better on the "
            "text it trains on. Shrinking the model or adding regularisation would not help here."
        ),
        evidence={},
        counter_evidence=evidence,
        ruled_out=True,
    )


def _rolling_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred rolling mean (shorter at the ends)."""
    if width <= 1 or len(values) < width:
        return values.astype(float)
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(np.ones(len(values)), kernel, mode="same")
    return sums / counts


MICRO_BATCH_REACH = 10  # a micro-batch train loss at a step: the median of the 21 around it


def _train_at(ctx: Context, step: int) -> float | None:
    """Train loss at a step: the eval-mode train estimate, else the median of nearby iter losses."""
    train = ctx.analyses.train_eval
    if len(train):
        return train.value_near(step)
    it = ctx.analyses.iter_loss
    # A logged window mean (HF) already averages many steps: one is a train loss.
    reach = MICRO_BATCH_REACH if ctx.parsed.meta.loss_kind == "micro_batch" else 0
    if len(it) < max(2 * reach, 4) or not ctx.analyses.train_val_comparable:
        return None
    i = int(np.argmin(np.abs(it.steps - step)))
    lo, hi = max(0, i - reach), min(len(it), i + reach + 1)
    return float(median(it.values[lo:hi]))


def _gap_at(ctx: Context, step: int) -> float | None:
    train = _train_at(ctx, step)
    val = ctx.analyses.val.value_near(step)
    return None if train is None or val is None else val - train


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


def _finetune_clause(finetune: bool) -> str:
    return (
        " In a fine-tune eval loss often rises after the first epoch while the model still "
        "improves at its task: keep the best checkpoint and judge it on the task."
        if finetune
        else ""
    )


def _fixes(ctx: Context, stop_step: int, last_step: int, finetune: bool, limits) -> list[str]:
    saved = 1 - stop_step / last_step if last_step else 0.0
    cost = f": the same val for {saved:.0%} less compute" if saved > 0 else ""
    if finetune:
        fixes = [f"keep the checkpoint of step {stop_step:,} (the best eval) and stop there next time{cost}"]
    elif ctx.nanogpt_flags:
        fixes = [
            f"{ctx.setting(max_iters=stop_step, lr_decay_iters=stop_step)} (stop where val was "
            f"best, annealed by then{cost})"
        ]
    else:
        fixes = [f"stop at step {stop_step:,}, where val was best, with the LR schedule ending there{cost}"]
    epochs = ctx.facts.epochs
    if epochs and epochs > limits.more_data_epochs and not finetune:
        fixes.append(
            f"more training data: {epochs:.0f} epochs is far past the ~{limits.more_data_epochs:.0f} "
            "that repetition tolerates"
        )
    if finetune and epochs and epochs > 1:
        fixes.append(
            f"fewer epochs ({max(1, int(epochs * stop_step / max(last_step, 1)))} reach the "
            "best eval) or a lower learning rate"
        )
    dropout = ctx.config.get("dropout") if ctx.analyses.config_known else None
    if isinstance(dropout, (int, float)) and not isinstance(dropout, bool):
        new = max(round(dropout + DROPOUT_STEP, 2), DROPOUT_FLOOR) if dropout < DROPOUT_CEILING else None
        if new is not None:
            fixes.append(f"{ctx.setting(dropout=new)} (now {dropout})")
    if (
        ctx.nanogpt_flags
        and ctx.analyses.config_known
        and ctx.config.get("always_save_checkpoint") is not False
    ):
        fixes.append(f"{ctx.setting(always_save_checkpoint=False)} (keep only the best-val checkpoint)")
    return fixes


# Dropout advice: a step of 0.1 up to 0.5; from no dropout, straight to 0.2 (nanoGPT's
# shakespeare_char value for a small model on a small dataset).
DROPOUT_STEP, DROPOUT_FLOOR, DROPOUT_CEILING = 0.1, 0.2, 0.5
