"""PD801-PD804 (`compare` only): is the candidate run worse than the baseline beyond noise?

Fair comparison, in three steps:
1. Where to compare. Loss depends on where a run is in its LR schedule as much as on the model: a
   run mid-schedule (LR still high) sits above the same run annealed. So runs with the same
   schedule (same length in tokens) are compared at matched tokens (or iterations), and runs with
   different schedules at matched *fraction* of their schedule. With a schedule unknown, matched
   tokens is the fallback, said in the report and with lower confidence.
2. Whether to compare at all (PD804). Val losses in different units or over different vocabularies
   are not comparable; neither are runs that share too little of their schedules.
3. Against what noise. A difference must beat the noise of each run's evals AND the spread between
   seeds of one config, which is larger (runs that differ only by seed differ by ~1% in final val
   at small scale: ../shared/notes/DOMAIN.md "Seeds vary more than evals"). The seed spread is
   measured when several candidates (seeds) are given, else taken from --seed-spread, else the
   documented default below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model import Finding, RuleInfo, Threshold
from .base import CERTAIN, LIKELY, STRONG, finding

Z = Threshold(
    "z", 2.0, "standard errors", "a difference beyond 2 combined standard errors (~95%) is not noise"
)
MIN_DIFFERENCE = Threshold(
    "min_difference", 0.002, "nats", "below two thousandths of a nat no one would act on a difference"
)

# Typical difference in final val loss between two runs of one config that differ only by seed,
# as a fraction of the val loss, when nothing better is known: ~1% at small scale (DOMAIN.md,
# "Seeds vary more than evals"). Large, well-evaluated runs vary less (75 seeds of one
# modded-nanogpt record: sd 0.0021 at 3.28, 0.06%), so measuring it is better: give the seeds.
DEFAULT_SEED_DIFFERENCE_FRACTION = 0.01
# A run that has reached this fraction of its LR schedule is taken as finished (annealed).
FINISHED_FRACTION = 0.95
# With different schedules, comparing at matched fraction needs this much of both schedules:
# below it one run is early in its schedule and the other far on, whatever is matched.
MIN_SHARED_FRACTION = 0.5
# Confidence of a regression call when the schedules are unknown (alignment may be unfair).
UNKNOWN_SCHEDULE_CONFIDENCE = 0.55
UNMEASURED_NOISE = 0.01  # the noise of one eval assumed where neither run lets us measure it
UNKNOWN_NOISE_DOUBT = 0.3  # taken off a confidence when the eval noise had to be assumed

BEST_VAL = RuleInfo(
    code="PD801",
    name="regression-best-val",
    category="regression",
    severity="error",
    summary="The candidate's best val loss is worse than the baseline's beyond eval noise and seed spread.",
    what="Takes each run's best val over the stretch both runs cover (matched schedule position) and "
    "compares the difference with the noise of one eval in each run plus the seed spread.",
    why="The best checkpoint is what gets kept; if the candidate's best is worse beyond what another "
    "seed would give, the change hurt.",
    fix="Revert or rework the change; if it was meant to be neutral, look at what else changed "
    "between the configs.",
    example="ERROR PD801 Best val is worse by 1.0762 (2.5362 vs 1.4600)",
    thresholds=(Z, MIN_DIFFERENCE),
)
MATCHED_VAL = RuleInfo(
    code="PD802",
    name="regression-matched-val",
    category="regression",
    severity="error",
    summary="At matched schedule position the candidate's val loss is consistently higher.",
    what="Interpolates the baseline's val curve at the candidate's eval points over the shared "
    "stretch (matched tokens, or matched fraction of the LR schedule when the schedules differ) "
    "and averages the difference over its last 30%, against eval noise and seed spread.",
    why="A run that is behind at the same point of its schedule is worse even when neither finished.",
    fix="Revert or rework the change; compare the configs for the keys that differ.",
    example="ERROR PD802 Val is 1.0698 higher at matched iterations",
    thresholds=(
        Z,
        MIN_DIFFERENCE,
        Threshold(
            "tail_fraction", 0.3, "of the shared stretch", "the end of the runs is what they are kept for"
        ),
    ),
)
THROUGHPUT = RuleInfo(
    code="PD803",
    name="regression-throughput",
    category="regression",
    severity="warning",
    summary="The candidate is slower per token than the baseline.",
    what="Compares the median time per iteration (eval iterations excluded), as tokens per second "
    "when tokens per iteration is known.",
    why="A slower run buys less training in the same wall time.",
    fix="Check compile, dtype, batch size and data loading between the two configs.",
    example="WARNING PD803 25% slower: 120,000 vs 160,000 tokens/s",
    thresholds=(
        Threshold(
            "slower_fraction",
            0.1,
            "of the baseline's rate",
            "iteration times vary by a few percent between runs of one config; 10% is a change",
        ),
    ),
    weight=0.5,
)
NOT_COMPARABLE = RuleInfo(
    code="PD804",
    name="not-comparable",
    category="regression",
    severity="info",
    summary="The two runs cannot be compared fairly; no regression is called.",
    what="Checks that both val losses are in the same unit over the same vocabulary and that the "
    "runs share enough of their LR schedules to be compared at the same phase.",
    why="A loss in bits against one in nats, or a run early in its schedule against an annealed "
    "one, differ for reasons that are not the change under test.",
    fix="Compare runs of the same tokenizer and metric, and let the shorter-scheduled run finish "
    "(or give both the same schedule).",
    example="INFO PD804 Not comparable: the baseline is early in its schedule, the candidate annealed",
)
INFOS = (BEST_VAL, MATCHED_VAL, THROUGHPUT, NOT_COMPARABLE)


@dataclass
class RunView:
    """What a comparison needs of one run (or of several seeds averaged)."""

    x: np.ndarray  # eval positions in the alignment's unit
    val: np.ndarray
    noise: float | None  # noise of one eval (of the mean, for averaged seeds)
    median_iter_ms: float | None
    tokens_per_iter: int | None
    seeds: int = 1  # runs averaged into this view


@dataclass
class Alignment:
    """How two runs are matched: the unit of `x`, and what makes the match fair or not."""

    unit: str  # "iteration", "tokens" or "schedule fraction"
    fair: bool  # both schedules known (or both constant)
    reasons: list[str] = field(default_factory=list)  # why the runs are not comparable
    note: str = ""


@dataclass
class Schedule:
    """A compared run's LR schedule, as its config or log tells."""

    length: int | None  # iterations over which the LR decays (or max_iters)
    constant: bool  # the LR does not decay
    last: int | None  # last iteration reached
    tokens_per_iter: int | None


