"""What a changed schedule would buy: the run's curve fitted once with the annealing law, then
predicted at the end of the schedule as configured and of the changed one, with what each costs
in iterations, tokens and (where the log times its iterations) hours.

By default the changed schedule is a new run from step 0 (what a changed config file means);
with `resume` the run keeps the LR it had up to its last logged iteration and follows the new
schedule from there, as nanoGPT does when it resumes from a checkpoint with new settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from difflib import get_close_matches
from typing import Any

import numpy as np

from ..analyse.anneal_forecast import CurveForecast, CurveRefusal, forecast_curve, nanogpt_schedule
from ..domain.schedule import nanogpt_lr
from .changes import nanogpt_value

SCHEDULE_KEYS = ("max_iters", "lr_decay_iters", "min_lr", "warmup_iters", "learning_rate", "decay_lr")
# A changed schedule whose peak LR is more than this factor away from the fitted one is not
# forecast: the law sees the LR only through its areas, so it would call any higher LR better.
MAX_PEAK_RATIO = 2.0
# The backtest (benchmarks/anneal_backtest.py) cuts runs at 40% of their schedule at the earliest,
# so it checks forecasts up to 2.5x the last logged step; beyond FAR x, whatif says it extrapolates.
BACKTESTED_REACH = 2.5
FAR = 4.0


@dataclass
class Plan:
    label: str
    schedule: dict[str, Any]
    end_iter: int
    predicted: float | None = None  # val loss at end_iter (median of the forecast)
    low: float | None = None  # 80% interval
    high: float | None = None
    iterations: int = 0  # iterations this plan runs (all, or the rest when resuming)
    tokens: int | None = None
    hours: float | None = None
    measured: bool = False  # the run reached end_iter: `predicted` is its val there


@dataclass
class WhatIf:
    log: str
    last_iter: int
    last_val: float | None
    resume: bool
    old: Plan
    new: Plan
    method: str | None = None
    refusal: str | None = None  # why no loss could be forecast (costs still hold)
    notes: list[str] = field(default_factory=list)

    @property
    def difference(self) -> float | None:
        if self.old.predicted is None or self.new.predicted is None:
            return None
        return self.new.predicted - self.old.predicted


class WhatIfError(ValueError):
    """A --set the command cannot use; str() is the one line the user sees."""


def what_if(examination, overrides: dict[str, Any], resume: bool = False) -> WhatIf:
    """Re-forecast the examined run under its schedule with `overrides` applied."""
    for key in overrides:
        if key not in SCHEDULE_KEYS:
            close = get_close_matches(key, SCHEDULE_KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise WhatIfError(
                f"--set {key}: whatif changes the LR schedule only ({', '.join(SCHEDULE_KEYS)}){hint}"
            )
    try:
        changed = {key: nanogpt_value(key, value) for key, value in overrides.items()}
    except ValueError as exc:
        raise WhatIfError(f"--set {exc}") from None
    config, facts, analyses = examination.config, examination.facts, examination.analyses
    lr_old = nanogpt_schedule(config) if analyses.config_known else None
    if lr_old is None or config.get("max_iters") is None:
        raise WhatIfError(
            f"{examination.report.path}: whatif needs the run's nanoGPT schedule "
            "(the log's echoed config, or --config)"
        )
    old = {key: config.get(key) for key in SCHEDULE_KEYS}
    new = {**old, **changed}
    last = int(facts.last_iter or 0)
    notes = []
    if resume and int(new["max_iters"]) <= last:
        raise WhatIfError(
            f"--set max_iters={new['max_iters']}: the run is already at iteration {last:,}; "
            "resuming cannot end before it"
        )
    lr_new = _schedule(new)
    if resume:
        history = lr_old(np.arange(last))
        lr_new = _spliced(history, lr_new, last)
        if "warmup_iters" in changed and last >= min(int(old["warmup_iters"]), int(new["warmup_iters"])):
            notes.append(
                "the warmup is over at the last logged iteration: resuming, a new warmup_iters "
                "changes nothing"
            )
    peak_ratio = _peak(new) / max(_peak(old), 1e-300)
    trusted = 1.0 / MAX_PEAK_RATIO <= peak_ratio <= MAX_PEAK_RATIO
    if not trusted:
        notes.append(
            f"the changed schedule peaks at {peak_ratio:.3g}x the LR the law was fitted at; "
            "the law knows the LR only through its areas (it would call any higher LR "
            "better and cannot see instability), so it is not trusted that far from the "
            "fitted LR: no forecast for it"
        )
    elif int(new["warmup_iters"]) >= int(new["max_iters"]) and not resume:
        trusted = False
        notes.append(
            "the changed run would end inside its warmup, which the law counts as if at the "
            "peak LR (as its authors do): no forecast for it"
        )
    elif abs(peak_ratio - 1.0) > 0.01:
        notes.append(
            "the law was fitted at this run's peak LR; it predicts another peak LR only through "
            "the LR areas, which holds near the fitted one (Tissue et al. fit one peak LR per "
            "law): treat the new forecast as rough"
        )
    if float(new["min_lr"]) > float(new["learning_rate"]) and new["decay_lr"]:
        notes.append("min_lr is above learning_rate: the LR rises over the run instead of decaying")

    result = WhatIf(
        log=examination.report.path,
        last_iter=last,
        last_val=facts.last_val_loss,
        resume=resume,
        old=_plan("as configured", old, last, resume, examination),
        new=_plan("changed", new, last, resume, examination),
        notes=notes,
    )
    fit, fitted_to = _fit(analyses, lr_old, result)
    if isinstance(fit, CurveRefusal):
        result.refusal = fit.reason
        return result
    result.method = fit.method
    result.notes += list(fit.notes)
    for plan, lr in ((result.old, None), (result.new, lr_new)):
        if plan is result.old and _observed(plan, analyses, last, resume):
            continue
        if plan is result.new and not trusted:
            continue
        if plan.end_iter < fit.first_step:
            result.notes.append(
                f"the law is fitted from iteration {fit.first_step:,} on; it says "
                f"nothing about a run that ends at {plan.end_iter:,}"
            )
        elif plan.end_iter <= fitted_to:
            _fill(plan, fit.predict([plan.end_iter], lr))
            if plan.end_iter > FAR * fit.last_step:
                result.notes.append(
                    f"iteration {plan.end_iter:,} is {plan.end_iter / fit.last_step:.0f}x the last "
                    f"logged one: the backtest checks the law up to {BACKTESTED_REACH}x, so this far "
                    "it is an extrapolation (its interval says how little it knows)"
                )
    return result


def _peak(settings: dict[str, Any]) -> float:
    """The peak LR a nanoGPT schedule is set to (min_lr when it is set above learning_rate)."""
    if not settings["decay_lr"]:
        return float(settings["learning_rate"])
    return max(float(settings["learning_rate"]), float(settings["min_lr"]))


def _fit(analyses, lr, result: WhatIf) -> tuple[CurveForecast | CurveRefusal, float]:
    """The law fitted to val, and the last iteration its forecasts can be trusted to: anywhere
    for a healthy curve; up to the best val when val rises after it (overfitting), where the fit
    takes the curve up to that point and says so."""
    val = analyses.val
    target = result.old.end_iter  # the changed plan is predicted under its own schedule
    fit = forecast_curve(val.steps, val.values, lr, target, analyses.eval_noise)
    if not (isinstance(fit, CurveRefusal) and fit.kind == "rising"):
        return fit, float("inf")
    best = int(np.argmin(val.values))
    early = forecast_curve(val.steps[: best + 1], val.values[: best + 1], lr, target, analyses.eval_noise)
    if isinstance(early, CurveRefusal):
        return fit, 0.0
    best_step = int(val.steps[best])
    result.notes.append(
        f"{fit.reason}; the law is fitted to the curve up to its best val "
        f"(iteration {best_step:,}) and forecasts only runs that end by then"
    )
    return early, best_step


def _observed(plan: Plan, analyses, last: int, resume: bool) -> bool:
    """The run as configured already reached its end: its val there is a measurement."""
    val = analyses.val
    if resume or last < plan.end_iter or not len(val) or int(val.steps[-1]) != plan.end_iter:
        return False
    noise = analyses.eval_noise or 0.0
    plan.predicted = float(val.values[-1])
    plan.low, plan.high = plan.predicted - noise, plan.predicted + noise
    plan.label, plan.measured = "as run", True
    return True


def _schedule(settings: dict[str, Any]):
    args = (
        float(settings["learning_rate"]),
        int(settings["warmup_iters"]),
        int(settings["lr_decay_iters"]),
        float(settings["min_lr"]),
        bool(settings["decay_lr"]),
    )
    return lambda iters: nanogpt_lr(np.asarray(iters), *args)


def _spliced(history: np.ndarray, then, start: int):
    """The LR of the updates before `start` as they were, the new schedule's after."""

    def lr(iters):
        iters = np.asarray(iters)
        return np.where(
            iters < start, history[np.minimum(iters, max(start - 1, 0))] if start else 0.0, then(iters)
        )

    return lr


