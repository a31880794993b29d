"""The whole loss curve under any learning-rate schedule: the scaling law with LR annealing.

Tissue et al., "Scaling Law with Learning Rate Annealing" (arXiv 2408.11029, NeurIPS 2025):

    L(s) = L0 + A * S1(s)^(-alpha) - C * S2(s)

S1(s) is the forward area, the sum of the learning rates of the updates made before step s.
S2(s) is the annealing area with momentum: S2(s) = sum_{i<=s} m_i, m_i = lam * m_{i-1} +
(eta_{i-1} - eta_i), lam = 0.999 as in the paper. As in the authors' code, the warmup counts at the
peak LR (the law describes what happens after it). The Multi-Power Law (Luo et al., ICLR 2025)
is the other published schedule-aware form; it has seven parameters, more than a prefix of one
run can pin, so this module fits the four-parameter law.

How it is fitted, with numpy only and no optimiser: alpha runs over a grid, C over a grid in
units of what a complete anneal buys (see `anneal_gain`), and for every (alpha, C) cell L0 and A
come from linear least squares. Each cell is weighted by its likelihood, exp(-SSE / 2 s^2), times
a prior on C. The forecast is the weighted mixture of the cells' predictions, each with its own
least-squares spread and the noise of one point. Where the log shows an anneal, the data pin C;
where it does not (a warmup-stable prefix, a constant LR), every C fits equally well, the prior
decides and the interval is as wide as the prior: the forecast says so in its notes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace

import numpy as np

from ..domain.schedule import nanogpt_lr
from .forecast import _fit_many
from .noise import finite_sorted

METHOD = "scaling law with LR annealing (Tissue et al. 2024)"
# lam, the decay factor of the annealing momentum per step. The paper uses 0.999 and finds
# 0.99-0.999 fit; the response to an anneal is faster in shorter runs (the backtest's modded-nanogpt
# and nanoGPT runs fit 0.99-0.995 best), so the fit weighs these values as it weighs alpha.
MOMENTUM_DECAYS = (0.98, 0.99, 0.995, 0.998, 0.999)
ALPHA_GRID = np.geomspace(0.05, 3.0, 48)
# The prior on C, as the loss a complete anneal (peak LR to zero, momentum settled) buys relative
# to the loss: log-uniform between these. The paper's fitted constants are in its own LR units and
# not comparable across runs, so the range comes from full-curve fits of the law to the finished
# runs of the backtest (benchmarks/anneal_backtest.py --calibrate): 4-9% for GPT-2-style
# pretraining (OWT, FineWeb, TinyStories), up to ~22% for a byte-level model at a high LR with a
# small batch, where the LR noise floor is high. The range is wide on purpose: on a prefix with no
# anneal the interval is as wide as this prior, and says so.
ANNEAL_GAIN_LOW = 0.01
ANNEAL_GAIN_HIGH = 0.25
GAIN_GRID_SIZE = 40
# The law's own error when it extrapolates, as a standard deviation, is this fraction of the change
# it predicts from the last fitted point to the target. In the backtest the error was 0.18 of the
# predicted change at the median and 0.45 at the 80th percentile; without this term the 80%
# intervals held the truth 68% of the time.
DISCREPANCY = 0.25
MIN_POINTS = 6  # fewer points than this cannot tell four parameters apart
INTERVAL = (10.0, 90.0)  # percentiles of the predictive mixture: an 80% interval
PERCENTS = (INTERVAL[0], 50.0, INTERVAL[1])  # low, median, high
N_DRAWS = 20000  # draws from the mixture for its quantiles (seeded)
MIN_FIT_FRACTION = 0.1  # points before this fraction of the last step are the fast transient
MAX_POINTS = 200  # longer series are averaged in consecutive groups down to this many
SCHEDULE_SAMPLES = 50000  # longer schedules are kept in blocks (see sample_schedule)
SUBSAMPLES = 16  # points per block at which a callable schedule is evaluated
RISE_SIGMAS = 3.0  # a rise beyond this many noise units under a falling LR: not the law's curve
# C counts as taken from the prior when its 10th-90th posterior range still spans at least this
# share of the prior's log-range: the data did not narrow it much.
PRIOR_DOMINATED = 0.5
# Sampled schedules and their areas kept for reuse, most recently used last: the runs of a sweep
# share a config, so they fit the law under the same schedule (and its stretched twin for the
# longer-run forecast). A 50,000-sample schedule's areas take ~3 MB, so this bounds the cache
# at ~25 MB per process.
SCHEDULE_CACHE_SIZE = 8

LRSource = np.ndarray | Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SampledSchedule:
    """The LR of updates 0..n_steps-1: exactly (stride 1) or, for long schedules, as the means of
    blocks of `stride` steps."""

    eta: np.ndarray
    stride: int
    n_steps: int
    key: Hashable = field(default=None, compare=False, repr=False)  # of a cached schedule

    def lr_at(self, iters) -> np.ndarray:
        return self.eta[np.minimum(np.asarray(iters, dtype=int) // self.stride, len(self.eta) - 1)]


@dataclass(frozen=True)
class ScheduleAreas:
    """S1 (LR x steps) and S2 (in LR units: the paper's S2 times 1 - lam, so a complete anneal
    from `peak` to zero counts `peak`, whatever lam) of one schedule at steps 0, stride, 2 stride,
    ...; `s1_at` / `s2_at` interpolate them at any steps."""

    stride: int
    s1: np.ndarray
    s2: dict[float, np.ndarray]
    peak: float

    def s1_at(self, steps) -> np.ndarray:
        return self._at(self.s1, steps)

    def s2_at(self, decay: float, steps) -> np.ndarray:
        return self._at(self.s2[decay], steps)

    def _at(self, values: np.ndarray, steps) -> np.ndarray:
        steps = np.asarray(steps)
        if self.stride == 1:
            return values[np.minimum(steps.astype(int), len(values) - 1)]
        return np.interp(steps, np.arange(len(values)) * self.stride, values)


@dataclass(frozen=True)
class CurveForecast:
    """A fitted loss curve and its prediction at `target_step`."""

    target_step: int
    predicted: float  # median of the predictive mixture
    low: float  # INTERVAL percentiles: where the printed loss should fall
    high: float
    method: str
    annealing: str  # "fitted": the log pins C; "prior": C comes from the prior
    n_points: int
    first_step: int  # of the fitted points
    last_step: int
    residual_sd: float  # of the best cell: how well the law describes the points
    point_noise: float  # noise of one point used for the likelihood
    anneal_gain: tuple[float, float]  # posterior 10th-90th percentile of a full anneal's gain
    notes: tuple[str, ...] = ()
    model: _Mixture = field(default=None, repr=False, compare=False)

    def predict(self, steps, lr: LRSource | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, low, high) at `steps`, under the fitted run's schedule or another one (`lr`:
        the LR of every update from step 0, as an array or a callable of iteration arrays)."""
        return self.model.predict(steps, lr)


