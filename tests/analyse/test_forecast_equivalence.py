"""The faster forecast gives the very bits the straightforward one gave.

The reference implementations below are the code as it was before it was made faster
(`_Mixture.predict` with its draws and np.percentile, and the fit of every decay by `_fit_many`):
every comparison is exact, bit for bit (NaN payloads and the sign of zero included).
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from functools import partial

import numpy as np
import pytest

from plateau_doctor.analyse import anneal_forecast as af
from plateau_doctor.analyse.anneal_forecast import (
    CurveForecast,
    NanoGPTSchedule,
    forecast_curve,
    sample_schedule,
    schedule_areas,
)
from plateau_doctor.domain.schedule import nanogpt_lr

# -- the reference: the code before the speed-up -------------------------------------------------


def reference_predict(mixture, steps, lr=None):
    asked = np.atleast_1d(np.asarray(steps, dtype=float)).astype(int)
    steps = np.append(asked, mixture.s1_reference_step)
    horizon = int(steps.max())
    schedule = mixture.schedule if lr is None else sample_schedule(lr, horizon)
    if schedule.n_steps < horizon:
        raise ValueError(f"the schedule covers {schedule.n_steps} steps, not {horizon}")
    decays = tuple(float(d) for d in np.unique(mixture.decay))
    areas = mixture.areas if lr is None else schedule_areas(schedule, decays)
    s2 = np.empty((len(mixture.decay), len(steps)))
    for decay in decays:
        s2[mixture.decay == decay] = areas.s2_at(decay, steps) / mixture.s2_scale
    s1 = areas.s1_at(steps) / mixture.s1_scale
    no_area = s1 <= 0
    x1 = np.maximum(s1, 1e-12)[None, :] ** -mixture.alpha[:, None]
    mean = mixture.level[:, None] + mixture.amplitude[:, None] * x1 - mixture.gain[:, None] * s2
    within = mixture.sigma**2 * (
        1.0 / mixture.n_points + (x1 - mixture.x1_mean[:, None]) ** 2 / mixture.x1_sxx[:, None]
    )
    change = mean - mean[:, -1:]
    spread = np.sqrt(within + mixture.point_noise**2 + (mixture.discrepancy * change) ** 2)
    mid, low, high = reference_quantiles(mean[:, :-1], spread[:, :-1], mixture.weight)
    blank = no_area[:-1]
    return (np.where(blank, np.nan, mid), np.where(blank, np.nan, low), np.where(blank, np.nan, high))


def reference_quantiles(mean, spread, weight):
    rng = np.random.default_rng(0)
    picks = rng.choice(len(weight), size=af.N_DRAWS, p=weight)
    noise = rng.standard_normal(af.N_DRAWS)
    draws = mean[picks] + spread[picks] * noise[:, None]
    low, mid, high = np.percentile(draws, [af.INTERVAL[0], 50.0, af.INTERVAL[1]], axis=0)
    return mid, low, high


def reference_fit_many(x, y):
    n = x.shape[1]
    sx, sxx = x.sum(axis=1), (x * x).sum(axis=1)
    sy, syy = y.sum(axis=1)[:, None], (y * y).sum(axis=1)[:, None]
    sxy = y @ x.T

    def sse(level, amp):
        return syy - 2 * level * sy - 2 * amp * sxy + n * level**2 + 2 * level * amp * sx + amp**2 * sxx

    x_var = sxx - sx**2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        amp_free = (sxy - sx * sy / n) / x_var
    level_free = (sy - amp_free * sx) / n
    free_ok = (amp_free >= 0) & (level_free >= 0) & np.isfinite(amp_free)
    level_flat = np.broadcast_to(np.maximum(sy / n, 0.0), sxy.shape)
    amp_through_zero = np.maximum(sxy / sxx, 0.0)
    candidates = [
        (np.where(free_ok, level_free, 0.0), np.where(free_ok, amp_free, 0.0)),
        (level_flat, np.zeros_like(sxy)),
        (np.zeros_like(sxy), amp_through_zero),
    ]
    errors = [np.where(free_ok, sse(*candidates[0]), np.inf), sse(*candidates[1]), sse(*candidates[2])]
    best = np.argmin(np.stack(errors), axis=0)
    level = np.choose(best, [c[0] for c in candidates])
    amp = np.choose(best, [c[1] for c in candidates])
    return level, amp, np.choose(best, errors)


# -- helpers -------------------------------------------------------------------------------------


def bits(values) -> np.ndarray:
    """The bit patterns of float64 values: equal bits, not merely equal numbers."""
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)).view(np.uint64)


def assert_same_bits(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(bits(a), bits(b))


def assert_same_forecast(ours, theirs):
    assert type(ours) is type(theirs)
    assert ours == theirs  # every compared field, exactly
    if isinstance(ours, CurveForecast):
        for f in fields(ours.model):
            a, b = getattr(ours.model, f.name), getattr(theirs.model, f.name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(bits(a), bits(b))


def cosine(max_iters=10000, peak=1e-3, warmup=200, floor=1e-4):
    """nanoGPT's schedule as a plain callable (not cached as NanoGPTSchedule is)."""
    return partial(
        nanogpt_lr, learning_rate=peak, warmup_iters=warmup, lr_decay_iters=max_iters, min_lr=floor
    )


