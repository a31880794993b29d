"""Will a GPT of a given shape train on this GPU at this batch, and if not, what batch will?

Training memory of nanoGPT's model.py GPT under train.py (AdamW, torch.amp autocast):
- model state, 16 bytes per parameter in every dtype: fp32 weights (4), fp32 gradients (4) and
  AdamW's two fp32 moments (8); autocast keeps 16-bit copies of the weights (2) while it runs.
  (ZeRO paper, Rajbhandari et al. 2020, section 3.1: "16 bytes" of model state per parameter.)
- activations kept for the backward pass, per layer and micro-batch sequence of s tokens, from
  Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models",
  arXiv 2205.05198, eq. 1, no tensor parallelism): s*b*h*(34 + 5*a*s/h) bytes with 16-bit
  activations: 32*s*b*h bytes of 16-bit tensors, 2*s*b*h of dropout masks and 5*a*s^2*b of
  attention scores, softmax and its dropout mask. Flash attention (nanoGPT on PyTorch >= 2.0)
  keeps none of the s^2 terms. Dropout 0 keeps no masks (PyTorch skips p = 0). In float32 the
  tensors take 4 bytes instead of 2.
- the output layer, which dominates small models with GPT-2's 50k vocabulary: the logits (s*b*V)
  in 16 bits, which train.py keeps referenced, and the fp32 log-probabilities cross_entropy saves
  (Korthikanti et al. count 4*s*b*V for them); in eager PyTorch the backward pass then briefly
  holds the fp32 gradient of the logits too (another 4*s*b*V), which torch.compile's fused loss
  avoids. Plus the embedding output and the final LayerNorm input.
The estimate is approximate (allocator behaviour, compiled kernels and library workspaces vary):
it is meant to tell "fits comfortably" from "will not fit", and says how close a call is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .scale import nanogpt_param_count

GIB = 1024**3
MODEL_STATE_BYTES = 16  # fp32 weights + grads + AdamW m and v, per parameter
AUTOCAST_COPY_BYTES = 2  # the 16-bit weight copies autocast makes during the step
CUDA_CONTEXT_GIB = 0.8  # CUDA context, cuBLAS/cuDNN workspaces: never available to tensors
ALLOCATOR_OVERHEAD = 1.10  # fragmentation of PyTorch's caching allocator on top of live tensors
UNIFIED_MEMORY_SHARE = 0.75  # of an Apple M-series machine's memory the GPU may wire (macOS default
# recommendedMaxWorkingSetSize is ~2/3-3/4 of RAM); the rest is the OS's


@dataclass(frozen=True)
class GPTShape:
    """The sizes of a nanoGPT GPT that its memory depends on."""

    n_layer: int
    n_head: int
    n_embd: int
    vocab_size: int
    block_size: int
    bias: bool = False
    dropout: float = 0.0

    @property
    def n_params(self) -> int:
        """All parameters, position embeddings included: what the optimizer holds."""
        return nanogpt_param_count(
            self.n_layer, self.n_head, self.n_embd, self.vocab_size, self.block_size, self.bias
        ).total


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes at the peak of one training step (forward, backward, optimizer step)."""

    n_params: int
    micro_batch: int
    model_state: int  # weights, gradients, AdamW moments (16 bytes per parameter)
    autocast_copies: int
    activations: int  # the transformer blocks
    output_layer: int  # embeddings, final LayerNorm, logits and the cross-entropy's copy
    flash_attention: bool
    dtype: str
    compiled: bool = True

    @property
    def total(self) -> int:
        return self.model_state + self.autocast_copies + self.activations + self.output_layer

    @property
    def total_gib(self) -> float:
        return self.total / GIB


def training_memory(
    shape: GPTShape,
    micro_batch: int,
    dtype: str = "bfloat16",
    flash_attention: bool = True,
    compiled: bool = True,
) -> MemoryEstimate:
    """Peak training memory of nanoGPT's GPT at `micro_batch` sequences of block_size tokens."""
    s, b, h, a, v = shape.block_size, micro_batch, shape.n_embd, shape.n_head, shape.vocab_size
    wide = dtype == "float32"  # no autocast: every tensor in 4 bytes
    tensor_bytes = 4 if wide else 2
    masks = 2 * s * b * h if shape.dropout > 0 else 0
    per_layer = 16 * tensor_bytes * s * b * h + masks
    if not flash_attention:
        # the softmax output; with dropout also its mask (1 byte) and the dropped-out copy the
        # product with V keeps: 5 a s^2 b bytes in Korthikanti et al., 2 without dropout
        per_score = tensor_bytes * 2 + 1 if shape.dropout > 0 else tensor_bytes
        per_layer += per_score * a * s * s * b
    n_params = shape.n_params
    # lm_head output and cross_entropy's fp32 log-probabilities; eager adds the fp32 gradient
    logits = s * b * v * (tensor_bytes + 4 + (0 if compiled else 4))
    embeddings = s * b * h * (tensor_bytes * 2 + (1 if shape.dropout > 0 else 0))  # wte+wpe, ln_f
    return MemoryEstimate(
        n_params=n_params,
        micro_batch=micro_batch,
        model_state=MODEL_STATE_BYTES * n_params,
        autocast_copies=0 if wide else AUTOCAST_COPY_BYTES * n_params,
        activations=shape.n_layer * per_layer,
        output_layer=logits + embeddings,
        flash_attention=flash_attention,
        dtype=dtype,
        compiled=compiled,
    )


