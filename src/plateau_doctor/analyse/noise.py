"""How noisy the losses are: the per-batch sigma of iter losses, the standard error of an eval, and
the scatter of an eval series around its own trend.

Every later judgement ("the val uptick is real", "this iter loss is a spike", "the slope is flat")
compares a difference with one of these numbers, so they are estimated robustly (median and MAD),
never from a plain standard deviation that one spike would inflate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..domain.medians import median, median_of_rows, sliding

MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): MAD of a gaussian times this is its standard deviation
MAX_WINDOW = 51  # the trend window, in points; wider windows start to follow the curvature


@dataclass(frozen=True)
class SigmaEstimate:
    """Per-batch standard deviation of the iter losses around their local trend."""

    sigma: float
    n_points: int  # residuals the estimate rests on
    window: int  # points in the centred rolling-median window (odd)
    start_iter: int  # iteration range of the points used
    end_iter: int


@dataclass(frozen=True)
class EvalScatter:
    """Empirical noise of an eval series around its smooth trend (same units as the values)."""

    scatter: float
    n_points: int  # finite eval points used
    n_differences: int  # second differences the scale rests on (n_points - 2)


def finite_sorted(steps, values) -> tuple[np.ndarray, np.ndarray]:
    """Finite points ordered by step; a repeated step keeps its last value."""
    s = np.asarray(steps).ravel()
    if s.dtype.kind not in "iuf":
        s = s.astype(float)
    v = np.asarray(values, dtype=float).ravel()
    keep = np.isfinite(v) if s.dtype.kind in "iu" else np.isfinite(s) & np.isfinite(v)
    if not keep.all():  # the usual case (a Curve is finite already): no copies
        s, v = s[keep], v[keep]
    if len(s) < 2 or bool(np.all(s[1:] > s[:-1])):  # logs usually arrive in step order already
        return s, v
    order = np.argsort(s, kind="stable")
    s, v = s[order], v[order]
    last_of_each = np.append(s[1:] != s[:-1], True)
    return s[last_of_each], v[last_of_each]


def _robust_scale(x: np.ndarray) -> float:
    return float(MAD_TO_SIGMA * median(np.abs(x - median(x))))


MAX_TAIL_POINTS = 20_000


def per_batch_sigma(
    iters: np.ndarray, losses: np.ndarray, tail_fraction: float = 0.5, min_points: int = 20
) -> SigmaEstimate | None:
    """Standard deviation of one micro-batch loss around the local trend, from the recent tail.

    Each nanoGPT `iter N: loss X` is one micro-batch, so its spread around the trend is the
    per-batch sigma. The tail is used because the trend there is slow, so a short rolling median
    follows it without bias.

    The trend at point i is the median of its window *neighbours* (the point itself excluded):
    including it would let the median sit on the point and shrink the residuals (by ~27% for a
    5-point window). Excluding it, residual = noise - median error, and the median of m gaussian
    neighbours has variance ~ pi/2 * sigma^2 / (m + 1) (checked by simulation for m = 4..100), so
    the residual scale is sigma * sqrt(1 + pi / (2 * window)); we divide that factor out.
    None when fewer than `min_points` finite losses exist.
    """
    it, loss = finite_sorted(iters, losses)
    if len(loss) < max(min_points, 3):
        return None
    # A sigma needs thousands of residuals, not millions: the last MAX_TAIL_POINTS of the tail
    # keep a 1M-iteration log's estimate as good and ~20x cheaper.
    n_tail = min(len(loss), max(min_points, math.ceil(len(loss) * tail_fraction)), MAX_TAIL_POINTS)
    it, loss = it[-n_tail:], loss[-n_tail:]

    window = min(max(5, n_tail // 20), MAX_WINDOW) | 1  # odd, so it has a centre
    while window > 3 and window > n_tail - 2:  # short series: keep a few residuals
        window -= 2
    half = window // 2
    neighbour_median = sliding(loss, window, lambda rows: _median_without_centre(rows, half))
    residuals = loss[half : half + len(neighbour_median)] - neighbour_median

    sigma = _robust_scale(residuals) / math.sqrt(1.0 + math.pi / (2.0 * window))
    return SigmaEstimate(
        sigma=sigma, n_points=len(residuals), window=window, start_iter=int(it[0]), end_iter=int(it[-1])
    )


def _median_without_centre(rows: np.ndarray, half: int) -> np.ndarray:
    """Median of each row of 2 * half + 1 values, its centre left out."""
    return median_of_rows(np.concatenate([rows[:, :half], rows[:, half + 1 :]], axis=1))


def eval_standard_error(sigma: float, eval_iters: int) -> float:
    """Standard error of an eval that averages `eval_iters` batches of per-batch sigma.

    Assumes the batches are independent (nanoGPT draws random windows, so they overlap little).
    """
    return sigma / math.sqrt(eval_iters)


def differ_beyond_noise(a: float, b: float, se_a: float, se_b: float, z: float = 2.0) -> bool:
    """True when a and b differ by more than z combined standard errors."""
    return abs(a - b) > z * math.sqrt(se_a**2 + se_b**2)


def eval_scatter(steps, values, min_points: int = 5) -> EvalScatter | None:
    """Noise of an eval series around its trend, with no model of the trend.

    Each interior point is compared with the straight line through its two neighbours:
    d_i = v_i - (w1 * v_{i-1} + w2 * v_{i+1}), w1 = (s_{i+1} - s_i) / (s_{i+1} - s_{i-1}),
    w2 = 1 - w1. A locally linear trend cancels, and independent noise of scale sigma gives
    var(d_i) = sigma^2 * (1 + w1^2 + w2^2), so d_i / sqrt(1 + w1^2 + w2^2) has scale sigma on
    any step spacing. The MAD is taken around the median, which removes the constant offset a
    steadily curving (convex) loss adds to every d_i; curvature that changes along the series
    (the steep early descent) still leaks in, so pass the later stretch of the curve.
    """
    s, v = finite_sorted(steps, values)
    if len(v) < max(min_points, 3):
        return None
    gap_before = s[1:-1] - s[:-2]
    gap_after = s[2:] - s[1:-1]
    w1 = gap_after / (gap_before + gap_after)
    w2 = 1.0 - w1
    d = v[1:-1] - (w1 * v[:-2] + w2 * v[2:])
    normalised = d / np.sqrt(1.0 + w1**2 + w2**2)
    return EvalScatter(scatter=_robust_scale(normalised), n_points=len(v), n_differences=len(normalised))


def _second_differences(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    gap_before = s[1:-1] - s[:-2]
    gap_after = s[2:] - s[1:-1]
    w1 = gap_after / (gap_before + gap_after)
    return v[1:-1] - (w1 * v[:-2] + (1.0 - w1) * v[2:])


def co_movement(steps, train_values, val_values, min_points: int = 6) -> float | None:
    """Correlation of the train and val estimates' wiggles around their local trends.

    nanoGPT draws the train and val batches of an eval independently, so pure sampling noise
    makes the two wiggle independently (correlation near 0). When both jump together the model
    itself changed between evals (instability), which more eval_iters would not fix. None when
    there are too few points with both values.
    """
    s = np.asarray(steps, dtype=float).ravel()
    a = np.asarray(train_values, dtype=float).ravel()
    b = np.asarray(val_values, dtype=float).ravel()
    keep = np.isfinite(s) & np.isfinite(a) & np.isfinite(b)
    s, a, b = s[keep], a[keep], b[keep]
    if len(s) < min_points:
        return None
    order = np.argsort(s, kind="stable")
    s, a, b = s[order], a[order], b[order]
    da, db = _second_differences(s, a), _second_differences(s, b)
    if np.std(da) == 0 or np.std(db) == 0:
        return None
    return float(np.corrcoef(da, db)[0, 1])
