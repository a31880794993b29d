import numpy as np

from plateau_doctor.analyse.spikes import detect_explosion, detect_spikes, first_non_finite


def noisy_decay(n=2000, sigma=0.05, seed=0):
    rng = np.random.default_rng(seed)
    iters = np.arange(n) * 10
    return iters, 3.6 + 7.0 * np.exp(-iters / 2000.0) + rng.normal(0, sigma, n)


def test_detect_spikes_finds_exactly_the_one_spike():
    iters, losses = noisy_decay()
    losses[1000] += 0.46 * 2  # ~18 sigma
    spikes = detect_spikes(iters, losses)
    assert [s.index for s in spikes] == [1000]
    assert spikes[0].iter == 10000
    assert spikes[0].z > 6
    assert abs(spikes[0].baseline - 3.6) < 0.05


def test_detect_spikes_finds_none_in_clean_noise_of_known_sigma():
    iters, losses = noisy_decay(n=5000, sigma=0.05, seed=1)
    assert detect_spikes(iters, losses) == []
    assert detect_spikes(iters, losses, sigma=0.05) == []


def test_detect_spikes_uses_given_sigma():
    iters, losses = noisy_decay(sigma=0.05, seed=2)
    losses[1500] += 0.4  # 8 sigma of 0.05, but only 2 sigma of 0.2
    assert [s.index for s in detect_spikes(iters, losses, sigma=0.05)] == [1500]
    assert detect_spikes(iters, losses, sigma=0.2) == []


def test_detect_spikes_never_flags_drops_or_the_warmup_descent():
    iters = np.arange(300)
    losses = 10.8 * np.exp(-iters / 20.0) + 3.0  # steep, noise-free descent
    assert detect_spikes(iters, losses) == []
    losses[200] -= 1.0
    assert detect_spikes(iters, losses) == []


def test_detect_spikes_skips_non_finite_and_reports_original_index():
    iters, losses = noisy_decay(n=500, seed=3)
    losses[100] = np.nan
    losses[300] += 1.5
    spikes = detect_spikes(iters, losses)
    assert [s.index for s in spikes] == [300] and spikes[0].iter == 3000


def test_detect_spikes_ignores_the_first_points_without_baseline():
    losses = np.array([3.0, 3.0, 9.0] + [3.0] * 20)
    assert detect_spikes(np.arange(len(losses)), losses) == []


def test_first_non_finite_reports_nan_and_recovery():
    losses = np.array([4.0, 3.9, np.nan, np.inf, 3.8, np.nan, 3.7])
    report = first_non_finite(np.arange(len(losses)) * 10, losses)
    assert (report.first_iter, report.first_index, report.count, report.total) == (20, 2, 3, 7)
    assert report.recovered
    assert not first_non_finite(np.arange(3), [4.0, np.nan, np.nan]).recovered
    assert first_non_finite(np.arange(3), [4.0, 3.0, 2.0]) is None


def test_detect_explosion_on_a_step_jump_that_stays():
    rng = np.random.default_rng(4)
    losses = np.r_[np.linspace(4.0, 2.18, 300), np.full(200, 4.3)] + rng.normal(0, 0.02, 500)
    explosion = detect_explosion(np.arange(500) * 10, losses)
    assert explosion is not None
    assert abs(explosion.start_iter - 3000) <= 30
    assert abs(explosion.min_before - 2.18) < 0.05
    assert abs(explosion.level_after - 4.3) < 0.05
    assert explosion.ratio > 1.9
    assert not explosion.recovered


def test_detect_explosion_on_a_slow_climb_from_lr_doubling():
    rng = np.random.default_rng(5)
    iters = np.arange(0, 10000, 10)
    # val bottoms near 3.2 at 3000, then climbs as the LR keeps doubling
    smooth = np.where(iters < 3000, 3.2 + 7.0 * np.exp(-iters / 500.0), 3.2 * 2 ** ((iters - 3000) / 5000.0))
    explosion = detect_explosion(iters, smooth + rng.normal(0, 0.05, len(iters)))
    assert explosion is not None
    # 1 nat above the minimum (4.2) is reached near 4950, before 1.5x it (4.8) near 5925
    assert 4700 < explosion.start_iter < 5200
    assert not explosion.recovered