# -- devices ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """A GPU (or unified-memory machine) and its memory."""

    name: str
    memory_gib: float
    unified: bool = False  # Apple silicon: memory shared with the CPU and the OS
    note: str = ""

    @property
    def usable_gib(self) -> float:
        """What tensors can have: the GPU's share of unified memory, less the CUDA context."""
        if self.unified:
            return self.memory_gib * UNIFIED_MEMORY_SHARE
        return self.memory_gib - CUDA_CONTEXT_GIB


# name -> memory in GB as sold (GiB on the card). Where a name comes in several sizes, all are
# listed and the smallest is assumed unless the text names one.
GPU_MEMORY_GB: dict[str, tuple[float, ...]] = {
    "RTX 3060": (12, 8),
    "RTX 3070": (8,),
    "RTX 3080": (10, 12),
    "RTX 3090": (24,),
    "RTX 4060": (8,),
    "RTX 4070": (12,),
    "RTX 4080": (16,),
    "RTX 4090": (24,),
    "RTX 5090": (32,),
    "A100": (40, 80),
    "H100": (80,),
    "H200": (141,),
    "A40": (48,),
    "A6000": (48,),
    "A10": (24,),
    "A10G": (24,),
    "L4": (24,),
    "L40S": (48,),
    "T4": (16,),
    "V100": (16, 32),
    "P100": (16,),
}


class UnknownDevice(ValueError):
    """A --gpu string that names no known GPU and gives no memory size."""


_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(?:gb|gib|g)\b", re.IGNORECASE)
_APPLE = re.compile(r"\b(?:apple\s+)?m([1-9])(?:\s*(pro|max|ultra))?\b", re.IGNORECASE)


def parse_device(text: str) -> Device:
    """A device from text like 'RTX 4070 12GB', 'A100 80GB', 'NVIDIA H100 80GB HBM3', 'T4',
    'Apple M2 Max 32GB' or just '24GB'. Raises UnknownDevice naming the text."""
    cleaned = " ".join(text.replace("_", " ").split())
    size = _MEMORY.search(cleaned)
    explicit = float(size.group(1)) if size else None
    apple = _APPLE.search(cleaned)
    if apple:
        if explicit is None:
            raise UnknownDevice(
                f"{text!r}: Apple silicon shares its memory with the CPU; give the "
                "machine's memory, e.g. 'Apple M2 Max 32GB'"
            )
        return Device(
            f"Apple M{apple.group(1)}{(' ' + apple.group(2).title()) if apple.group(2) else ''}",
            explicit,
            unified=True,
            note=f"unified memory: the GPU shares the {explicit:g} GB with the CPU and the "
            f"OS; about {UNIFIED_MEMORY_SHARE:.0%} is usable for training",
        )
    name = _known_name(cleaned)
    if name is None:
        if explicit is None:
            raise UnknownDevice(
                f"{text!r}: not a GPU this tool knows and no memory size in it; "
                f"add the size, e.g. '{cleaned} 24GB'"
            )
        return Device(" ".join(_MEMORY.sub("", cleaned).split()) or "GPU", explicit)
    sizes = GPU_MEMORY_GB[name]
    if explicit is not None:
        return Device(name, explicit)
    note = ""
    if len(sizes) > 1:
        note = (
            f"{name} comes with {' or '.join(f'{s:g}' for s in sorted(sizes))} GB; assumed "
            f"{min(sizes):g} GB (say '{name} {max(sizes):g}GB' for the larger)"
        )
    return Device(name, float(min(sizes)), note=note)


def device_named_in(text: str) -> Device | None:
    """The GPU a piece of prose names ('on 1 node of 8X A100 40GB', 'on an RTX 4070 (12 GB)'),
    or None: only GPUs of the table count, so an unrelated size in the text names nothing, and
    words that are paths or file names (`logs/h200_run.log`) name no GPU."""
    prose = " ".join(
        word for word in text.split() if "/" not in word and "_" not in word and "\\" not in word
    )
    if _known_name(prose) is None:
        return None
    try:
        return parse_device(prose)
    except UnknownDevice:
        return None


# Each table name by its model number ('RTX 4070' by '4070'), and one pattern finding any of them as
# a word, compiled once: every comment line of a log is asked whether it names a GPU.
_NAME_OF_MODEL = {name.split()[-1].lower(): name for name in GPU_MEMORY_GB}
_MODEL_WORD = re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, _NAME_OF_MODEL)) + r")(?![a-z0-9])")


