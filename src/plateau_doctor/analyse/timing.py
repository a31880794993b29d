"""Iteration timing from the times a log prints: the typical iteration, the eval time hidden in
the iterations right after each eval (nanoGPT's dt includes the eval and, at the first
iteration, compilation), the logging interval and the typical MFU."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.medians import median as finite_median


@dataclass(frozen=True)
class IterationTiming:
    median_iter_ms: float  # over iterations that are neither the first nor right after an eval
    n_normal: int  # how many such iterations the median rests on
    eval_excess_ms: float  # time the post-eval iterations took beyond the median, summed
    evals_timed: int  # post-eval iterations with a time
    first_iter: int
    last_iter: int
    n_timed: int = 0  # iterations with a finite time
    log_interval: float = 1.0  # median gap between logged iterations
    median_mfu_percent: float | None = None  # over the iterations that print a finite MFU


def iteration_timing(
    iters: np.ndarray, times_ms: np.ndarray, eval_steps: np.ndarray, mfu_percent: np.ndarray | None = None
) -> IterationTiming | None:
    """None when no iteration outside the first and the post-eval ones has a time."""
    steps = np.asarray(iters)
    times = np.asarray(times_ms, dtype=float)
    if not len(steps):
        return None
    finite = np.isfinite(times)
    evals = np.asarray(eval_steps)
    is_eval = _is_one_of(steps, evals[evals > 0]) & finite
    first_iter = steps.min()
    normal = finite & ~is_eval & (steps != first_iter)
    if not normal.any():
        return None
    median = finite_median(times[normal])
    excess = float(np.clip(times[is_eval] - median, 0, None).sum())
    return IterationTiming(
        median,
        int(normal.sum()),
        excess,
        int(is_eval.sum()),
        int(first_iter),
        int(steps.max()),
        n_timed=int(finite.sum()),
        log_interval=_median_gap(steps),
        median_mfu_percent=_finite_median(mfu_percent),
    )


def _median_gap(steps: np.ndarray) -> float:
    if len(steps) < 2:
        return 1.0
    gaps = np.diff(steps)
    if (gaps == gaps[0]).all():  # the usual case, a fixed log_interval: no median to sort for
        return float(gaps[0])
    return float(finite_median(gaps))


def _finite_median(values: np.ndarray | None) -> float | None:
    if values is None:
        return None
    values = np.asarray(values, dtype=float).ravel()
    finite = np.isfinite(values)
    first = int(finite.argmax()) if len(values) else 0  # the first finite value (0: none)
    if not len(values) or not finite[first]:
        return None
    if finite[first:].all():  # the usual gap: nanoGPT's -100% placeholders before MFU is measured
        return finite_median(values[first:])  # a view: no copy of a million values
    return finite_median(values[finite])


def _is_one_of(steps: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """np.isin for the usual case, steps already increasing: a binary search per wanted step
    instead of a sort of a million steps."""
    if len(steps) < 2 or not bool(np.all(steps[1:] > steps[:-1])):
        return np.isin(steps, wanted)
    at = np.searchsorted(steps, wanted)
    found = at < len(steps)
    at = at[found][steps[at[found]] == wanted[found]]
    mask = np.zeros(len(steps), dtype=bool)
    mask[at] = True
    return mask
