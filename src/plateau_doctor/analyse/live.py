"""Analyses of a loss table that grows while it is watched: each diagnosis reads only the rows
added since the one before.

`watch` re-diagnoses a live log at every eval. Near a million rows, an analysis that passes over
every row costs milliseconds each time, while the rows since the last eval are a thousand. A
LiveMemo, kept by watch for its log and handed to each diagnosis (api.examine), holds what these
analyses have read; every other command diagnoses without one and reads the whole table.

LiveTiming is iteration_timing this way (~12 ms of a ~45 ms re-diagnosis at a million rows): it
keeps the normal iterations' times and the finite MFUs as domain.sorted_counts, the rows of
post-eval iterations and the count of timed rows, and adds the new rows to them. LiveSpikes is the
spike detector's long-curve path this way (~8 ms; see its docstring). Each gives the whole
table's result, bit for bit (tests compare them over random growths; a median that lands on a
zero may differ in its sign, see sorted_counts). Whenever the table is not the rows already read
plus new ones (rows are compared, or taken as unchanged where they are the same memory: a
LossTableBuilder never rewrites a row a snapshot holds), or its layout is not the one followed
(steps rising by one fixed gap; a finite curve past LONG_CURVE points with a sigma), it reads the
table again from the start, or leaves it to the whole-table function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..domain.medians import median_of_rows
from ..domain.sorted_counts import SortedCounts
from .spikes import (
    LONG_CURVE,
    MIN_HISTORY,
    SPIKE_WINDOW,
    EveryPosition,
    Spike,
    block_ranges,
    detect_spikes,
    first_block_baselines,
    judged_blocks,
    spike_list,
    spike_scale,
)
from .timing import IterationTiming, iteration_timing, positions_of, rows_at, spans


class LiveTiming:
    """Call it as iteration_timing, with the same table each time, grown."""

    def __init__(self) -> None:
        self._read: _TimingRead | None = None

    def __call__(
        self,
        iters: np.ndarray,
        times_ms: np.ndarray,
        eval_steps: np.ndarray,
        mfu_percent: np.ndarray | None = None,
    ) -> IterationTiming | None:
        steps = np.asarray(iters).ravel()
        times = np.asarray(times_ms, dtype=float).ravel()
        evals = np.asarray(eval_steps).ravel()
        evals = evals[evals > 0]
        mfu = None if mfu_percent is None else np.asarray(mfu_percent, dtype=float).ravel()
        read = self._read
        if read is None or not read.grown_into(steps, times, evals, mfu):
            read = _TimingRead.start(steps, times, evals, mfu)
            if read is not None and not read.grown_into(steps, times, evals, mfu):
                read = None  # not one fixed gap from start to end
        self._read = None  # kept again only once its tallies are whole
        if read is None:
            return iteration_timing(steps, times, evals, mfu)
        read.add(steps, times, evals, mfu)
        self._read = read
        return read.timing()


@dataclass
class _TimingRead:
    """What has been read of the table: the columns as they were (views; a later table must begin
    with exactly these rows), the eval steps, and the running tallies."""

    steps: np.ndarray
    times: np.ndarray
    mfu: np.ndarray | None
    evals: np.ndarray
    gap: int  # every step is the previous one plus this
    normal: SortedCounts  # times of the rows neither the first nor at an eval step
    eval_rows: np.ndarray  # rows at an eval step with a finite time, ascending
    timed: int  # rows with a finite time
    mfus: SortedCounts | None  # the finite MFU values

    @classmethod
    def start(cls, steps, times, evals, mfu) -> _TimingRead | None:
        """Nothing read yet (`add` reads the table); None unless the table may be in the layout
        followed here: integer steps rising by one fixed gap (grown_into checks every one)."""
        if len(steps) < 2 or len(times) != len(steps) or (mfu is not None and len(mfu) != len(steps)):
            return None
        if steps.dtype.kind not in "iu" or evals.dtype.kind not in "iu":
            return None  # float steps are compared as floats, and the gap is not a count
        if not steps[1] > steps[0]:
            return None
        return cls(
            steps=steps[:0],
            times=times[:0],
            mfu=None if mfu is None else mfu[:0],
            evals=evals[:0],
            gap=int(steps[1] - steps[0]),
            normal=SortedCounts(),
            eval_rows=np.empty(0, dtype=np.int64),
            timed=0,
            mfus=None if mfu is None else SortedCounts(),
        )

    def grown_into(self, steps, times, evals, mfu) -> bool:
        """Does the table begin with the rows read, every new step one gap after the one before,
        and the eval steps with the ones read?"""
        n = len(self.steps)
        if len(steps) < n or len(times) != len(steps) or (mfu is None) != (self.mfu is None):
            return False
        if mfu is not None and len(mfu) != len(steps):
            return False
        if not (_same_rows(self.steps, steps) and _same_rows(self.times, times)):
            return False
        if mfu is not None and not _same_rows(self.mfu, mfu):
            return False
        if evals.dtype.kind not in "iu" or len(evals) < len(self.evals):
            return False
        if not np.array_equal(evals[: len(self.evals)], self.evals):
            return False
        new = steps[max(n - 1, 0) :]  # the new steps and the last one read
        return len(new) < 2 or (bool((new[1:] - new[:-1] == self.gap).all()) and spans(new, self.gap))

    def add(self, steps, times, evals, mfu) -> None:
        """Read the rows and eval steps that are new since the last call."""
        n = len(self.steps)
        seen = len(self.evals)
        self.steps, self.times, self.evals = steps, times, evals
        if mfu is not None:
            new_mfu = mfu[n:]
            self.mfus.add(new_mfu[np.isfinite(new_mfu)])
            self.mfu = mfu
        # a new eval step may fall on a row read before (a trainer that logs the eval after the
        # iteration): that row becomes a post-eval one, and no longer a normal one
        earlier = positions_of(steps[:n], evals[seen:])
        earlier = earlier[np.isfinite(times[earlier]) & ~np.isin(earlier, self.eval_rows)]
        if len(earlier):
            self.normal.remove(times[earlier[earlier > 0]])  # row 0 never was a normal one
            self.eval_rows = np.sort(np.concatenate([self.eval_rows, earlier]))
        new_times = times[n:]
        finite = np.isfinite(new_times)
        at_eval = rows_at(steps[n:], evals) & finite
        normal = finite & ~at_eval
        if n == 0:
            normal[:1] = False  # the first iteration (compilation) is never a normal one
        self.normal.add(new_times[normal])
        self.eval_rows = np.concatenate([self.eval_rows, np.flatnonzero(at_eval) + n])
        self.timed += int(np.count_nonzero(finite))

    def timing(self) -> IterationTiming | None:
        if not len(self.normal):
            return None
        median = self.normal.median()
        excess = float(np.clip(self.times[self.eval_rows] - median, 0, None).sum())
        return IterationTiming(
            median,
            len(self.normal),
            excess,
            len(self.eval_rows),
            int(self.steps[0]),
            int(self.steps[-1]),
            n_timed=self.timed,
            log_interval=float(self.gap),
            median_mfu_percent=self.mfus.median() if self.mfus else None,
        )


class LiveSpikes:
    """Call it as detect_spikes, with the same curve each time, grown. It follows a long curve
    judged against a given sigma (a micro-batch loss past LONG_CURVE points, watch's case): each
    point's baseline is the median of the block before its own, so a complete block's median
    never changes, and a block holds a spike only if its highest point does (z is that point's
    excess over the baseline divided by one positive scale, which keeps the order). It keeps
    the block medians and each block's highest excess, and judges only the blocks whose highest
    excess is a spike at today's sigma, the first block and the partial last one."""

    def __init__(self) -> None:
        self._read: _BlocksRead | None = None

    def __call__(
        self, iters, losses, sigma: float | None = None, z_threshold: float = 6.0, window: int = SPIKE_WINDOW
    ) -> list[Spike]:
        it = np.asarray(iters).ravel()
        loss = np.asarray(losses, dtype=float).ravel()
        width = max(int(window), MIN_HISTORY)
        if sigma is None or len(loss) <= LONG_CURVE or len(it) != len(loss):
            self._read = None
            return detect_spikes(iters, losses, sigma, z_threshold, window)
        read = self._read
        if read is None or not read.grown_into(it, loss, width):
            read = _BlocksRead.start(it, loss, width)
        self._read = None  # kept again only once it is whole
        if read is None:  # a curve with a non-finite point: detect_spikes drops it first
            return detect_spikes(iters, losses, sigma, z_threshold, window)
        read.add(it, loss)
        self._read = read
        return read.spikes(spike_scale(sigma), z_threshold)


@dataclass
class _BlocksRead:
    """A long, finite curve as read so far: its complete blocks' medians and highest excesses."""

    it: np.ndarray
    loss: np.ndarray
    window: int
    first: np.ndarray  # the first block's baselines (running medians)
    medians: np.ndarray  # of each complete block
    peaks: np.ndarray  # block b >= 1: its highest loss minus block b - 1's median (peaks[0] unused)

    @classmethod
    def start(cls, it, loss, window) -> _BlocksRead | None:
        if not np.isfinite(loss).all():
            return None
        empty = np.empty(0)
        return cls(it[:0], loss[:0], window, first_block_baselines(loss, window), empty, empty)

    def grown_into(self, it, loss, window) -> bool:
        n = len(self.loss)
        return (
            window == self.window
            and len(loss) >= n
            and _same_rows(self.it, it)
            and _same_rows(self.loss, loss)
            and bool(np.isfinite(loss[n:]).all())
        )

    def add(self, it, loss) -> None:
        w = self.window
        done, blocks = len(self.medians), len(loss) // w
        self.it, self.loss = it, loss
        if blocks == done:
            return
        medians = median_of_rows(loss[done * w : blocks * w].reshape(blocks - done, w))
        self.medians = np.concatenate([self.medians, medians])
        peaks = [np.full(max(0, 1 - done), -np.inf)]  # block 0 is judged against `first`
        for row, stop in block_ranges(max(1, done), blocks, w):
            chunk = loss[row * w : stop * w].reshape(stop - row, w)
            peaks.append((chunk - self.medians[row - 1 : stop - 1, None]).max(axis=1))
        self.peaks = np.concatenate([self.peaks, *peaks])

    def spikes(self, scale: float, z_threshold: float) -> list[Spike]:
        candidates = np.flatnonzero(self.peaks / scale > z_threshold).tolist()
        hits, baselines, zs = judged_blocks(
            self.loss,
            self.window,
            self.first,
            self.medians,
            ((b, b + 1) for b in candidates),
            scale,
            z_threshold,
        )
        return spike_list(self.it, self.loss, EveryPosition(), hits, baselines, zs)


def _same_rows(read: np.ndarray, table: np.ndarray) -> bool:
    """Does `table` begin with the rows of `read`, bit for bit? A view of the same memory is: the
    loss table never rewrites a row that a snapshot holds (parsers/table.py, Column.view), and
    `read` keeps that memory from being reused. Otherwise the rows are compared."""
    n = len(read)
    if len(table) < n or table.dtype != read.dtype:
        return False
    if not n:
        return True
    if table.strides == read.strides and _address(table) == _address(read):
        return True
    if read.strides == table.strides == (0,):  # one value repeated (a column the log never prints)
        return _same_rows(read[:1].copy(), table[:1].copy())
    bits = np.dtype(f"u{read.dtype.itemsize}")
    return bool(np.array_equal(read.view(bits), table[:n].view(bits)))


def _address(values: np.ndarray) -> int:
    return values.__array_interface__["data"][0]


@dataclass
class LiveMemo:
    """What the diagnoses of one growing log carry from one to the next."""

    timing: LiveTiming = field(default_factory=LiveTiming)
    spikes: LiveSpikes = field(default_factory=LiveSpikes)