def _known_name(text: str) -> str | None:
    """The longest table name whose model number appears in `text` as a word ('4070' in
    'GeForce RTX 4070 Ti' -> 'RTX 4070'; 'A10' does not match 'A100')."""
    found = set(_MODEL_WORD.findall(text.lower()))
    if not found:  # most comments name no model number: no need to go through the table
        return None
    # the first of the longest in table order, whatever order the text names them in
    return max((name for model, name in _NAME_OF_MODEL.items() if model in found), key=len, default=None)


# -- fitting a run onto a device ----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceFit:
    """Whether a shape trains on a device at a micro-batch, and the batch change that makes it fit."""

    device: Device
    estimate: MemoryEstimate
    fits: bool
    headroom_gib: float  # usable minus needed (negative when it does not fit)
    micro_batch: int | None = None  # the largest that fits with the same tokens per iter
    gradient_accumulation_steps: int | None = None
    estimate_at_fit: MemoryEstimate | None = None
    reason: str = ""


def fit_on_device(
    shape: GPTShape,
    micro_batch: int,
    gradient_accumulation_steps: int,
    device: Device,
    dtype: str = "bfloat16",
    flash_attention: bool = True,
    compiled: bool = True,
) -> DeviceFit:
    """Does `shape` train at `micro_batch` on `device`? If not, the largest micro-batch dividing
    micro_batch x gradient_accumulation_steps that fits, with the accumulation that keeps the
    tokens per iteration (and so the schedule and the tokens seen) unchanged."""

    def needed(batch: int) -> tuple[MemoryEstimate, float]:
        est = training_memory(shape, batch, dtype, flash_attention, compiled)
        return est, est.total_gib * ALLOCATOR_OVERHEAD

    usable = device.usable_gib
    estimate, gib = needed(micro_batch)
    if gib <= usable:
        return DeviceFit(
            device, estimate, True, usable - gib, reason=f"needs ~{gib:.1f} GiB of {usable:.1f} usable"
        )
    sequences = micro_batch * gradient_accumulation_steps
    for batch in _candidate_micro_batches(micro_batch, sequences, needed, usable):
        smaller, smaller_gib = needed(batch)
        if smaller_gib <= usable:
            return DeviceFit(
                device,
                estimate,
                False,
                usable - gib,
                micro_batch=batch,
                gradient_accumulation_steps=sequences // batch,
                estimate_at_fit=smaller,
                reason=f"needs ~{gib:.1f} GiB of {usable:.1f} usable at micro-batch "
                f"{micro_batch}; micro-batch {batch} x accumulation "
                f"{sequences // batch} keeps the tokens per iteration and "
                f"needs ~{smaller_gib:.1f} GiB",
            )
    state_gib = (estimate.model_state + estimate.autocast_copies) / GIB
    return DeviceFit(
        device,
        estimate,
        False,
        usable - gib,
        reason=f"needs ~{gib:.1f} GiB at micro-batch {micro_batch} and does not fit "
        f"even at micro-batch 1 (the weights, gradients and AdamW state alone "
        f"take {state_gib:.1f} GiB): a smaller model, or activation "
        "checkpointing, or a sharded optimizer",
    )


MAX_MICRO_BATCH = 1 << 16  # sequences per micro-batch: no real config has more


def _candidate_micro_batches(micro_batch: int, sequences: int, needed, usable: float):
    """Divisors of `sequences` below `micro_batch`, largest first, from the largest batch the
    memory could hold (memory grows linearly with the micro-batch), so that a batch_size of
    a billion is not searched one by one."""
    one, two = needed(1)[1], needed(2)[1]
    per_sequence = two - one
    most = int((usable - (one - per_sequence)) / per_sequence) if per_sequence > 0 else micro_batch
    top = min(micro_batch - 1, max(most + 1, 0), MAX_MICRO_BATCH)  # +1: rounding; needed() decides
    return (d for d in range(top, 0, -1) if sequences % d == 0)


def flops_per_token(shape: GPTShape) -> float:
    """nanoGPT's estimate_mfu: 6N + 12 * L * H * Q * T FLOPs per token (forward and backward),
    N without the position embedding. Time per iteration scales with it at a fixed batch."""
    n = nanogpt_param_count(
        shape.n_layer, shape.n_head, shape.n_embd, shape.vocab_size, shape.block_size, shape.bias
    ).printed_style
    head_dim = shape.n_embd // shape.n_head
    return 6.0 * n + 12.0 * shape.n_layer * shape.n_head * head_dim * shape.block_size


def scaled_iteration_ms(observed_ms: float, observed: GPTShape, suggested: GPTShape) -> float:
    """The time per iteration of `suggested` at the same tokens per iteration, from the time the
    log shows for `observed` (same device, same efficiency: an estimate, not a measurement)."""
    return observed_ms * flops_per_token(suggested) / flops_per_token(observed)
