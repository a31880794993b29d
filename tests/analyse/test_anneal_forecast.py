import numpy as np
import pytest

from plateau_doctor.analyse.anneal_forecast import (
    CurveForecast,
    CurveRefusal,
    _decaying_cumsum,
    forecast_curve,
    nanogpt_schedule,
    sample_schedule,
    schedule_areas,
)
from plateau_doctor.api import examine
from plateau_doctor.domain.schedule import nanogpt_lr

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def cosine(max_iters=10000, peak=1e-3, warmup=200, floor=1e-4):
    return lambda it: nanogpt_lr(np.asarray(it), peak, warmup, max_iters, floor)


def wsd(total=10000, peak=1e-3, warmup=200, decay=2000):
    def lr(it):
        it = np.asarray(it, dtype=float)
        up = np.minimum((it + 1) / warmup, 1.0)
        return peak * np.minimum(up, np.clip((total - it) / decay, 0.0, 1.0))

    return lr


def law_curve(lr, steps, level=2.0, amplitude=1.5, alpha=0.6, gain=0.25, decay=0.995, horizon=10001):
    """The law itself, in the module's units (S1 normalised at step 6000, C as the loss a
    complete anneal buys)."""
    areas = schedule_areas(sample_schedule(lr, horizon), (decay,))
    s1 = areas.s1_at(steps) / areas.s1_at(6000)
    return level + amplitude * s1**-alpha - gain * areas.s2_at(decay, steps) / areas.peak


def areas_of(lrs, decays=(0.999,)):
    return schedule_areas(sample_schedule(np.asarray(lrs, dtype=float), len(lrs)), decays)


def test_forward_area_is_the_sum_of_the_lrs_before_each_step():
    areas = areas_of([1.0, 1.0, 0.5, 0.5, 0.25])
    assert areas.s1 == pytest.approx([0, 1, 2, 2.5, 3, 3.25])


def test_annealing_area_of_a_complete_anneal_approaches_one():
    lrs = np.concatenate([np.full(100, 2e-3), np.zeros(20000)])
    areas = areas_of(lrs)
    assert areas.s2[0.999][100] == 0.0
    assert areas.s2[0.999][-1] / areas.peak == pytest.approx(1.0, abs=1e-6)


def test_annealing_area_lags_the_lr_drop_by_the_momentum():
    lrs = np.concatenate([np.full(100, 1.0), np.zeros(2000)])
    areas = areas_of(lrs, (0.99, 0.999))
    fast, slow = areas.s2[0.99], areas.s2[0.999]
    assert fast[600] > 0.99 and slow[600] < 0.45


def test_warmup_counts_at_the_peak_lr():
    warm = areas_of([0.1, 0.5, 1.0, 1.0, 0.5])
    flat = areas_of([1.0, 1.0, 1.0, 1.0, 0.5])
    assert warm.s1 == pytest.approx(flat.s1)
    assert warm.s2[0.999] == pytest.approx(flat.s2[0.999])


def test_a_long_schedule_summed_in_blocks_keeps_its_areas():
    """nanoGPT's default 600,000-iteration cosine: blocks of steps give the same areas to the
    precision the law needs."""
    lr = cosine(max_iters=600000, peak=6e-4, warmup=2000, floor=6e-5)
    steps = np.array([10000, 100000, 300000, 600000])
    lrs = lr(np.arange(600000))
    for blocked in (
        schedule_areas(sample_schedule(lr, 600000)),
        schedule_areas(sample_schedule(lrs, 600000)),
    ):
        exact_s1 = np.concatenate(([0.0], np.cumsum(np.where(np.arange(600000) < 2000, 6e-4, lrs))))
        assert blocked.stride > 1
        assert blocked.s1_at(steps) == pytest.approx(exact_s1[steps], rel=1e-3)
        exact_s2 = 6e-4 - lrs[steps - 1]  # momentum long settled on a slow cosine
        assert blocked.s2_at(0.999, steps[1:]) == pytest.approx(exact_s2[1:], abs=6e-6)