def schedule(examination) -> Schedule:
    """The run's LR schedule as its config or log tells."""
    cfg, facts = examination.config, examination.facts
    known = cfg.is_known()  # else the values are a schema's defaults, not this run's
    decay = cfg.get("decay_lr") if known else None
    decay_iters = cfg.get("lr_decay_iters") if known and decay is not False else None
    length = decay_iters if isinstance(decay_iters, int) and decay_iters > 0 else facts.max_iters
    return Schedule(length if length else None, decay is False, facts.last_iter, facts.tokens_per_iter)


def align(base, cand) -> Alignment:
    """Choose the matching (see the module doc) and list what makes the runs not comparable."""
    sb, sc = schedule(base), schedule(cand)
    reasons = _unit_problems(base, cand)
    by_tokens = bool(sb.tokens_per_iter and sc.tokens_per_iter and sb.tokens_per_iter != sc.tokens_per_iter)
    matched = "tokens" if by_tokens else "iteration"
    if sb.constant and sc.constant:
        return Alignment(matched, True, reasons, "both runs use a constant learning rate")
    if sb.length is None or sc.length is None:
        return Alignment(
            matched,
            False,
            reasons,
            f"LR schedule unknown for the {'baseline' if sb.length is None else 'candidate'}: "
            f"compared at matched {matched}s, which is fair only if both schedules are the same",
        )
    if _schedule_tokens(sb) == _schedule_tokens(sc):
        return Alignment(matched, True, reasons, f"same LR schedule: compared at matched {matched}s")
    shared = min(_fraction_done(sb), _fraction_done(sc))
    if shared < MIN_SHARED_FRACTION:
        behind = "baseline" if _fraction_done(sb) < _fraction_done(sc) else "candidate"
        reasons.append(
            f"the LR schedules differ ({sb.length:,} vs {sc.length:,} iterations) and the "
            f"{behind} has run only {shared:.0%} of its own: at any matched point one run is "
            "in a different phase of its schedule (or far from its tokens), so the "
            "difference would be the schedule's, not the change's"
        )
    return Alignment(
        "schedule fraction",
        True,
        reasons,
        f"LR schedules differ ({sb.length:,} vs {sc.length:,} iterations): compared at "
        "matched fraction of each schedule",
    )


