"""The gradient norm where a log prints one (llm.c's `norm`, HF Trainer's `grad_norm`): what it was
around an event the loss shows.

A grad-norm spike on its own is common and often harmless (one HF run here logs 72,000 among
tens with no trace in the loss), so nothing is judged from the norm alone. Next to a loss event
it is evidence: a norm that rose before a jump points at the update size (LR, clipping); a norm
that fell and stayed low after the loss jumped is a model that collapsed to a flat, degenerate
state rather than one that oscillates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.medians import median

MIN_POINTS = 3  # logged norms needed on each side of an event


@dataclass(frozen=True)
class GradNormAround:
    """The logged gradient norm before and after an iteration."""

    at_iter: int
    median_before: float
    median_after: float
    points_before: int
    points_after: int

    @property
    def fell(self) -> bool:
        """The norm after is well below the norm before (under 60% of it)."""
        return self.median_after < 0.6 * self.median_before

    @property
    def rose(self) -> bool:
        """The norm after is well above the norm before (over 1.7 times it)."""
        return self.median_after > 1.7 * self.median_before


@dataclass(frozen=True)
class GradNorms:
    """The gradient norms a log prints."""

    steps: np.ndarray  # iterations with a finite logged norm
    values: np.ndarray

    @property
    def median(self) -> float:
        return median(self.values)

    def around(self, at_iter: int, window: int = 20) -> GradNormAround | None:
        """Medians of the norms logged in the `window` points before `at_iter` and the `window`
        points from it on; None with fewer than MIN_POINTS on a side."""
        split = int(np.searchsorted(self.steps, at_iter))
        b = self.values[max(0, split - window) : split]
        a = self.values[split : split + window]
        if len(b) < MIN_POINTS or len(a) < MIN_POINTS:
            return None
        return GradNormAround(
            at_iter=int(at_iter),
            median_before=median(b),
            median_after=median(a),
            points_before=len(b),
            points_after=len(a),
        )

    def at(self, iteration: int) -> float | None:
        """The norm logged at exactly this iteration, if any."""
        i = int(np.searchsorted(self.steps, iteration))
        return float(self.values[i]) if i < len(self.steps) and self.steps[i] == iteration else None


def logged_grad_norms(iters: np.ndarray, grad_norm: np.ndarray) -> GradNorms | None:
    """The finite logged norms in step order; None when the log prints none."""
    keep = np.isfinite(grad_norm)
    if not keep.any():
        return None
    return GradNorms(iters[keep], grad_norm[keep].astype(float))