def test_a_huge_horizon_costs_no_more_memory_than_a_long_one():
    lr = cosine(max_iters=10**9, peak=6e-4, warmup=2000, floor=6e-5)
    schedule = sample_schedule(lr, 10**9)
    assert len(schedule.eta) <= 50000 and schedule.n_steps == 10**9
    areas = schedule_areas(schedule, (0.98, 0.999))
    assert np.all(np.isfinite(areas.s2[0.98])) and np.all(np.isfinite(areas.s2[0.999]))


@pytest.mark.parametrize("decay", [0.999, 0.98, 0.135, 1e-9])
def test_decaying_cumsum_matches_the_recursion(decay):
    x = np.random.default_rng(1).normal(size=5000)
    expected, m = np.empty_like(x), 0.0
    for i, value in enumerate(x):
        m = decay * m + value
        expected[i] = m
    assert _decaying_cumsum(x, decay) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_forecast_recovers_the_end_of_a_cosine_run_from_its_first_60_percent():
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    values = law_curve(lr, steps)
    truth = law_curve(lr, np.array([10000]))[0]
    result = forecast_curve(steps, values, lr, 10000, point_noise=0.002)
    assert isinstance(result, CurveForecast)
    assert result.annealing == "fitted"
    assert result.low <= truth <= result.high
    assert result.predicted == pytest.approx(truth, abs=0.01)
    assert result.predicted < values[-1]


def test_forecast_of_a_constant_lr_prefix_takes_the_anneal_from_the_prior_and_says_so():
    lr = wsd()
    steps = np.arange(250, 6001, 250)  # the decay starts at 8000: no anneal seen yet
    prefix = forecast_curve(steps, law_curve(lr, steps), lr, 10000, point_noise=0.002)
    later = np.arange(250, 9501, 250)
    seen = forecast_curve(later, law_curve(lr, later), lr, 10000, point_noise=0.002)
    assert prefix.annealing == "prior" and seen.annealing == "fitted"
    assert any("prior" in note for note in prefix.notes)
    assert prefix.high - prefix.low > 3 * (seen.high - seen.low)


def test_forecast_predicts_under_another_schedule():
    lr = cosine(max_iters=10000)
    steps = np.arange(250, 6001, 250)
    result = forecast_curve(steps, law_curve(lr, steps), lr, 10000, point_noise=0.002)
    longer = cosine(max_iters=20000)
    mid_long, _, _ = result.predict([20000], longer)
    mid_same, _, _ = result.predict([10000])
    assert mid_long[0] < mid_same[0]
    assert result.predict([10000])[0][0] == pytest.approx(result.predicted)


def test_forecast_is_deterministic():
    rng = np.random.default_rng(3)
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    values = law_curve(lr, steps) + rng.normal(0, 0.01, len(steps))
    first = forecast_curve(steps, values, lr, 10000, point_noise=0.01)
    second = forecast_curve(steps, values, lr, 10000, point_noise=0.01)
    assert (first.predicted, first.low, first.high) == (second.predicted, second.low, second.high)


def test_noisier_points_give_a_wider_interval():
    rng = np.random.default_rng(4)
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    clean = law_curve(lr, steps)
    quiet = forecast_curve(steps, clean + rng.normal(0, 0.002, len(steps)), lr, 10000, 0.002)
    noisy = forecast_curve(steps, clean + rng.normal(0, 0.03, len(steps)), lr, 10000, 0.03)
    assert noisy.high - noisy.low > quiet.high - quiet.low


def test_refuses_without_a_schedule():
    result = forecast_curve([100, 200], [3.0, 2.9], None, 1000, 0.01)
    assert isinstance(result, CurveRefusal) and "schedule is unknown" in result.reason


