"""The numpy medians agree with np.median and pandas' rolling() (the references they replace)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from plateau_doctor.domain.medians import (
    centred_median,
    median,
    median_of_prefixes,
    median_of_rows,
    quartiles_of_prefixes,
    quartiles_of_rows,
    sliding,
    trailing,
)


def curves():
    rng = np.random.default_rng(7)
    yield rng.normal(size=1000)
    yield np.round(rng.normal(size=700), 1)  # many ties
    yield 3 + np.exp(-np.arange(500) / 80) + rng.normal(0, 0.05, 500)
    yield np.repeat([1.0, 5.0], 40)  # a step


@pytest.mark.parametrize("window", [1, 4, 5, 50])
def test_sliding_median_equals_pandas_rolling_median(window):
    for x in curves():
        expected = pd.Series(x).rolling(window).median().to_numpy()[window - 1 :]
        np.testing.assert_allclose(sliding(x, window, median_of_rows), expected, rtol=0, atol=1e-12)


def test_sliding_works_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr("plateau_doctor.domain.medians.CHUNK_VALUES", 7)
    x = np.random.default_rng(1).normal(size=300)
    expected = pd.Series(x).rolling(9).median().to_numpy()[8:]
    np.testing.assert_allclose(sliding(x, 9, median_of_rows), expected, atol=1e-12)


def test_sliding_of_a_series_shorter_than_the_window_is_empty():
    assert len(sliding(np.arange(3.0), 5, median_of_rows)) == 0


@pytest.mark.parametrize(
    "column, pandas_stat",
    [
        (0, lambda r: r.quantile(0.25)),
        (1, lambda r: r.median()),
        (2, lambda r: r.quantile(0.75)),
    ],
)
def test_trailing_quartiles_equal_pandas_rolling_shifted_by_one(column, pandas_stat):
    for x in curves():
        expected = pandas_stat(pd.Series(x).rolling(50, min_periods=10)).shift(1).to_numpy()
        np.testing.assert_allclose(trailing(x, 50, 10, quartiles_of_rows)[:, column], expected, atol=1e-12)


def test_trailing_median_equals_pandas_rolling_shifted_by_one():
    for x in curves():
        expected = pd.Series(x).rolling(50, min_periods=10).median().shift(1).to_numpy()
        np.testing.assert_allclose(trailing(x, 50, 10, median_of_rows), expected, atol=1e-12)


@pytest.mark.parametrize("width", [1, 2, 5, 13, 49, 50])
def test_quartiles_of_rows_are_bit_for_bit_np_quantile_and_the_median(width):
    # spikes compare against these: a last-digit difference could move a z across its threshold
    for x in curves():
        rows = sliding_window_view(x, width)
        quartiles = quartiles_of_rows(rows)
        assert np.array_equal(quartiles[:, 0], np.quantile(rows, 0.25, axis=1))
        assert np.array_equal(quartiles[:, 1], median_of_rows(rows))
        assert np.array_equal(quartiles[:, 2], np.quantile(rows, 0.75, axis=1))


@pytest.mark.parametrize(
    "of_prefixes, reduce", [(median_of_prefixes, median_of_rows), (quartiles_of_prefixes, quartiles_of_rows)]
)
def test_growing_windows_at_once_are_bit_for_bit_one_window_at_a_time(of_prefixes, reduce):
    # trailing's first windows come from one sort; spikes compare against them, so not even the
    # last digit may move (ties, both parities of width, a window of one)
    for x in curves():
        for first, stop in [(1, 2), (1, 60), (5, 50), (10, 11), (2, 9)]:
            one_by_one = np.array([reduce(x[None, :i])[0] for i in range(first, stop)])
            assert np.array_equal(of_prefixes(x, first, stop), one_by_one)


def test_trailing_excludes_the_point_itself():
    x = np.array([1.0] * 20 + [100.0])
    assert trailing(x, 10, 5, median_of_rows)[-1] == 1.0


@pytest.mark.parametrize("width", [3, 5, 81])
def test_centred_median_equals_pandas_centred_rolling_on_mirrored_edges(width):
    half = width // 2
    for x in curves():
        padded = np.pad(x, half, mode="reflect")
        expected = pd.Series(padded).rolling(width, center=True).median().to_numpy()[half : half + len(x)]
        np.testing.assert_allclose(centred_median(x, width), expected, atol=1e-12)


def test_centred_median_removes_a_spike_on_the_last_point():
    x = np.array([2.0] * 30 + [9.0])
    assert centred_median(x, 5)[-1] == 2.0


def test_centred_median_of_nothing_is_nothing():
    assert len(centred_median(np.empty(0), 5)) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 51, 1000, 1001])
def test_median_equals_numpy_median_for_odd_and_even_lengths(n):
    rng = np.random.default_rng(n)
    for x in (rng.normal(size=n), np.round(rng.normal(size=n))):  # the second has ties
        assert median(x) == np.median(x)


def long_series(n):
    """Series long enough for the bracketed median, shaped to mislead a strided sample."""
    rng = np.random.default_rng(n)
    yield rng.normal(size=n)
    yield np.round(rng.normal(size=n), 2)  # few distinct values: the bracket holds many ties
    yield np.sort(rng.normal(size=n))  # sorted either way: the sample sees every part
    yield np.sort(rng.normal(size=n))[::-1].copy()
    yield np.full(n, 2.5)
    yield np.tile([1.0, 2.0, 3.0, 100.0], n // 4 + 1)[:n]  # periodic with the sample's stride
    yield np.where(np.arange(n) % 1000 == 0, 9000.0, 300 + rng.random(n))  # post-eval iterations
    # a slowly drifting value printed to 0.01 (MFU): long runs of ties, a sample middle off by one
    yield np.round(46 + np.cumsum(rng.normal(0, 0.001, n)), 2)


@pytest.mark.parametrize("n", [1 << 16, (1 << 16) + 1, 100_003, 1_000_000])
def test_median_of_a_long_series_is_exactly_numpy_median(n):
    for x in long_series(n):
        assert median(x) == np.median(x)


def test_median_of_a_long_series_falls_back_when_the_sample_misleads(monkeypatch):
    import plateau_doctor.domain.medians as medians

    monkeypatch.setattr(medians, "BRACKET_RANKS", 0)  # a bracket of one sample value
    x = np.random.default_rng(3).normal(size=1 << 17)
    assert medians._bracketed_median(x) is None
    assert median(x) == np.median(x)


def test_median_of_nothing_is_nan():
    assert np.isnan(median(np.empty(0)))


@pytest.mark.parametrize("width", [1, 2, 5, 50, 250])
def test_median_of_rows_equals_numpy_median_along_rows(width):
    rows = np.random.default_rng(width).normal(size=(40, width))
    np.testing.assert_array_equal(median_of_rows(rows), np.median(rows, axis=1))


@pytest.mark.parametrize(
    "values",
    [
        np.r_[np.full(40_000, 1.0), np.full(40_000, 2.0)],  # two values, the middle between them
        # whole-ms times whose middle falls between two printed values, each held ~250k times
        np.round(np.random.default_rng(3).normal(250.5, 1.0, 618_356)),
    ],
    ids=["two-values", "rounded-times"],
)
def test_a_bracket_that_keeps_every_value_ends_in_a_partition_not_a_loop(values):
    from plateau_doctor.domain.medians import median

    assert median(values) == np.median(values)