def _plan(label: str, schedule: dict[str, Any], last: int, resume: bool, examination) -> Plan:
    end = int(schedule["max_iters"])
    iterations = max(end - last, 0) if resume else end
    facts, timing = examination.facts, examination.analyses.timing
    tokens = iterations * facts.tokens_per_iter if facts.tokens_per_iter else None
    hours = None
    if timing is not None and timing.median_iter_ms > 0:
        per_eval_ms = timing.eval_excess_ms / timing.evals_timed if timing.evals_timed else 0.0
        interval = examination.config.get("eval_interval")
        evals = iterations // int(interval) if interval else 0
        hours = (iterations * timing.median_iter_ms + evals * per_eval_ms) / 3.6e6
    return Plan(
        label, {k: v for k, v in schedule.items()}, end, iterations=iterations, tokens=tokens, hours=hours
    )


def _fill(plan: Plan, quantiles) -> None:
    """The forecast at the plan's end; left empty where the schedule has no LR area yet."""
    mid, low, high = quantiles
    if np.isfinite(mid[0]):
        plan.predicted, plan.low, plan.high = float(mid[0]), float(low[0]), float(high[0])


# -- output ---------------------------------------------------------------------------------------


def to_json(result: WhatIf) -> str:
    data = asdict(result)
    data["difference"] = result.difference
    return json.dumps(data, indent=2)