def test_refuses_with_too_few_points():
    lr = cosine()
    result = forecast_curve([500, 1000, 1500], [3.0, 2.9, 2.85], lr, 10000, 0.01)
    assert isinstance(result, CurveRefusal) and "only 3 points" in result.reason


def test_refuses_a_schedule_shorter_than_the_target():
    result = forecast_curve(np.arange(100, 1001, 100), np.linspace(3, 2, 10), np.full(500, 1e-3), 1000, 0.01)
    assert isinstance(result, CurveRefusal) and "covers 500 steps" in result.reason


def test_refuses_a_schedule_the_logged_lr_contradicts():
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    logged = (np.arange(0, 6000, 10), np.full(600, 3e-4))
    result = forecast_curve(steps, law_curve(lr, steps), lr, 10000, 0.002, logged_lr=logged)
    assert isinstance(result, CurveRefusal) and "contradicts" in result.reason


def test_accepts_a_logged_lr_that_agrees_up_to_rounding():
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    iters = np.arange(0, 6000, 10)
    logged = (iters, np.round(lr(iters), 6))
    assert isinstance(
        forecast_curve(steps, law_curve(lr, steps), lr, 10000, 0.002, logged_lr=logged), CurveForecast
    )


def test_a_schedule_with_no_lr_area_predicts_nothing():
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    result = forecast_curve(steps, law_curve(lr, steps), lr, 10000, 0.002)
    mid, low, high = result.predict([5000], lambda it: np.zeros(np.shape(it)))
    assert np.isnan(mid[0]) and np.isnan(low[0]) and np.isnan(high[0])


def test_refuses_a_curve_that_rises_while_the_lr_falls():
    lr = cosine()
    steps = np.arange(250, 6001, 250)
    values = law_curve(lr, steps)
    values[-6:] = values[-7] + 0.02 * np.arange(1, 7)  # val climbs while the LR decays
    result = forecast_curve(steps, values, lr, 10000, point_noise=0.002)
    assert isinstance(result, CurveRefusal) and "rises" in result.reason


def test_nanogpt_schedule_rebuilds_get_lr_from_the_config():
    ex = examine(
        str(ROOT / "examples/logs/seed_fineweb_4070.log"), str(ROOT / "examples/configs/seed_fineweb_4070.py")
    )
    lr = nanogpt_schedule(ex.config)
    assert lr(np.array([14500]))[0] == pytest.approx(2.654e-4, rel=1e-3)


def test_nanogpt_schedule_is_none_without_the_keys_or_with_a_word_for_a_number():
    assert nanogpt_schedule({}) is None
    assert (
        nanogpt_schedule({"learning_rate": "fast", "warmup_iters": 10, "lr_decay_iters": 100, "min_lr": 1e-4})
        is None
    )


def test_seed_case_forecast_says_what_finishing_the_anneal_buys():
    """SEED.md: judged at iter 14500 of a 20000-iter cosine, LR still ~2.7x min_lr. Finishing the
    anneal should bring val below where it is, by a few hundredths, with an interval that excludes
    the current value but not by an absurd margin."""
    ex = examine(
        str(ROOT / "examples/logs/seed_fineweb_4070.log"), str(ROOT / "examples/configs/seed_fineweb_4070.py")
    )
    a = ex.analyses
    result = forecast_curve(a.val.steps, a.val.values, nanogpt_schedule(ex.config), 20000, a.eval_noise)
    current = float(a.val.values[-1])
    assert isinstance(result, CurveForecast)
    assert result.annealing == "fitted"
    assert result.low < result.predicted < result.high < current
    assert 0.01 < current - result.predicted < 0.1
    assert result.high - result.low < 0.08


