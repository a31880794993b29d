"""PD801-PD803 (`compare` only): is the candidate run worse than the baseline beyond noise?

The two runs are aligned by iteration, or by tokens seen when their tokens per iteration differ,
and only over the stretch both cover (a longer baseline must not win by having trained longer).
Each comparison is judged against the noise of one eval in each run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model import Finding, RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, STRONG, finding

Z = Threshold("z", 2.0, "standard errors", "a difference beyond 2 combined standard errors "
              "(~95%) is not noise")
MIN_DIFFERENCE = Threshold("min_difference", 0.002, "nats", "below two thousandths of a nat no "
                           "one would act on a difference")

BEST_VAL = RuleInfo(
    code="PD801", name="regression-best-val", category="regression", severity="error",
    summary="The candidate's best val loss is worse than the baseline's beyond eval noise.",
    what="Takes each run's best val over the stretch both runs cover and compares the difference "
         "with the combined noise of one eval in each run.",
    why="The best checkpoint is what gets kept; if the candidate's best is worse, the change hurt.",
    fix="Revert or rework the change; if it was meant to be neutral, look at what else changed "
        "between the configs.",
    example="ERROR PD801 Best val is worse by 1.0762 (2.5362 vs 1.4600)",
    thresholds=(Z, MIN_DIFFERENCE),
    weight=1.0,
)
MATCHED_VAL = RuleInfo(
    code="PD802", name="regression-matched-val", category="regression", severity="error",
    summary="At matched steps (or tokens) the candidate's val loss is consistently higher.",
    what="Interpolates the baseline's val curve at the candidate's eval points over the shared "
         "stretch and averages the difference over its last 30%, against the noise of that mean.",
    why="A run that is behind at the same point of training is worse even when neither finished.",
    fix="Revert or rework the change; compare the configs for the keys that differ.",
    example="ERROR PD802 Val is 1.0698 higher at matched steps",
    thresholds=(Z, MIN_DIFFERENCE, Threshold("tail_fraction", 0.3, "of the shared stretch",
                                             "the end of the runs is what they are kept for")),
    weight=1.0,
)
THROUGHPUT = RuleInfo(
    code="PD803", name="regression-throughput", category="regression", severity="warning",
    summary="The candidate is slower per token than the baseline.",
    what="Compares the median time per iteration (eval iterations excluded), as tokens per second "
         "when tokens per iteration is known.",
    why="A slower run buys less training in the same wall time.",
    fix="Check compile, dtype, batch size and data loading between the two configs.",
    example="WARNING PD803 25% slower: 120,000 vs 160,000 tokens/s",
    thresholds=(Threshold("slower_fraction", 0.1, "of the baseline's rate", "iteration times "
                          "vary by a few percent between runs of one config; 10% is a change"),),
    weight=0.5,
)
INFOS = (BEST_VAL, MATCHED_VAL, THROUGHPUT)


@dataclass
class RunView:
    """What a comparison needs of one examined run."""

    x: np.ndarray            # eval positions (steps, or tokens)
    val: np.ndarray
    noise: float | None      # noise of one eval
    median_iter_ms: float | None
    tokens_per_iter: int | None


def view(examination, by_tokens: bool) -> RunView:
    a, f = examination.analyses, examination.facts
    scale = float(f.tokens_per_iter) if by_tokens and f.tokens_per_iter else 1.0
    timing = a.timing
    median = timing.median_iter_ms if timing is not None and timing.n_normal >= 5 else None
    return RunView(a.val.steps * scale, a.val.values, a.eval_noise, median, f.tokens_per_iter)


def align_by_tokens(base, cand) -> bool:
    tb, tc = base.facts.tokens_per_iter, cand.facts.tokens_per_iter
    return bool(tb and tc and tb != tc)


def compare_runs(base, cand, thresholds: dict[str, dict[str, float]] | None = None) -> list[Finding]:
    """Regression findings for `cand` against `base` (both api.Examination)."""
    thresholds = thresholds or {}
    by_tokens = align_by_tokens(base, cand)
    b, c = view(base, by_tokens), view(cand, by_tokens)
    unit = "tokens" if by_tokens else "step"
    out: list[Finding] = []
    for check, info in ((_best_val, BEST_VAL), (_matched_val, MATCHED_VAL), (_throughput, THROUGHPUT)):
        limits = {t.name: t.default for t in info.thresholds}
        result = check(b, c, {**limits, **thresholds.get(info.code, {})}, unit)
        if result is not None:
            out.append(result)
    return out


UNMEASURED_NOISE = 0.01   # the noise of one eval assumed where neither run lets us measure it


def _noise(b: RunView, c: RunView) -> tuple[float, bool]:
    known = [n for n in (b.noise, c.noise) if n is not None]
    if not known:
        return UNMEASURED_NOISE, False      # no way to measure; a conservative guess, and said so
    nb = b.noise if b.noise is not None else max(known)
    nc = c.noise if c.noise is not None else max(known)
    return math.sqrt(nb ** 2 + nc ** 2), True


def _overlap(b: RunView, c: RunView) -> tuple[float, float] | None:
    if not len(b.x) or not len(c.x):
        return None
    lo, hi = max(b.x[0], c.x[0]), min(b.x[-1], c.x[-1])
    return (lo, hi) if hi >= lo else None


def _best_val(b: RunView, c: RunView, th: dict, unit: str) -> Finding | None:
    span = _overlap(b, c)
    if span is None:
        return None
    in_b = (b.x >= span[0]) & (b.x <= span[1])
    in_c = (c.x >= span[0]) & (c.x <= span[1])
    if not in_b.any() or not in_c.any():
        return None
    best_b, best_c = float(b.val[in_b].min()), float(c.val[in_c].min())
    noise, known = _noise(b, c)
    diff = best_c - best_b
    evidence = {"baseline_best_val": best_b, "candidate_best_val": best_c, "difference": diff,
                "noise_of_difference": noise, "compared_up_to": f"{unit} {span[1]:,.0f}"}
    if diff > max(th["z"] * noise, th["min_difference"]):
        return finding(BEST_VAL, confidence=STRONG if known else POSSIBLE,
                       title=f"Best val is worse by {diff:.4f} ({best_c:.4f} vs {best_b:.4f})",
                       message=(f"Up to {unit} {span[1]:,.0f} the candidate's best val is {best_c:.4f} "
                                f"against the baseline's {best_b:.4f}: {diff / noise:.1f}x the noise "
                                f"of the difference ({noise:.4f})."),
                       evidence=evidence, fixes=[BEST_VAL.fix])
    verdict = "better" if diff < -max(th["z"] * noise, th["min_difference"]) else "equal within noise"
    return finding(BEST_VAL, severity="info", confidence=STRONG if known else POSSIBLE,
                   title=f"Best val {verdict}: {best_c:.4f} vs {best_b:.4f}",
                   message=f"The candidate's best val differs by {diff:+.4f} (noise {noise:.4f}).",
                   evidence=evidence)


def _matched_val(b: RunView, c: RunView, th: dict, unit: str) -> Finding | None:
    span = _overlap(b, c)
    if span is None or len(b.x) < 2:
        return None
    in_c = (c.x >= span[0]) & (c.x <= span[1])
    xs, vc = c.x[in_c], c.val[in_c]
    if len(xs) < 3:
        return None
    k = max(3, int(round(len(xs) * th["tail_fraction"])))
    xs, vc = xs[-k:], vc[-k:]
    vb = np.interp(xs, b.x, b.val)
    diffs = vc - vb
    mean = float(diffs.mean())
    noise, known = _noise(b, c)
    se = noise / math.sqrt(len(diffs))
    evidence = {"matched_points": len(diffs), "mean_difference": mean, "noise_of_mean": se,
                "from": f"{unit} {xs[0]:,.0f}", "to": f"{unit} {xs[-1]:,.0f}",
                "baseline_val_at_end": float(vb[-1]), "candidate_val_at_end": float(vc[-1])}
    if mean > max(th["z"] * se, th["min_difference"]):
        return finding(MATCHED_VAL, confidence=STRONG if known else POSSIBLE,
                       title=f"Val is {mean:.4f} higher at matched {unit}s",
                       message=(f"Over {len(diffs)} matched evals ({unit} {xs[0]:,.0f}-{xs[-1]:,.0f}) the "
                                f"candidate's val is on average {mean:.4f} above the baseline's, "
                                f"{mean / se:.1f}x the noise of that mean ({se:.4f})."),
                       evidence=evidence, fixes=[MATCHED_VAL.fix])
    return None


def _throughput(b: RunView, c: RunView, th: dict, unit: str) -> Finding | None:
    if b.median_iter_ms is None or c.median_iter_ms is None:
        return None
    if b.tokens_per_iter and c.tokens_per_iter:
        rate_b = b.tokens_per_iter / b.median_iter_ms * 1000
        rate_c = c.tokens_per_iter / c.median_iter_ms * 1000
        what = "tokens/s"
    else:
        rate_b, rate_c, what = 1000 / b.median_iter_ms, 1000 / c.median_iter_ms, "iterations/s"
    slower = 1 - rate_c / rate_b
    if slower <= th["slower_fraction"]:
        return None
    return finding(THROUGHPUT, confidence=LIKELY,
                   title=f"{slower:.0%} slower: {rate_c:,.0f} vs {rate_b:,.0f} {what}",
                   message=(f"Median iteration {c.median_iter_ms:.1f}ms against {b.median_iter_ms:.1f}ms "
                            "(eval iterations excluded)."),
                   evidence={"baseline_rate": rate_b, "candidate_rate": rate_c, "unit": what,
                             "baseline_median_iter_ms": b.median_iter_ms,
                             "candidate_median_iter_ms": c.median_iter_ms},
                   fixes=[THROUGHPUT.fix])
