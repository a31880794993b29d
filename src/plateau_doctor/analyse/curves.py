"""The loss table as the analyses read it: finite, step-ordered curves with their log lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.medians import median
from ..model import Columns

BINS = 40  # a train curve made of iteration losses is read as this many bin medians


@dataclass(frozen=True)
class Curve:
    """A finite, step-sorted series with the log line of each point."""

    steps: np.ndarray
    values: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    def value_near(self, step: float) -> float | None:
        """The value at the point closest to `step`; None for an empty curve."""
        if not len(self):
            return None
        return float(self.values[int(np.argmin(np.abs(self.steps - step)))])

    def values_near(self, steps: np.ndarray) -> np.ndarray:
        """value_near of each step, by binary search (the curve is step-sorted): a thousand
        evals against a million iterations without a thousand passes over them. Ties go to the
        earlier point, as argmin's first minimum does."""
        steps = np.asarray(steps)
        if not len(self) or not len(steps):
            return np.full(len(steps), np.nan)
        above = np.minimum(np.searchsorted(self.steps, steps, side="left"), len(self) - 1)
        below = np.maximum(above - 1, 0)
        below = np.searchsorted(self.steps, self.steps[below], side="left")  # first of equal steps
        nearer_below = np.abs(self.steps[below] - steps) <= np.abs(self.steps[above] - steps)
        return self.values[np.where(nearer_below, below, above)]


def curve(table: Columns, x: str, y: str) -> Curve:
    if table.empty:
        empty = np.empty(0)
        return Curve(empty, empty, empty.astype(int))
    steps = table[x]
    if steps.dtype.kind not in "iuf":
        steps = steps.astype(float)
    values = table[y].astype(float, copy=False)
    keep = np.isfinite(values)
    lines = table["line"]
    if keep.all():  # the usual case: no copies of a long curve
        return Curve(steps, values, lines)
    return Curve(steps[keep], values[keep], lines[keep])


def binned(c: Curve, bins: int = BINS) -> Curve:
    """Median of iteration losses in equal-width step bins: a train curve as smooth as evals."""
    if len(c) < 2 * bins:
        return c
    edges = np.linspace(c.steps[0], c.steps[-1], bins + 1)
    idx = np.clip(np.searchsorted(edges, c.steps, side="right") - 1, 0, bins - 1)
    # step-sorted (the usual case): each bin is one slice, found by a binary search, instead of
    # a pass over every point per bin (a million iterations: 40 passes of three masks each)
    in_order = bool(np.all(idx[1:] >= idx[:-1]))
    bounds = np.searchsorted(idx, np.arange(bins + 1)).tolist() if in_order else None
    steps, values, lines = [], [], []
    for b in range(bins):
        points = slice(bounds[b], bounds[b + 1]) if in_order else idx == b
        in_bin = c.steps[points]
        if in_bin.size:
            steps.append(float(median(in_bin)))
            values.append(float(median(c.values[points])))
            lines.append(int(c.lines[points][-1]))
    return Curve(np.array(steps), np.array(values), np.array(lines))
