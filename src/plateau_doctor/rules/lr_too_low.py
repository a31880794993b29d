"""PD302: the learning rate is so small that progress is slow."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding, fmt_lr

INFO = RuleInfo(
    code="PD302", name="learning-rate-too-low", category="lr_too_low", severity="warning",
    summary="A learning rate far below the reference for the model's size while the loss is "
            "still falling slowly.",
    what="Compares the peak LR with GPT-3's table for the model's size (a hundredth of it for "
         "fine-tuning from pretrained weights, which rightly uses small LRs) and checks that the "
         "val loss is still falling at the end.",
    why="With a tiny step the loss keeps falling but slowly: the run ends far above where the same "
        "compute would have taken it.",
    fix="Raise learning_rate towards the reference (min_lr to a tenth of it).",
    reference="Brown et al. 2020 (GPT-3) Table 2.1.",
    thresholds={"ratio_warn": 0.1, "ratio_error": 0.03, "finetune_ratio": 0.01},
)


def check(ctx: Context, thresholds: dict) -> list:
    a, f = ctx.analyses, ctx.facts
    if a.peak_lr is None or a.reference_lr is None:
        return [Skip(INFO.code, "learning rate or model size unknown")]
    if a.logged_lr is not None and not a.config_known:
        if not len(a.iter_loss):    # e.g. NaN from the first step: nothing to place the peak against
            return [Skip(INFO.code, "no finite iteration loss to set the logged LR against")]
        if a.logged_lr.peak_iter >= a.iter_loss.steps[-1]:
            return [Skip(INFO.code, "the logged LR is still rising (warmup): its peak is not known yet")]
    init_from = ctx.config.get("init_from") if a.config_known else ctx.parsed.meta.init_from
    # Only a run known to start from scratch is held to pretraining LRs: fine-tunes rightly use
    # small ones, and formats that do not say how the model was initialised are mostly fine-tunes.
    from_scratch = init_from == "scratch" or (
        init_from is None and a.init_loss is not None and a.expected_init_loss is not None
        and abs(a.init_loss - a.expected_init_loss) < 1.0)
    finetune = not from_scratch
    ratio = a.peak_lr / a.reference_lr
    limit = thresholds["finetune_ratio"] if finetune else thresholds["ratio_warn"]
    if ratio >= limit:
        return []
    vt = a.val_trend
    still_falling = vt is not None and vt.verdict == "improving"
    severity = "warning"
    if still_falling and ratio < (thresholds["finetune_ratio"] / 3 if finetune else thresholds["ratio_error"]):
        severity = "error"
    elif not still_falling:
        severity = "info"
    return [finding(
        INFO, severity=severity, confidence=0.8 if still_falling else 0.4,
        # (an LR of 0, from --set or a log's override, is no multiple of anything)
        title=(f"Learning rate {fmt_lr(a.peak_lr)} is "
               f"{f'{1 / ratio:.0f}x' if ratio > 0 else 'far'} below the reference for this model"),
        message=(f"The peak LR {fmt_lr(a.peak_lr)} is {ratio:.3f}x the reference {fmt_lr(a.reference_lr)} "
                 f"for {f.n_params / 1e6:.1f}M parameters"
                 + (f", and val is still falling ({vt.slope_per_1k:+.4f} per 1k steps) at the end: "
                    "the run is slow, not finished." if still_falling else ".")),
        evidence={"peak_lr": a.peak_lr, "reference_lr": a.reference_lr, "ratio_to_reference": ratio,
                  "n_params": f.n_params, "fine_tuning": finetune,
                  "val_slope_per_1k": vt.slope_per_1k if vt else None,
                  "val_trend": vt.verdict if vt else None},
        fixes=[f"--learning_rate={fmt_lr(a.reference_lr)} --min_lr={fmt_lr(a.reference_lr / 10)}"],
        weight=1.0,
    )]
