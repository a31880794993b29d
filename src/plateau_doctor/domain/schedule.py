"""Where the learning-rate schedule stands.

nanoGPT does not print its learning rate, so it is rebuilt from the config with nanoGPT's own
get_lr (NANOGPT_FORMAT.md section 7). Formats that do print it (llm.c, HF, forks) are summarised
by `logged_lr_trend`, which looks for the one pattern a config cannot show: an LR that grows
again after warmup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PHASES = ("warmup", "decay", "min_lr", "constant")

# The config keys nanoGPT's get_lr reads, in nanogpt_lr's argument order.
SCHEDULE_KEYS = ("learning_rate", "warmup_iters", "lr_decay_iters", "min_lr", "decay_lr")


def schedule_args(values: tuple) -> tuple[float, int, int, float, bool]:
    """SCHEDULE_KEYS' values as nanogpt_lr takes them; ValueError/TypeError if one is not a number."""
    learning_rate, warmup, decay_iters, min_lr, decay = values
    return float(learning_rate), int(warmup), int(decay_iters), float(min_lr), bool(decay)


def nanogpt_lr(
    it,
    learning_rate: float,
    warmup_iters: int,
    lr_decay_iters: int,
    min_lr: float,
    decay_lr: bool = True,
    old_warmup: bool = False,
):
    """nanoGPT's get_lr for an int (returns a float) or an array of iterations (returns an array).

    Warmup: learning_rate * (it + 1) / (warmup_iters + 1), or learning_rate * it / warmup_iters
    with `old_warmup` (train.py before commit dc81cb36, 2024-12-09). After lr_decay_iters: min_lr.
    Between: cosine from learning_rate down to min_lr. decay_lr=False: learning_rate throughout.
    Where nanoGPT would divide by zero (lr_decay_iters <= warmup_iters), we return min_lr after
    warmup instead of crashing.
    """
    scalar = np.ndim(it) == 0
    its = np.asarray(it, dtype=float)
    if not decay_lr:
        lr = np.full(its.shape, float(learning_rate))
        return float(lr) if scalar else lr

    lr = np.full(its.shape, float(min_lr))
    decay_span = lr_decay_iters - warmup_iters
    if decay_span > 0:
        in_decay = (its >= warmup_iters) & (its <= lr_decay_iters)
        ratio = (its[in_decay] - warmup_iters) / decay_span
        coeff = 0.5 * (1.0 + np.cos(math.pi * ratio))
        lr[in_decay] = min_lr + coeff * (learning_rate - min_lr)
    if warmup_iters > 0:
        in_warmup = its < warmup_iters
        if old_warmup:
            lr[in_warmup] = learning_rate * its[in_warmup] / warmup_iters
        else:
            lr[in_warmup] = learning_rate * (its[in_warmup] + 1) / (warmup_iters + 1)
    return float(lr) if scalar else lr


@dataclass(frozen=True)
class SchedulePosition:
    """The nanoGPT schedule at one iteration (usually the last logged one)."""

    phase: str  # 'warmup' | 'decay' | 'min_lr' | 'constant'
    iter: int
    lr_now: float
    lr_peak: float  # learning_rate
    lr_min: float  # min_lr as configured
    lr_now_over_min: float | None  # None when min_lr <= 0, or decay_lr=False (min_lr unused)
    lr_now_over_peak: float
    decay_fraction: float | None  # fraction of the cosine done, 0..1; None when constant
    iters_to_min_lr: int | None  # None when constant
    warmup_iters: int
    lr_decay_iters: int
    max_iters: int | None
    decay_ends_before_max: bool  # LR sits at min_lr for the last max_iters - lr_decay_iters
    decay_ends_after_max: bool  # the run stops before the LR reaches min_lr
    lr_at_max_iters: float | None = None  # where the run will end, when max_iters is known


def schedule_position(
    last_iter: int,
    learning_rate,
    warmup_iters,
    lr_decay_iters,
    min_lr,
    decay_lr=True,
    max_iters: int | None = None,
) -> SchedulePosition:
    """Phase, current LR and what is left of the decay at `last_iter`."""

    def lr_at(i):
        return nanogpt_lr(i, learning_rate, warmup_iters, lr_decay_iters, min_lr, decay_lr)

    lr_now = lr_at(last_iter)
    # With no decay span (lr_decay_iters <= warmup_iters) the LR drops to min_lr at warmup's end.
    reaches_min_at = max(lr_decay_iters, warmup_iters)
    if not decay_lr:
        phase, decay_fraction, iters_to_min = "constant", None, None
    else:
        if last_iter < warmup_iters:
            phase = "warmup"
        elif last_iter >= reaches_min_at:
            phase = "min_lr"
        else:
            phase = "decay"
        decay_span = lr_decay_iters - warmup_iters
        if decay_span > 0:
            decay_fraction = min(max((last_iter - warmup_iters) / decay_span, 0.0), 1.0)
        else:
            decay_fraction = 0.0 if last_iter < warmup_iters else 1.0
        iters_to_min = max(0, reaches_min_at - last_iter)

    over_min = lr_now / min_lr if decay_lr and min_lr > 0 else None
    over_peak = lr_now / learning_rate if learning_rate > 0 else math.nan
    known_max = max_iters is not None and decay_lr
    return SchedulePosition(
        phase=phase,
        iter=int(last_iter),
        lr_now=lr_now,
        lr_peak=float(learning_rate),
        lr_min=float(min_lr),
        lr_now_over_min=over_min,
        lr_now_over_peak=over_peak,
        decay_fraction=decay_fraction,
        iters_to_min_lr=iters_to_min,
        warmup_iters=int(warmup_iters),
        lr_decay_iters=int(lr_decay_iters),
        max_iters=max_iters,
        decay_ends_before_max=known_max and lr_decay_iters < max_iters,
        decay_ends_after_max=known_max and lr_decay_iters > max_iters,
        lr_at_max_iters=lr_at(max_iters) if max_iters is not None else None,
    )


