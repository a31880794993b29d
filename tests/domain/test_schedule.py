import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plateau_doctor.domain.schedule import logged_lr_trend, nanogpt_lr, schedule_position

SEED = dict(learning_rate=1e-3, warmup_iters=500, lr_decay_iters=20000, min_lr=1e-4)


def test_nanogpt_lr_matches_the_seed_case_at_iter_14500():
    lr = nanogpt_lr(14500, **SEED)
    ratio = (14500 - 500) / (20000 - 500)
    assert lr == pytest.approx(1e-4 + 0.5 * (1 + math.cos(math.pi * ratio)) * 9e-4)
    assert lr == pytest.approx(2.66e-4, rel=0.01)
    assert isinstance(lr, float)


def test_nanogpt_lr_warmup_current_and_old_formula():
    assert nanogpt_lr(0, **SEED) == pytest.approx(1e-3 * 1 / 501)
    assert nanogpt_lr(249, **SEED) == pytest.approx(1e-3 * 250 / 501)
    assert nanogpt_lr(0, **SEED, old_warmup=True) == 0.0
    assert nanogpt_lr(250, **SEED, old_warmup=True) == pytest.approx(5e-4)


def test_nanogpt_lr_cosine_endpoints_and_after_decay():
    assert nanogpt_lr(500, **SEED) == pytest.approx(1e-3)
    assert nanogpt_lr(10250, **SEED) == pytest.approx(5.5e-4)  # halfway: mean of peak and min
    assert nanogpt_lr(20000, **SEED) == pytest.approx(1e-4)
    assert nanogpt_lr(25000, **SEED) == pytest.approx(1e-4)


def test_nanogpt_lr_is_vectorised_and_matches_scalar_calls():
    its = np.array([0, 100, 499, 500, 7000, 14500, 20000, 30000])
    lrs = nanogpt_lr(its, **SEED)
    assert isinstance(lrs, np.ndarray) and lrs.shape == its.shape
    assert lrs == pytest.approx([nanogpt_lr(int(i), **SEED) for i in its])


def test_nanogpt_lr_constant_when_decay_disabled():
    assert nanogpt_lr(14500, **SEED, decay_lr=False) == 1e-3
    assert np.all(nanogpt_lr(np.arange(5), **SEED, decay_lr=False) == 1e-3)


def test_nanogpt_lr_survives_degenerate_schedules():
    no_warmup = dict(SEED, warmup_iters=0)
    assert nanogpt_lr(0, **no_warmup) == pytest.approx(1e-3)
    short_decay = dict(SEED, lr_decay_iters=500)  # nanoGPT itself divides by zero here
    assert nanogpt_lr(499, **short_decay) == pytest.approx(1e-3 * 500 / 501)
    assert nanogpt_lr(500, **short_decay) == pytest.approx(1e-4)
    assert nanogpt_lr(800, **dict(SEED, lr_decay_iters=300)) == pytest.approx(1e-4)
    both_zero = dict(SEED, warmup_iters=0, lr_decay_iters=0)
    assert nanogpt_lr(np.arange(3), **both_zero) == pytest.approx([1e-4] * 3)


def test_schedule_position_seed_case_is_mid_decay_with_anneal_ahead():
    position = schedule_position(14500, **SEED, max_iters=20000)
    assert position.phase == "decay"
    assert position.lr_now == pytest.approx(2.66e-4, rel=0.01)
    assert position.lr_now_over_min == pytest.approx(2.66, rel=0.01)
    assert position.lr_now_over_peak == pytest.approx(0.266, rel=0.01)
    assert position.decay_fraction == pytest.approx(14000 / 19500)
    assert position.iters_to_min_lr == 5500
    assert not position.decay_ends_before_max and not position.decay_ends_after_max
    assert position.lr_at_max_iters == pytest.approx(1e-4)


def test_schedule_position_phases():
    assert schedule_position(100, **SEED).phase == "warmup"
    assert schedule_position(100, **SEED).decay_fraction == 0.0
    at_min = schedule_position(20000, **SEED)
    assert at_min.phase == "min_lr" and at_min.iters_to_min_lr == 0 and at_min.decay_fraction == 1.0
    constant = schedule_position(14500, **SEED, decay_lr=False)
    assert constant.phase == "constant" and constant.lr_now == 1e-3
    assert constant.lr_now_over_min is None and constant.decay_fraction is None
    assert constant.iters_to_min_lr is None


