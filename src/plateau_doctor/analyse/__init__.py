"""Analyse: the shared, pure computations every rule reads, done once per run.

`analyse()` turns the loss table, the resolved config and the run facts into one `Analyses`
object: noise (per-batch sigma, eval standard error, eval scatter), trends, a forecast, the LR
schedule, scale references and spikes. Rules read it; they never re-parse or re-fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Columns, ParsedLog, ResolvedConfig, RunFacts
from .forecast import Forecast, ForecastRefusal, fit_power_law
from .grad_norm import GradNorms, logged_grad_norms
from .medians import median
from .noise import (EvalScatter, SigmaEstimate, co_movement, eval_scatter, eval_standard_error,
                    per_batch_sigma)
from .scale import chinchilla_loss, chinchilla_terms, expected_init_loss, reference_lr
from .schedule import LoggedLR, SchedulePosition, logged_lr_trend, nanogpt_lr, schedule_position
from .spikes import Explosion, NonFinite, Spike, detect_explosion, detect_spikes, first_non_finite
from .timing import IterationTiming, iteration_timing
from .trend import Trend, fit_trend


@dataclass(frozen=True)
class Curve:
    """A finite, step-sorted series with the log line of each point."""

    steps: np.ndarray
    values: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)


@dataclass
class Analyses:
    config_known: bool
    iter_loss: Curve                 # finite iteration losses
    val: Curve                       # finite eval val losses
    train_eval: Curve                # finite eval train estimates
    sigma: SigmaEstimate | None      # per-batch sd of the iteration losses (micro-batch logs)
    eval_iters: int | None
    eval_se_predicted: float | None  # sigma / sqrt(eval_iters)
    val_scatter: EvalScatter | None  # empirical scatter of val around its own trend
    eval_noise: float | None         # the noise of one eval used by the rules
    train_val_co_movement: float | None  # correlation of train/val wiggles: > 0 means real moves
    train_val_comparable: bool       # train and val are in the same unit (not nats vs bits/byte)
    train_memorised: bool            # late train far below late val: train's sigma is not val's
    val_trend: Trend | None          # over the recent window (the last 30% of the evals)
    val_trend_before: Trend | None   # over the window of the same span just before it
    train_trend: Trend | None        # eval train estimates, else binned iteration losses
    forecast: Forecast | ForecastRefusal | None
    schedule: SchedulePosition | None
    lr_at_tail_start: float | None   # LR (rebuilt, else logged) where the recent-trend window starts
    lr_at_end: float | None          # LR (rebuilt, else logged) at the last iteration
    lr_annealed_over_tail: bool      # the LR fell by half or more over the recent-trend window
    logged_lr: LoggedLR | None
    reference_lr: float | None       # GPT-3-table reference for the model's size
    peak_lr: float | None            # configured learning_rate, or the largest logged LR
    chinchilla_loss: float | None
    chinchilla_terms: tuple[float, float, float] | None
    spikes: list[Spike]
    non_finite: NonFinite | None
    eval_non_finite_step: int | None
    explosion: Explosion | None      # in the iteration losses
    val_explosion: Explosion | None  # in the val curve
    init_loss: float | None          # the loss at step 0 (eval val, else iter 0)
    init_loss_line: int | None
    expected_init_loss: float | None
    timing: IterationTiming | None   # median iteration time, eval time hidden after evals
    grad_norms: GradNorms | None     # the gradient norms the log prints (llm.c, HF), if any
    notes: list[str] = field(default_factory=list)


def _curve(table: Columns, x: str, y: str) -> Curve:
    if table.empty:
        empty = np.empty(0)
        return Curve(empty, empty, empty.astype(int))
    steps = table[x].astype(float, copy=False)
    values = table[y].astype(float, copy=False)
    keep = np.isfinite(values)
    lines = table["line"]
    if keep.all():            # the usual case: no copies of a long curve
        return Curve(steps, values, lines)
    return Curve(steps[keep], values[keep], lines[keep])


def _binned(curve: Curve, bins: int = 40) -> Curve:
    """Median of iteration losses in equal-width step bins: a train curve as smooth as evals."""
    if len(curve) < 2 * bins:
        return curve
    edges = np.linspace(curve.steps[0], curve.steps[-1], bins + 1)
    idx = np.clip(np.searchsorted(edges, curve.steps, side="right") - 1, 0, bins - 1)
    steps, values, lines = [], [], []
    for b in range(bins):
        mask = idx == b
        if mask.any():
            steps.append(float(median(curve.steps[mask])))
            values.append(float(median(curve.values[mask])))
            lines.append(int(curve.lines[mask][-1]))
    return Curve(np.array(steps), np.array(values), np.array(lines))


def _lr_annealed_over_tail(lr_tail: float | None, lr_end: float | None) -> bool:
    """The LR at the end is at most half what it was where the recent window starts: the bend of
    the loss there is the schedule's doing."""
    if not lr_tail or lr_end is None:
        return False
    return lr_end <= 0 or lr_tail / lr_end > 2.0


