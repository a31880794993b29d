"""Instability in the iter losses: single spikes, non-finite losses, and explosions (the curve
leaves its minimum for good or for a long while).

A spike is judged against the per-batch noise: one micro-batch loss of 4.11 among 3.65s is a
spike only if 0.46 is many sigmas. An explosion is judged on a smoothed curve, so that a spike
never counts as one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..domain.medians import CHUNK_VALUES, centred_median, median, median_of_rows, quartiles_of_rows, trailing

MAD_TO_SIGMA = 1.4826
IQR_TO_SIGMA = 1.349
MIN_HISTORY = 10  # points before the first one that can be judged
SIGMA_FLOOR = 1e-6  # a constant stretch must not make every tiny wiggle infinitely significant
RECOVERY_TOLERANCE = 0.10
SPIKE_WINDOW = 50  # preceding losses a spike's baseline is the median of


@dataclass(frozen=True)
class Spike:
    """An iteration loss far above the median of the losses before it."""

    iter: int
    loss: float
    baseline: float  # median of the preceding window
    z: float  # (loss - baseline) / sigma
    index: int  # position in the arrays passed in


class EveryPosition:
    """The positions of a curve none of whose points was dropped: positions[k] is k, for an
    index or an index vector, without an 8 MB vector of a million positions."""

    def __getitem__(self, index):
        return index


def _finite_positions(iters, losses) -> tuple[np.ndarray, np.ndarray, np.ndarray | EveryPosition]:
    it = np.asarray(iters).ravel()
    loss = np.asarray(losses, dtype=float).ravel()
    finite = np.isfinite(loss)
    if finite.all():  # the usual case: no copies of a long curve
        return it, loss, EveryPosition()
    positions = np.flatnonzero(finite)
    return it[positions], loss[positions], positions


LONG_CURVE = 100_000


def _previous_block_spikes(
    loss: np.ndarray, window: int, scale: float, z_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A million points: each point's baseline is the median of the last complete block of
    `window` points before its own block (it lags by up to two windows, which a slow trend does
    not notice); the first block uses the running median of what precedes each point, a partial
    last block the median of the last complete one. Judged a chunk of blocks at a time, so no
    baseline or z vector as long as the curve is ever held.

    Returns the positions of the points more than z_threshold above their baseline, their
    baselines and their z."""
    blocks = len(loss) // window
    medians = median_of_rows(loss[: blocks * window].reshape(blocks, window))
    first = first_block_baselines(loss, window)
    return judged_blocks(loss, window, first, medians, block_ranges(1, blocks, window), scale, z_threshold)