def test_detect_explosion_reports_recovery():
    rng = np.random.default_rng(6)
    losses = np.r_[np.full(200, 2.0), np.full(100, 5.0), np.full(200, 2.05)]
    explosion = detect_explosion(np.arange(500), losses + rng.normal(0, 0.02, 500))
    assert explosion is not None and explosion.recovered


def test_no_explosion_on_a_healthy_noisy_decay():
    iters, losses = noisy_decay(n=3000, sigma=0.1, seed=7)
    assert detect_explosion(iters, losses) is None


def test_no_explosion_from_a_single_spike():
    iters, losses = noisy_decay(seed=8)
    losses[1200] = 20.0
    losses[-1] = 20.0  # even on the last point
    assert detect_explosion(iters, losses) is None


def test_no_explosion_from_tiny_absolute_wiggles_near_zero_loss():
    rng = np.random.default_rng(9)
    losses = np.abs(0.02 + rng.normal(0, 0.01, 1000)) + np.r_[np.zeros(500), np.full(500, 0.03)]
    assert detect_explosion(np.arange(1000), losses) is None


def test_spike_impact_calls_a_lone_recovered_spike_isolated():
    from plateau_doctor.analyse.spikes import spike_impact

    rng = np.random.default_rng(3)
    loss = 3.0 + 0.05 * rng.standard_normal(400)
    loss[200] = 4.5
    spikes = detect_spikes(np.arange(400), loss, sigma=0.05)
    impact = spike_impact(loss, spikes, sigma=0.05)
    assert (impact.isolated, impact.damaging, impact.clustered) == (1, 0, 0)


def test_spike_impact_calls_a_spike_that_leaves_the_loss_higher_damaging():
    from plateau_doctor.analyse.spikes import spike_impact

    rng = np.random.default_rng(4)
    loss = 3.0 + 0.05 * rng.standard_normal(400)
    loss[200] = 4.5
    loss[201:] += 0.4  # the run never gets back to where it was
    spikes = [s for s in detect_spikes(np.arange(400), loss, sigma=0.05) if s.iter == 200]
    impact = spike_impact(loss, spikes, sigma=0.05)
    assert impact.damaging == 1 and impact.worst_shift > 0.3


def test_spike_impact_counts_bursts():
    from plateau_doctor.analyse.spikes import spike_impact

    rng = np.random.default_rng(5)
    loss = 3.0 + 0.05 * rng.standard_normal(400)
    loss[[100, 101, 102, 300]] = 4.5
    spikes = detect_spikes(np.arange(400), loss, sigma=0.05)
    assert spike_impact(loss, spikes, sigma=0.05).clustered == 2


def test_long_curves_find_the_same_lone_spike_with_the_block_baseline():
    # past LONG_CURVE points the baseline is the previous block's median, computed in one pass
    from plateau_doctor.analyse.spikes import LONG_CURVE

    rng = np.random.default_rng(11)
    n = LONG_CURVE + 20_000
    loss = 3.0 + 0.05 * rng.standard_normal(n)
    loss[n - 5_000] = 4.0
    found = detect_spikes(np.arange(n), loss, sigma=0.05)
    assert [s.iter for s in found] == [n - 5_000]


def test_detect_explosion_on_a_climb_of_nats_that_is_small_as_a_ratio():
    # a real run: val 8.9 early in training, then a steady climb to 13.1 (1.46x, +4.2 nats)
    steps = np.arange(0, 2050, 50)
    val = np.r_[10.86, 8.94, np.linspace(10.06, 13.09, len(steps) - 2)]
    explosion = detect_explosion(steps, val, min_run=2)
    assert explosion is not None and explosion.level_after - explosion.min_before > 1.0
    assert explosion.ratio < 1.5 and not explosion.recovered