@dataclass(frozen=True)
class CurveRefusal:
    """Why no curve forecast was made, in words a user can read, and which kind of reason:
    "schedule" (unknown, too short, contradicted by the log), "points" (too few), "rising"
    (the curve climbs while the LR falls: overfitting or instability), "done" (nothing left)."""

    reason: str
    kind: str = "schedule"


@dataclass(frozen=True)
class NanoGPTSchedule:
    """nanoGPT's get_lr with the arguments of one config (nanogpt_lr's), as a function of
    iteration arrays. Unlike a closure it is hashable, so equal schedules share their samples
    and areas (`_cached`): every run of a sweep with one config fits under the same schedule."""

    args: tuple[float, int, int, float, bool]

    def __call__(self, iters) -> np.ndarray:
        return nanogpt_lr(np.asarray(iters), *self.args)

    @property
    def cache_key(self) -> tuple[str, ...]:
        """The arguments as written, so that only the very same numbers share a cache entry
        (0.0 == -0.0 and 1 == 1.0 == True as dict keys, yet they may compute differently)."""
        return tuple(repr(arg) for arg in self.args)


_SCHEDULES: OrderedDict[Hashable, SampledSchedule | ScheduleAreas] = OrderedDict()


def _cached(key: Hashable, compute: Callable[[], SampledSchedule | ScheduleAreas]):
    """compute(), kept under `key` (the SCHEDULE_CACHE_SIZE most recent). What is kept is shared
    by its callers, so its arrays are made read-only: a caller that wrote to one would fail
    instead of changing another run's forecast."""
    if key in _SCHEDULES:
        _SCHEDULES.move_to_end(key)
        return _SCHEDULES[key]
    value = compute()
    for array in _arrays(value):
        array.flags.writeable = False
    _SCHEDULES[key] = value
    if len(_SCHEDULES) > SCHEDULE_CACHE_SIZE:
        _SCHEDULES.popitem(last=False)
    return value


def _arrays(value: SampledSchedule | ScheduleAreas) -> list[np.ndarray]:
    if isinstance(value, SampledSchedule):
        return [value.eta]
    return [value.s1, *value.s2.values()]