def _schedule_tokens(s: Schedule) -> float:
    return s.length * (s.tokens_per_iter or 1)


def _fraction_done(s: Schedule) -> float:
    return min(1.0, (s.last or 0) / s.length) if s.length else 0.0


def _unit_problems(base, cand) -> list[str]:
    mb, mc = base.parsed.meta, cand.parsed.meta
    problems = []
    if mb.val_metric != mc.val_metric:
        problems.append(f"val is {mb.val_metric} in the baseline and {mc.val_metric} in the candidate")
    if mb.loss_unit != mc.loss_unit:
        problems.append(f"the losses are in {mb.loss_unit} and {mc.loss_unit}")
    vb, vc = base.facts.vocab_size, cand.facts.vocab_size
    if vb and vc and vb != vc:
        problems.append(
            f"the vocabularies differ ({vb:,} vs {vc:,} tokens): per-token losses over "
            "different tokenizers are not comparable"
        )
    return problems


def view(examination, unit: str) -> RunView:
    a, f = examination.analyses, examination.facts
    steps = a.val.steps.astype(float)
    if unit == "tokens":
        steps = steps * float(f.tokens_per_iter or 1)
    elif unit == "schedule fraction":
        steps = steps / float(schedule(examination).length or 1)
    timing = a.timing
    median = timing.median_iter_ms if timing is not None and timing.n_normal >= 5 else None
    return RunView(steps, a.val.values.astype(float), a.eval_noise, median, f.tokens_per_iter)


def mean_view(views: list[RunView]) -> RunView:
    """Several seeds of one config as one curve: their mean at the first seed's evals over the
    stretch all of them cover; the noise of one eval shrinks by sqrt(seeds)."""
    if len(views) == 1:
        return views[0]
    end = min(v.x[-1] for v in views if len(v.x))
    first = views[0]
    keep = first.x <= end
    x = first.x[keep]
    val = np.mean([np.interp(x, v.x, v.val) for v in views], axis=0)
    noises = [v.noise for v in views if v.noise is not None]
    noise = math.sqrt(sum(n * n for n in noises) / len(noises)) / math.sqrt(len(views)) if noises else None
    times = [v.median_iter_ms for v in views if v.median_iter_ms is not None]
    median = float(np.median(times)) if times else None
    return RunView(x, val, noise, median, first.tokens_per_iter, len(views))


def measured_seed_sd(views: list[RunView], at: float) -> float | None:
    """The standard deviation across seeds of the val loss at position `at` (None: < 2 seeds)."""
    if len(views) < 2:
        return None
    values = [float(np.interp(at, v.x, v.val)) for v in views if len(v.x)]
    return float(np.std(values, ddof=1))


@dataclass
class Noise:
    """What a difference between the runs must beat."""

    eval_b: float
    eval_c: float
    seed_sd: float  # spread of one run's val across seeds
    seed_source: str
    known: bool  # eval noise measured in at least one run
    seeds: int = 1

    def single(self) -> float:
        """Of the difference of two single evals (one in each run), seeds included."""
        return math.sqrt(self.eval_b**2 + self.eval_c**2 + self.seed_term() ** 2)

    def of_mean(self, n: int) -> float:
        """Of a mean of n matched differences: eval noise averages down, a seed's offset does not."""
        return math.sqrt((self.eval_b**2 + self.eval_c**2) / max(n, 1) + self.seed_term() ** 2)

    def seed_term(self) -> float:
        return self.seed_sd * math.sqrt(1 + 1 / self.seeds)


