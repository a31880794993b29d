"""SortedCounts: the median of a multiset kept as distinct values and counts must be
medians.median of the same values, bit for bit, through every add and remove."""

from __future__ import annotations

import numpy as np
import pytest

from plateau_doctor.domain.sorted_counts import SortedCounts


@pytest.mark.parametrize("seed", range(6))
def test_sorted_counts_median_is_the_median_of_what_it_holds(seed):
    from plateau_doctor.domain.medians import median

    rng = np.random.default_rng(seed)
    held: list[float] = []
    counts = SortedCounts()
    for _ in range(40):
        if held and rng.random() < 0.3:
            gone = rng.choice(held, int(rng.integers(1, min(len(held), 20) + 1)), replace=False)
            counts.remove(np.array(gone))
            for value in gone:
                held.remove(value)
        else:
            new = np.round(rng.normal(0, 3, int(rng.integers(0, 300))), int(rng.integers(0, 3)))
            counts.add(new)
            held += new.tolist()
        assert len(counts) == len(held)
        expected = median(np.array(held)) if held else float("nan")
        assert counts.median() == expected or (np.isnan(expected) and np.isnan(counts.median()))


def test_sorted_counts_refuses_to_remove_what_it_does_not_hold():
    counts = SortedCounts(np.array([1.0, 2.0, 2.0]))
    with pytest.raises(ValueError):
        counts.remove(np.array([3.0]))
    with pytest.raises(ValueError):
        counts.remove(np.array([1.0, 1.0]))
    counts.remove(np.array([2.0, 2.0]))
    assert len(counts) == 1 and counts.median() == 1.0


@pytest.mark.parametrize("size", [100_000, 100_001])
@pytest.mark.parametrize("decimals", [2, None])
def test_sorted_counts_median_of_many_values_is_the_bracketed_median(size, decimals):
    from plateau_doctor.domain.medians import BRACKET_MIN_VALUES, median

    assert size >= BRACKET_MIN_VALUES  # medians.median's sample-and-bracket path
    values = np.random.default_rng(size).normal(300.0, 4.0, size)
    if decimals is not None:
        values = np.round(values, decimals)  # ties at the middle: its tied-value path
    counts = SortedCounts(values[: size // 2])
    counts.add(values[size // 2 :])
    assert counts.median() == median(values)


def test_sorted_counts_takes_a_tied_middle_of_many_values_as_it_is():
    from plateau_doctor.domain.medians import median

    values = np.full(70_000, 1.7e308)  # two equal middles whose sum overflows
    assert SortedCounts(values).median() == median(values) == 1.7e308