def test_a_rise_under_one_nat_and_under_one_and_a_half_times_is_no_explosion():
    steps = np.arange(0, 2000, 50)
    val = np.r_[np.linspace(9.0, 6.0, 20), np.linspace(6.0, 6.8, 20)]
    assert detect_explosion(steps, val, min_run=2) is None


def test_a_short_series_is_judged_for_gross_outliers_against_all_the_other_points():
    losses = [0.66, 0.80, 4.27, 0.77, 0.56, 0.82]
    [s] = detect_spikes(range(1, 7), losses)
    assert (s.iter, s.index, s.baseline) == (3, 2, 0.77) and s.z > 12


def test_a_short_series_flags_neither_its_first_loss_nor_a_steep_descent_nor_a_mild_outlier():
    assert detect_spikes(range(6), [10.9, 9.5, 8.2, 7.6, 7.1, 6.8]) == []  # a run from scratch
    assert detect_spikes(range(6), [1.0, 1.1, 1.9, 1.0, 0.9, 1.05]) == []  # under 2x the others
    assert detect_spikes(range(4), [1.0, 5.0, 1.0, 1.0]) == []  # four points: too few to judge


def test_a_short_series_high_point_on_the_way_down_is_the_descent_not_a_spike():
    # a QLoRA train loss logged 16x (285, 161, 9.9, 5.4, 5.2, 5.0): 161 is below the loss before it
    assert detect_spikes(range(6), [285.0, 161.2, 9.9, 5.4, 5.2, 5.0]) == []


def test_a_short_curve_with_a_jump_that_persists_to_its_end_is_an_explosion():
    # litgpt#628: 1.70, then 10-12 for every line to the end of a 9-line paste
    losses = [1.70, 11.46, 11.75, 11.50, 11.48, 12.19, 10.02, 10.94, 10.55]
    e = detect_explosion(range(1151, 1160), losses, min_run=3)
    assert (e.start_iter, e.min_before, e.recovered) == (1152, 1.70, False) and e.ratio > 6
    # the same jump that comes back down is no explosion
    assert detect_explosion(range(9), [1.7, 11.5, 11.7, 1.8, 1.7, 1.6, 1.7, 1.6, 1.5], min_run=3) is None


def test_long_curve_spikes_carry_the_previous_blocks_median_and_its_z_at_every_chunk_edge():
    from plateau_doctor.analyse.spikes import LONG_CURVE, MIN_HISTORY, SPIKE_WINDOW
    from plateau_doctor.domain.medians import CHUNK_VALUES

    rng = np.random.default_rng(5)
    n = 3 * CHUNK_VALUES + 777  # several chunks of blocks and a partial last block
    assert n > LONG_CURVE
    loss = np.round(3.0 + 0.05 * rng.standard_normal(n), 4)
    chunk_rows = CHUNK_VALUES // SPIKE_WINDOW
    planted = [SPIKE_WINDOW + 3, chunk_rows * SPIKE_WINDOW, chunk_rows * SPIKE_WINDOW - 1, n - 5, n - 800]
    planted += rng.integers(SPIKE_WINDOW, n, 20).tolist()
    loss[planted] += 1.0
    found = detect_spikes(np.arange(n), loss, sigma=0.05)
    blocks = n // SPIKE_WINDOW
    medians = np.median(loss[: blocks * SPIKE_WINDOW].reshape(blocks, SPIKE_WINDOW), axis=1)
    expected = []
    for k in range(MIN_HISTORY, n):
        block = k // SPIKE_WINDOW
        if block == 0:
            continue  # the first block's running baseline is another test's
        baseline = medians[min(block, blocks) - 1]
        z = (loss[k] - baseline) / 0.05
        if z > 6.0:
            expected.append((k, float(baseline), float(z)))
    got = [(s.index, s.baseline, s.z) for s in found if s.index >= SPIKE_WINDOW]
    assert got == expected and len(got) >= 20