def test_forecast_run_end_forecasts_the_seed_run_to_max_iters():
    from plateau_doctor.analyse.anneal_forecast import forecast_run_end, report_entry

    ex = examine(
        str(ROOT / "examples/logs/seed_fineweb_4070.log"), str(ROOT / "examples/configs/seed_fineweb_4070.py")
    )
    a = ex.analyses
    result = forecast_run_end(a.val.steps, a.val.values, ex.config, ex.facts.max_iters, a.eval_noise)
    entry = report_entry(result)
    assert entry["iter"] == 20000 and entry["low"] < entry["val_loss"] < entry["high"]
    assert entry["method"].startswith("scaling law with LR annealing")


def test_forecast_run_end_refuses_without_config_or_length_or_when_done():
    from plateau_doctor.analyse.anneal_forecast import forecast_run_end, report_entry

    steps, values = np.arange(250, 5001, 250), np.linspace(3, 2, 20)
    config = {"learning_rate": 1e-3, "warmup_iters": 100, "lr_decay_iters": 5000, "min_lr": 1e-4}
    assert "unknown" in forecast_run_end(steps, values, None, 5000, 0.01).reason
    assert "max_iters" in forecast_run_end(steps, values, config, None, 0.01).reason
    done = forecast_run_end(steps, values, config, 5000, 0.01)
    assert done.kind == "done" and report_entry(done)["val_loss"] is None


def _weighted_picks(rng: np.random.Generator, weight: np.ndarray, size: int) -> np.ndarray:
    """_sorted_picks' picks in the draws' own order, to hold against rng.choice."""
    from plateau_doctor.analyse.anneal_forecast import _sorted_picks

    counts, order = _sorted_picks(rng, weight, size)
    picks = np.empty(size, dtype=np.int64)
    picks[order] = np.repeat(np.arange(len(counts)), counts)
    return picks


@pytest.mark.parametrize("cells", [1, 7, 9600])
def test_weighted_picks_are_rng_choice_and_leave_the_generator_where_choice_does(cells):
    weight = np.random.default_rng(cells).random(cells) ** 4
    weight /= weight.sum()
    ours, numpy_s = np.random.default_rng(0), np.random.default_rng(0)
    np.testing.assert_array_equal(
        _weighted_picks(ours, weight, 20000), numpy_s.choice(cells, 20000, p=weight)
    )
    assert ours.random() == numpy_s.random()  # the draws after it are the same too


def test_weights_choice_refuses_are_refused_the_same_way():
    with pytest.raises(ValueError):
        _weighted_picks(np.random.default_rng(0), np.array([0.5, 0.6]), 10)


def test_runs_with_one_config_share_its_sampled_schedule_read_only_with_the_same_forecast():
    from plateau_doctor.analyse.anneal_forecast import NanoGPTSchedule

    args = (1e-3, 200, 10000, 1e-4, True)
    steps = np.arange(250, 6001, 250)
    values = law_curve(cosine(), steps)
    first = forecast_curve(steps, values, NanoGPTSchedule(args), 10000, point_noise=0.002)
    again = forecast_curve(steps, values, NanoGPTSchedule(args), 10000, point_noise=0.002)
    uncached = forecast_curve(steps, values, cosine(), 10000, point_noise=0.002)
    assert sample_schedule(NanoGPTSchedule(args), 10001) is sample_schedule(NanoGPTSchedule(args), 10001)
    assert not sample_schedule(NanoGPTSchedule(args), 10001).eta.flags.writeable
    for result in (again, uncached):
        assert (result.predicted, result.low, result.high) == (first.predicted, first.low, first.high)


def test_schedules_that_differ_only_as_written_numbers_are_not_shared():
    from plateau_doctor.analyse.anneal_forecast import NanoGPTSchedule

    assert (
        NanoGPTSchedule((0.0, 0, 10, 0.0, True)).cache_key
        != NanoGPTSchedule((-0.0, 0, 10, 0.0, True)).cache_key
    )
    assert (
        NanoGPTSchedule((1, 0, 10, 0.0, True)).cache_key != NanoGPTSchedule((1.0, 0, 10, 0.0, True)).cache_key
    )
