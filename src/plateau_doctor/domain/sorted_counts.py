"""A multiset of numbers kept as its distinct values and their counts: the exact median of a series
that changes by a few values at a time, updated by what is added or taken out instead of
partitioned again.

`watch` re-diagnoses a log at every eval; near a million rows, each median over all of them
(medians.median: a sample, a few passes of comparisons, a copy of the selected values) costs
milliseconds, while the rows since the last eval are a thousand. Printed numbers repeat (times to
0.01 ms, MFU to 0.01%), so the distinct values are few (a thousand for a million iteration
times): adding to them and finding a rank in their running counts costs microseconds. Values
that do not repeat still work, at a cost that grows with their number. Equal values are one
distinct value, -0.0 and 0.0 included: a median that lands on a zero may differ from
medians.median's in its sign (which zero a partition puts in the middle is arbitrary too).
"""

from __future__ import annotations

import numpy as np

from .medians import BRACKET_MIN_VALUES


class SortedCounts:
    """Finite values as distinct values (ascending) and how often each occurs."""

    __slots__ = ("counts", "size", "values")

    def __init__(self, values: np.ndarray | None = None) -> None:
        self.values, self.counts = _distinct(np.empty(0) if values is None else values)
        self.size = int(self.counts.sum())

    def __len__(self) -> int:
        return self.size

    def add(self, values: np.ndarray) -> None:
        """Add each of `values` once; they must be finite (a NaN equals nothing, not even itself)."""
        new, counts = _distinct(values)
        if not len(new):
            return
        at, known = self._places(new)
        self.counts[at[known]] += counts[known]  # fancy += is safe: distinct values, distinct places
        if not known.all():
            fresh = ~known
            self.values = np.insert(self.values, at[fresh], new[fresh])
            self.counts = np.insert(self.counts, at[fresh], counts[fresh])
        self.size += int(counts.sum())

    def remove(self, values: np.ndarray) -> None:
        """Take out one occurrence of each of `values`; each must be held (ValueError if not)."""
        gone, counts = _distinct(values)
        if not len(gone):
            return
        at, held = self._places(gone)
        if not held.all() or (self.counts[at] < counts).any():
            raise ValueError("removing values that are not held")
        self.counts[at] -= counts
        self.size -= int(counts.sum())
        if not self.counts[at].all():
            kept = self.counts > 0
            self.values, self.counts = self.values[kept], self.counts[kept]

    def _places(self, distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each of these distinct values is held or would be inserted, and whether it is held."""
        at = np.searchsorted(self.values, distinct)
        held = at < len(self.values)
        held[held] = self.values[at[held]] == distinct[held]
        return at, held

    def median(self) -> float:
        """medians.median of the values held, bit for bit: the same middle order statistics,
        combined by the same arithmetic (NaN when empty)."""
        if not self.size:
            return float("nan")
        upper = self.size // 2
        lower = upper if self.size % 2 else upper - 1
        ends = np.cumsum(self.counts)  # the value at rank r is the first whose end exceeds r
        a, b = self.values[np.searchsorted(ends, [lower, upper], side="right")]
        if lower == upper or (a == b and self.size >= BRACKET_MIN_VALUES):
            return float(b)  # medians.median of this many takes a tied middle as it is (no a + b)
        return float(0.5 * (b + a))


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values ascending, their counts): np.unique's answer without importing numpy.ma."""
    ordered = np.sort(np.asarray(values, dtype=float).ravel())
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))