def noise_model(b: RunView, c: RunView, seed_sd: float | None, seed_source: str) -> Noise:
    known = [n for n in (b.noise, c.noise) if n is not None]
    fallback = max(known) if known else UNMEASURED_NOISE  # no way to measure: a guess, said so
    nb = b.noise if b.noise is not None else fallback
    nc = c.noise if c.noise is not None else fallback
    if seed_sd is None:
        reference = float(np.nanmin(b.val)) if len(b.val) else 0.0
        seed_sd = DEFAULT_SEED_DIFFERENCE_FRACTION * reference / math.sqrt(2)
        seed_source = (
            f"default: runs differing only by seed differ by "
            f"~{DEFAULT_SEED_DIFFERENCE_FRACTION:.0%} of the val loss at small scale "
            "(give several seeds to measure it)"
        )
    return Noise(nb, nc, seed_sd, seed_source, bool(known), c.seeds)


def compare_runs(
    base,
    cands: list,
    thresholds: dict[str, dict[str, float]] | None = None,
    seed_spread: float | None = None,
    enabled=lambda info: True,
) -> tuple[list[Finding], Alignment]:
    """Regression findings for the candidate(s) against `base` (api.Examination each), and how
    they were aligned. Several candidates are seeds of one config: their mean is judged and their
    spread measured. `seed_spread`: the typical difference between two seeds, if known."""
    thresholds = thresholds or {}
    alignment = align(base, cands[0])
    for other in cands[1:]:
        alignment.reasons += [r for r in align(base, other).reasons if r not in alignment.reasons]
    b = view(base, alignment.unit)
    views = [view(c, alignment.unit) for c in cands]
    c = mean_view(views)
    span = _overlap(b, c)
    if span is None:
        alignment.reasons.append("the runs share no stretch of training to compare (no overlapping evals)")
    seed_sd, source = None, ""
    measured = measured_seed_sd(views, span[1]) if span else None
    if measured is not None:
        seed_sd, source = measured, f"measured from {len(views)} seeds at the end of the shared stretch"
    elif seed_spread is not None:
        seed_sd, source = seed_spread / math.sqrt(2), "--seed-spread"
    noise = noise_model(b, c, seed_sd, source)
    out: list[Finding] = []
    if alignment.reasons and enabled(NOT_COMPARABLE):
        out.append(_not_comparable(alignment))
    checks = (
        ((_throughput, THROUGHPUT),)
        if alignment.reasons
        else ((_best_val, BEST_VAL), (_matched_val, MATCHED_VAL), (_throughput, THROUGHPUT))
    )
    for check, info in checks:
        if not enabled(info):
            continue
        limits = {t.name: t.default for t in info.thresholds}
        result = check(b, c, {**limits, **thresholds.get(info.code, {})}, alignment, noise)
        if result is not None:
            out.append(result)
    return out, alignment


def _not_comparable(alignment: Alignment) -> Finding:
    return finding(
        NOT_COMPARABLE,
        confidence=CERTAIN,
        title="Not comparable: " + alignment.reasons[0].split(":")[0],
        message="No regression is called: " + "; ".join(alignment.reasons) + ".",
        evidence={"reasons": len(alignment.reasons), "aligned_by": alignment.unit},
        fixes=[NOT_COMPARABLE.fix],
    )


def _overlap(b: RunView, c: RunView) -> tuple[float, float] | None:
    if not len(b.x) or not len(c.x):
        return None
    lo, hi = max(b.x[0], c.x[0]), min(b.x[-1], c.x[-1])
    return (lo, hi) if hi >= lo else None


def _where(unit: str, x: float) -> str:
    return f"{x:.0%} of the schedule" if unit == "schedule fraction" else f"{unit} {x:,.0f}"


def _confidence(base: float, alignment: Alignment, noise: Noise) -> float:
    confidence = base if noise.known else base - UNKNOWN_NOISE_DOUBT
    return min(confidence, UNKNOWN_SCHEDULE_CONFIDENCE) if not alignment.fair else confidence


def _noise_evidence(noise: Noise, total: float) -> dict:
    return {
        "noise_of_difference": total,
        "eval_noise_baseline": noise.eval_b,
        "eval_noise_candidate": noise.eval_c,
        "seed_spread_sd": noise.seed_sd,
        "seed_spread_source": noise.seed_source,
    }


