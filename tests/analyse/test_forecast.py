import numpy as np
import pytest

from plateau_doctor.analyse.forecast import Forecast, ForecastRefusal, fit_power_law


def power_law(steps, l_inf=2.5, amplitude=30.0, alpha=0.5):
    return l_inf + amplitude * np.asarray(steps, dtype=float) ** -alpha


def test_fit_power_law_recovers_exact_power_law_and_predicts_target():
    steps = np.arange(250, 10001, 250)
    forecast = fit_power_law(steps, power_law(steps), target_step=20000)
    assert isinstance(forecast, Forecast)
    assert forecast.alpha == pytest.approx(0.5, rel=0.03)
    assert forecast.l_inf == pytest.approx(2.5, abs=0.02)
    assert forecast.predicted_at_target == pytest.approx(power_law(20000), abs=0.005)
    assert forecast.predicted_at_double == pytest.approx(power_law(40000), abs=0.01)
    assert forecast.fitted_from_step == 4250 and forecast.last_step == 10000
    low, high = forecast.interval_at_target
    assert low <= forecast.predicted_at_target <= high


def test_fit_power_law_interval_covers_truth_under_noise():
    rng = np.random.default_rng(0)
    steps = np.arange(100, 20001, 100)
    values = power_law(steps) + rng.normal(0, 0.01, len(steps))
    forecast = fit_power_law(steps, values, target_step=40000)
    low, high = forecast.interval_at_target
    assert low < power_law(40000) < high
    assert high - low < 0.2
    assert forecast.residual_sd == pytest.approx(0.01, rel=0.2)
    assert forecast.interval_at_double[1] - forecast.interval_at_double[0] >= high - low - 1e-9


def test_fit_power_law_is_deterministic():
    rng = np.random.default_rng(5)
    steps = np.arange(100, 5001, 100)
    values = power_law(steps) + rng.normal(0, 0.02, len(steps))
    assert fit_power_law(steps, values, 10000) == fit_power_law(steps, values, 10000)


def test_fit_power_law_refuses_when_schedule_explains_the_bend():
    steps = np.arange(250, 10001, 250)
    result = fit_power_law(steps, power_law(steps), 20000, schedule_explains_bend=True)
    assert isinstance(result, ForecastRefusal)
    assert "learning-rate schedule" in result.reason


def test_fit_power_law_refuses_with_too_few_points():
    steps = np.array([1000, 2000, 3000, 4000, 5000])
    result = fit_power_law(steps, power_law(steps), 10000, tail_fraction=1.0)
    assert isinstance(result, ForecastRefusal)
    assert "at least 6" in result.reason


def test_fit_power_law_refuses_a_tail_shorter_than_factor_1_5():
    steps = np.arange(10000, 14001, 250)
    result = fit_power_law(steps, power_law(steps), 20000, tail_fraction=1.0)
    assert isinstance(result, ForecastRefusal)
    assert "too short" in result.reason


def test_fit_power_law_refuses_a_flat_or_rising_tail():
    steps = np.arange(100, 5001, 100)
    for values in (np.full(len(steps), 3.0), 3.0 + steps / 1e4):
        result = fit_power_law(steps, values, 10000)
        assert isinstance(result, ForecastRefusal)
        assert "does not decrease" in result.reason


def test_fit_power_law_ignores_step_zero_and_non_finite_values():
    steps = np.arange(0, 10001, 250)
    values = power_law(np.maximum(steps, 1))
    values[0] = 10.9  # the init loss at step 0 cannot be on t^-alpha
    values[5] = np.nan
    forecast = fit_power_law(steps, values, 20000, tail_fraction=1.0)
    assert isinstance(forecast, Forecast)
    assert forecast.fitted_from_step == 250
    assert forecast.alpha == pytest.approx(0.5, rel=0.03)


def test_fit_power_law_notes_an_unidentified_asymptote():
    steps = np.arange(1000, 10001, 250)
    values = 40.0 * steps**-0.1  # a pure power law: no visible floor
    forecast = fit_power_law(steps, values, 20000)
    assert isinstance(forecast, Forecast)
    assert forecast.l_inf < 1.0
    assert any("levels off" in note for note in forecast.notes)


def test_fit_power_law_l_inf_interval_brackets_the_fit():
    rng = np.random.default_rng(7)
    steps = np.arange(100, 20001, 100)
    forecast = fit_power_law(steps, power_law(steps) + rng.normal(0, 0.01, len(steps)), 40000)
    low, high = forecast.l_inf_interval
    assert low <= forecast.l_inf <= high
    assert not forecast.notes
