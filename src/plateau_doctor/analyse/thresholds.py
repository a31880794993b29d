"""The numbers the shared analyses decide with: what counts as a trend, memorising, a spike.

Each is a Threshold (name, default, unit, why), overridable like a rule's, in
`[tool.plateau-doctor.thresholds.analyses]`; `plateau-doctor explain analyses` lists them.
"""

from __future__ import annotations

from ..limits import Limits
from ..model import Threshold

ANALYSIS_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "trend_z",
        2.0,
        "standard errors",
        "a slope is a trend when it is this many of its standard errors from flat (~95%)",
    ),
    Threshold(
        "trend_window",
        0.3,
        "fraction of the run",
        "the recent trend is fitted over the last 30% of the eval steps: late enough to be "
        "'now', long enough to hold several evals",
    ),
    Threshold(
        "memorised_ratio",
        1.5,
        "val / train",
        "late val above 1.5x late train: the train text is memorised, so train batches' "
        "spread says nothing about val batches",
    ),
    Threshold(
        "gap_noise_multiple",
        4.0,
        "evals' noise",
        "a train/val gap is memorising when it exceeds 4x the noise of one eval",
    ),
    Threshold(
        "min_gap",
        0.05,
        "nats",
        "and is at least 0.05 nats: smaller gaps are within what different splits of the same text give",
    ),
    Threshold(
        "min_sigma_points",
        8.0,
        "iteration losses",
        "fewer than 8 losses cannot separate the per-batch spread from the trend",
    ),
    Threshold(
        "min_trend_points_known_noise",
        2.0,
        "evals",
        "with the noise of one eval known from the per-batch spread, two evals give a "
        "slope with an honest standard error",
    ),
    Threshold(
        "min_trend_points",
        4.0,
        "evals",
        "without a known noise the residuals must estimate it: two degrees of freedom at least",
    ),
    Threshold(
        "min_scatter_points",
        8.0,
        "evals",
        "the scatter of val around its own trend needs 8 evals (6 second differences late "
        "in the run) to mean anything",
    ),
    Threshold(
        "spike_z",
        6.0,
        "per-batch sigmas",
        "OLMo-core's detector: a loss more than 6 standard deviations above the recent "
        "median; rarer than 1 in 10^8 for gaussian noise",
    ),
    Threshold(
        "anneal_lr_drop",
        2.0,
        "x",
        "the LR fell by half or more over the recent window: the bend of the loss there is "
        "the schedule's doing",
    ),
    Threshold(
        "annealing_over_min",
        1.5,
        "x min_lr",
        "an LR still 1.5x min_lr or more has a real part of its anneal ahead; below it the anneal is done",
    ),
    Threshold(
        "annealing_of_peak",
        0.15,
        "x peak LR",
        "decaying to zero (no min_lr): 15% of the peak "
        "left is the last stretch of the anneal, where the loss drops most",
    ),
    Threshold(
        "pinned_tolerance",
        0.005,
        "nats",
        "a loss within half a hundredth of ln(k), with "
        "a spread as small, is a model predicting k outcomes uniformly: real batches move a "
        "learning model's loss by more",
    ),
    Threshold(
        "pinned_share",
        0.8,
        "of the evals",
        "without iteration losses, 80% of all evals at ln(k) is a model that never left the uniform guess",
    ),
    Threshold(
        "flat_gain_fraction",
        0.02,
        "of the loss",
        "a curve that will not fall by 2% of its "
        "level (or two evals' noise) from some step to the end is flat from that step",
    ),
    Threshold(
        "from_scratch_init_tolerance",
        1.0,
        "nats",
        "a first loss within 1 nat of ln(vocab) is a freshly initialised model",
    ),
    Threshold(
        "finetune_max_first_loss",
        6.9,
        "nats",
        "a first loss below ln(1000) cannot come from a fresh language model of any real "
        "vocabulary: the weights were pretrained",
    ),
)


def analysis_limits(overrides: dict[str, float] | None = None) -> Limits:
    """The analyses' thresholds with the settings' overrides applied."""
    return Limits(ANALYSIS_THRESHOLDS, overrides)
