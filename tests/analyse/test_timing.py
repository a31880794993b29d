import numpy as np
import pytest

from plateau_doctor.analyse.timing import iteration_timing


def test_eval_time_is_the_excess_of_post_eval_iterations_over_the_median():
    iters = np.arange(0, 1000, 10)
    times = np.full(len(iters), 50.0)
    times[0] = 90_000.0  # compile
    times[iters % 250 == 0] += 3_000.0  # evals at 250, 500, 750 (and 0)
    timing = iteration_timing(iters, times, np.array([0, 250, 500, 750]))
    assert timing.median_iter_ms == 50.0
    assert timing.evals_timed == 3 and timing.eval_excess_ms == 9_000.0
    assert timing.n_normal == len(iters) - 4


def test_no_timing_without_an_ordinary_timed_iteration():
    assert iteration_timing(np.array([0, 250]), np.array([np.nan, 10.0]), np.array([250])) is None


def test_log_interval_is_the_median_gap_between_logged_iterations():
    assert iteration_timing(np.arange(0, 500, 10), np.full(50, 5.0), np.array([])).log_interval == 10.0
    steps = np.array([0, 10, 20, 30, 31, 40, 50, 60])
    assert iteration_timing(steps, np.full(8, 5.0), np.array([])).log_interval == 10.0
    # the first and last gaps agree, the others do not: still a median, not the first gap
    steps = np.array([0, 10, 40, 70, 80])
    assert iteration_timing(steps, np.full(5, 5.0), np.array([])).log_interval == 20.0


def test_median_mfu_ignores_iterations_without_a_measurement():
    mfu = np.array([np.nan] * 5 + [30.0, 31.0, 32.0])
    timing = iteration_timing(np.arange(8), np.full(8, 5.0), np.array([]), mfu)
    assert timing.median_mfu_percent == 31.0 and timing.n_timed == 8
    assert (
        iteration_timing(np.arange(8), np.full(8, 5.0), np.array([]), np.full(8, np.nan)).median_mfu_percent
        is None
    )


@pytest.mark.parametrize(
    "mfu",
    [
        [np.nan, np.nan, 30.0, 34.0, 31.0, 33.0, 32.0, 35.0],  # placeholders first: read as a view
        [30.0, np.nan, 34.0, 31.0, np.inf, 33.0, 32.0, 35.0],  # gaps anywhere: the finite ones
        [30.0, 34.0, 31.0, 33.0, 32.0, 35.0, np.nan, -np.inf],  # gaps at the end
    ],
)
def test_median_mfu_is_np_median_of_the_finite_values_wherever_the_gaps_are(mfu):
    values = np.array(mfu)
    timing = iteration_timing(np.arange(8), np.full(8, 5.0), np.array([]), values)
    assert timing.median_mfu_percent == np.median(values[np.isfinite(values)])
    assert np.array_equal(values, np.array(mfu), equal_nan=True)  # the input is left as it was


def test_a_single_mfu_value_is_its_own_median():
    assert iteration_timing(np.arange(5), np.full(5, 2.0), np.array([]), 30.0).median_mfu_percent == 30.0


def test_post_eval_iterations_are_found_when_steps_are_out_of_order():
    iters = np.array([0, 20, 10, 30, 40, 50])
    times = np.array([900.0, 50.0, 50.0, 50.0, 150.0, 50.0])
    timing = iteration_timing(iters, times, np.array([40]))
    assert timing.evals_timed == 1 and timing.eval_excess_ms == 100.0


def reference_timing(steps, times, evals, mfu):
    """The definition, in plain numpy: what iteration_timing's fast paths must give."""
    finite = np.isfinite(times)
    is_eval = np.isin(steps, evals[evals > 0]) & finite
    normal = finite & ~is_eval & (steps != steps.min())
    if not normal.any():
        return None
    median = float(np.median(times[normal]))
    gaps = np.diff(steps)
    mfu_finite = mfu[np.isfinite(mfu)]
    return (
        median,
        int(normal.sum()),
        float(np.clip(times[is_eval] - median, 0, None).sum()),
        int(is_eval.sum()),
        int(steps.min()),
        int(steps.max()),
        int(finite.sum()),
        float(np.median(gaps)) if len(gaps) else 1.0,
        float(np.median(mfu_finite)) if len(mfu_finite) else None,
    )


@pytest.mark.parametrize(
    "layout", ["fixed gap", "irregular increasing", "shuffled", "repeated steps", "one row"]
)
def test_timing_is_its_definition_for_every_layout_of_steps(layout):
    rng = np.random.default_rng(7)
    for case in range(60):
        n = 1 if layout == "one row" else int(rng.integers(2, 400))
        gap = int(rng.integers(1, 20))
        steps = np.arange(int(rng.integers(0, 3)), n * gap + 3, gap)[:n]
        if layout == "irregular increasing":
            steps = np.cumsum(rng.integers(1, 30, n))
        elif layout == "shuffled":
            steps = rng.permutation(steps)
        elif layout == "repeated steps":
            steps = np.sort(rng.integers(0, max(2, n // 2), n))
        times = rng.choice([5.0, 5.5, 6.0, 250.0], n)
        times[rng.random(n) < 0.1] = np.nan
        mfu = np.where(rng.random(n) < 0.2, np.nan, rng.choice([30.0, 31.0, 33.5], n))
        evals = rng.choice(np.concatenate([steps, [0, -1, 10**6]]), int(rng.integers(0, 12)))
        timing = iteration_timing(steps, times, evals, mfu)
        expected = reference_timing(steps, times, evals, mfu)
        if expected is None:
            assert timing is None, (layout, case)
            continue
        got = (
            timing.median_iter_ms,
            timing.n_normal,
            timing.eval_excess_ms,
            timing.evals_timed,
            timing.first_iter,
            timing.last_iter,
            timing.n_timed,
            timing.log_interval,
            timing.median_mfu_percent,
        )
        assert got == expected, (layout, case)
