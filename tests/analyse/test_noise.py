import math

import numpy as np
import pytest

from plateau_doctor.analyse.noise import (
    differ_beyond_noise,
    eval_scatter,
    eval_standard_error,
    per_batch_sigma,
)


def decaying_curve(iters):
    return 3.0 + 7.0 * np.exp(-iters / 800.0)


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.3])
def test_per_batch_sigma_recovers_known_gaussian_noise(sigma):
    rng = np.random.default_rng(1)
    iters = np.arange(0, 20000, 10)
    losses = decaying_curve(iters) + rng.normal(0, sigma, len(iters))
    estimate = per_batch_sigma(iters, losses)
    assert estimate is not None
    assert estimate.sigma == pytest.approx(sigma, rel=0.15)
    assert estimate.end_iter == 19990
    assert estimate.start_iter == pytest.approx(10000, abs=10)
    assert estimate.window % 2 == 1


def test_per_batch_sigma_is_not_inflated_by_a_few_spikes():
    rng = np.random.default_rng(2)
    iters = np.arange(2000)
    losses = decaying_curve(iters) + rng.normal(0, 0.05, len(iters))
    losses[[1200, 1500, 1800]] += 2.0
    estimate = per_batch_sigma(iters, losses)
    assert estimate.sigma == pytest.approx(0.05, rel=0.15)


def test_per_batch_sigma_ignores_non_finite_losses():
    rng = np.random.default_rng(3)
    iters = np.arange(1000)
    losses = 2.0 + rng.normal(0, 0.1, 1000)
    losses[::7] = np.nan
    losses[5] = np.inf
    estimate = per_batch_sigma(iters, losses)
    assert math.isfinite(estimate.sigma)
    assert estimate.sigma == pytest.approx(0.1, rel=0.15)


def test_per_batch_sigma_needs_min_points():
    assert per_batch_sigma(np.arange(19), np.ones(19)) is None
    assert per_batch_sigma(np.arange(30), np.r_[np.ones(15), [np.nan] * 15]) is None
    assert per_batch_sigma(np.arange(20), np.ones(20)) is not None


def test_eval_standard_error_divides_by_sqrt_eval_iters():
    assert eval_standard_error(0.2, 200) == pytest.approx(0.2 / math.sqrt(200))


def test_differ_beyond_noise_uses_combined_standard_error():
    # combined se = 0.05; z=2 -> threshold 0.1
    assert differ_beyond_noise(3.0, 3.11, 0.03, 0.04)
    assert not differ_beyond_noise(3.0, 3.09, 0.03, 0.04)
    assert not differ_beyond_noise(3.0, 3.11, 0.03, 0.04, z=3.0)


def test_eval_scatter_recovers_noise_on_uneven_steps():
    rng = np.random.default_rng(4)
    steps = np.cumsum(rng.integers(100, 600, size=400))
    values = 3.0 + 5.0 * steps**-0.3 + rng.normal(0, 0.03, len(steps))
    scatter = eval_scatter(steps, values)
    assert scatter.scatter == pytest.approx(0.03, rel=0.15)
    assert scatter.n_points == 400
    assert scatter.n_differences == 398


def test_eval_scatter_is_near_zero_for_a_smooth_curve():
    steps = np.arange(5000, 15001, 500)  # a late stretch, as a caller would pass
    values = 3.0 + 5.0 * steps**-0.3
    assert eval_scatter(steps, values).scatter < 1e-4


def test_eval_scatter_skips_non_finite_and_needs_min_points():
    assert eval_scatter([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0]) is None
    assert eval_scatter([0, 1, 2, 3, 4, 5], [1.0, np.nan, 3.0, 4.0, 5.0, 6.0]) is not None
    assert eval_scatter([0, 1, 2, 3, 4, 5], [1.0, np.nan, 3.0, 4.0, np.nan, 6.0]) is None
