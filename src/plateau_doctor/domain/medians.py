"""Medians, of a series and over short sliding windows, in numpy.

Two reasons this is not np.median and pandas' rolling(). np.median partitions around three
positions (both middle values and the last one, to spot a NaN), which on a million values is ~5x
slower than one partition and a max of the lower half; every series here is finite already.
And importing pandas costs ~0.2 s, more than the whole diagnosis of a small log. The windows are
short (a few dozen points) and the curves they slide over bounded (a long curve is reduced to
block medians first), so a strided view reduced a chunk of windows at a time is fast, and
chunking keeps the copy a partition makes small.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CHUNK_VALUES = 1 << 18  # window values reduced at a time (2 MB of float64)

Reduce = Callable[[np.ndarray], np.ndarray]  # rows of windows -> one value per row


def median(values: np.ndarray) -> float:
    """np.median of finite values (NaN for none)."""
    values = np.asarray(values, dtype=float).ravel()
    if not len(values):
        return float("nan")
    return float(median_of_rows(values[None, :])[0])


def median_of_rows(rows: np.ndarray) -> np.ndarray:
    """np.median(rows, axis=1) for finite values: one partition at the upper middle; for an even
    width the lower middle is the largest value below it."""
    width = rows.shape[1]
    half = width // 2
    part = np.partition(rows, half, axis=1)
    middle = part[:, half]
    return middle if width % 2 else 0.5 * (middle + part[:, :half].max(axis=1))


def quantile_of_rows(q: float) -> Reduce:
    """The q-quantile of each row, linearly interpolated (as pandas' rolling quantile)."""
    return lambda rows: np.quantile(rows, q, axis=1)


def sliding(values: np.ndarray, window: int, reduce: Reduce) -> np.ndarray:
    """reduce() of every full window values[i:i + window], i = 0 .. len - window."""
    values = np.asarray(values, dtype=float)
    if window < 1 or len(values) < window:
        return np.empty(0)
    windows = sliding_window_view(values, window)
    rows_per_chunk = max(1, CHUNK_VALUES // window)
    out = np.empty(len(windows))
    for start in range(0, len(windows), rows_per_chunk):
        out[start : start + rows_per_chunk] = reduce(windows[start : start + rows_per_chunk])
    return out


def trailing(values: np.ndarray, window: int, min_count: int, reduce: Reduce) -> np.ndarray:
    """For each point, reduce() of the up to `window` points before it (the point itself
    excluded); NaN where fewer than `min_count` points precede it."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    out = np.full(n, np.nan)
    for i in range(max(min_count, 1), min(window, n)):  # growing windows at the start
        out[i] = reduce(values[None, :i])[0]
    if n > window:
        # the window before point i is values[i - window:i]: the (i - window)-th window of values[:-1]
        out[window:] = sliding(values[:-1], window, reduce)
    return out


def centred_median(values: np.ndarray, width: int) -> np.ndarray:
    """Median over a centred odd window; the edges mirrored, so a spike on the last point is
    smoothed away instead of being repeated by the padding."""
    values = np.asarray(values, dtype=float)
    half = width // 2
    if not len(values):
        return values
    if len(values) <= half:
        return np.full(len(values), median(values))
    padded = np.pad(values, half, mode="reflect")
    return sliding(padded, 2 * half + 1, median_of_rows)
