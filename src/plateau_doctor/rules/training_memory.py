"""PD608: a plan's training memory at its micro-batch, against the GPU it will train on."""

from __future__ import annotations

from ..domain.memory import (
    ALLOCATOR_OVERHEAD,
    CUDA_CONTEXT_GIB,
    GIB,
    Device,
    GPTShape,
    UnknownDevice,
    fit_on_device,
    parse_device,
)
from ..model import RuleInfo, Threshold
from ..resolve.facts import model_shape
from .base import LIKELY, POSSIBLE, STRONG, TRAINS_NOTHING, Context, Skip, finding

RULE = RuleInfo(
    code="PD608",
    name="training-memory",
    category="config",
    severity="error",
    summary="The plan's training memory at its micro-batch does not fit (or barely fits) the GPU.",
    what="Estimates the peak memory of one training step of nanoGPT's GPT at batch_size sequences "
    "of block_size tokens: weights, gradients and AdamW state (16 bytes per parameter), the "
    "autocast copies, the activations kept for the backward pass (Korthikanti et al. 2022, "
    "flash attention) and the logits with the cross-entropy's copy, plus the allocator's "
    "overhead, and compares it with the GPU given by --gpu or named in the config's comments "
    "(less the CUDA context). Where it does not fit, finds the largest micro-batch that does "
    "with the gradient accumulation that keeps the tokens per iteration. Judged before a run "
    "only: a run that logged steps had the memory.",
    why="A run that does not fit dies with CUDA out of memory at the first step; one that barely "
    "fits may die at the first eval or checkpoint. The same tokens per iteration at a smaller "
    "micro-batch trains the same model on the same schedule.",
    fix="A smaller batch_size with a larger gradient_accumulation_steps (same product), or a GPU "
    "with more memory; a model that does not fit even at batch_size 1 needs a smaller model, "
    "activation checkpointing or a sharded optimizer.",
    reference="Rajbhandari et al. 2020 (ZeRO), 16 bytes of model state per parameter; Korthikanti "
    "et al. 2022, activation memory per layer.",
    example="ERROR PD608 Training needs ~14.2 GiB at batch_size 16; the RTX 4070 has 11.2 GiB usable",
    thresholds=(
        Threshold(
            "estimate_margin",
            0.15,
            "of usable memory",
            "the estimate leaves out transient buffers (the logits' gradient at the start of the "
            "backward pass, library workspaces) and allocators differ between PyTorch versions: "
            "within 15% of the GPU's memory is a call it cannot make, beyond it a clear one",
        ),
    ),
    weight=0.9,
    log_free=True,
    plan_only=True,
)


def check(ctx: Context, limits) -> list:
    f = ctx.facts
    if not f.planned:
        return [Skip(RULE.code, "judged before a run: a run that logged steps had the memory")]
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    if not f.gpu:
        return [Skip(RULE.code, "no GPU given (--gpu NAME, or a GPU named in the config's comments)")]
    device_setting = str(ctx.config.get("device") or "")
    if device_setting.startswith("cpu"):
        return [Skip(RULE.code, f"the config trains on the CPU (device={device_setting!r})")]
    try:
        device = parse_device(f.gpu)
    except UnknownDevice as exc:
        return [Skip(RULE.code, str(exc))]
    shape = _shape(ctx)
    if shape is None:
        return [Skip(RULE.code, "the model's shape is unknown (n_layer, n_head, n_embd, vocabulary)")]
    try:
        batch = int(ctx.config.get("batch_size"))
        accumulation = int(ctx.config.get("gradient_accumulation_steps"))
    except (TypeError, ValueError):
        return [Skip(RULE.code, "batch_size or gradient_accumulation_steps unknown")]
    if batch <= 0 or accumulation <= 0:
        return [Skip(RULE.code, "batch_size and gradient_accumulation_steps must be positive")]
    dtype = str(ctx.config.get("dtype") or "bfloat16")
    compiled = bool(ctx.config.get("compile", True))
    margin = limits.estimate_margin
    here = fit_on_device(shape, batch, accumulation, device, dtype, compiled=compiled)
    needed = here.estimate.total_gib * ALLOCATOR_OVERHEAD
    usable = device.usable_gib
    share = needed / usable if usable > 0 else float("inf")
    evidence = {
        "gpu": device.name,
        "gpu_memory_gib": device.memory_gib,
        "usable_gib": usable,
        "needed_gib": needed,
        "batch_size": batch,
        "model_state_gib": (here.estimate.model_state + here.estimate.autocast_copies) / GIB,
        "activations_gib": (here.estimate.activations + here.estimate.output_layer) / GIB,
        "dtype": dtype,
        "compiled": compiled,
    }
    where = f"{device.name} ({device.memory_gib:g} GB, {usable:.1f} GiB usable)"
    if share <= 1 - margin:
        return [
            finding(
                RULE,
                severity="info",
                confidence=LIKELY,
                title=f"Fits the {device.name}: ~{needed:.1f} of {usable:.1f} GiB at batch_size {batch}",
                message=f"Training needs ~{needed:.1f} GiB per GPU at batch_size {batch}, {share:.0%} of the {where}."
                + (f" {device.note}." if device.note else ""),
                evidence=evidence,
            )
        ]
    # a micro-batch that fits with the margin kept free, at the same tokens per iteration
    room = Device(device.name, usable * (1 - margin) + CUDA_CONTEXT_GIB)
    smaller = fit_on_device(shape, batch, accumulation, room, dtype, compiled=compiled)
    clear = share > 1 + margin
    return [
        finding(
            RULE,
            severity="error" if clear else "warning",
            confidence=STRONG if clear else POSSIBLE,
            title=(
                f"Training needs ~{needed:.1f} GiB at batch_size {batch}; the {device.name} has "
                f"{usable:.1f} GiB usable"
            ),
            message=(
                f"At batch_size {batch} one training step needs ~{needed:.1f} GiB ({share:.0%} of the "
                f"{where}): "
                + (
                    "it will not fit (CUDA out of memory at the first step)."
                    if clear
                    else "within the estimate's error of the GPU's memory, so it may not fit, or "
                    "fail later at an eval or a checkpoint."
                )
                + (f" {device.note}." if device.note else "")
            ),
            evidence=evidence,
            fixes=_fixes(ctx, smaller, shape, batch, accumulation),
        )
    ]


def _fixes(ctx: Context, fit, shape: GPTShape, batch: int, accumulation: int) -> list[str]:
    if fit.fits:  # fits with the margin at this batch: only the margin was at stake
        return []
    if fit.micro_batch:
        tokens = batch * accumulation * shape.block_size
        needed = fit.estimate_at_fit.total_gib * ALLOCATOR_OVERHEAD
        return [
            f"{ctx.setting(batch_size=fit.micro_batch, gradient_accumulation_steps=fit.gradient_accumulation_steps)}"
            f" (~{needed:.1f} GiB; the same {tokens:,} tokens per iteration, so the schedule and "
            "the tokens planned are unchanged)",
        ]
    state = (fit.estimate.model_state + fit.estimate.autocast_copies) / GIB
    return [
        f"a smaller model or a GPU with more memory: the weights, gradients and AdamW state alone "
        f"take {state:.1f} GiB (or activation checkpointing, or a sharded optimizer across GPUs)"
    ]


def _shape(ctx: Context) -> GPTShape | None:
    shape = model_shape(ctx.parsed, ctx.config, ctx.analyses.config_known)
    if shape is None:
        return None
    try:
        dropout = float(ctx.config.get("dropout") or 0.0)
    except (TypeError, ValueError):
        dropout = 0.0
    return GPTShape(*shape, dropout=dropout)
