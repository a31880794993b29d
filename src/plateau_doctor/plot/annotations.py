"""What to draw where: an Examination turned into plain numbers and labels.

Everything a plot shows is decided here, without matplotlib, so it can be tested on its own and
the figure code only has to place it. Steps are iterations; `RunPicture.scaled` moves a run onto
a tokens-seen axis when several runs are aligned by tokens.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..analyse.forecast import Forecast
from ..domain.schedule import nanogpt_lr

if TYPE_CHECKING:
    from ..api import Examination
    from ..model import Finding

EARLY_FRACTION = 0.03  # the first 3% of the x range does not set the loss axis' top (see loss_limits)
SMOOTH_FRACTION = 1 / 50
MAX_EXTENSION = 4.0  # the x axis runs to max_iters only up to 4x the last logged step


@dataclass(frozen=True)
class Series:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Point:
    """A marked point on a loss curve (best val, a spike)."""

    kind: str  # best_val | spike
    step: float
    value: float
    label: str
    weight: float = 0.0  # how notable (spike z-score): only the most notable get a text label


@dataclass(frozen=True)
class VLine:
    """An event at one step, drawn as a vertical line with a label along the top."""

    kind: str  # warmup | min_lr | nan | explosion | max_iters
    step: float
    label: str


@dataclass(frozen=True)
class Span:
    """A stretch of steps that a finding is about, drawn as a shaded band."""

    kind: str  # overfitting | plateau
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class ForecastMark:
    curve: Series  # the fitted power law, from the fitted tail to the target
    target_step: float
    predicted: float
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class RunPicture:
    """One run, ready to draw. x values are iterations unless `scaled` moved them."""

    label: str
    headline: str
    val_name: str  # "val loss", or "val bpb" for logs that report bits per byte
    tokens_per_iter: int | None
    raw: Series  # finite iteration losses
    smooth: Series  # the same, lightly smoothed
    train_eval: Series
    val: Series
    band_half_width: float | None  # 2 x the noise of one val eval, when known
    train_band_half_width: float | None  # the same for the train estimate (smaller once memorised)
    lr: Series | None
    lr_source: str | None  # rebuilt | logged
    x_end: float  # the last step the picture needs: last logged, max_iters, forecast
    points: list[Point] = field(default_factory=list)
    lines: list[VLine] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    forecast: ForecastMark | None = None

    def scaled(self, factor: float) -> RunPicture:
        """The same run with every step multiplied by `factor` (tokens per iteration)."""

        def s(series: Series | None) -> Series | None:
            return None if series is None else Series(series.x * factor, series.y)

        fc = self.forecast
        return replace(
            self,
            raw=s(self.raw),
            smooth=s(self.smooth),
            train_eval=s(self.train_eval),
            val=s(self.val),
            lr=s(self.lr),
            x_end=self.x_end * factor,
            points=[replace(p, step=p.step * factor) for p in self.points],
            lines=[replace(v, step=v.step * factor) for v in self.lines],
            spans=[replace(sp, start=sp.start * factor, end=sp.end * factor) for sp in self.spans],
            forecast=None
            if fc is None
            else replace(fc, curve=s(fc.curve), target_step=fc.target_step * factor),
        )


def picture(ex: Examination, label: str | None = None) -> RunPicture:
    """Everything to draw for one examined log."""
    a, facts, report = ex.analyses, ex.facts, ex.report
    raw = Series(a.iter_loss.steps.astype(float), a.iter_loss.values.astype(float))
    val = Series(a.val.steps.astype(float), a.val.values.astype(float))
    last = max([float(s.x[-1]) for s in (raw, val) if len(s)] or [0.0])
    forecast = _forecast(a.forecast)
    planned = max(float(facts.max_iters or 0), forecast.target_step if forecast else 0.0)
    # A run stopped far short of max_iters (or a default max_iters nobody meant, 600,000 in
    # nanoGPT) would be squashed against the left edge: the axis reaches the planned end only
    # while the logged run still fills a quarter of it.
    x_end = planned if last < planned <= MAX_EXTENSION * last else last
    if forecast is not None and forecast.target_step > x_end:
        forecast = None
    lr, lr_source = _lr(ex, x_end)
    raised = [f for f in report.findings if f.raised]
    headline = raised[0].title if raised else report.verdict.split(". ")[0].rstrip(".")

    points = _best_val(val) + [Point("spike", float(s.iter), s.loss, "spike", weight=s.z) for s in a.spikes]
    return RunPicture(
        label=label or os.path.basename(report.path) or report.path,
        headline=headline or "no findings",
        val_name="val bpb" if ex.parsed.meta.val_metric == "bpb" else "val loss",
        tokens_per_iter=facts.tokens_per_iter,
        raw=raw,
        smooth=Series(raw.x, smooth(raw.y)),
        train_eval=Series(a.train_eval.steps.astype(float), a.train_eval.values.astype(float)),
        val=val,
        band_half_width=2.0 * a.eval_noise if a.eval_noise is not None else None,
        train_band_half_width=_train_band(a),
        lr=lr,
        lr_source=lr_source,
        x_end=x_end,
        points=points,
        lines=_schedule_lines(ex, last, x_end) + _trouble_lines(ex),
        spans=_spans(ex, raised, val),
        forecast=forecast,
    )


def _train_band(a) -> float | None:
    """Twice the noise of one train estimate: the eval noise, except where the train text is
    memorised and val's own scatter stands in for val (train batches stay sigma / sqrt(eval_iters))."""
    if not a.train_memorised:
        return 2.0 * a.eval_noise if a.eval_noise is not None else None
    if a.sigma is not None and a.eval_iters:
        return 2.0 * a.sigma.sigma / a.eval_iters**0.5
    return None


