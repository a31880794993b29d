"""Iteration timing from the times a log prints: the typical iteration, and the eval time hidden
in the iterations right after each eval (nanoGPT's dt includes the eval and, at the first
iteration, compilation)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IterationTiming:
    median_iter_ms: float     # over iterations that are neither the first nor right after an eval
    n_normal: int             # how many such iterations the median rests on
    eval_excess_ms: float     # time the post-eval iterations took beyond the median, summed
    evals_timed: int          # post-eval iterations with a time
    first_iter: int
    last_iter: int


def iteration_timing(iters: np.ndarray, times_ms: np.ndarray, eval_steps: np.ndarray) -> IterationTiming | None:
    """None when no iteration outside the first and the post-eval ones has a time."""
    steps = np.asarray(iters)
    times = np.asarray(times_ms, dtype=float)
    if not len(steps):
        return None
    finite = np.isfinite(times)
    evals = np.asarray(eval_steps)
    is_eval = np.isin(steps, evals[evals > 0]) & finite
    normal = finite & ~is_eval & (steps != steps.min())
    if not normal.any():
        return None
    median = float(np.median(times[normal]))
    excess = float(np.clip(times[is_eval] - median, 0, None).sum())
    return IterationTiming(median, int(normal.sum()), excess, int(is_eval.sum()),
                           int(steps.min()), int(steps.max()))
