import numpy as np

from plateau_doctor.analyse.grad_norm import logged_grad_norms


def test_no_norms_logged_means_no_analysis():
    assert logged_grad_norms(np.arange(10), np.full(10, np.nan)) is None


def test_around_takes_medians_of_the_window_before_and_from_the_event_on():
    steps = np.arange(100)
    norms = np.where(steps < 60, 10.0, 4.0)
    norms[5] = 9000.0  # an old spike outside the 20-point window
    around = logged_grad_norms(steps, norms).around(60)
    assert (around.median_before, around.median_after) == (10.0, 4.0)
    assert (around.points_before, around.points_after) == (20, 20)
    assert around.fell and not around.rose


def test_around_needs_a_few_norms_on_each_side():
    norms = logged_grad_norms(np.arange(10), np.ones(10))
    assert norms.around(1) is None and norms.around(9) is None and norms.around(5) is not None


def test_at_reads_the_norm_of_one_logged_iteration_only():
    norms = logged_grad_norms(np.array([0, 10, 20]), np.array([1.0, np.nan, 3.0]))
    assert norms.at(20) == 3.0 and norms.at(10) is None and norms.at(15) is None
