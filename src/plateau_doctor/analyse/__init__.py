"""Analyse: the shared, pure computations the rules read, each done on first use and kept.

`Analyses(parsed, config, facts)` holds the loss table, the resolved config and the run facts;
every property below is computed the first time a rule reads it, then cached for the run. A rule
set that needs only the loss table never fits a forecast. Nothing here knows which log format
the run came from: what the numbers mean is in `parsed.meta` (eval kind, loss kind, units).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..domain.medians import median
from ..domain.scale import chinchilla_terms, reference_lr
from ..domain.schedule import (
    SCHEDULE_KEYS,
    LoggedLR,
    SchedulePosition,
    logged_lr_trend,
    nanogpt_lr,
    schedule_args,
    schedule_position,
)
from ..limits import Limits
from ..model import ParsedLog, ResolvedConfig, RunFacts
from .anneal_forecast import CurveForecast, CurveRefusal, NanoGPTSchedule, forecast_curve
from .curves import Curve, binned, curve
from .forecast import Forecast, ForecastRefusal, fit_power_law
from .grad_norm import GradNorms, logged_grad_norms
from .noise import EvalScatter, SigmaEstimate, co_movement, eval_scatter, eval_standard_error, per_batch_sigma
from .spikes import (
    GROSS_MIN_POINTS,
    Explosion,
    NonFinite,
    Spike,
    detect_explosion,
    detect_spikes,
    first_non_finite,
)
from .thresholds import analysis_limits
from .timing import IterationTiming, iteration_timing
from .trend import Trend, fit_trend

if TYPE_CHECKING:
    from .live import LiveMemo

__all__ = ["Analyses", "Curve", "Gap", "Pinned"]

INITIAL_POINT_SHARE = 0.02  # a first point this early in the step range measures the untrained model
TREND_WINDOW_POINTS = 4  # the recent window holds at least this many points where there are
LATE_EVALS = 6  # the scatter of val is read over the later half, at least the last 6
EXPLOSION_MIN_POINTS = 8  # smoothed-curve excursions need this many iteration losses
VAL_EXPLOSION_MIN_POINTS = 6
EPOCH_POINTS = 4  # train points per epoch needed to see a staircase
EPOCH_EDGE = 0.1  # the stretch of an epoch either side of a boundary that is compared
RESUME_POINTS = 10  # losses each side of a resume that measure its jump
MIN_STABLE_POINTS = 5  # finite losses before a NaN needed to call the run stable before it
BYTE_LEVEL_VOCAB = 256  # at or below: a token is a byte or a character, not a BPE piece
PRETRAINED_INIT = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
LONGER_RUN = 2  # "a schedule twice as long": what the longer-run forecast asks
MAX_CLASSES = 20  # a classification head of up to this many classes
# Vocabulary sizes of common tokenizers (GPT-2 and nanoGPT's padded one, Llama 2/3, Mistral,
# Qwen 2, Gemma, T5, BERT, DeBERTa v3): a loss at ln of one of these is a uniform LM
COMMON_VOCABS = (50257, 50304, 32000, 32768, 128256, 151936, 151646, 256000, 32100, 30522, 128100)


@dataclass(frozen=True)
class Gap:
    """Val minus train at the end of the run, against the noise of one eval: the one definition
    of 'memorising' every rule uses."""

    value: float  # last val - last train (negative: val below train)
    noise: float  # noise of one eval (0 where unknown)
    threshold: float  # max(min_gap, gap_noise_multiple x noise)

    @property
    def memorising(self) -> bool:
        return self.value > self.threshold

    @property
    def val_below_train(self) -> bool:
        return -self.value > self.threshold


@dataclass(frozen=True)
class Resume:
    """Where a resumed run picks up: the loss just before and just after, on the iteration losses."""

    step: int
    before: float  # median of the last losses of the segment before
    after: float  # median of the first losses of the resumed segment
    noise: float  # the standard error of that difference
    line: int

    @property
    def jump(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Pinned:
    """A loss held at ln(k): the model predicts k outcomes uniformly."""

    k: int
    level: float  # median of the pinned stretch
    spread: float  # its largest distance from the median
    curve: str  # "train" (iteration losses) or "val"
    since_step: int  # first step of the pinned stretch
    best_before: float  # the lowest loss before it (below ln(k): it collapsed there)


def _late_scatter(c: Curve) -> float | None:
    """The scatter of a curve around its own trend over its later half (window means of a train
    loss move with their batches)."""
    late = slice(len(c) // 2, len(c))
    scatter = eval_scatter(c.steps[late], c.values[late], min_points=LATE_EVALS)
    return scatter.scatter if scatter else None


def _rolling_median3(values: np.ndarray) -> np.ndarray:
    """Each point replaced by the median of itself and its two neighbours (ends kept): one
    unlucky eval does not decide where a curve went flat."""
    if len(values) < 3:
        return values.astype(float)
    out = values.astype(float).copy()
    a, b, c = out[:-2], out[1:-1], out[2:]
    # the middle of three by min/max (np.median's result, NaN included, without its import of numpy.ma)
    out[1:-1] = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    return out


class Analyses:
    """Every shared computation about one run, computed on first use. `live`: what earlier
    diagnoses of the same growing log read (watch's; see analyse/live.py)."""

    def __init__(
        self,
        parsed: ParsedLog,
        config: ResolvedConfig,
        facts: RunFacts,
        limits: Limits | None = None,
        live: LiveMemo | None = None,
    ) -> None:
        self.parsed, self.config, self.facts = parsed, config, facts
        self.limits = limits or analysis_limits()
        self.live = live
        self.notes: list[str] = []

    # -- the curves ------------------------------------------------------------------------
    @cached_property
    def config_known(self) -> bool:
        return self.config.is_known()

    @cached_property
    def iter_loss(self) -> Curve:
        return curve(self.parsed.iter_table, "iter", "loss")

    @cached_property
    def val(self) -> Curve:
        return curve(self.parsed.eval_table, "step", "val_loss")

    @cached_property
    def train_eval(self) -> Curve:
        return curve(self.parsed.eval_table, "step", "train_loss")

    @cached_property
    def train_curve(self) -> Curve:
        """The train loss as a curve: eval-mode estimates where the log has them, else the
        iteration losses in bins."""
        return self.train_eval if len(self.train_eval) else binned(self.iter_loss)

    @cached_property
    def train_val_comparable(self) -> bool:
        """Train and val are in the same unit (not nats against bits per byte)."""
        return self.parsed.meta.val_metric == "loss" or len(self.train_eval) > 0

    # -- noise -----------------------------------------------------------------------------
    @cached_property
    def sigma(self) -> SigmaEstimate | None:
        """Per-batch sd of the iteration losses; only a per-micro-batch loss says anything about
        one eval batch (a window mean or an EMA is already averaged)."""
        if self.parsed.meta.loss_kind != "micro_batch":
            return None
        return per_batch_sigma(
            self.iter_loss.steps, self.iter_loss.values, min_points=int(self.limits.min_sigma_points)
        )

    @cached_property
    def eval_iters(self) -> int | None:
        return self.facts.eval_iters if self.config_known else None

    @cached_property
    def eval_kind(self) -> str | None:
        return self.parsed.meta.eval_kind

    @cached_property
    def memorised(self) -> tuple[float, float] | None:
        """(train, val) medians over the later half of each curve when val is above
        memorised_ratio times train; None otherwise or with too few points."""
        val, train = self.val, self.train_curve
        if not self.train_val_comparable or len(val) < 2 or len(train) < 2:
            return None
        late_val = median(val.values[len(val) // 2 :])
        late_train = median(train.values[len(train) // 2 :])
        if late_train > 0 and late_val > self.limits.memorised_ratio * late_train:
            return late_train, late_val
        return None

    @property
    def train_memorised(self) -> bool:
        return self.memorised is not None

    @cached_property
    def eval_se_predicted(self) -> float | None:
        """sigma / sqrt(eval_iters): the sampling error of an eval that draws fresh batches. A
        fixed val set has no such error between evals, and batches of memorised train text say
        nothing about val batches."""
        if self.sigma is None or not self.eval_iters or self.eval_kind == "fixed":
            return None
        if self.train_memorised:
            train, val = self.memorised
            self.notes.append(
                f"late in the run train ({train:.3f}) is far below val ({val:.3f}): the "
                "per-batch sigma of train batches does not describe val batches, so "
                "the noise of one eval is taken from val's own scatter"
            )
            return None
        return eval_standard_error(self.sigma.sigma, self.eval_iters)

    @cached_property
    def val_scatter(self) -> EvalScatter | None:
        """Val's scatter around its own trend, on the later half of the evals (early on the curve
        bends fast and second differences would count the bend as noise)."""
        val = self.val
        if len(val) < self.limits.min_scatter_points:
            return None
        late = slice(max(0, min(len(val) // 2, len(val) - LATE_EVALS)), len(val))
        return eval_scatter(val.steps[late], val.values[late], min_points=LATE_EVALS)

    @cached_property
    def _noise(self) -> tuple[float | None, str | None]:
        if self.eval_se_predicted is not None:
            return self.eval_se_predicted, (
                f"per-batch sigma {self.sigma.sigma:.3g} / sqrt(eval_iters={self.eval_iters}): each "
                "eval draws fresh random batches"
            )
        if self.val_scatter is not None:
            if self.eval_kind == "fixed":
                how = (
                    "a fixed val set gives the same number for the same weights, so eval-to-eval "
                    "differences are the model's own movement"
                )
            elif self.train_memorised:
                how = "train is memorised, so its per-batch spread does not describe val batches"
            else:
                how = "eval_iters or the per-batch spread is unknown"
            return self.val_scatter.scatter, f"the scatter of val around its own trend ({how})"
        return None, None

    @property
    def eval_noise(self) -> float | None:
        """The noise of one eval the rules compare differences with."""
        return self._noise[0]

    @property
    def eval_noise_method(self) -> str | None:
        return self._noise[1]

    @cached_property
    def train_val_co_movement(self) -> float | None:
        """Correlation of train and val wiggles over the later evals: > 0 means real moves."""
        evals = self.parsed.eval_table
        if (
            len(self.train_eval) < self.limits.min_scatter_points
            or len(self.val) < self.limits.min_scatter_points
        ):
            return None
        late = evals.rows(slice(len(evals) // 2, None))
        return co_movement(late["step"], late["train_loss"], late["val_loss"])

    @cached_property
    def gap(self) -> Gap | None:
        """Last val minus last train, where both exist in the same unit."""
        f = self.facts
        if f.last_val_loss is None or f.last_train_loss is None or not self.train_val_comparable:
            return None
        noise = self.eval_noise or 0.0
        threshold = max(self.limits.min_gap, self.limits.gap_noise_multiple * noise)
        return Gap(f.last_val_loss - f.last_train_loss, noise, threshold)

    # -- trends ----------------------------------------------------------------------------
    def _trend(self, c: Curve, point_se: float | None, **kwargs) -> Trend | None:
        """A trend from as few points as the noise allows, fitted over a window of at least
        TREND_WINDOW_POINTS where the curve has them. A point before training has begun (step 0
        or 1 of a long run) is not part of any trend "at the end": where few evals make the
        window reach back to it, the fit is made without it (a line through the initial drop
        says nothing about the end)."""
        trend = self._fit(c, point_se, **kwargs)
        if trend is not None and trend.start_step == c.steps[0] and _initial_point(c):
            trend = self._fit(Curve(c.steps[1:], c.values[1:], c.lines[1:]), point_se, **kwargs)
        return trend

    def _fit(self, c: Curve, point_se: float | None, **kwargs) -> Trend | None:
        least = self.limits.min_trend_points_known_noise if point_se else self.limits.min_trend_points
        if len(c) < least:
            return None
        return fit_trend(
            c.steps,
            c.values,
            point_se=point_se,
            z=self.limits.trend_z,
            min_points=min(len(c), max(int(least), TREND_WINDOW_POINTS)),
            **kwargs,
        )

    @cached_property
    def val_trend(self) -> Trend | None:
        """Over the recent window (the last trend_window of the eval steps)."""
        return self._trend(self.val, self.eval_noise, last_fraction=self.limits.trend_window)

    @cached_property
    def val_trend_before(self) -> Trend | None:
        """Over the window of the same span just before the recent one."""
        vt = self.val_trend
        if vt is None:
            return None
        span = vt.end_step - vt.start_step
        earlier = (self.val.steps >= vt.start_step - span) & (self.val.steps <= vt.start_step)
        c = Curve(self.val.steps[earlier], self.val.values[earlier], self.val.lines[earlier])
        return self._trend(c, self.eval_noise, last_fraction=1.0)

    @cached_property
    def train_trend(self) -> Trend | None:
        """Eval train estimates (with the eval noise), else binned iteration losses."""
        if len(self.train_eval):
            return self._trend(self.train_eval, self.eval_noise, last_fraction=self.limits.trend_window)
        if len(self.iter_loss) < self.limits.min_sigma_points:
            return None  # a few per-batch losses: their spread and a trend cannot be told apart
        return self._trend(binned(self.iter_loss), None, last_fraction=self.limits.trend_window)

    @cached_property
    def trend(self) -> Trend | None:
        """The recent trend a plateau / still-improving verdict rests on: val's, else train's
        (a log with no evals, or too few of them)."""
        return self.val_trend or self.train_trend

    @property
    def trend_rests_on(self) -> str:
        return "val" if self.val_trend is not None else "train"

    @cached_property
    def flat_since(self) -> tuple[int, float, float] | None:
        """(step, share of the run, gain since): the first step from which the loss (val, else
        the train curve) stays within flat_gain_fraction of its level (or two evals' noise) of
        where it ends; None with fewer than TREND_WINDOW_POINTS points."""
        on_val = len(self.val) >= TREND_WINDOW_POINTS
        c = self.val if on_val else self.train_curve
        if len(c) < TREND_WINDOW_POINTS or c.steps[-1] <= c.steps[0]:
            return None
        values = _rolling_median3(c.values)
        final = float(values[-1])
        noise = self.eval_noise if on_val else _late_scatter(c)
        margin = max(self.limits.flat_gain_fraction * abs(final), 2 * (noise or 0.0))
        outside = np.flatnonzero(np.abs(values - final) >= margin)  # a rising curve is not flat either
        start = int(outside[-1]) + 1 if len(outside) else 0
        if start >= len(c):
            return None
        step = float(c.steps[start])
        share = (c.steps[-1] - step) / (c.steps[-1] - c.steps[0])
        return int(step), float(share), float(values[start] - final)

    @cached_property
    def resumes(self) -> list[Resume]:
        """Each resume from a checkpoint (a new segment that continues the step count), with the
        jump of the loss across it, judged on the iteration losses (RESUME_POINTS each side)."""
        iters = self.parsed.iter_table
        if iters.empty or self.parsed.meta.n_segments < 2:
            return []
        segment, loss, steps = iters["segment"], iters["loss"], iters["iter"]
        finite = np.isfinite(loss)
        out = []
        for s in np.unique(segment)[1:]:
            now = np.flatnonzero((segment == s) & finite)
            before = np.flatnonzero((segment < s) & finite & (steps < steps[now[0]] if len(now) else False))
            if len(now) < 2 or len(before) < 2:
                continue
            a, b = loss[before[-RESUME_POINTS:]], loss[now[:RESUME_POINTS]]
            spread = self.sigma.sigma if self.sigma else (_late_scatter(self.iter_loss) or 0.0)
            noise = spread * float(np.sqrt(1 / len(a) + 1 / len(b)))
            out.append(
                Resume(
                    int(steps[now[0]]), float(median(a)), float(median(b)), noise, int(iters["line"][now[0]])
                )
            )
        return out

    def near_resume(self, step: float, points: int = RESUME_POINTS) -> bool:
        """A step within the first `points` iteration losses after a resume, where a jump (or a
        baseline that still reaches back across it) is the resume's doing."""
        iters = self.iter_loss
        for r in self.resumes:
            after = iters.steps[iters.steps >= r.step]
            if len(after) and r.step <= step <= after[min(len(after), points) - 1]:
                return True
        return False

    @cached_property
    def train_scatter(self) -> float | None:
        """The train curve's scatter around its own trend (later half)."""
        return _late_scatter(self.train_curve)

    @cached_property
    def epoch_drops(self) -> list[tuple[int, float]] | None:
        """(boundary step, drop) at each epoch boundary the run crossed, on the train curve: the
        median of the last tenth of an epoch minus the median of the first tenth of the next.
        Boundaries are where the log's own epoch count puts them (steps per epoch = last step /
        epochs). None without an epoch count of at least two, or with too few points."""
        f = self.facts
        epochs = self.parsed.meta.epochs
        c = self.train_curve
        if not epochs or epochs < 2 or not f.last_iter or len(c) < EPOCH_POINTS * 2 * int(epochs):
            return None
        per_epoch = f.last_iter / epochs
        edge = per_epoch * EPOCH_EDGE
        drops = []
        for k in range(1, int(epochs)):
            boundary = k * per_epoch
            before = c.values[(c.steps >= boundary - edge) & (c.steps < boundary)]
            after = c.values[(c.steps >= boundary) & (c.steps < boundary + edge)]
            if len(before) and len(after):
                drops.append((int(boundary), float(median(before) - median(after))))
        return drops or None

    @cached_property
    def train_over_val(self) -> tuple[float, int] | None:
        """The median ratio of the train loss to val at the eval steps, and how many evals it
        rests on: a logged train loss k times the eval is a loss scaled by something."""
        val = self.val
        train = self.train_eval if len(self.train_eval) else self.iter_loss
        if not self.train_val_comparable or len(val) < TREND_WINDOW_POINTS - 1 or not len(train):
            return None
        judged = (val.values > 0) & (val.steps > 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratios = train.values_near(val.steps[judged]) / val.values[judged]
        ratios = ratios[np.isfinite(ratios)]
        if len(ratios) < TREND_WINDOW_POINTS - 1:
            return None
        return float(median(ratios)), len(ratios)

    # -- the learning rate -----------------------------------------------------------------
    @cached_property
    def schedule_settings(self) -> tuple[float, int, int, float, bool] | None:
        values = self.config.numbers(*SCHEDULE_KEYS)
        if values is None:
            return None
        try:
            return schedule_args(values)
        except (TypeError, ValueError):
            self.notes.append("the learning-rate settings could not be read as numbers")
            return None

    @cached_property
    def schedule(self) -> SchedulePosition | None:
        """The schedule rebuilt from the config, where the run's last iteration stands in it."""
        if self.schedule_settings is None or self.facts.last_iter is None:
            return None
        return schedule_position(
            self.facts.last_iter, *self.schedule_settings, max_iters=self.facts.max_iters
        )

    @cached_property
    def _logged_lr_points(self) -> tuple[np.ndarray, np.ndarray] | None:
        iters = self.parsed.iter_table
        if not self.parsed.meta.lr_logged or iters.empty:
            return None
        has_lr = np.isfinite(iters["lr"])
        if np.count_nonzero(has_lr) < 2:
            return None
        return iters["iter"][has_lr], iters["lr"][has_lr]

    @cached_property
    def logged_lr(self) -> LoggedLR | None:
        points = self._logged_lr_points
        return logged_lr_trend(*points) if points is not None else None

    def lr_at(self, step: float) -> float | None:
        """The LR at a step: rebuilt from the config, else the log's own."""
        if self.schedule_settings is not None:
            return float(nanogpt_lr(step, *self.schedule_settings))
        if self._logged_lr_points is not None:
            return float(np.interp(step, *self._logged_lr_points))
        return None

    @cached_property
    def peak_lr(self) -> float | None:
        """The configured learning_rate, else the largest logged LR."""
        if self.schedule_settings is not None:
            return self.schedule_settings[0]
        return self.logged_lr.peak if self.logged_lr else None

    @cached_property
    def lr_at_end(self) -> float | None:
        if self.schedule is not None:
            return self.schedule.lr_now
        return self.logged_lr.last if self.logged_lr else None

    @cached_property
    def lr_at_tail_start(self) -> float | None:
        """The LR where the recent-trend window starts."""
        return self.lr_at(self.val_trend.start_step) if self.val_trend is not None else None

    @cached_property
    def lr_annealed_over_tail(self) -> bool:
        """The LR fell by anneal_lr_drop or more over the recent window."""
        start, end = self.lr_at_tail_start, self.lr_at_end
        if not start or end is None:
            return False
        return end <= 0 or start / end >= self.limits.anneal_lr_drop

    @cached_property
    def lr_state(self) -> str:
        """Where the LR stands at the end of the log: "warmup", "annealing" (decaying, with a
        real part of the anneal ahead), "annealed", "constant" (no decay), or "unknown"."""
        s = self.schedule
        if s is not None:
            if s.phase in ("warmup", "constant"):
                return s.phase
            if s.phase == "min_lr":
                return "annealed"
            return "annealing" if self._lr_left(s.lr_now_over_min, s.lr_now_over_peak) else "annealed"
        logged = self.logged_lr
        if logged is None and self.parsed.meta.lr_by_design == "constant":
            return "constant"  # a trainer with no schedule (its parser says so)
        if logged is None or logged.peak <= 0:
            return "unknown"
        if not logged.monotone_after_peak:
            return "unknown"  # an LR that rises again after warmup: no schedule to place it in
        if logged.last >= logged.peak:
            # still rising at the last point, or held at its peak
            return (
                "warmup"
                if logged.peak_region_iter == logged.last_iter and logged.first < logged.peak
                else "constant"
            )
        return "annealing" if self._lr_left(None, logged.last / logged.peak) else "annealed"

    def _lr_left(self, over_min: float | None, over_peak: float) -> bool:
        if over_min is not None:
            return over_min >= self.limits.annealing_over_min
        return over_peak >= self.limits.annealing_of_peak

    @cached_property
    def reference_lr(self) -> float | None:
        return reference_lr(self.facts.n_params) if self.facts.n_params else None

    # -- what more training buys -----------------------------------------------------------
    @cached_property
    def forecast(self) -> Forecast | ForecastRefusal | None:
        """A power law in steps on the val tail, refused where the schedule bends the curve."""
        target = self.facts.max_iters or self.facts.last_iter
        if len(self.val) < 6 or not target:
            return None
        return fit_power_law(
            self.val.steps,
            self.val.values,
            target_step=int(target),
            schedule_explains_bend=self.lr_annealed_over_tail,
        )

    def _schedule_function(self, stretch: float = 1.0):
        """The rebuilt LR as a function of iteration arrays, its decay stretched by `stretch`."""
        if self.schedule_settings is None:
            return None
        lr, warmup, decay_iters, min_lr, decay = self.schedule_settings
        # hashable, unlike a closure: the runs of a sweep share its sampled schedule and areas
        return NanoGPTSchedule((lr, warmup, int(round(decay_iters * stretch)), min_lr, decay))

    @property
    def forecast_fitted_on(self) -> str:
        return self._forecast_curve[2]

    @cached_property
    def _forecast_curve(self) -> tuple[Curve, float | None, str]:
        """The curve the schedule-aware forecast is fitted on: val, else the train loss."""
        if len(self.val):
            return self.val, self.eval_noise, "val"
        return self.train_curve, None, "train"

    @cached_property
    def curve_forecast(self) -> CurveForecast | CurveRefusal | None:
        """The loss at max_iters under the run's own schedule (Tissue et al.'s law), or why not."""
        f = self.facts
        if f.max_iters is None or f.last_iter is None:
            return CurveRefusal("the run's length (max_iters) is unknown, so there is no end to forecast")
        if f.last_iter >= f.max_iters:
            return CurveRefusal(
                f"the run reached max_iters ({f.max_iters:,}): its end is measured, not forecast", kind="done"
            )
        c, noise, _ = self._forecast_curve
        return forecast_curve(
            c.steps,
            c.values,
            self._schedule_function(),
            int(f.max_iters),
            noise,
            logged_lr=self._logged_lr_points,
        )

    def forecast_with_shorter_decay(self, end: int) -> tuple[float, float, float] | None:
        """(median, low, high) of the loss at `end` if the run resumes now with its decay ending
        at `end` (lr_decay_iters = max_iters = end): a cooldown, under the fitted law."""
        fc = self.curve_forecast
        if (
            not isinstance(fc, CurveForecast)
            or self.schedule_settings is None
            or self.facts.last_iter is None
        ):
            return None
        lr, warmup, _, min_lr, decay = self.schedule_settings
        now = self.facts.last_iter
        original = self._schedule_function()

        def resumed(iters):
            iters = np.asarray(iters)
            return np.where(iters < now, original(iters), nanogpt_lr(iters, lr, warmup, end, min_lr, decay))

        median_, low, high = fc.predict([end], resumed)
        return float(median_[0]), float(low[0]), float(high[0])

    @cached_property
    def longer_run_forecast(self) -> tuple[int, CurveForecast | CurveRefusal] | None:
        """The loss of a run LONGER_RUN times as long, its decay stretched to match, fitted on the
        curve the log has: what a longer schedule would buy."""
        f = self.facts
        end = f.max_iters or f.last_iter
        if not end:
            return None
        target = int(end * LONGER_RUN)
        c, noise, _ = self._forecast_curve
        return target, forecast_curve(
            c.steps, c.values, self._schedule_function(LONGER_RUN), target, noise, logged_lr=None
        )

    # -- scale -----------------------------------------------------------------------------
    @cached_property
    def byte_level(self) -> bool:
        """A vocabulary of bytes or characters: a token carries a quarter of a BPE token."""
        return self.facts.vocab_size is not None and self.facts.vocab_size <= BYTE_LEVEL_VOCAB

    @cached_property
    def chinchilla_terms(self) -> tuple[float, float, float] | None:
        """(E, model term, data term) of Chinchilla's L(N, D); None where it does not apply: no
        size, or a byte/character vocabulary (its constants are for a 32k BPE tokenizer)."""
        f = self.facts
        if not f.n_params or not f.tokens_seen or self.byte_level:
            return None
        return chinchilla_terms(f.n_params, f.tokens_seen)

    @cached_property
    def chinchilla_loss(self) -> float | None:
        return sum(self.chinchilla_terms) if self.chinchilla_terms else None

    # -- events ----------------------------------------------------------------------------
    @cached_property
    def spikes(self) -> list[Spike]:
        if len(self.iter_loss) < GROSS_MIN_POINTS:
            return []
        detect = self.live.spikes if self.live else detect_spikes
        return detect(
            self.iter_loss.steps,
            self.iter_loss.values,
            sigma=self.sigma.sigma if self.sigma else None,
            z_threshold=self.limits.spike_z,
        )

    @cached_property
    def non_finite(self) -> NonFinite | None:
        iters = self.parsed.iter_table
        return None if iters.empty else first_non_finite(iters["iter"], iters["loss"])

    @cached_property
    def non_finite_onset(self) -> str | None:
        """How the loss went non-finite: "climb" (an excursion of the smoothed curve started
        before it: an instability), "stable" (enough finite losses before it and no climb:
        numerics), "early" (too few finite losses before it to tell); None without a NaN."""
        nf = self.non_finite
        if nf is None:
            return None
        if self.explosion is not None and self.explosion.start_iter < nf.first_iter:
            return "climb"
        before = int((self.iter_loss.steps < nf.first_iter).sum())
        return "stable" if before >= MIN_STABLE_POINTS else "early"

    @cached_property
    def eval_non_finite_step(self) -> int | None:
        """Every eval row carries a val value, so a non-finite one was printed as nan/inf."""
        evals = self.parsed.eval_table
        if evals.empty:
            return None
        bad = np.flatnonzero(~np.isfinite(evals["val_loss"]))
        return int(evals["step"][bad[0]]) if len(bad) else None

    @cached_property
    def explosion(self) -> Explosion | None:
        """An excursion of the smoothed iteration loss (window means, HF, are few but each
        averages many steps, hence the short minimum run on short curves)."""
        n = len(self.iter_loss)
        if n < EXPLOSION_MIN_POINTS:
            return None
        return detect_explosion(self.iter_loss.steps, self.iter_loss.values, min_run=max(3, min(5, n // 4)))

    @cached_property
    def val_explosion(self) -> Explosion | None:
        if len(self.val) < VAL_EXPLOSION_MIN_POINTS:
            return None
        return detect_explosion(self.val.steps, self.val.values, min_run=2)

    @cached_property
    def pinned(self) -> Pinned | None:
        """The loss held at ln(k) for a small k (a stuck classifier head) or k = a vocabulary
        (a language model predicting uniformly). Iteration losses pinned over the recent stretch
        are the signature (a learning model's loss moves with every batch); with only evals,
        most of the run must sit there, since a converged model on a fixed val set can print
        nearly the same number eval after eval."""
        it = self.iter_loss
        recent = max(TREND_WINDOW_POINTS * 2, len(it) * 3 // 10)
        if len(it) >= recent:
            return self._pinned_stretch(it, len(it) - recent, "train")
        val = self.val
        if len(val) >= TREND_WINDOW_POINTS * 2:
            level = median(val.values)
            inside = np.abs(val.values - level) <= self.limits.pinned_tolerance
            if inside.mean() >= self.limits.pinned_share:
                return self._pinned_stretch(val, int(np.argmax(inside)), "val")
        return None

    def _pinned_stretch(self, c: Curve, start: int, name: str) -> Pinned | None:
        values = c.values[start:]
        level = float(median(values))
        spread = float(np.max(np.abs(values - level)))
        tol = self.limits.pinned_tolerance
        if spread > tol:
            return None
        candidates = list(range(2, MAX_CLASSES + 1)) + list(COMMON_VOCABS)
        if self.facts.vocab_size:
            candidates.append(self.facts.vocab_size)
        k = min(candidates, key=lambda n: abs(self.uniform_loss(n) - level))
        if abs(self.uniform_loss(k) - level) > tol:
            return None
        # the pinned stretch reaches back as far as the loss stayed at that level
        outside = np.flatnonzero(np.abs(c.values[:start] - level) > tol)
        start = int(outside[-1]) + 1 if len(outside) else 0
        before = c.values[:start]
        return Pinned(
            k=int(k),
            level=level,
            spread=spread,
            curve=name,
            since_step=int(c.steps[start]),
            best_before=float(before.min()) if len(before) else level,
        )

    # -- the start of the run --------------------------------------------------------------
    @cached_property
    def _init(self) -> tuple[float | None, int | None]:
        val, it = self.val, self.iter_loss
        if len(val) and val.steps[0] == 0 and self.parsed.meta.val_metric == "loss":  # not bits/byte
            return float(val.values[0]), int(val.lines[0])
        if len(it) and it.steps[0] <= 1:
            return float(it.values[0]), int(it.lines[0])
        return None, None

    @property
    def init_loss(self) -> float | None:
        """The loss at step 0 (eval val, else iteration 0 or 1)."""
        return self._init[0]

    @property
    def init_loss_line(self) -> int | None:
        return self._init[1]

    @cached_property
    def init_from(self) -> str | None:
        return self.config.get("init_from") or self.parsed.meta.init_from

    @property
    def in_bits(self) -> bool:
        """The log prints its losses in bits (per character or token), not nats."""
        return self.parsed.meta.loss_unit == "bits"

    @property
    def log_name(self) -> str:
        """How to write the logarithm the losses use: ln for nats, log2 for bits."""
        return "log2" if self.in_bits else "ln"

    def uniform_loss(self, k: float) -> float:
        """The loss of a uniform guess over k outcomes, in the log's unit."""
        return float(np.log2(k)) if self.in_bits else float(np.log(k))

    @cached_property
    def expected_init_loss(self) -> float | None:
        """ln(vocab) (log2 in bits) for a run known (or not known not) to start from scratch."""
        if self.facts.vocab_size and self.init_from in (None, "scratch"):
            return self.uniform_loss(self.facts.vocab_size)
        return None

    @cached_property
    def finetune(self) -> tuple[bool | None, str]:
        """(is a fine-tune, why): pretrained weights named by init_from or the log, LoRA/PEFT
        settings, or a first loss no fresh language model gives; (False, why) for a run shown to
        start from scratch; (None, "") when the log cannot tell."""
        meta = self.parsed.meta
        if self.init_from in PRETRAINED_INIT:
            return True, f"init_from={self.init_from}"
        if meta.finetune is not None:
            return meta.finetune, "the log says how the model was initialised"
        adapters = self._adapter_settings
        if adapters:
            return True, f"adapter settings ({', '.join(adapters[:3])})"
        init = self.init_loss
        if self.init_from == "scratch":
            return False, "init_from=scratch"
        if (
            init is not None
            and self.expected_init_loss is not None
            and abs(init - self.expected_init_loss) <= self.limits.from_scratch_init_tolerance
        ):
            return False, f"the first loss {init:.2f} is ln(vocab) = {self.expected_init_loss:.2f}"
        if (
            init is not None
            and meta.val_metric == "loss"
            and init < self.limits.finetune_max_first_loss
            and meta.epochs is not None
        ):
            return True, (
                f"the first loss {init:.2f} is below what any fresh language model starts at, "
                "and the log counts epochs over a dataset"
            )
        return None, ""

    @cached_property
    def trains_adapters(self) -> bool:
        """Only adapter weights train (LoRA, PEFT): the log says so, or the config has their
        settings. Such a fine-tune takes LRs ~10x a full one's."""
        if self.parsed.meta.trains_adapters is not None:
            return self.parsed.meta.trains_adapters
        return bool(self._adapter_settings)

    @cached_property
    def _adapter_settings(self) -> list[str]:
        """The config's LoRA / PEFT / adapter keys, sorted."""
        return sorted(k for k in self.config.values if k.lower().startswith(("lora", "peft", "adapter")))

    @property
    def mode(self) -> str | None:
        known, _ = self.finetune
        return None if known is None else "finetune" if known else "pretrain"

    # -- throughput and gradients ----------------------------------------------------------
    @cached_property
    def timing(self) -> IterationTiming | None:
        iters = self.parsed.iter_table
        if iters.empty:
            return None
        timing = self.live.timing if self.live else iteration_timing
        return timing(iters["iter"], iters["time_ms"], self.parsed.eval_table["step"], iters["mfu"])

    @cached_property
    def grad_norms(self) -> GradNorms | None:
        iters = self.parsed.iter_table
        return None if iters.empty else logged_grad_norms(iters["iter"], iters["grad_norm"])


def _initial_point(c: Curve) -> bool:
    """The curve's first point comes before training has moved the model: within the first
    INITIAL_POINT_SHARE of its steps (step 0 or 1 of 500)."""
    return len(c) >= 2 and c.steps[0] <= INITIAL_POINT_SHARE * c.steps[-1]