def block_ranges(first_row: int, blocks: int, window: int) -> Iterator[tuple[int, int]]:
    """(row, stop) ranges of block rows from first_row on, a chunk of CHUNK_VALUES values each."""
    rows_per_chunk = max(1, CHUNK_VALUES // window)
    for row in range(first_row, blocks, rows_per_chunk):
        yield row, min(blocks, row + rows_per_chunk)


def judged_blocks(
    loss: np.ndarray,
    window: int,
    first: np.ndarray,
    medians: np.ndarray,
    ranges: Iterable[tuple[int, int]],
    scale: float,
    z_threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_previous_block_spikes' answer, the block medians known: the first block against its
    running medians (`first`), the block rows of `ranges` (row >= 1) each against the median of
    the block before, the partial last block against the last complete one's."""
    found = [_above(loss[MIN_HISTORY:window], first[MIN_HISTORY:], scale, z_threshold, MIN_HISTORY)]
    for row, stop in ranges:
        chunk = loss[row * window : stop * window].reshape(stop - row, window)
        z = (chunk - medians[row - 1 : stop - 1, None]) / scale  # _above's z, by rows of a block
        hits = np.flatnonzero(z > z_threshold)
        found.append((hits + row * window, medians[row - 1 + hits // window], z.ravel()[hits]))
    blocks = len(medians)
    tail = loss[blocks * window :]
    found.append(_above(tail, np.full(len(tail), medians[-1]), scale, z_threshold, blocks * window))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def _above(
    loss: np.ndarray, baseline: np.ndarray, scale: float, z_threshold: float, offset: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions + offset, baselines, z) of the losses more than z_threshold above baseline."""
    z = (loss - baseline) / scale
    hits = np.flatnonzero(z > z_threshold)
    return hits + offset, baseline[hits], z[hits]


def detect_spikes(
    iters, losses, sigma: float | None = None, z_threshold: float = 6.0, window: int = SPIKE_WINDOW
) -> list[Spike]:
    """Iter losses more than z_threshold sigmas ABOVE a causal baseline.

    Baseline: median of the preceding `window` finite losses (fewer near the start; the first
    MIN_HISTORY points are not judged; a series no longer than that is judged for gross outliers
    only, _gross_outliers). Scale: the given per-batch sigma, else the interquartile
    range of the same preceding window / 1.349; either is floored at 1e-6. Only rises count, so the fast descent of
    warmup (every loss below its baseline) never produces a spike. Non-finite losses are skipped
    here and reported by first_non_finite.
    """
    it, loss, positions = _finite_positions(iters, losses)
    n = len(loss)
    if n <= MIN_HISTORY:
        return _gross_outliers(it, loss, positions, 2 * z_threshold)
    window = max(int(window), MIN_HISTORY)

    if sigma is not None and n > LONG_CURVE:
        scale = spike_scale(sigma)
        hits, baselines, zs = _previous_block_spikes(loss, window, scale, z_threshold)
    else:
        # Preceding windows: growing ones until `window` points exist, then a sliding one.
        if sigma is not None:
            baseline = trailing(loss, window, MIN_HISTORY, median_of_rows)
            scale = float(sigma)
        else:
            # robust spread of the same window: interquartile range / 1.349 (a gaussian's IQR)
            q25, baseline, q75 = trailing(loss, window, MIN_HISTORY, quartiles_of_rows).T
            scale = (q75 - q25) / IQR_TO_SIGMA
        scale = np.maximum(np.nan_to_num(scale, nan=SIGMA_FLOOR), SIGMA_FLOOR)
        judged = slice(MIN_HISTORY, n)
        z = (loss[judged] - baseline[judged]) / (scale[judged] if np.ndim(scale) else scale)
        hits = np.flatnonzero(z > z_threshold) + MIN_HISTORY
        baselines, zs = baseline[hits], z[hits - MIN_HISTORY]
    return spike_list(it, loss, positions, hits, baselines, zs)


def spike_list(it, loss, positions, hits, baselines, zs) -> list[Spike]:
    """Python objects only for the few spikes."""
    return [
        Spike(iter=int(it[k]), loss=float(loss[k]), baseline=float(b), z=float(zk), index=int(positions[k]))
        for k, b, zk in zip(hits, baselines, zs, strict=True)
    ]


def spike_scale(sigma: float) -> float:
    """The per-batch sigma a long curve's z is measured in, floored."""
    return float(np.maximum(np.nan_to_num(sigma, nan=SIGMA_FLOOR), SIGMA_FLOOR))


def first_block_baselines(loss: np.ndarray, window: int) -> np.ndarray:
    """The first block's baselines on a long curve: the running median of what precedes each point."""
    return np.array([median(loss[:j]) if j else np.nan for j in range(min(window, len(loss)))])


# Too few losses for a causal baseline: only a gross outlier is a spike, judged against all the
# other points (its own recovery included). From GROSS_MIN_POINTS, where four others give a median
# and a spread.
GROSS_MIN_POINTS = 5
GROSS_MIN_RATIO = 2.0  # at least twice the median of the others: no trend or noise does that


def _gross_outliers(
    it: np.ndarray, loss: np.ndarray, positions: np.ndarray, z_threshold: float
) -> list[Spike]:
    """In a short series, points at least GROSS_MIN_RATIO times the median of the others and
    z_threshold robust sigmas (their MAD) above it, and above the point before it. The first point
    is not judged: a run's first loss is its highest by nature."""
    n = len(loss)
    if n < GROSS_MIN_POINTS:
        return []
    spikes = []
    for k in range(1, n):
        others = np.delete(loss, k)
        baseline = median(others)
        scale = max(MAD_TO_SIGMA * median(np.abs(others - baseline)), SIGMA_FLOOR)
        z = (loss[k] - baseline) / scale
        # only a rise counts: a loss below the one before it is the descent, however high
        rose = loss[k] > loss[k - 1]
        if rose and baseline > 0 and loss[k] >= GROSS_MIN_RATIO * baseline and z > z_threshold:
            spikes.append(Spike(int(it[k]), float(loss[k]), float(baseline), float(z), int(positions[k])))
    return spikes


@dataclass(frozen=True)
class NonFinite:
    """The first NaN or inf loss, and how many there are."""

    first_iter: int
    first_index: int
    count: int  # non-finite losses (nan, inf)
    total: int  # losses looked at
    recovered: bool  # a finite loss follows the last non-finite one


def first_non_finite(iters, losses) -> NonFinite | None:
    """The first NaN/inf loss and how many there are; None when every loss is finite."""
    it = np.asarray(iters).ravel()
    loss = np.asarray(losses, dtype=float).ravel()
    bad = np.flatnonzero(~np.isfinite(loss))
    if len(bad) == 0:
        return None
    return NonFinite(
        first_iter=int(it[bad[0]]),
        first_index=int(bad[0]),
        count=len(bad),
        total=len(loss),
        recovered=bool(bad[-1] < len(loss) - 1),
    )


@dataclass(frozen=True)
class Explosion:
    """The smoothed loss leaving its running minimum and staying above it."""

    start_iter: int  # first iter of the run above the threshold
    min_before: float  # running minimum of the smoothed curve when it took off
    level_after: float  # median of the smoothed curve over that run above the threshold
    ratio: float  # level_after / min_before
    recovered: bool  # the last smoothed value is within 10% of the overall minimum
    index: int  # position in the arrays passed in
    end_iter: int = -1  # last iter of that run above the threshold


MAX_SMOOTHED_POINTS = 4000


def _block_medians(it: np.ndarray, loss: np.ndarray, positions: np.ndarray, limit: int):
    """Long curves are reduced to `limit` block medians first: an explosion lasts many steps, and
    smoothing a million points with a window of n/50 would cost seconds for nothing. Each block
    is labelled with its first iteration and position."""
    n = len(loss)
    if n <= limit:
        return it, loss, positions
    size = -(-n // limit)
    usable = n - n % size
    medians = median_of_rows(loss[:usable].reshape(-1, size))
    if usable < n:
        medians = np.append(medians, median(loss[usable:]))
    starts = np.arange(0, n, size)
    return it[starts], medians, positions[starts]


# A short curve's smoothing (a median of 5, its edges mirrored) swallows a jump that has only a
# point or two before it (1.70, then 11.5, 11.8, ... in a 9-line paste). Below SHORT_CURVE points
# the raw curve is also searched for a jump that persists: every loss from some point to the end at
# least GROSS_MIN_RATIO times every loss before it. No healthy run does that, lucky batch or not.
SHORT_CURVE = 20


def _persistent_jump(
    it: np.ndarray, loss: np.ndarray, positions: np.ndarray, min_run: int
) -> Explosion | None:
    n = len(loss)
    for k in range(1, n - min_run + 1):
        before, after = loss[:k], loss[k:]
        if before.max() > 0 and after.min() >= GROSS_MIN_RATIO * before.max():
            level = float(median(after))
            return Explosion(
                start_iter=int(it[k]),
                min_before=float(before.min()),
                level_after=level,
                ratio=level / float(before.min()),
                recovered=False,
                index=int(positions[k]),
                end_iter=int(it[-1]),
            )
    return None


def detect_explosion(
    iters, losses, ratio: float = 1.5, min_run: int = 5, min_rise: float = 0.1, abs_rise: float = 1.0
) -> Explosion | None:
    """The first time the smoothed loss leaves its running minimum by more than `ratio` and stays.

    Smoothing: centred rolling median over max(5, n // 50) points (odd), so isolated spikes
    vanish. Explosion: at least `min_run` consecutive smoothed points above
    running_min x ratio (the running minimum up to each point) and above it by `min_rise` in
    absolute terms too (a memorised loss going 0.02 -> 0.04 is not an explosion); or more than
    `abs_rise` nats above it whatever the ratio (early in training, at a loss of 9, a climb to 13
    is only 1.4x). This catches a
    step jump (2.18 -> 4.3 and staying) and a slow climb (LR doubling) alike. Non-finite losses
    are skipped (first_non_finite reports them).
    """
    it, loss, positions = _finite_positions(iters, losses)
    it, loss, positions = _block_medians(it, loss, positions, MAX_SMOOTHED_POINTS)
    n = len(loss)
    if n < min_run:
        return None
    if n < SHORT_CURVE:
        jump = _persistent_jump(it, loss, positions, min_run)
        if jump is not None:
            return jump
    width = max(5, n // 50) | 1
    smooth = centred_median(loss, width)
    running_min = np.minimum.accumulate(smooth)
    rise = smooth - running_min
    above = ((smooth > running_min * ratio) | (rise > abs_rise)) & (rise > min_rise)

    # Start of the first run of at least min_run consecutive True values.
    run_length = 0
    for k, flag in enumerate(above):
        run_length = run_length + 1 if flag else 0
        if run_length == min_run:
            start = k - min_run + 1
            break
    else:
        return None
    end = start
    while end < n and above[end]:
        end += 1

    min_before = float(running_min[start])
    level_after = float(median(smooth[start:end]))
    recovered = bool(smooth[-1] <= running_min[-1] * (1.0 + RECOVERY_TOLERANCE))
    return Explosion(
        start_iter=int(it[start]),
        min_before=min_before,
        level_after=level_after,
        ratio=level_after / min_before if min_before > 0 else float("inf"),
        recovered=recovered,
        index=int(positions[start]),
        end_iter=int(it[end - 1]),
    )


@dataclass(frozen=True)
class SpikeImpact:
    """How much a spike changed the run: the level after it against the level before."""

    isolated: int  # spikes after which the loss returned to its previous level at once
    damaging: int  # spikes after which the loss stayed higher
    clustered: int  # spikes within `burst` logged points of the previous one (a burst)
    worst_shift: float  # largest (median after - median before)


def spike_impact(losses, spikes: list[Spike], sigma: float, window: int = 20, burst: int = 3) -> SpikeImpact:
    """Classify spikes by what followed them. A lone bad micro-batch is harmless; a spike after
    which the loss stays up, or spikes in bursts, is instability. `spikes` index into `losses`."""
    loss = np.asarray(losses, dtype=float).ravel()
    isolated = damaging = clustered = 0
    worst = 0.0
    indices = sorted(s.index for s in spikes)
    for k, i in enumerate(indices):
        before = loss[max(0, i - window) : i]
        after = loss[i + 1 : i + 1 + window]
        before, after = before[np.isfinite(before)], after[np.isfinite(after)]
        if k and i - indices[k - 1] <= burst:
            clustered += 1
        if len(before) < 3 or len(after) < 3:
            continue
        shift = float(median(after) - median(before))
        worst = max(worst, shift)
        # the median of `window` points has a standard error of about 1.25 sigma / sqrt(window)
        if shift > 3 * 1.25 * sigma * np.sqrt(2.0 / window):
            damaging += 1
        else:
            isolated += 1
    return SpikeImpact(isolated=isolated, damaging=damaging, clustered=clustered, worst_shift=worst)
