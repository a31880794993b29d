"""PD105: a plan trains in float16 with gradient clipping off."""

from __future__ import annotations

from ..model import RuleInfo
from .base import LIKELY, TRAINS_NOTHING, Context, Skip, finding

RULE = RuleInfo(
    code="PD105",
    name="fp16-without-clipping",
    category="divergence",
    severity="warning",
    summary="The plan trains in float16 with gradient clipping off (grad_clip=0 / max_grad_norm=0).",
    what="Reads the config's precision (nanoGPT's dtype, TrainingArguments' fp16) and its gradient "
    "clipping (grad_clip, max_grad_norm): float16 with clipping off is the combination that lets one "
    "burst of large gradients reach the weights whole. Judged before a run only: a log shows "
    "whether the run stayed stable (PD101, PD102, PD402).",
    why="float16 has 5 exponent bits (largest value 65504): the loss scaler keeps gradients in "
    "range by skipping the steps that overflow, but a step whose gradients are large and still "
    "finite is applied in full. Clipping the global norm (1.0 in nanoGPT, GPT-3, HF) is what bounds "
    "such a step; without it fp16 runs are prone to loss spikes and divergence.",
    fix="grad_clip = 1.0 (max_grad_norm = 1.0); or bfloat16, with float32's exponent range, on a GPU "
    "that has it (NVIDIA Ampere and newer).",
    reference="Micikevicius et al. 2018, Mixed Precision Training (loss scaling); Brown et al. 2020 "
    "(GPT-3) clip the global norm at 1.0; nanoGPT train.py grad_clip = 1.0.",
    example="WARNING PD105 float16 training with gradient clipping off",
    weight=0.6,
    log_free=True,
    plan_only=True,
)


def check(ctx: Context, limits) -> list:
    if not ctx.facts.planned:
        return [Skip(RULE.code, "judged before a run: a log shows whether it stayed stable (PD101, PD102)")]
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    config = ctx.config
    dtype, clip = config.get("dtype"), config.get("grad_clip")
    if dtype is None or clip is None:
        return [Skip(RULE.code, "precision or gradient clipping unknown")]
    try:
        clipping = float(clip) > 0
    except (TypeError, ValueError):
        return [Skip(RULE.code, f"grad_clip={clip!r} is not a number")]
    if dtype != "float16" or clipping:
        return []
    return [
        finding(
            RULE,
            confidence=LIKELY,
            title="float16 training with gradient clipping off",
            message=(
                f"The plan trains in float16 with {ctx.setting(grad_clip=clip)}: the loss scaler only "
                "skips steps whose gradients overflow, so a burst of large but finite gradients is "
                "applied whole. Clipping at 1.0 bounds every step; bfloat16 has float32's range."
            ),
            evidence={"dtype": dtype, "grad_clip": clip},
            fixes=[ctx.setting(grad_clip=1.0), f"{ctx.setting(dtype='bfloat16')} on a GPU that supports it"],
        )
    ]