@dataclass(frozen=True)
class LoggedLR:
    """Shape of a printed learning-rate series."""

    first: float
    peak: float
    last: float
    peak_iter: int
    max_ratio_increase: float  # largest factor the LR grows by after its first peak region
    # (16 when it doubles four times); 1.0 for warmup-then-decay
    doublings: int  # times the LR at least doubles from its running minimum there
    monotone_after_peak: bool  # never rises after the first peak region
    peak_region_iter: int = 0  # where the first peak region was taken to start
    last_iter: int = 0  # the last iteration with a logged LR


def _first_peak_index(lrs: np.ndarray) -> int:
    """Where warmup ends: the first point after which the LR falls, or holds for two intervals
    (three equal printed values). A single tie is not a hold: a long linear warmup printed with
    few digits repeats values in pairs. If the LR only ever rises, the whole log is a ramp."""
    for i in range(len(lrs) - 1):
        falls = lrs[i + 1] < lrs[i]
        holds = i + 2 < len(lrs) and lrs[i + 1] == lrs[i] and lrs[i + 2] == lrs[i]
        if falls or holds:
            return i
    return len(lrs) - 1


# Values looked at per step when searching for the next doubling; doubled while none is found, so
# a search costs about the distance it covers, and a million-value series takes milliseconds.
DOUBLING_SEARCH_VALUES = 1024


def _count_doublings(lr: np.ndarray, floor: float) -> int:
    """How many times the LR reaches twice its minimum since the last doubling (the first value
    is the first reference; each doubling becomes the next). One vectorised search per doubling:
    a cyclic schedule doubles a few times per cycle, a monotone one never."""
    doublings, start = 0, 0
    while start < len(lr) - 1:
        found = _next_doubling(lr, start, floor)
        if found is None:
            return doublings
        doublings, start = doublings + 1, found
    return doublings


def _next_doubling(lr: np.ndarray, start: int, floor: float) -> int | None:
    """The first index after `start` whose LR is at least twice the minimum of lr[start:index]."""
    reference = lr[start]
    looked = start + 1
    span = DOUBLING_SEARCH_VALUES
    while looked < len(lr):
        stop = min(len(lr), looked + span)
        # the reference each value meets: the minimum of everything before it since `start`
        before = np.minimum.accumulate(np.concatenate(([reference], lr[looked : stop - 1])))
        hits = np.flatnonzero(lr[looked:stop] >= 2.0 * np.maximum(before, floor))
        if len(hits):
            return looked + int(hits[0])
        reference = min(reference, float(lr[looked:stop].min()))
        looked, span = stop, 2 * span
    return None


def logged_lr_trend(iters, lrs, warmup_iters: int | None = None) -> LoggedLR | None:
    """Summarise a printed LR series; None when it has no finite values.

    The first peak region starts at the first logged iter >= warmup_iters when that is known,
    else where the LR first stops rising (see _first_peak_index). From there on, the LR is
    compared with its running minimum: the largest ratio is `max_ratio_increase`, and each time
    it reaches twice the minimum since the last doubling counts as one doubling.
    """
    it = np.asarray(iters, dtype=float).ravel()
    lr = np.asarray(lrs, dtype=float).ravel()
    keep = np.isfinite(it) & np.isfinite(lr)
    it, lr = it[keep], lr[keep]
    if len(lr) == 0:
        return None
    if not np.all(it[1:] >= it[:-1]):  # printed in step order, as usual: already sorted
        order = np.argsort(it, kind="stable")
        it, lr = it[order], lr[order]

    if warmup_iters is not None and np.any(it >= warmup_iters):
        start = int(np.argmax(it >= warmup_iters))
    else:
        start = _first_peak_index(lr)
    after = lr[start:]
    running_min = np.minimum.accumulate(after)
    floor = max(float(lr.max()) * 1e-6, 1e-30)  # an LR decayed to 0 must not divide by zero
    max_ratio = float(np.max(after / np.maximum(running_min, floor)))

    doublings = _count_doublings(after, floor)
    peak_index = int(np.argmax(lr))
    return LoggedLR(
        first=float(lr[0]),
        peak=float(lr[peak_index]),
        last=float(lr[-1]),
        peak_iter=int(it[peak_index]),
        max_ratio_increase=max_ratio,
        doublings=doublings,
        monotone_after_peak=bool(np.all(np.diff(after) <= 0)),
        peak_region_iter=int(it[start]),
        last_iter=int(it[-1]),
    )