def wsd(total=10000, peak=1e-3, warmup=200, decay=2000):
    """Warmup, stable, linear decay to zero at `total`."""
    return partial(np.interp, xp=[0, warmup, total - decay, total], fp=[0.0, peak, peak, 0.0])


def law_curve(lr, steps, level=2.0, amplitude=1.5, alpha=0.6, gain=0.25, decay=0.995, horizon=20001):
    areas = schedule_areas(sample_schedule(lr, horizon), (decay,))
    s1 = areas.s1_at(steps) / areas.s1_at(6000)
    return level + amplitude * s1**-alpha - gain * areas.s2_at(decay, steps) / areas.peak


def reference_forecast(monkeypatch, *args, **kwargs):
    """forecast_curve with the reference predict and fit in place of the fast ones."""
    with monkeypatch.context() as patch:
        patch.setattr(af._Mixture, "predict", reference_predict)
        patch.setattr(af, "_fit_many", reference_fit_each_decay)
        return forecast_curve(*args, **kwargs)


def reference_fit_each_decay(x1, y):
    """The fit as it was: one reference_fit_many per decay (y: (decays, gains, points))."""
    fits = [reference_fit_many(x1, part) for part in y]
    return tuple(np.stack(part) for part in zip(*fits, strict=True))


def cases():
    """(steps, losses, lr, target, point_noise, settings): runs of many shapes and schedules."""
    rng = np.random.default_rng(11)
    out = []
    for i in range(24):
        kind = i % 4
        lr = [cosine(), wsd(), NanoGPTSchedule((1e-3, 200, 10000, 1e-4, True)), cosine(20000)][kind]
        n = [8, 24, 60, 260][i % 4 if i < 20 else 3]  # 260 points are thinned to 200
        end = [3000, 6000, 8500, 9500][(i // 4) % 4]
        steps = np.linspace(300, end, n).astype(int)
        noise = [0.002, 0.01, 0.03, None][(i // 2) % 4]
        values = law_curve(lr, steps, alpha=0.3 + 0.1 * (i % 7), gain=0.1 + 0.05 * (i % 5))
        values = values + rng.normal(0, noise or 0.005, n)
        target = [10000, 20000, 12000][i % 3]
        settings = af.LawSettings() if i % 5 else replace(af.LawSettings(), alpha_grid=(0.2, 0.5, 1.0))
        out.append((steps, values, lr, target, noise, settings))
    return out


# -- the comparisons -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", range(24))
def test_forecast_curve_is_bit_for_bit_the_reference(monkeypatch, case):
    steps, values, lr, target, noise, settings = cases()[case]
    ours = forecast_curve(steps, values, lr, target, noise, settings=settings)
    theirs = reference_forecast(monkeypatch, steps, values, lr, target, noise, settings=settings)
    assert isinstance(ours, CurveForecast)
    assert_same_forecast(ours, theirs)


@pytest.fixture(scope="module")
def mixtures():
    return [
        forecast_curve(steps, values, lr, target, noise, settings=settings).model
        for steps, values, lr, target, noise, settings in cases()[:8]
    ]


@pytest.mark.parametrize(
    "steps",
    [[10000], [0], [0, 50, 200, 3000, 10000, 20000], [12000, 6000, 12000], np.array([7000.9])],
)
@pytest.mark.parametrize("schedule", ["fitted", "callable", "array", "nanogpt"])
def test_predict_is_bit_for_bit_the_reference(mixtures, steps, schedule):
    lr = {
        "fitted": None,
        "callable": cosine(max_iters=25000, warmup=100),
        "array": wsd(total=25000)(np.arange(25001)),
        "nanogpt": NanoGPTSchedule((1e-3, 200, 25000, 1e-4, True)),
    }[schedule]
    for mixture in mixtures:
        if lr is None and max(steps) >= mixture.schedule.n_steps:
            continue
        assert_same_bits(mixture.predict(steps, lr), reference_predict(mixture, steps, lr))


def reweighted(mixture, weight):
    return replace(mixture, weight=np.asarray(weight, dtype=float))


def test_weights_with_exact_zeros_and_a_single_cell(mixtures):
    mixture = mixtures[0]
    cells = len(mixture.weight)
    sparse = np.where(np.arange(cells) % 7 == 0, mixture.weight, 0.0)
    one = np.zeros(cells)
    one[cells // 2] = 1.0
    last = np.zeros(cells)
    last[-1] = 1.0
    for weight in (sparse / sparse.sum(), one, last, np.full(cells, 1.0 / cells)):
        changed = reweighted(mixture, weight)
        steps = [mixture.schedule.n_steps, 3000]
        assert_same_bits(changed.predict(steps), reference_predict(changed, steps))


def test_weights_choice_takes_itself_give_its_picks(mixtures):
    """A sum off by more than half choice's tolerance goes to choice itself: still the same."""
    mixture = mixtures[1]
    atol = math.sqrt(np.finfo(np.float64).eps)
    weight = mixture.weight * (1.0 + 0.75 * atol)
    changed = reweighted(mixture, weight)
    steps = [mixture.schedule.n_steps]
    assert_same_bits(changed.predict(steps), reference_predict(changed, steps))


@pytest.mark.parametrize("weight", [[0.5, 0.6], [-0.1, 1.1], [np.nan, 1.0]])
def test_weights_choice_refuses_are_refused_the_same_way(mixtures, weight):
    mixture = mixtures[2]
    full = np.zeros(len(mixture.weight))
    full[: len(weight)] = weight
    changed = reweighted(mixture, full)
    with pytest.raises(ValueError) as ours:
        changed.predict([5000])
    with pytest.raises(ValueError) as theirs:
        reference_predict(changed, [5000])
    assert str(ours.value) == str(theirs.value)


def test_draws_with_nan_inf_and_zeros_keep_np_percentiles_answer(mixtures):
    mixture = mixtures[3]
    cells = len(mixture.weight)
    level = mixture.level.copy()
    level[::3] = np.nan  # a third of the draws are NaN
    level[1::3] = np.inf
    zero = replace(
        mixture,
        level=np.zeros(cells),
        amplitude=np.zeros(cells),
        gain=np.zeros(cells),
        sigma=0.0,
        point_noise=0.0,
        discrepancy=0.0,
    )
    negative_zero = replace(zero, level=np.full(cells, -0.0))
    for changed in (replace(mixture, level=level), zero, negative_zero):
        steps = [changed.schedule.n_steps, 5000]
        with np.errstate(invalid="ignore"):  # inf - inf in the change from the reference step
            assert_same_bits(changed.predict(steps), reference_predict(changed, steps))


def test_fit_many_is_bit_for_bit_the_reference():
    from plateau_doctor.analyse.forecast import _fit_many

    rng = np.random.default_rng(5)
    for n, groups, series in ((6, 48, 40), (200, 48, 40), (30, 200, 1), (30, 200, 200), (2, 3, 4)):
        x = (np.linspace(0.1, 1.0, n)[None, :]) ** -np.geomspace(0.05, 3.0, groups)[:, None]
        y = rng.normal(2.0, 0.5, (5, series, n)) + rng.random((5, series, 1)) * x[rng.integers(groups)]
        assert_same_bits(_fit_many(x, y[0]), reference_fit_many(x, y[0]))
        assert_same_bits(_fit_many(x, y), reference_fit_each_decay(x, y))  # a stack in one pass


def test_percentiles_are_np_percentiles_bit_for_bit():
    """Few, widely spread values, where interpolating from the wrong neighbour shows."""
    rng = np.random.default_rng(8)
    for n in (1, 2, 3, 5, 10, 11, 101, 20000):
        for points in (1, 3):
            for _ in range(20):
                draws = rng.lognormal(0.0, 3.0, (n, points)) * rng.choice([-1.0, 1.0], (n, points))
                ours = af._percentiles(draws, af.PERCENTS)
                assert ours is not None
                assert_same_bits(ours, np.percentile(draws, af.PERCENTS, axis=0))


def test_percentiles_leave_nan_and_zero_order_statistics_to_np_percentile():
    values = np.linspace(-1.0, 1.0, 21)[:, None]  # the median is 0.0
    with_nan = np.append(np.arange(20.0), np.nan)[:, None]
    assert af._percentiles(values, af.PERCENTS) is None
    assert af._percentiles(with_nan, af.PERCENTS) is None


def test_nan_draws_give_the_nan_np_percentile_gives(mixtures):
    """np.percentile returns the NaN its partition left last, so which NaN depends on the order
    of the draws: two NaN payloads among the cells."""
    first, second = np.array([0x7FF8000000000001, 0x7FF8000000000002], dtype=np.uint64).view(np.float64)
    for mixture in mixtures:  # each gives one NaN or the other, depending on the order
        level = mixture.level.copy()
        level[::2], level[1::4] = first, second
        changed = replace(mixture, level=level)
        steps = [changed.schedule.n_steps, 5000]
        with np.errstate(invalid="ignore"):
            assert_same_bits(changed.predict(steps), reference_predict(changed, steps))