def render_text(result: WhatIf) -> str:
    mode = f"resumed at iteration {result.last_iter:,}" if result.resume else "as a new run"
    changed = {k: v for k, v in result.new.schedule.items() if result.old.schedule.get(k) != v}
    lines = [f"whatif {result.log}: " + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + f" ({mode})"]
    if result.last_val is not None:
        lines.append(f"  now: val {result.last_val:.4f} at iteration {result.last_iter:,}")
    cost_head = "remaining" if result.resume else "iterations"
    lines.append(
        f"  {'':<15} {'forecast at the end (80% interval)':<40} {cost_head:>10} {'tokens':>8} {'time':>8}"
    )
    for plan in (result.old, result.new):
        if plan.measured:
            forecast = f"iter {plan.end_iter:,}: val {plan.predicted:.3f} (measured)"
        elif plan.predicted is not None:
            forecast = f"iter {plan.end_iter:,}: val ~{plan.predicted:.3f} ({plan.low:.3f}-{plan.high:.3f})"
        else:
            forecast = f"iter {plan.end_iter:,}: no forecast"
        tokens = _tokens(plan.tokens) if plan.tokens is not None else "-"
        hours = _duration(plan.hours) if plan.hours is not None else "-"
        lines.append(f"  {plan.label:<15} {forecast:<40} {plan.iterations:>10,} {tokens:>8} {hours:>8}")
    if result.difference is not None:
        extra = result.new.iterations - result.old.iterations
        share = f" ({extra / result.old.iterations:+.0%})" if result.old.iterations else ""
        cost = f"{extra:+,} iterations{share}"
        if result.old.hours is not None and result.new.hours is not None:
            delta = result.new.hours - result.old.hours
            cost += f", {'+' if delta >= 0 else '-'}{_duration(abs(delta))}"
        lines.append(f"  change: val {result.difference:+.3f} (forecast), {cost}")
    if result.refusal:
        lines.append(f"  no loss forecast: {result.refusal}")
    if result.method:
        lines.append(f"  method: {result.method}")
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min"


def _tokens(n: float) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"
