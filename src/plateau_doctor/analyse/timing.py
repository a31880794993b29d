"""Iteration timing from the times a log prints: the typical iteration, the eval time hidden in
the iterations right after each eval (nanoGPT's dt includes the eval and, at the first
iteration, compilation), the logging interval and the typical MFU."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.medians import median as finite_median


@dataclass(frozen=True)
class IterationTiming:
    """How long iterations take, what evals add to them, and the MFU."""

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
    gaps = np.diff(steps)
    one_gap = len(gaps) > 0 and bool((gaps == gaps[0]).all())
    # the usual log: integer steps every log_interval-th iteration, in order; then a row is found
    # by a binary search, the first and last are the ends, and the only row at the first step is
    # row 0 (a million-row log re-diagnosed at every eval by `watch` saves five passes over it)
    fixed_gap = one_gap and steps.dtype.kind in "iu" and gaps[0] > 0 and spans(steps, gaps[0])
    # compared, not subtracted: a difference of narrow or extreme integers can wrap around
    increasing = fixed_gap or bool(np.all(steps[1:] > steps[:-1]))
    # the median gap between logged iterations (1 for a single row; one gap is itself, also where
    # a median of two would overflow)
    log_interval = float(gaps[0]) if one_gap else float(finite_median(gaps)) if len(gaps) else 1.0
    del gaps  # 8 MB at a million rows: freed before the times are copied (the peak RSS)
    finite = np.isfinite(times)
    evals = np.asarray(eval_steps)
    evals = evals[evals > 0]
    if fixed_gap:
        first_iter, last_iter = steps[0], steps[-1]
        is_eval = rows_at(steps, evals)
        is_eval &= finite
        normal = finite & ~is_eval
        normal[0] = False
    else:
        first_iter, last_iter = steps.min(), steps.max()
        is_eval = (rows_at(steps, evals) if increasing else np.isin(steps, evals)) & finite
        normal = finite & ~is_eval & (steps != first_iter)
    n_normal = int(np.count_nonzero(normal))
    if not n_normal:
        return None
    median = finite_median(times[normal])
    excess = float(np.clip(times[is_eval] - median, 0, None).sum())
    return IterationTiming(
        median,
        n_normal,
        excess,
        int(np.count_nonzero(is_eval)),
        int(first_iter),
        int(last_iter),
        n_timed=int(np.count_nonzero(finite)),
        log_interval=log_interval,
        median_mfu_percent=_finite_median(mfu_percent),
    )


def spans(steps: np.ndarray, gap) -> bool:
    """Do integer steps that all differ by `gap` in numpy really do so? Their ends are compared
    in Python integers: a difference that wrapped around (uint64 steps going down, int64 ones
    past 2**63) repeats the same gap in numpy."""
    return int(steps[-1]) - int(steps[0]) == int(gap) * (len(steps) - 1)


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


def rows_at(steps: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """np.isin(steps, wanted) for increasing steps: a binary search per wanted step instead of a
    sort of a million steps."""
    mask = np.zeros(len(steps), dtype=bool)
    mask[positions_of(steps, wanted)] = True
    return mask


def positions_of(steps: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The rows of increasing `steps` whose step is one of `wanted`, ascending, each once."""
    at = np.searchsorted(steps, wanted)
    found = at < len(steps)
    at = np.sort(at[found][steps[at[found]] == wanted[found]])
    return at[np.concatenate(([True], at[1:] != at[:-1]))] if len(at) else at
