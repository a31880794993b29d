"""Is the loss still going down? A straight-line fit over the recent window, with an honest
uncertainty, and a verdict only when the slope stands out of that uncertainty.

A plateau call needs the slope *and* its standard error: "the last five evals look flat" is not
evidence when one eval's noise is larger than the improvement five evals would show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .noise import finite_sorted

VERDICTS = ("improving", "flat", "rising")

# Student's t, 97.5% quantiles by degrees of freedom (any statistics table), and the normal's.
# A slope whose error comes from the residuals of n points has n - 2 degrees of freedom: with
# four points, |t| > 2 happens by chance one time in six, not one in twenty. The verdict's z is
# widened by T_975[dof] / NORMAL_975 when the residuals are all there is to estimate the noise.
T_975 = {
    1: 12.71,
    2: 4.30,
    3: 3.18,
    4: 2.78,
    5: 2.57,
    6: 2.45,
    7: 2.36,
    8: 2.31,
    9: 2.26,
    10: 2.23,
    12: 2.18,
    15: 2.13,
    20: 2.09,
    30: 2.04,
}
NORMAL_975 = 1.96


def small_sample_z(z: float, dof: int) -> float:
    """`z` widened for a standard error estimated from `dof` degrees of freedom (the next
    tabulated dof at or below, so never narrower than the table says); z itself past 30."""
    if dof > max(T_975):
        return z
    tabulated = max(d for d in T_975 if d <= max(dof, 1))
    return z * T_975[tabulated] / NORMAL_975


@dataclass(frozen=True)
class Trend:
    """Least-squares line through the recent window. 'improving' means the value goes down."""

    slope_per_1k: float  # change in value per 1000 steps
    slope_stderr_per_1k: float  # the larger of the residual and the known-noise standard error
    verdict: str  # 'improving' | 'flat' | 'rising'
    n_points: int
    start_step: int  # first and last step of the window
    end_step: int
    start_value: float  # the fitted line at start_step and end_step
    end_value: float
    change: float  # fitted change over the window: end_value - start_value
    t_stat: float  # slope / its standard error


def _recent_window(s: np.ndarray, last_n: int | None, last_fraction: float, min_points: int) -> slice:
    """The last `last_n` points, or the points in the last `last_fraction` of the step range,
    but never fewer than `min_points`."""
    if last_n is not None:
        return slice(max(0, len(s) - max(last_n, min_points)), len(s))
    cutoff = s[-1] - last_fraction * (s[-1] - s[0])
    n_in = int(np.count_nonzero(s >= cutoff))
    return slice(len(s) - max(n_in, min_points), len(s))


def fit_trend(
    steps,
    values,
    last_n: int | None = None,
    last_fraction: float = 0.3,
    min_points: int = 4,
    point_se: float | None = None,
    z: float = 2.0,
) -> Trend | None:
    """OLS slope of value on step over the recent window, with a verdict at |t| > z.

    The slope's standard error is the larger of
      - the OLS one, from the residual scatter (sqrt(SSE / (n - 2) / Sxx)), and
      - the one a known per-point noise implies, point_se / sqrt(Sxx),
    so a window that happens to look smooth cannot claim more certainty than the noise allows.
    None when fewer than `min_points` finite points, or all at one step.
    """
    s, v = finite_sorted(steps, values)
    if len(s) < max(min_points, 2):
        return None
    window = _recent_window(s, last_n, last_fraction, max(min_points, 2))
    s, v = s[window], v[window]
    s_centred = s - s.mean()
    sxx = float(np.sum(s_centred**2))
    if sxx <= 0.0:
        return None

    slope = float(np.sum(s_centred * (v - v.mean())) / sxx)
    intercept = float(v.mean() - slope * s.mean())
    residuals = v - (intercept + slope * s)
    n = len(s)
    se_ols = math.sqrt(float(np.sum(residuals**2)) / (n - 2) / sxx) if n > 2 else 0.0
    se_known = point_se / math.sqrt(sxx) if point_se is not None else 0.0
    se = max(se_ols, se_known)

    if se > 0.0:
        t = slope / se
    else:  # an exact line with no stated noise: any non-zero slope is certain
        t = math.copysign(math.inf, slope) if slope != 0.0 else 0.0
    # Only the residuals estimate the noise when none is known; a known noise (evals with a
    # measured error) keeps z: there the residuals of a few points are mostly the curve's bend.
    cut = small_sample_z(z, n - 2) if point_se is None else z
    verdict = "improving" if t < -cut else "rising" if t > cut else "flat"

    start_value = intercept + slope * s[0]
    end_value = intercept + slope * s[-1]
    return Trend(
        slope_per_1k=slope * 1000.0,
        slope_stderr_per_1k=se * 1000.0,
        verdict=verdict,
        n_points=n,
        start_step=int(s[0]),
        end_step=int(s[-1]),
        start_value=float(start_value),
        end_value=float(end_value),
        change=float(end_value - start_value),
        t_stat=float(t),
    )