def sample_schedule(lr: LRSource, n_steps: int) -> SampledSchedule:
    """sample_schedule_of, computed once per NanoGPTSchedule and length (`_cached`)."""
    if isinstance(lr, NanoGPTSchedule):
        key = ("sampled", lr.cache_key, max(int(n_steps), 1))
        return _cached(key, lambda: replace(sample_schedule_of(lr, n_steps), key=key))
    return sample_schedule_of(lr, n_steps)


def sample_schedule_of(lr: LRSource, n_steps: int) -> SampledSchedule:
    """The schedule of updates 0..n_steps-1 from an array (its first n_steps values; a shorter one
    gives a shorter schedule) or a callable of iteration arrays. Beyond SCHEDULE_SAMPLES steps it
    is kept as block means (a callable is evaluated at SUBSAMPLES points per block), so a
    600,000-step schedule costs what a 50,000-step one does and no horizon exhausts memory."""
    n_steps = max(int(n_steps), 1)
    stride = max(1, -(-n_steps // SCHEDULE_SAMPLES))
    if callable(lr):
        if stride == 1:
            eta = np.broadcast_to(np.asarray(lr(np.arange(n_steps)), dtype=float), (n_steps,))
        else:
            blocks = -(-n_steps // stride)
            offsets = ((np.arange(SUBSAMPLES) + 0.5) * stride / SUBSAMPLES).astype(int)
            at = np.minimum(np.arange(blocks)[:, None] * stride + offsets[None, :], n_steps - 1)
            values = np.broadcast_to(np.asarray(lr(at.ravel()), dtype=float), (at.size,))
            eta = values.reshape(blocks, SUBSAMPLES).mean(axis=1)
        return SampledSchedule(np.array(eta, dtype=float), stride, n_steps)
    values = np.asarray(lr, dtype=float).ravel()[:n_steps]
    if len(values) < n_steps or stride == 1:
        return SampledSchedule(values.copy(), 1, len(values))
    padded = np.concatenate([values, np.full(-n_steps % stride, values[-1])])
    return SampledSchedule(padded.reshape(-1, stride).mean(axis=1), stride, n_steps)


def nanogpt_schedule(config) -> Callable[[np.ndarray], np.ndarray] | None:
    """nanoGPT's get_lr as a function of iteration arrays, from a resolved config (anything with
    `.get(key)`, --set values applied); None when a schedule key is missing or not a number."""
    try:
        args = (
            float(config.get("learning_rate")),
            int(config.get("warmup_iters")),
            int(config.get("lr_decay_iters")),
            float(config.get("min_lr")),
            bool(config.get("decay_lr", True)),
        )
    except (TypeError, ValueError):
        return None
    return NanoGPTSchedule(args)


def schedule_areas(schedule: SampledSchedule, momentum_decays: tuple[float, ...] = (0.999,)) -> ScheduleAreas:
    """schedule_areas_of, computed once per cached schedule and set of decays (`_cached`)."""
    if schedule.key is None:
        return schedule_areas_of(schedule, momentum_decays)
    key = ("areas", schedule.key, tuple(repr(decay) for decay in momentum_decays))
    return _cached(key, lambda: schedule_areas_of(schedule, momentum_decays))


def schedule_areas_of(
    schedule: SampledSchedule, momentum_decays: tuple[float, ...] = (0.999,)
) -> ScheduleAreas:
    """S1 and S2 of a schedule (step s has seen the updates 0..s-1).

    The initial stretch where the LR never falls (warmup, and a constant phase after it) counts at
    its peak, as in the authors' code; later rises (a re-warmup) count as they are and give
    negative annealing momentum, as the paper has it. A schedule kept in blocks is summed by
    blocks, the momentum decaying by lam^stride per block: the law's areas change slowly on that
    scale.
    """
    eta = schedule.eta.copy()
    falls = np.flatnonzero(np.diff(eta) < 0)
    rising_end = int(falls[0]) + 1 if len(falls) else len(eta)
    peak = float(eta[:rising_end].max()) if rising_end else 0.0
    eta[:rising_end] = peak
    stride = schedule.stride
    s1 = np.concatenate(([0.0], np.cumsum(eta))) * stride
    drops = np.concatenate(([0.0], eta[:-1] - eta[1:]))
    s2 = {
        decay: np.concatenate(([0.0], np.cumsum(_decaying_cumsum(drops, decay**stride))))
        * stride
        * (1.0 - decay)
        for decay in momentum_decays
    }
    return ScheduleAreas(stride, s1, s2, peak)


def _decaying_cumsum(x: np.ndarray, decay: float) -> np.ndarray:
    """m_i = decay * m_{i-1} + x_i, vectorised. A short memory (decay^64 below 1e-12, as for a
    schedule kept in blocks) is summed term by term; a long one in blocks short enough that
    decay^-block stays below e^20 (so the in-block sums keep ~1e-7 of their precision), with one
    Python step per block to carry m across blocks."""
    if decay <= 0.0:
        return x.copy()
    terms = math.ceil(math.log(1e-12) / math.log(decay))
    if terms <= 64:
        out = x.copy()
        for k in range(1, min(terms, len(x) - 1) + 1):
            out[k:] += decay**k * x[:-k]
        return out
    block = int(min(16384, 20.0 / -math.log(decay)))
    out = np.empty_like(x)
    powers = decay ** np.arange(block)
    inverse = 1.0 / powers
    carry = 0.0
    for start in range(0, len(x), block):
        chunk = x[start : start + block]
        k = len(chunk)
        within = powers[:k] * np.cumsum(chunk * inverse[:k])
        out[start : start + k] = within + carry * decay * powers[:k]
        carry = float(out[start + k - 1])
    return out


@dataclass(frozen=True)
class LawSettings:
    """The grids and the prior of the fit. The defaults are the method; the backtest varies them."""

    momentum_decays: tuple[float, ...] = MOMENTUM_DECAYS
    alpha_grid: tuple[float, ...] = tuple(ALPHA_GRID)
    anneal_gain_range: tuple[float, float] = (ANNEAL_GAIN_LOW, ANNEAL_GAIN_HIGH)
    fit_from_fraction: float = MIN_FIT_FRACTION
    discrepancy: float = DISCREPANCY


@dataclass(frozen=True)
class _Mixture:
    """The cells of the fit and what predicting under any schedule needs."""

    decay: np.ndarray  # (cells,) lam of each cell
    alpha: np.ndarray
    gain: np.ndarray  # C in units of a complete anneal (nats)
    level: np.ndarray  # L0
    amplitude: np.ndarray  # A (S1 in units of s1_scale)
    weight: np.ndarray  # posterior weights, summing to 1
    x1_mean: np.ndarray  # of the fitted regressor per cell, for the least-squares spread
    x1_sxx: np.ndarray
    n_points: int
    sigma: float  # residual scale used for the within-cell spread
    point_noise: float
    s1_reference_step: int  # the last fitted step
    s1_scale: float  # S1 of the fitted schedule there: the unit of S1 in the law
    s2_scale: float  # the fitted schedule's peak LR: a complete anneal from it counts 1
    schedule: SampledSchedule  # the fitted run's, long enough for its target
    discrepancy: float  # sd of the law's own error, as a fraction of the change it predicts
    areas: ScheduleAreas  # of `schedule`, at every decay of the cells

    def predict(self, steps, lr: LRSource | None = None):
        """(median, low, high) at `steps`; NaN where the schedule has no LR area yet."""
        asked = np.atleast_1d(np.asarray(steps, dtype=float)).astype(int)
        steps = np.append(asked, self.s1_reference_step)  # the last fitted step, to measure change
        horizon = int(steps.max())
        schedule = self.schedule if lr is None else sample_schedule(lr, horizon)
        if schedule.n_steps < horizon:
            raise ValueError(f"the schedule covers {schedule.n_steps} steps, not {horizon}")
        decays = tuple(float(d) for d in np.unique(self.decay))
        areas = self.areas if lr is None else schedule_areas(schedule, decays)
        s1 = areas.s1_at(steps) / self.s1_scale
        s2 = np.stack([areas.s2_at(decay, steps) / self.s2_scale for decay in decays])  # (decays, steps)
        mid, low, high = self._quantiles(s1, s2, np.asarray(decays))
        blank = (s1 <= 0)[:-1]
        return (np.where(blank, np.nan, mid), np.where(blank, np.nan, low), np.where(blank, np.nan, high))

    def _quantiles(self, s1: np.ndarray, s2: np.ndarray, decays: np.ndarray):
        """Median and INTERVAL percentiles of the mixture of normals at the steps of s1 but the
        last (the reference), by seeded draws: N_DRAWS cells picked by weight, each with one
        standard normal. Only the cells picked are computed (~1,000 of 9,600 in a sweep's
        forecasts); each of their values is the same elementwise operation on the same numbers
        as for all cells, so the draws are the same numbers (in the order of their uniforms)."""
        rng = np.random.default_rng(0)
        counts, order = _sorted_picks(rng, self.weight, N_DRAWS)
        noise = rng.standard_normal(N_DRAWS)[order]  # each draw's own normal
        cells = np.flatnonzero(counts)
        which = np.repeat(np.arange(len(cells)), counts[cells])  # each draw's row among `cells`
        mean, spread = self._moments(cells, s1, s2[np.searchsorted(decays, self.decay[cells])])
        # np.take gathers rows four times faster than mean[which, :-1] (177 -> 46 us)
        draws = np.take(mean[:, :-1], which, axis=0) + np.take(spread[:, :-1], which, axis=0) * noise[:, None]
        quantiles = _percentiles(draws, PERCENTS)
        if quantiles is None:  # np.percentile's own answer, from the draws in their first order
            unsorted = np.empty_like(draws)
            unsorted[order] = draws
            quantiles = np.percentile(unsorted, PERCENTS, axis=0)
        low, mid, high = quantiles
        return mid, low, high

    def _moments(self, cells: np.ndarray, s1: np.ndarray, s2: np.ndarray):
        """Mean and spread of the law's prediction at every step for `cells` (s2: their rows)."""
        x1 = np.maximum(s1, 1e-12)[None, :] ** -self.alpha[cells][:, None]  # (cells, steps)
        mean = (
            self.level[cells][:, None] + self.amplitude[cells][:, None] * x1 - self.gain[cells][:, None] * s2
        )
        within = self.sigma**2 * (
            1.0 / self.n_points + (x1 - self.x1_mean[cells][:, None]) ** 2 / self.x1_sxx[cells][:, None]
        )
        change = mean - mean[:, -1:]
        spread = np.sqrt(within + self.point_noise**2 + (self.discrepancy * change) ** 2)
        return mean, spread


def _percentiles(draws: np.ndarray, percents: tuple[float, ...]) -> np.ndarray | None:
    """np.percentile(draws, percents, axis=0) bit for bit, from one sort of each column (a SIMD
    sort of 20,000 values costs a quarter of the np.partition np.percentile does). Its answer
    depends only on the order statistics it interpolates, with its own formula (_lerp, from the
    upper neighbour at fraction >= 0.5). None where the two could differ: a column with NaN
    (np.percentile returns the NaN its partition left last) or a zero among the order statistics
    used (-0.0 and 0.0 are equal to a sort, so which one lands there depends on the algorithm)."""
    ordered = np.sort(draws, axis=0)
    n = len(ordered)
    virtual = (n - 1) * (np.asarray(percents, dtype=float) / 100)  # np.percentile divides q first
    at_end = virtual >= n - 1  # where np.percentile takes the last value (index -1), as here
    lower = np.where(at_end, -1, np.floor(virtual)).astype(np.intp)
    upper = np.where(at_end, -1, lower + 1)
    below, above = ordered[lower], ordered[upper]  # (percents, points)
    if np.isnan(ordered[-1]).any() or not (below.all() and above.all()):
        return None
    gamma = (virtual - lower)[:, None]
    diff = above - below
    return np.where(gamma >= 0.5, above - diff * (1 - gamma), below + diff * gamma)


def _sorted_picks(rng: np.random.Generator, weight: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts, order) of rng.choice(len(weight), size=size, p=weight), taking the same draws
    from rng: how many draws pick each cell, and the draws in the order of their cells (draw
    order[i] picks the i-th of np.repeat(np.arange(len(counts)), counts)). choice looks up
    `size` uniform draws in the cumulative weights one by one in random order (~1.7 ms for
    20,000 draws among 9,600 cells); in the uniforms' sorted order the picks are sorted too, so
    counting the sorted uniforms below each cell's upper bound gives them all (a search per cell,
    not per draw). Weights choice would refuse (negative, NaN, not summing to 1) go to choice
    itself, for its error."""
    atol = math.sqrt(np.finfo(np.float64).eps)  # choice's tolerance on the sum
    if weight.ndim != 1 or not np.all(weight >= 0) or not abs(float(weight.sum()) - 1.0) < atol / 2:
        picks = rng.choice(len(weight), size=size, p=weight)
        return np.bincount(picks, minlength=len(weight)), np.argsort(picks, kind="stable")
    cdf = weight.cumsum()  # as choice computes it
    cdf /= cdf[-1]
    uniform = rng.random(size)
    order = np.argsort(uniform)
    # choice picks the first cell whose cdf exceeds the uniform: cell j takes the uniforms in
    # [cdf[j-1], cdf[j]), and those at or beyond cdf[-1] (none: it is 1) would get len(weight)
    below = uniform[order].searchsorted(cdf, side="left")
    return np.diff(below, prepend=0, append=size), order


def forecast_curve(
    steps,
    losses,
    lr: LRSource | None,
    target_step: int,
    point_noise: float | None,
    *,
    logged_lr: tuple[np.ndarray, np.ndarray] | None = None,
    settings: LawSettings = LawSettings(),
) -> CurveForecast | CurveRefusal:
    """Fit the law to (steps, losses) under the schedule `lr` and predict the loss at target_step.

    `lr`: the LR of every update from step 0 (array or callable), long enough to reach the target
    (the run's schedule continued, or another one); None means the schedule is unknown.
    `point_noise`: the noise of one point (an eval's standard error); None: taken from the fit.
    `logged_lr`: (iters, lrs) the log printed, checked against `lr`.
    """
    if lr is None:
        return CurveRefusal(
            "the learning-rate schedule is unknown (no config to rebuild it from "
            "and no LR in the log), and the law needs it at every step"
        )
    s, y = finite_sorted(steps, losses)
    target_step = int(target_step)
    horizon = max(target_step, int(s[-1]) if len(s) else 0)
    schedule = sample_schedule(lr, horizon)
    problem = _schedule_problem(schedule, horizon, lr, logged_lr)
    if problem:
        return CurveRefusal(problem)
    start = settings.fit_from_fraction * (s[-1] if len(s) else 0)
    keep = (s > _warmup_end(schedule)) & (s >= start) & (s > 0)
    s, y = s[keep].astype(int), y[keep]
    if len(s) < MIN_POINTS:
        return CurveRefusal(
            f"only {len(s)} points after the warmup and the first "
            f"{settings.fit_from_fraction:.0%} of the run; the law needs at least "
            f"{MIN_POINTS}",
            kind="points",
        )
    rising = _rises_at_the_end(s, y, schedule, point_noise)
    if rising:
        return CurveRefusal(rising, kind="rising")
    n_given = len(s)
    s, y, point_noise = _thinned(s, y, point_noise)

    reference = int(s[-1])
    alphas = np.asarray(settings.alpha_grid, dtype=float)
    gain_grid = float(y[-1]) * np.geomspace(*settings.anneal_gain_range, GAIN_GRID_SIZE)
    areas = schedule_areas(schedule, settings.momentum_decays)
    s1_scale, s2_scale = float(areas.s1_at(reference)), areas.peak
    x1 = np.maximum(areas.s1_at(s) / s1_scale, 1e-12)[None, :] ** -alphas[:, None]  # (G, n)
    s2 = np.stack([areas.s2_at(decay, s) / s2_scale for decay in settings.momentum_decays])  # (D, n)
    level, amplitude, sse = _fit_many(x1, y + gain_grid[None, :, None] * s2[:, None, :])  # (D, K, G)

    n = len(s)
    best = np.unravel_index(int(np.argmin(sse)), sse.shape)
    residual_sd = math.sqrt(float(sse[best]) / max(n - 4, 1))
    best_residuals = (
        y
        + gain_grid[best[1]] * areas.s2_at(settings.momentum_decays[best[0]], s) / s2_scale
        - level[best]
        - amplitude[best] * x1[best[2]]
    )
    inflation = _autocorrelation_inflation(best_residuals)
    noise = float(point_noise) if point_noise and point_noise > 0 else 0.0
    sigma = max(residual_sd, noise)
    weight = np.exp(-(sse - sse[best]) / (2.0 * sigma**2 * inflation)).ravel()
    weight /= weight.sum()  # the priors are uniform over the log-spaced grids

    x1_mean = x1.mean(axis=1)  # (G,)
    x1_sxx = np.maximum(((x1 - x1_mean[:, None]) ** 2).sum(axis=1), 1e-300)
    grid = np.meshgrid(np.asarray(settings.momentum_decays), gain_grid, alphas, indexing="ij")
    mixture = _Mixture(
        decay=grid[0].ravel(),
        alpha=grid[2].ravel(),
        gain=grid[1].ravel(),
        level=level.ravel(),
        amplitude=amplitude.ravel(),
        weight=weight,
        x1_mean=np.broadcast_to(x1_mean, sse.shape).ravel(),
        x1_sxx=np.broadcast_to(x1_sxx, sse.shape).ravel(),
        n_points=n,
        sigma=sigma * math.sqrt(inflation),
        point_noise=noise,
        s1_reference_step=reference,
        s1_scale=s1_scale,
        s2_scale=s2_scale,
        schedule=schedule,
        discrepancy=settings.discrepancy,
        areas=areas,
    )
    mid, low, high = mixture.predict([target_step])

    gain_low, gain_high = _weighted_quantiles(mixture.gain, weight, (0.1, 0.9))
    gain_range = settings.anneal_gain_range
    from_prior = math.log(gain_high / gain_low) >= PRIOR_DOMINATED * math.log(gain_range[1] / gain_range[0])
    notes = []
    if from_prior:
        notes.append(
            f"the log does not show enough of an anneal to measure what one buys, so that comes "
            f"from a prior ({gain_range[0]:.1%}-{gain_range[1]:.0%} of the loss for a complete "
            "anneal, from published cooldowns and full-curve fits) and the interval is as wide as "
            "that prior"
        )
    if residual_sd > 2.0 * noise > 0:
        notes.append(
            f"the law misses the points by {residual_sd:.3g} on average, more than their "
            f"noise ({noise:.3g}): the interval is widened accordingly"
        )
    if target_step <= s[-1]:
        notes.append("the target step is not beyond the last fitted point")
    return CurveForecast(
        target_step=target_step,
        predicted=float(mid[0]),
        low=float(low[0]),
        high=float(high[0]),
        method=METHOD,
        annealing="prior" if from_prior else "fitted",
        n_points=n_given,
        first_step=int(s[0]),
        last_step=int(s[-1]),
        residual_sd=residual_sd,
        point_noise=noise,
        anneal_gain=(float(gain_low), float(gain_high)),
        notes=tuple(notes),
        model=mixture,
    )


def _thinned(s: np.ndarray, y: np.ndarray, noise: float | None):
    """At most MAX_POINTS points: consecutive groups averaged (a group of k points has 1/sqrt(k)
    of one point's noise). The law is smooth over a group, and the fit's cost grows with points."""
    if len(s) <= MAX_POINTS:
        return s, y, noise
    groups = np.array_split(np.arange(len(s)), MAX_POINTS)
    steps = np.array([int(round(s[g].mean())) for g in groups])
    values = np.array([y[g].mean() for g in groups])
    size = len(s) / MAX_POINTS
    return steps, values, (noise / np.sqrt(size) if noise else noise)


def forecast_run_end(
    val_steps,
    val_losses,
    config,
    max_iters: int | None,
    point_noise: float | None,
    logged_lr: tuple[np.ndarray, np.ndarray] | None = None,
) -> CurveForecast | CurveRefusal:
    """What the run's val loss should be at max_iters under its nanoGPT schedule (`config`: the
    resolved config, or None when the run's config is not known)."""
    lr = nanogpt_schedule(config) if config is not None else None
    if lr is None:
        return CurveRefusal(
            "the learning-rate schedule is unknown (the log carries no config and "
            "none was given), and the law needs it at every step"
        )
    if not max_iters:
        return CurveRefusal("the run's length (max_iters) is unknown, so there is no end to forecast")
    steps = np.asarray(val_steps, dtype=float)
    if len(steps) and np.nanmax(steps) >= max_iters:
        return CurveRefusal(
            f"the run reached max_iters ({max_iters:,}): its end is measured, not forecast", kind="done"
        )
    return forecast_curve(val_steps, val_losses, lr, int(max_iters), point_noise, logged_lr=logged_lr)


def report_entry(result: CurveForecast | CurveRefusal) -> dict:
    """The forecast as the JSON report carries it: iter, val_loss, low, high, method; or a
    reason why there is none."""
    if isinstance(result, CurveRefusal):
        return {
            "iter": None,
            "val_loss": None,
            "low": None,
            "high": None,
            "method": METHOD,
            "reason": result.reason,
        }
    return {
        "iter": result.target_step,
        "val_loss": round(result.predicted, 4),
        "low": round(result.low, 4),
        "high": round(result.high, 4),
        "method": result.method,
        "annealing": result.annealing,
        "notes": list(result.notes),
    }


def _warmup_end(schedule: SampledSchedule) -> int:
    """The first step at the peak of the initial stretch where the LR never falls: the end of
    the warmup (0 without one)."""
    eta = schedule.eta
    falls = np.flatnonzero(np.diff(eta) < 0)
    rising_end = int(falls[0]) + 1 if len(falls) else len(eta)
    return int(np.argmax(eta[:rising_end] >= eta[:rising_end].max())) * schedule.stride


def _schedule_problem(schedule: SampledSchedule, horizon: int, lr: LRSource, logged) -> str | None:
    eta = schedule.eta
    if schedule.n_steps < horizon:
        return f"the schedule covers {schedule.n_steps} steps, not the {horizon} the forecast needs"
    if not np.all(np.isfinite(eta)) or np.any(eta < 0):
        return "the schedule has a negative or non-finite learning rate"
    if not np.any(eta > 0):
        return "the learning rate is zero throughout, so the law has nothing to scale"
    if logged is None:
        return None
    iters, values = (np.asarray(a, dtype=float) for a in logged)
    ok = np.isfinite(iters) & np.isfinite(values) & (iters >= 0) & (iters < schedule.n_steps)
    if not ok.any():
        return None
    iters, values = iters[ok].astype(int), values[ok]
    expected = np.asarray(lr(iters), dtype=float) if callable(lr) else np.asarray(lr, dtype=float)[iters]
    # printed LRs are rounded (llm.c prints 6 decimals): judge the difference against the peak
    off = np.abs(values - expected) > 0.05 * float(eta.max()) + 1e-12
    if np.mean(off) > 0.1:
        i = int(np.flatnonzero(off)[0])
        return (
            f"the learning rate the log prints ({values[i]:.3g} at iter {iters[i]}) contradicts "
            f"the schedule rebuilt from the config ({expected[i]:.3g}); fix the config first"
        )
    return None


def _rises_at_the_end(
    s: np.ndarray, y: np.ndarray, schedule: SampledSchedule, noise: float | None
) -> str | None:
    """The law lets the loss rise only where the LR rises. A curve that climbs beyond its noise
    while the LR does not (its end above its lowest point, or its last third sloping up) is
    overfitting or instability, which the law does not describe.

    Long series are smoothed over `width` points first. The lowest of m noisy values sits about
    sqrt(2 ln m) noise units below the curve, so that much is allowed on top of RISE_SIGMAS."""
    if np.any(np.diff(schedule.lr_at(np.arange(int(s[0]), int(s[-1]), schedule.stride))) > 0):
        return None
    scale = noise if noise and noise > 0 else _scatter(y)
    width = min(9, max(1, len(y) // 10))
    smooth = np.convolve(y, np.ones(width) / width, mode="valid")
    allowance = (RISE_SIGMAS + math.sqrt(2.0 * math.log(max(len(smooth), 2)))) * scale / math.sqrt(width)
    lowest = int(np.argmin(smooth))
    rise = float(smooth[-1] - smooth[lowest])
    span = (int(s[lowest]), int(s[-1]))
    third = s >= s[-1] - (s[-1] - s[0]) / 3.0
    if np.count_nonzero(third) >= 4:
        ts, ty = s[third].astype(float), y[third]
        fit = np.polyfit(ts, ty, 1)
        slope_rise = fit[0] * (ts[-1] - ts[0])
        slope_noise = max(scale, float(np.std(ty - np.polyval(fit, ts)))) * math.sqrt(12.0 / len(ty))
        if slope_rise > RISE_SIGMAS * slope_noise and slope_rise > rise:
            rise, span, allowance = float(slope_rise), (int(ts[0]), int(ts[-1])), RISE_SIGMAS * slope_noise
    if rise > allowance:
        return (
            f"the loss rises by {rise:.3g} over steps {span[0]}-{span[1]} while the LR does not "
            f"(noise {scale:.2g}): overfitting or instability, which the annealing law does "
            "not model"
        )
    return None


def _scatter(y: np.ndarray) -> float:
    """Noise of one point from second differences (a smooth curve has almost none): their
    median absolute value, scaled to a standard deviation (MAD of a normal / sqrt(6))."""
    if len(y) < 4:
        return 0.0
    second = np.diff(y, 2)
    return float(1.4826 * np.median(np.abs(second)) / math.sqrt(6.0))


def _autocorrelation_inflation(residuals: np.ndarray) -> float:
    """n / n_effective for residuals with lag-1 autocorrelation rho: a law that misses the curve
    misses it in runs, and treating those points as independent would make the fit overconfident."""
    if len(residuals) < 4 or not np.any(residuals):
        return 1.0
    r = residuals - residuals.mean()
    rho = float(np.sum(r[1:] * r[:-1]) / np.sum(r * r))
    rho = min(max(rho, 0.0), 0.95)
    return (1.0 + rho) / (1.0 - rho)


def _weighted_quantiles(values: np.ndarray, weight: np.ndarray, qs) -> list[float]:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weight[order])
    return [float(values[order][min(np.searchsorted(cumulative, q), len(values) - 1)]) for q in qs]