def _best_val(b: RunView, c: RunView, th: dict, alignment: Alignment, noise: Noise) -> Finding | None:
    span = _overlap(b, c)
    if span is None:
        return None
    in_b = (b.x >= span[0]) & (b.x <= span[1])
    in_c = (c.x >= span[0]) & (c.x <= span[1])
    if not in_b.any() or not in_c.any():
        return None
    best_b, best_c = float(b.val[in_b].min()), float(c.val[in_c].min())
    total = noise.single()
    diff = best_c - best_b
    limit = max(th["z"] * total, th["min_difference"])
    evidence = {
        "baseline_best_val": best_b,
        "candidate_best_val": best_c,
        "difference": diff,
        **_noise_evidence(noise, total),
        "aligned_by": alignment.unit,
        "compared_up_to": _where(alignment.unit, span[1]),
        "candidate_seeds": c.seeds,
    }
    if diff > limit:
        return finding(
            BEST_VAL,
            confidence=_confidence(STRONG, alignment, noise),
            title=f"Best val is worse by {diff:.4f} ({best_c:.4f} vs {best_b:.4f})",
            message=(
                f"Up to {_where(alignment.unit, span[1])} the candidate's best val is "
                f"{best_c:.4f} against the baseline's {best_b:.4f}: {diff / total:.1f}x the "
                f"noise of the difference ({total:.4f}: eval noise and seed spread). " + alignment.note + "."
            ),
            evidence=evidence,
            fixes=[BEST_VAL.fix],
        )
    verdict = "better" if diff < -limit else "equal within noise and seed spread"
    return finding(
        BEST_VAL,
        severity="info",
        confidence=_confidence(STRONG, alignment, noise),
        title=f"Best val {verdict}: {best_c:.4f} vs {best_b:.4f}",
        message=(
            f"The candidate's best val differs by {diff:+.4f} (noise of the difference "
            f"{total:.4f}, seed spread included). {alignment.note}."
        ),
        evidence=evidence,
    )


def _matched_val(b: RunView, c: RunView, th: dict, alignment: Alignment, noise: Noise) -> Finding | None:
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
    se = noise.of_mean(len(diffs))
    unit = alignment.unit
    evidence = {
        "matched_points": len(diffs),
        "mean_difference": mean,
        **_noise_evidence(noise, se),
        "from": _where(unit, xs[0]),
        "to": _where(unit, xs[-1]),
        "aligned_by": unit,
        "baseline_val_at_end": float(vb[-1]),
        "candidate_val_at_end": float(vc[-1]),
    }
    if mean > max(th["z"] * se, th["min_difference"]):
        return finding(
            MATCHED_VAL,
            confidence=_confidence(STRONG, alignment, noise),
            title=f"Val is {mean:.4f} higher at matched {unit}",
            message=(
                f"Over {len(diffs)} matched evals ({_where(unit, xs[0])} to "
                f"{_where(unit, xs[-1])}) the candidate's val is on average {mean:.4f} "
                f"above the baseline's, {mean / se:.1f}x the noise of that mean ({se:.4f}, "
                f"seed spread included). {alignment.note}."
            ),
            evidence=evidence,
            fixes=[MATCHED_VAL.fix],
        )
    return None


def _throughput(b: RunView, c: RunView, th: dict, alignment: Alignment, noise: Noise) -> Finding | None:
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
    return finding(
        THROUGHPUT,
        confidence=LIKELY,
        title=f"{slower:.0%} slower: {rate_c:,.0f} vs {rate_b:,.0f} {what}",
        message=(
            f"Median iteration {c.median_iter_ms:.1f}ms against {b.median_iter_ms:.1f}ms "
            "(eval iterations excluded)."
        ),
        evidence={
            "baseline_rate": rate_b,
            "candidate_rate": rate_c,
            "unit": what,
            "baseline_median_iter_ms": b.median_iter_ms,
            "candidate_median_iter_ms": c.median_iter_ms,
        },
        fixes=[THROUGHPUT.fix],
    )
