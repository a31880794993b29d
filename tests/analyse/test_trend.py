import numpy as np
import pytest

from plateau_doctor.analyse.trend import fit_trend


def test_fit_trend_finds_improving_slope_through_noise():
    rng = np.random.default_rng(0)
    steps = np.arange(0, 10000, 250)
    values = 4.0 - 0.05 * steps / 1000 + rng.normal(0, 0.01, len(steps))
    trend = fit_trend(steps, values, last_fraction=1.0)
    assert trend.verdict == "improving"
    assert trend.slope_per_1k == pytest.approx(-0.05, abs=3 * trend.slope_stderr_per_1k)
    assert trend.t_stat < -2
    assert trend.change == pytest.approx(trend.end_value - trend.start_value)
    assert trend.change == pytest.approx(trend.slope_per_1k * (trend.end_step - trend.start_step) / 1000)


def test_fit_trend_calls_pure_noise_flat():
    rng = np.random.default_rng(1)
    steps = np.arange(0, 5000, 100)
    trend = fit_trend(steps, 3.0 + rng.normal(0, 0.05, len(steps)), last_fraction=1.0)
    assert trend.verdict == "flat"
    assert abs(trend.t_stat) <= 2


def test_fit_trend_detects_rising_values():
    steps = np.arange(0, 3000, 100)
    rng = np.random.default_rng(2)
    trend = fit_trend(steps, 2.0 + 0.1 * steps / 1000 + rng.normal(0, 0.005, len(steps)))
    assert trend.verdict == "rising"
    assert trend.slope_per_1k == pytest.approx(0.1, rel=0.2)


def test_fit_trend_uses_the_last_fraction_of_the_step_range():
    steps = np.arange(0, 10001, 500)
    values = np.where(steps < 7000, 5.0 - steps / 1000, 3.0)  # falls, then dead flat
    trend = fit_trend(steps, values, last_fraction=0.3)
    assert trend.start_step == 7000 and trend.end_step == 10000
    assert trend.n_points == 7
    assert trend.slope_per_1k == pytest.approx(0.0, abs=1e-12)
    assert trend.verdict == "flat"


def test_fit_trend_last_n_takes_the_last_finite_points():
    steps = np.arange(20)
    values = np.arange(20, dtype=float)
    values[-1] = np.nan
    trend = fit_trend(steps, values, last_n=5)
    assert (trend.start_step, trend.end_step, trend.n_points) == (14, 18, 5)


def test_fit_trend_known_point_noise_makes_a_small_slope_flat():
    # A nearly exact line: OLS alone says "improving", but an eval noise of 0.05 cannot resolve it.
    steps = np.array([10000, 10500, 11000, 11500, 12000, 12500])
    values = 3.65 - 0.01 * (steps - 10000) / 1000 + np.array([0, 1e-4, -1e-4, 0, 1e-4, 0])
    assert fit_trend(steps, values, last_fraction=1.0).verdict == "improving"
    noisy = fit_trend(steps, values, last_fraction=1.0, point_se=0.05)
    assert noisy.verdict == "flat"
    assert noisy.slope_stderr_per_1k == pytest.approx(
        1000 * 0.05 / np.sqrt(np.sum((steps - steps.mean()) ** 2))
    )


def test_fit_trend_returns_none_with_too_few_points():
    assert fit_trend([0, 1, 2], [3.0, 2.0, 1.0]) is None
    assert fit_trend([5, 5, 5, 5], [3.0, 2.0, 1.0, 0.5]) is None
    assert fit_trend([0, 1, 2, 3, 4], [1.0, np.nan, np.nan, 2.0, 3.0]) is None


def test_a_slope_from_four_points_needs_students_t_when_only_their_residuals_give_the_noise():
    # t is about -3 with 2 degrees of freedom: beyond z=2, inside t's 4.30 (chance 1 in 10)
    steps, values = [0, 100, 200, 300], [1.00, 0.93, 0.94, 0.85]
    trend = fit_trend(steps, values, last_fraction=1.0)
    assert -4.30 < trend.t_stat < -2.0 and trend.verdict == "flat"
    # a known per-point noise keeps z: its standard error does not rest on two residual dof
    known = fit_trend(steps, values, last_fraction=1.0, point_se=0.01)
    assert known.verdict == "improving"


def test_small_sample_z_widens_to_the_t_quantile_and_is_z_past_thirty_dof():
    from plateau_doctor.analyse.trend import small_sample_z

    assert small_sample_z(2.0, 2) == pytest.approx(2.0 * 4.30 / 1.96)
    assert small_sample_z(2.0, 11) == pytest.approx(2.0 * 2.23 / 1.96)  # the next tabulated dof below
    assert small_sample_z(2.0, 200) == 2.0