def smooth(values: np.ndarray, fraction: float = SMOOTH_FRACTION) -> np.ndarray:
    """A rolling median over 5 points, then a centred rolling mean over ~2% of the points (both
    shrinking at the edges). The median keeps a single spike a dot of its own instead of a step in
    the trend line; the mean then takes out the median's jaggedness."""
    import pandas as pd

    y = pd.Series(np.asarray(values, dtype=float))
    window = 2 * (int(len(y) * fraction) // 2) + 1
    if window <= 1:
        return y.to_numpy(copy=True)
    robust = y.rolling(5, center=True, min_periods=1).median()
    return robust.rolling(window, center=True, min_periods=1).mean().to_numpy()


def _best_val(val: Series) -> list[Point]:
    if not len(val):
        return []
    i = int(np.argmin(val.y))
    return [
        Point("best_val", float(val.x[i]), float(val.y[i]), f"best val {val.y[i]:.4f} @ {int(val.x[i]):,}")
    ]


def _lr(ex: Examination, x_end: float) -> tuple[Series | None, str | None]:
    """The logged LR where the log prints one (it is the truth), else nanoGPT's get_lr rebuilt
    from the config, but only where analyse() trusted the config enough to build a schedule."""
    iters = ex.parsed.iter_table
    if ex.parsed.meta.lr_logged and not iters.empty:
        x = iters["iter"].astype(float)
        y = iters["lr"].astype(float)
        keep = np.isfinite(x) & np.isfinite(y)
        if keep.sum() >= 2:
            return Series(x[keep], y[keep]), "logged"
    if ex.analyses.schedule is None:
        return None, None
    cfg = ex.config
    try:
        args = (
            float(cfg.get("learning_rate")),
            int(cfg.get("warmup_iters")),
            int(cfg.get("lr_decay_iters")),
            float(cfg.get("min_lr")),
            bool(cfg.get("decay_lr")),
        )
    except (TypeError, ValueError):
        return None, None
    x = np.arange(0, int(x_end) + 1, max(1, int(x_end) // 2000), dtype=float)
    return Series(x, np.asarray(nanogpt_lr(x, *args), dtype=float)), "rebuilt"


def _schedule_lines(ex: Examination, last: float, x_end: float) -> list[VLine]:
    lines: list[VLine] = []
    sched, logged = ex.analyses.schedule, ex.analyses.logged_lr
    if sched is not None:
        if 0 < sched.warmup_iters <= x_end:
            lines.append(VLine("warmup", sched.warmup_iters, f"warmup ends ({sched.warmup_iters:,})"))
        reaches_min = max(sched.lr_decay_iters, sched.warmup_iters)
        if sched.phase != "constant" and 0 < reaches_min <= x_end:
            lines.append(VLine("min_lr", reaches_min, f"LR reaches min_lr ({reaches_min:,})"))
    elif logged is not None and logged.peak_region_iter > 0:
        lines.append(VLine("warmup", logged.peak_region_iter, f"warmup ends (~{logged.peak_region_iter:,})"))
    max_iters = ex.facts.max_iters
    if max_iters and last < max_iters <= x_end:
        lines.append(VLine("max_iters", max_iters, f"max_iters {max_iters:,}"))
    return lines


def _trouble_lines(ex: Examination) -> list[VLine]:
    a = ex.analyses
    lines: list[VLine] = []
    if a.non_finite is not None:
        lines.append(VLine("nan", a.non_finite.first_iter, f"NaN loss from {a.non_finite.first_iter:,}"))
    elif a.eval_non_finite_step is not None:
        lines.append(VLine("nan", a.eval_non_finite_step, f"NaN val from {a.eval_non_finite_step:,}"))
    if a.explosion is not None:
        what = "loss jumps (recovers)" if a.explosion.recovered else "loss explodes"
        lines.append(VLine("explosion", a.explosion.start_iter, f"{what} at {a.explosion.start_iter:,}"))
    return lines


def _spans(ex: Examination, raised: list[Finding], val: Series) -> list[Span]:
    spans: list[Span] = []
    vt = ex.analyses.val_trend
    end = float(val.x[-1]) if len(val) else 0.0
    for f in raised:
        if f.category == "overfitting" and "best_val_step" in f.evidence:
            # The stalled-val variant reports the recent window; the rising variant the best step.
            stalled = "gap_at_window_start" in f.evidence and vt is not None
            start = float(vt.start_step if stalled else f.evidence["best_val_step"])
            rise = f.evidence.get("val_rise_since_best")
            label = (
                "overfitting: val stalls, train falls"
                if stalled or not _finite(rise)
                else f"overfitting: val +{rise:.3f} since best"
            )
            if end > start:
                spans.append(Span("overfitting", start, end, label))
            break
    for f in raised:
        if f.category in ("plateau", "capacity_limited") and vt is not None:
            label = (
                "plateau: val flat within noise"
                if f.category == "plateau"
                else "plateau: model too small for its data"
            )
            spans.append(Span("plateau", float(vt.start_step), float(vt.end_step), label))
            break
    return spans


def _forecast(fc) -> ForecastMark | None:
    """The projection to the target step; nothing when the target is not beyond the fitted data
    (a finished run): the curve would only retrace the evals."""
    if not isinstance(fc, Forecast) or fc.target_step <= fc.last_step:
        return None
    x = np.linspace(fc.fitted_from_step, fc.target_step, 60)
    y = fc.l_inf + fc.amplitude * x**-fc.alpha
    low, high = fc.interval_at_target
    return ForecastMark(
        Series(x, y),
        float(fc.target_step),
        fc.predicted_at_target,
        low,
        high,
        f"forecast at {fc.target_step:,}: {fc.predicted_at_target:.3f} [{low:.3f}, {high:.3f}]",
    )


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


# --- layout helpers, pure so they can be tested --------------------------------------------------


def run_labels(paths: list[str]) -> list[str]:
    """Short legend names: file names, or whole paths where two runs share a file name."""
    names = [os.path.basename(p) or p for p in paths]
    return [p if names.count(n) > 1 else n for p, n in zip(paths, names, strict=True)]


def loss_limits(
    pictures: list[RunPicture], margin: float = 0.05, headroom: float = 0.12, skip_early: bool = True
) -> tuple[float, float] | None:
    """The loss axis range. With `skip_early`, its top ignores the first 3% of the x range: the
    loss at initialisation (ln(vocab), 4.2 for 65 characters) would otherwise squash the part of
    the curve where the diagnosis happens into a sliver (a log x axis gives the start room of its
    own, so it passes False). Spikes, bands and the forecast always stay in view, and
    `headroom` (a fraction of the range) leaves the top free for the event labels."""
    lows, highs = [], []
    for pic in pictures:
        cut = EARLY_FRACTION * pic.x_end if skip_early else -math.inf
        half = pic.band_half_width or 0.0
        for series, pad in ((pic.smooth, 0.0), (pic.train_eval, half), (pic.val, half)):
            if len(series):
                lows.append(float(np.min(series.y)) - pad)
                late = series.y[series.x >= cut]
                highs.append(float(np.max(late if len(late) else series.y)) + pad)
        highs += [p.value for p in pic.points]
        if pic.forecast is not None:
            lows.append(pic.forecast.low)
            highs.append(pic.forecast.high)
    if not lows:
        return None
    lo, hi = min(lows), max(highs)
    span = max(hi - lo, 1e-3)
    return lo - margin * span, hi + headroom * span


def stagger(intervals: list[tuple[float, float]], rows: int = 3) -> list[int]:
    """A text row for each label, given the stretch (start, end) it covers in axes fractions, so
    that labels sharing a row do not overlap. Greedy from the left; when no row is free the row
    that frees up first is reused (an overlap beats a label pushed off the axes)."""
    order = sorted(range(len(intervals)), key=lambda i: intervals[i][0])
    row_end = [-math.inf] * rows
    result = [0] * len(intervals)
    for i in order:
        start, end = intervals[i]
        free = [r for r in range(rows) if row_end[r] <= start]
        row = free[0] if free else int(np.argmin(row_end))
        result[i] = row
        row_end[row] = end
    return result