def test_schedule_position_flags_decay_ending_before_or_after_max_iters():
    early = schedule_position(1000, **dict(SEED, lr_decay_iters=5000), max_iters=20000)
    assert early.decay_ends_before_max and not early.decay_ends_after_max
    late = schedule_position(1000, **dict(SEED, lr_decay_iters=600000), max_iters=20000)
    assert late.decay_ends_after_max and late.lr_at_max_iters > 9e-4


def test_logged_lr_trend_counts_doublings_of_a_line_search():
    # real_04: the printed LR doubles four times after holding at its first value.
    iters = np.arange(0, 11000, 1000)
    lrs = [0.001953125] * 3 + [0.00390625, 0.0078125, 0.015625, 0.015625] + [0.03125] * 4
    trend = logged_lr_trend(iters, lrs)
    assert trend.doublings == 4
    assert trend.max_ratio_increase == pytest.approx(16.0)
    assert not trend.monotone_after_peak
    assert trend.peak == 0.03125 and trend.peak_iter == 7000 and trend.first == 0.001953125


def test_logged_lr_trend_warmup_then_cosine_has_no_doublings():
    iters = np.arange(0, 5000)
    lrs = nanogpt_lr(iters, 6e-4, 700, 5000, 6e-5)
    printed = np.array([float(f"{x:.2e}") for x in lrs])  # llm.c-style rounding makes ties
    for series in (lrs, printed):
        trend = logged_lr_trend(iters, series)
        assert trend.doublings == 0
        assert trend.max_ratio_increase == pytest.approx(1.0)
        assert trend.monotone_after_peak
        assert trend.peak == pytest.approx(6e-4, rel=1e-3)
        assert trend.peak_region_iter == pytest.approx(700, abs=2)


def _doublings_one_by_one(lrs: np.ndarray) -> int:
    """The definition, value by value: a doubling of the minimum since the last one."""
    doublings, reference = 0, float(lrs[0])
    for value in lrs[1:]:
        if value >= 2.0 * reference:
            doublings, reference = doublings + 1, float(value)
        else:
            reference = min(reference, float(value))
    return doublings


@pytest.mark.parametrize("period", [3, 700, 4000])
def test_logged_lr_trend_counts_the_doublings_of_a_long_cyclic_schedule_one_by_one(period):
    # cyclic and restarted schedules double once per cycle, across the search's growing spans
    iters = np.arange(50_000)
    lrs = 1e-5 + 3e-4 * np.abs(np.sin(iters / period))
    trend = logged_lr_trend(iters, lrs, warmup_iters=0)
    assert trend.doublings == _doublings_one_by_one(lrs) > 0


def test_logged_lr_trend_uses_known_warmup_and_skips_non_finite():
    iters = np.arange(10)
    lrs = np.array([1e-4, 2e-4, 3e-4, 3e-4, 3e-4, np.nan, 6e-4, 6e-4, 1.2e-3, 1.2e-3])
    trend = logged_lr_trend(iters, lrs, warmup_iters=2)
    assert trend.peak_region_iter == 2
    assert trend.doublings == 2 and trend.max_ratio_increase == pytest.approx(4.0)
    assert logged_lr_trend([0, 1], [np.nan, np.nan]) is None


@settings(max_examples=200, deadline=None)
@given(
    it=st.integers(0, 100_000),
    warmup=st.integers(0, 5_000),
    decay=st.integers(0, 100_000),
    peak=st.floats(1e-6, 1e-1),
    min_share=st.floats(0.0, 1.0),
    old=st.booleans(),
)
def test_nanogpt_lr_stays_between_zero_and_peak_for_any_schedule(it, warmup, decay, peak, min_share, old):
    lr = nanogpt_lr(it, peak, warmup, decay, peak * min_share, old_warmup=old)
    assert 0.0 <= lr <= peak * (1 + 1e-12)
    assert nanogpt_lr(np.array([it]), peak, warmup, decay, peak * min_share, old_warmup=old)[
        0
    ] == pytest.approx(lr)


def test_a_logged_lr_read_out_of_step_order_is_summarised_as_in_order():
    iters = np.arange(0, 3_000, 10)
    lrs = nanogpt_lr(iters, 6e-4, 200, 3_000, 6e-5)
    shuffle = np.random.default_rng(3).permutation(len(iters))
    assert logged_lr_trend(iters[shuffle], lrs[shuffle], warmup_iters=200) == logged_lr_trend(
        iters, lrs, warmup_iters=200
    )
