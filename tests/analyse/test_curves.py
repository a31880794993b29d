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
