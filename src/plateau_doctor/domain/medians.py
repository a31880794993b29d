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
# From this many values on, a median is selected from a bracket a sample finds (two passes of
# comparisons) instead of partitioning them all: ~4x faster on a million iteration times, and
# below it the partition is already well under a millisecond.
BRACKET_MIN_VALUES = 1 << 16
SAMPLE_VALUES = 4096  # the evenly spaced sample that brackets the middle
# half-width of the bracket in sample ranks: a few standard deviations of a sample rank
# (sqrt(SAMPLE_VALUES) / 2 = 32), so the middle falls outside it almost never
BRACKET_RANKS = 128
TIE_STEPS = 3  # sample values tried as a tied middle before bracketing (each two passes)

Reduce = Callable[[np.ndarray], np.ndarray]  # rows of windows -> one value per row


def median(values: np.ndarray) -> float:
    """np.median of finite values (NaN for none)."""
    values = np.asarray(values, dtype=float).ravel()
    if not len(values):
        return float("nan")
    if len(values) >= BRACKET_MIN_VALUES:
        found = _bracketed_median(values)
        if found is not None:
            return found
    return float(median_of_rows(values[None, :])[0])


def _bracketed_median(values: np.ndarray) -> float | None:
    """The exact median of many values from the few between two sample quantiles: count the
    values below the bracket, keep only those inside it, and again while that leaves many.
    None when a sample misled (the middle is not inside its bracket); the caller then partitions
    everything. Same result as median_of_rows, bit for bit: the same order statistics, combined
    the same way."""
    n = len(values)
    upper = n // 2  # the middle's rank; an even count also needs the one below it
    lower = upper if n % 2 else upper - 1
    while len(values) >= BRACKET_MIN_VALUES:
        sample = np.sort(values[:: max(1, len(values) // SAMPLE_VALUES)])
        at = len(sample) * upper // len(values)
        # the distinct values of a sorted sample (np.unique would import numpy.ma, ~7 ms)
        distinct = sample[np.concatenate(([True], sample[1:] != sample[:-1]))]
        tied = _tied_middle(values, distinct, sample[at], lower, upper)
        if tied is not None:
            return tied
        lo = sample[max(0, at - BRACKET_RANKS)]
        hi = sample[min(len(sample) - 1, at + BRACKET_RANKS)]
        below = int(np.count_nonzero(values < lo))
        inside = values[(values >= lo) & (values <= hi)]
        if below > lower or below + len(inside) <= upper:
            return None
        if len(inside) == len(values):  # the bracket kept everything (few distinct values near
            break  # the middle, and two of them in it): partition these rather than loop forever
        values, lower, upper = inside, lower - below, upper - below
    part = np.partition(values, (lower, upper))
    if lower == upper:
        return float(part[upper])
    return float(0.5 * (part[upper] + part[lower]))


def _tied_middle(
    values: np.ndarray, distinct: np.ndarray, guess: float, lower: int, upper: int
) -> float | None:
    """Printed numbers repeat (times to 0.01 ms, MFU to 0.01%): the middle is often one value
    that many others equal, which a bracket would have to select one by one. Two counts say
    whether a value of the sample is both middles; a few neighbouring values are tried, walking
    toward the middle. None if none is."""
    k = int(np.searchsorted(distinct, guess))
    for _ in range(TIE_STEPS):
        guess = distinct[k]
        below = int(np.count_nonzero(values < guess))
        if below > lower:
            k -= 1
        elif below + int(np.count_nonzero(values == guess)) <= upper:
            k += 1
        else:
            return float(guess)
        if not 0 <= k < len(distinct):
            return None
    return None


def median_of_rows(rows: np.ndarray) -> np.ndarray:
    """np.median(rows, axis=1) for finite values: one partition at the upper middle; for an even
    width the lower middle is the largest value below it. Many rows are reduced a chunk at a
    time, so the partition's copy stays small (a million losses in blocks: 2 MB, not 8)."""
    rows_per_chunk = max(1, CHUNK_VALUES // max(1, rows.shape[1]))
    if len(rows) <= rows_per_chunk:
        return _median_of_few_rows(rows)
    out = np.empty(len(rows))
    for start in range(0, len(rows), rows_per_chunk):
        out[start : start + rows_per_chunk] = _median_of_few_rows(rows[start : start + rows_per_chunk])
    return out


def _median_of_few_rows(rows: np.ndarray) -> np.ndarray:
    width = rows.shape[1]
    half = width // 2
    part = np.partition(rows, half, axis=1)
    middle = part[:, half]
    return middle if width % 2 else 0.5 * (middle + part[:, :half].max(axis=1))


def quartiles_of_rows(rows: np.ndarray) -> np.ndarray:
    """Columns (first quartile, median, third quartile) of each row of finite values, from one
    sort: for rows of a few dozen values a sort costs less than one partition, and np.quantile
    partitions again for every quantile. Bit for bit np.quantile(rows, 0.25 / 0.75, axis=1) and
    median_of_rows: the same order statistics, combined by the same arithmetic."""
    ordered = np.sort(rows, axis=1)
    width = rows.shape[1]
    half = width // 2
    middle = ordered[:, half] if width % 2 else 0.5 * (ordered[:, half] + ordered[:, half - 1])
    return np.column_stack([_interpolated(ordered, 0.25), middle, _interpolated(ordered, 0.75)])


def _interpolated(ordered: np.ndarray, q: float) -> np.ndarray:
    """np.quantile's default ("linear") of sorted rows, including its way of interpolating: from
    the upper neighbour when the fraction is at least a half."""
    width = ordered.shape[1]
    position = (width - 1) * q
    lower = int(np.floor(position))
    fraction = position - lower
    a, b = ordered[:, lower], ordered[:, min(lower + 1, width - 1)]
    if fraction >= 0.5:
        return b - (b - a) * (1 - fraction)
    return a + (b - a) * fraction


def sliding(values: np.ndarray, window: int, reduce: Reduce) -> np.ndarray:
    """reduce() of every full window values[i:i + window], i = 0 .. len - window."""
    values = np.asarray(values, dtype=float)
    if window < 1 or len(values) < window:
        return np.empty((0, *_reduced_shape(reduce)))
    windows = sliding_window_view(values, window)
    rows_per_chunk = max(1, CHUNK_VALUES // window)
    out = np.empty((len(windows), *_reduced_shape(reduce)))
    for start in range(0, len(windows), rows_per_chunk):
        out[start : start + rows_per_chunk] = reduce(windows[start : start + rows_per_chunk])
    return out


def trailing(values: np.ndarray, window: int, min_count: int, reduce: Reduce) -> np.ndarray:
    """For each point, reduce() of the up to `window` points before it (the point itself
    excluded); NaN where fewer than `min_count` points precede it."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    out = np.full((n, *_reduced_shape(reduce)), np.nan)
    first, stop = max(min_count, 1), min(window, n)  # growing windows at the start
    of_prefixes = OF_PREFIXES.get(reduce)
    if of_prefixes is not None and stop > first:
        out[first:stop] = of_prefixes(values, first, stop)
    else:
        for i in range(first, stop):
            out[i] = reduce(values[None, :i])[0]
    if n > window:
        # the window before point i is values[i - window:i]: the (i - window)-th window of values[:-1]
        out[window:] = sliding(values[:-1], window, reduce)
    return out


def median_of_prefixes(values: np.ndarray, first: int, stop: int) -> np.ndarray:
    """median_of_rows(values[None, :i])[0] for i = first .. stop - 1 (first >= 1), bit for bit,
    from one sort: the same order statistics, combined by the same arithmetic."""
    lengths, ordered = _sorted_prefixes(values, first, stop)
    rows, half = np.arange(len(lengths)), lengths // 2
    middle = ordered[rows, half]
    lower = ordered[rows, np.maximum(half - 1, 0)]  # the largest value of the lower half
    return np.where(lengths % 2 == 1, middle, 0.5 * (middle + lower))


def quartiles_of_prefixes(values: np.ndarray, first: int, stop: int) -> np.ndarray:
    """quartiles_of_rows(values[None, :i])[0] for i = first .. stop - 1 (first >= 1), bit for
    bit: each prefix's own positions and interpolation, gathered from one sort."""
    lengths, ordered = _sorted_prefixes(values, first, stop)
    rows, half = np.arange(len(lengths)), lengths // 2
    upper = ordered[rows, half]
    middle = np.where(lengths % 2 == 1, upper, 0.5 * (upper + ordered[rows, np.maximum(half - 1, 0)]))
    return np.column_stack(
        [
            _interpolated_prefixes(ordered, lengths, 0.25),
            middle,
            _interpolated_prefixes(ordered, lengths, 0.75),
        ]
    )


def _sorted_prefixes(values: np.ndarray, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, rows): row k holds values[:first + k] sorted, padded with +inf, which sorts
    last, so each prefix's order statistics sit at its own ranks. One sort of a small matrix
    instead of a partition per growing window (~40 numpy calls per curve)."""
    lengths = np.arange(first, stop)
    width = stop - 1
    padded = np.where(np.arange(width)[None, :] < lengths[:, None], values[None, :width], np.inf)
    return lengths, np.sort(padded, axis=1)


def _interpolated_prefixes(ordered: np.ndarray, lengths: np.ndarray, q: float) -> np.ndarray:
    """_interpolated of each prefix row at its own width (lengths), elementwise: the same
    position, fraction and branch np.quantile takes for that width."""
    position = (lengths - 1) * q
    lower = np.floor(position).astype(int)
    fraction = position - lower
    rows = np.arange(len(lengths))
    a, b = ordered[rows, lower], ordered[rows, np.minimum(lower + 1, lengths - 1)]
    return np.where(fraction >= 0.5, b - (b - a) * (1 - fraction), a + (b - a) * fraction)


# reduce -> the same reduction of every growing prefix at once (trailing's first windows)
OF_PREFIXES: dict[Reduce, Callable[[np.ndarray, int, int], np.ndarray]] = {
    median_of_rows: median_of_prefixes,
    quartiles_of_rows: quartiles_of_prefixes,
}


def _reduced_shape(reduce: Reduce) -> tuple[int, ...]:
    """What reduce() gives per row: () for one value, (k,) for k columns (quartiles_of_rows)."""
    return np.shape(reduce(np.zeros((1, 1))))[1:]


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
