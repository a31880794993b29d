import numpy as np

from plateau_doctor.analyse.timing import iteration_timing


def test_eval_time_is_the_excess_of_post_eval_iterations_over_the_median():
    iters = np.arange(0, 1000, 10)
    times = np.full(len(iters), 50.0)
    times[0] = 90_000.0                      # compile
    times[iters % 250 == 0] += 3_000.0       # evals at 250, 500, 750 (and 0)
    timing = iteration_timing(iters, times, np.array([0, 250, 500, 750]))
    assert timing.median_iter_ms == 50.0
    assert timing.evals_timed == 3 and timing.eval_excess_ms == 9_000.0
    assert timing.n_normal == len(iters) - 4


def test_no_timing_without_an_ordinary_timed_iteration():
    assert iteration_timing(np.array([0, 250]), np.array([np.nan, 10.0]), np.array([250])) is None
