"""Curves: the batch lookup of values near steps agrees with the one-step lookup."""

from __future__ import annotations

import numpy as np
import pytest

from plateau_doctor.analyse.curves import Curve


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_values_near_equals_value_near_for_every_step_ties_and_repeats_included(dtype):
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        steps = np.sort(rng.integers(0, 30, size=n)).astype(dtype)  # repeated steps included
        c = Curve(steps, rng.normal(size=n), np.arange(n))
        # between points, on them, and halfway (a tie between two neighbours)
        wanted = np.concatenate([rng.uniform(-5, 35, size=20), steps.astype(float), steps + 0.5])
        assert np.array_equal(c.values_near(wanted), [c.value_near(s) for s in wanted])


def test_values_near_of_an_empty_curve_is_nan():
    empty = Curve(np.empty(0), np.empty(0), np.empty(0, dtype=int))
    assert np.isnan(empty.values_near(np.array([1.0, 2.0]))).all()


def _binned_point_by_point(c: Curve, bins: int) -> Curve:
    """binned's result by the definition: the points whose bin is b, found one mask per bin."""
    from plateau_doctor.domain.medians import median

    edges = np.linspace(c.steps[0], c.steps[-1], bins + 1)
    idx = np.clip(np.searchsorted(edges, c.steps, side="right") - 1, 0, bins - 1)
    rows = [(b, idx == b) for b in range(bins)]
    kept = [
        (float(median(c.steps[m])), float(median(c.values[m])), int(c.lines[m][-1]))
        for b, m in rows
        if m.any()
    ]
    return Curve(*(np.array(column) for column in zip(*kept, strict=True)))


@pytest.mark.parametrize("order", ["sorted", "repeated steps", "shuffled", "gaps"])
def test_bin_medians_are_those_of_the_points_in_each_bin(order):
    from plateau_doctor.analyse.curves import binned

    rng = np.random.default_rng(7)
    steps = np.arange(5_000, dtype=float)
    if order == "repeated steps":
        steps = np.repeat(np.arange(1_250, dtype=float), 4)
    elif order == "gaps":  # empty bins in the middle
        steps = np.concatenate([np.arange(1_000.0), np.arange(4_000.0, 5_000.0)])
    values = rng.normal(size=len(steps))
    lines = np.arange(len(steps)) + 3
    if order == "shuffled":
        shuffle = rng.permutation(len(steps))
        steps, values, lines = steps[shuffle], values[shuffle], lines[shuffle]
    c = Curve(steps, values, lines)
    got, want = binned(c, 40), _binned_point_by_point(c, 40)
    for a, b in ((got.steps, want.steps), (got.values, want.values), (got.lines, want.lines)):
        assert np.array_equal(a, b)