MEMORISED_RATIO = 1.5   # late val above this multiple of late train: the train text is memorised


def _memorised(val: Curve, train: Curve) -> tuple[float, float] | None:
    """(train, val) medians over the later half of each curve when val is above MEMORISED_RATIO
    times train; None otherwise or with too few points."""
    if len(val) < 4 or len(train) < 4:
        return None
    late_val = median(val.values[len(val) // 2:])
    late_train = median(train.values[len(train) // 2:])
    return (late_train, late_val) if late_train > 0 and late_val > MEMORISED_RATIO * late_train else None


def _timing(parsed: ParsedLog) -> IterationTiming | None:
    iters = parsed.iter_table
    if iters.empty:
        return None
    return iteration_timing(iters["iter"], iters["time_ms"], parsed.eval_table["step"], iters["mfu"])


def analyse(parsed: ParsedLog, config: ResolvedConfig, facts: RunFacts) -> Analyses:
    meta = parsed.meta
    known = config.is_known() and parsed.format == "nanogpt"
    iters, evals = parsed.iter_table, parsed.eval_table
    iter_loss = _curve(iters, "iter", "loss")
    val = _curve(evals, "step", "val_loss")
    train_eval = _curve(evals, "step", "train_loss")
    notes: list[str] = []

    # noise: only a per-micro-batch loss says something about one eval batch
    sigma = None
    if meta.loss_kind == "micro_batch" and len(iter_loss) >= 20:
        sigma = per_batch_sigma(iter_loss.steps, iter_loss.values)
    eval_iters = facts.eval_iters if known else None
    eval_se = eval_standard_error(sigma.sigma, eval_iters) if sigma and eval_iters else None
    # nanochat reports val in bits per byte; its train loss (an EMA) is in nats per token
    comparable = meta.val_metric == "loss" or len(train_eval) > 0
    memorised = _memorised(val, train_eval if len(train_eval) else iter_loss) if comparable else None
    if memorised and eval_se is not None:
        # Batches of text the model has memorised are far easier, and far less variable, than
        # val's: their sigma says nothing about one val batch, and sigma/sqrt(eval_iters) would
        # make every wiggle of val look significant. Val's own scatter stands in.
        eval_se = None
        notes.append(f"late in the run train ({memorised[0]:.3f}) is far below val ({memorised[1]:.3f}): "
                     "the per-batch sigma of train batches does not describe val batches, so the "
                     "noise of one eval is taken from val's own scatter")
    # The empirical scatter is taken on the later half of the evals (at least the last 6): early
    # on the curve bends fast and second differences would count that bend as noise.
    late = slice(max(0, min(len(val) // 2, len(val) - 6)), len(val))
    scatter = eval_scatter(val.steps[late], val.values[late], min_points=6) if len(val) >= 8 else None
    # Sampling noise from sigma/sqrt(eval_iters) is the principled estimate; the scatter stands
    # in only where eval_iters or sigma is unknown.
    eval_noise = eval_se if eval_se is not None else (scatter.scatter if scatter else None)
    co_move = None
    if len(train_eval) >= 8 and len(val) >= 8:
        late_evals = evals.rows(slice(len(evals) // 2, None))
        co_move = co_movement(late_evals["step"], late_evals["train_loss"], late_evals["val_loss"])

    val_trend = fit_trend(val.steps, val.values, point_se=eval_noise) if len(val) >= 4 else None
    val_trend_before = None
    if val_trend is not None:   # the window of the same length just before the recent one
        span = val_trend.end_step - val_trend.start_step
        earlier = (val.steps >= val_trend.start_step - span) & (val.steps <= val_trend.start_step)
        val_trend_before = fit_trend(val.steps[earlier], val.values[earlier], last_fraction=1.0,
                                     point_se=eval_noise)
    if len(train_eval) >= 4:
        train_trend = fit_trend(train_eval.steps, train_eval.values, point_se=eval_noise)
    else:
        binned = _binned(iter_loss)
        train_trend = fit_trend(binned.steps, binned.values) if len(binned) >= 4 else None

    # the schedule, rebuilt from the config
    schedule = lr_tail = None
    peak_lr = None
    if known and facts.last_iter is not None:
        try:
            lr_args = (float(config.get("learning_rate")), int(config.get("warmup_iters")),
                       int(config.get("lr_decay_iters")), float(config.get("min_lr")),
                       bool(config.get("decay_lr")))
            schedule = schedule_position(facts.last_iter, *lr_args, max_iters=facts.max_iters)
            peak_lr = lr_args[0]
            if val_trend is not None:
                lr_tail = float(nanogpt_lr(val_trend.start_step, *lr_args))
        except (TypeError, ValueError):
            notes.append("the learning-rate settings could not be read as numbers")
    logged = None
    if meta.lr_logged and not iters.empty:
        has_lr = np.isfinite(iters["lr"])
        if np.count_nonzero(has_lr) >= 2:
            logged = logged_lr_trend(iters["iter"][has_lr], iters["lr"][has_lr])
            if logged and peak_lr is None:   # a configured peak beats one still warming up
                peak_lr = logged.peak
            if logged and schedule is None and val_trend is not None:   # the log's LR is the truth
                lr_tail = float(np.interp(val_trend.start_step, iters["iter"][has_lr], iters["lr"][has_lr]))
    lr_end = schedule.lr_now if schedule else (logged.last if logged else None)
    annealed = _lr_annealed_over_tail(lr_tail, lr_end)

    # forecast: refuse where the schedule moves the LR a lot over the fitted stretch
    forecast = None
    target = facts.max_iters or (facts.last_iter or 0)
    if len(val) >= 6 and target:
        bend = annealed
        forecast = fit_power_law(val.steps, val.values, target_step=int(target),
                                 schedule_explains_bend=bend)

    ref_lr = reference_lr(facts.n_params) if facts.n_params else None
    chin = chin_terms = None
    if facts.n_params and facts.tokens_seen:
        chin = chinchilla_loss(facts.n_params, facts.tokens_seen)
        chin_terms = chinchilla_terms(facts.n_params, facts.tokens_seen)

    spikes = detect_spikes(iter_loss.steps, iter_loss.values,
                           sigma=sigma.sigma if sigma else None) if len(iter_loss) >= 20 else []
    non_finite = None
    if not iters.empty:
        non_finite = first_non_finite(iters["iter"], iters["loss"])
    eval_nan_step = None
    if not evals.empty:
        # every eval row carries a val value, so a non-finite one was printed as nan/inf
        bad = np.flatnonzero(~np.isfinite(evals["val_loss"]))
        if len(bad):
            eval_nan_step = int(evals["step"][bad[0]])
    explosion = None
    if len(iter_loss) >= 8:   # window means (HF) are few but each averages many steps
        explosion = detect_explosion(iter_loss.steps, iter_loss.values,
                                     min_run=max(3, min(5, len(iter_loss) // 4)))
    val_explosion = detect_explosion(val.steps, val.values, min_run=2) if len(val) >= 6 else None

    init_loss = init_line = None
    if len(val) and val.steps[0] == 0 and meta.val_metric == "loss":   # not nanochat's bits/byte
        init_loss, init_line = float(val.values[0]), int(val.lines[0])
    elif len(iter_loss) and iter_loss.steps[0] <= 1:
        init_loss, init_line = float(iter_loss.values[0]), int(iter_loss.lines[0])
    init_from = config.get("init_from") or meta.init_from
    expected = None
    if facts.vocab_size and init_from in (None, "scratch"):
        expected = expected_init_loss(facts.vocab_size)

    return Analyses(
        config_known=known, iter_loss=iter_loss, val=val, train_eval=train_eval, sigma=sigma,
        eval_iters=eval_iters, eval_se_predicted=eval_se, val_scatter=scatter, eval_noise=eval_noise,
        train_val_co_movement=co_move,
        train_val_comparable=comparable, train_memorised=memorised is not None,
        val_trend=val_trend, val_trend_before=val_trend_before, train_trend=train_trend, forecast=forecast, schedule=schedule,
        lr_at_tail_start=lr_tail, lr_at_end=lr_end, lr_annealed_over_tail=annealed,
        logged_lr=logged, reference_lr=ref_lr, peak_lr=peak_lr,
        chinchilla_loss=chin, chinchilla_terms=chin_terms, spikes=spikes, non_finite=non_finite,
        eval_non_finite_step=eval_nan_step, explosion=explosion, val_explosion=val_explosion,
        init_loss=init_loss, init_loss_line=init_line, expected_init_loss=expected, notes=notes,
        timing=_timing(parsed),
        grad_norms=logged_grad_norms(iters["iter"], iters["grad_norm"]) if not iters.empty else None,
    )
