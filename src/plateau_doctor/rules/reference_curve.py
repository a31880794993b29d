"""PD607: where the run stands against a known-good public run of the same recipe, at matched
tokens seen, in units of the spread between seeds.

The category is `config`. The finding that matters is "behind its recipe beyond seed spread":
the run's shape, tokenizer, data and batch are those of a run known to reach a lower loss, so
something in how it was configured or fed differs from the recipe, and the evidence names the
settings that do. Of the contract's categories, `regression` ("worse than the baseline beyond
noise") reads closest but is `compare`'s only; `plateau` and `still_improving` describe the
curve's slope, which says nothing about its level; `capacity_limited` is the opposite claim (a
run at what its size allows); the lr_* categories would assert a cause this rule does not
establish (when one of them is raised, this finding is folded into it). What is left that
describes "a run inconsistent with the recipe it follows" is `config`.

Normal and ahead rule the finding out (info, `ruled_out`: not behind its recipe): a run that has annealed its learning rate earlier than the
reference is ahead at matched tokens by design; one whose schedule is longer is behind by design
until its anneal, so a lag that a less-annealed schedule explains stays info.
"""

from __future__ import annotations

import math

from ..model import RuleInfo, Threshold
from ..reference_runs import REFERENCES, choose
from ..reference_runs.curve import Reference
from .base import DOUBT, LIKELY, POSSIBLE, Context, Skip, finding, fmt_lr, fmt_tokens

RULE = RuleInfo(
    code="PD607",
    name="reference-curve",
    category="config",
    severity="warning",
    summary="Behind a known-good public run of the same recipe at matched tokens, beyond the "
    "spread between seeds.",
    what="Finds the curated reference run whose recipe the run follows (parameters, vocabulary, "
    "tokens per iteration and dataset agree; from scratch), reads the reference's val loss "
    "at the run's last eval inside the reference's span of tokens (interpolated in "
    "log-tokens), and states the difference in units of the spread: the seed-to-seed sd at "
    "that scale, the reference point's own uncertainty and the run's eval noise, combined. "
    "Normal or ahead is a fact; behind by more than behind_spreads is a warning, unless "
    "the run's learning rate is less annealed than the reference's there and the lag is "
    "small enough for the anneal ahead to close. `plateau-doctor references` lists the "
    "references and their sources.",
    why="'Is my loss normal for this recipe?' has an answer only against runs of the same recipe: "
    "a scaling law does not carry across datasets and tokenizers. A run behind known-good "
    "runs of its recipe by several seed spreads differs from the recipe somewhere.",
    fix="Compare the run's settings with the recipe's (learning rate, warmup, schedule, batch, "
    "data preparation) and bring the ones that differ back.",
    example="WARNING PD607 2.53 at 32.8M tokens: 70 seed spreads behind nanoGPT shakespeare_char (1.48)",
    reference="The references and their public sources: `plateau-doctor references`.",
    thresholds=(
        Threshold(
            "behind_spreads",
            3.0,
            "spreads",
            "three standard deviations of seed, reference "
            "and eval noise combined: a same-recipe run lands beyond it about 1 time in 700",
        ),
        Threshold(
            "normal_spreads",
            2.0,
            "spreads",
            "within two spreads of the reference is the range same-recipe runs cover (95%)",
        ),
        Threshold(
            "param_tolerance",
            1.1,
            "ratio",
            "within 10% of the recipe's parameters: counts "
            "differ by what they include (position embeddings, padded vocabulary, biases)",
        ),
        Threshold(
            "batch_tolerance",
            1.25,
            "ratio",
            "within 25% of the recipe's tokens per "
            "iteration (nanoGPT's 491,520 and llm.c's 524,288 are one recipe at this size); "
            "far from it the loss-vs-tokens curve changes",
        ),
        Threshold(
            "tie_distance",
            0.01,
            "log ratio",
            "two references closer to each other than this "
            "in parameters and batch cannot be told apart by the run's facts",
        ),
        Threshold(
            "lr_fraction_margin",
            0.1,
            "fraction of peak LR",
            "a run whose LR is more than a "
            "tenth of its peak above the reference's (relative to each peak) at matched "
            "tokens has more of its anneal ahead",
        ),
        Threshold(
            "max_schedule_gap",
            0.05,
            "fraction of the loss",
            "what an anneal can still "
            "take off: modded-nanogpt's 2024-10-10 record falls 3.8% (3.409 -> 3.279) over "
            "its 1,800-step warmdown, training included",
        ),
        Threshold(
            "peak_lr_ratio",
            2.0,
            "ratio",
            "a peak LR more than twice or under half the "
            "recipe's is a different recipe, named in the message",
        ),
    ),
    # Not data_repetition: the recipe repeats its data as much as the run does (shakespeare_char
    # is ~33 epochs by iteration 2,000). Not lr_schedule: the comparison is at the same point of
    # both schedules, and this rule weighs a less-annealed schedule itself and names the
    # schedule settings that differ from the recipe's.
    explained_by=("lr_too_high", "lr_too_low", "divergence", "init_loss", "overfitting", "loss_spikes"),
    weight=0.6,
)


def check(ctx: Context, limits) -> list:
    f, a, meta = ctx.facts, ctx.analyses, ctx.parsed.meta
    choice = choose(
        f,
        ctx.config,
        REFERENCES,
        param_tolerance=limits.param_tolerance,
        batch_tolerance=limits.batch_tolerance,
        tie=limits.tie_distance,
    )
    if choice.match is None:
        return [Skip(RULE.code, choice.why_none)]
    ref = choice.match.reference
    if meta.val_metric != "loss" or meta.loss_unit != "nats":
        return [Skip(RULE.code, f"the run matches {ref.key}, but its val is not a loss in nats")]
    val = a.val
    if not len(val):
        return [Skip(RULE.code, f"the run matches {ref.key}, but the log has no val loss")]
    tokens = val.steps * f.tokens_per_iter
    inside = [i for i in range(len(val)) if ref.covers(float(tokens[i]))]
    if not inside:
        return [
            Skip(
                RULE.code,
                f"the run matches {ref.key}, but its evals ({fmt_tokens(tokens[0])}-"
                f"{fmt_tokens(tokens[-1])} tokens) are outside the reference's points "
                f"({fmt_tokens(ref.first_tokens)}-{fmt_tokens(ref.last_tokens)})",
            )
        ]
    return [_compare(ctx, limits, choice.match, inside[-1], float(tokens[inside[-1]]))]


def _compare(ctx: Context, limits, match, i: int, tokens: float):
    a = ctx.analyses
    ref: Reference = match.reference
    step, run_loss = int(a.val.steps[i]), float(a.val.values[i])
    ref_loss, ref_uncertainty, (left, right) = ref.loss_at(tokens)
    noise = a.eval_noise or 0.0
    spread = math.sqrt(ref.seed_spread**2 + ref_uncertainty**2 + noise**2)
    diff = run_loss - ref_loss
    spreads = diff / spread
    run_lr, ref_lr = _lr_fractions(a, ref, step, tokens)
    peak_note = _peak_lr_note(a, ref, limits)
    evidence = {
        "reference": ref.key,
        "reference_title": ref.title,
        "reference_points": [
            f"{fmt_tokens(p.tokens)} tokens: {p.val_loss} ({ref.sources[p.source].where})"
            for p in dict.fromkeys((left, right))
        ],
        "step_compared": step,
        "tokens_compared": tokens,
        "val_loss": run_loss,
        "reference_val_loss": ref_loss,
        "difference": diff,
        "spreads": spreads,
        "spread": spread,
        "seed_spread": ref.seed_spread,
        "seed_spread_source": ref.sources[ref.seed_spread_source].where,
        "reference_uncertainty": ref_uncertainty,
        "eval_noise": noise,
        "lr_fraction_of_peak": run_lr,
        "reference_lr_fraction_of_peak": ref_lr,
        "reference_eval_kind": ref.eval_kind,
        "eval_kind": ctx.parsed.meta.eval_kind,
        **{f"match_{criterion}": how for criterion, how in match.closeness.items()},
    }
    where = (
        f"At {fmt_tokens(tokens)} tokens (step {step:,}) val is {run_loss:.3f}; {ref.title} is at "
        f"{ref_loss:.3f} there"
    )
    size = (
        f"{abs(diff):.3f}, {abs(spreads):.1f} spreads (spread {spread:.3f}: seed {ref.seed_spread:g}, "
        f"reference {ref_uncertainty:g}, this run's eval {noise:.3g})"
    )
    caveats = list(match.caveats)
    confidence = LIKELY - DOUBT * len(caveats)
    ruled_out = spreads <= limits.normal_spreads  # normal or ahead: not behind its recipe
    if -limits.normal_spreads <= spreads <= limits.normal_spreads:
        verdict, severity = f"normal for the recipe: within {size}", "info"
        title = (
            f"Not behind its recipe: normal, {run_loss:.3f} vs {ref_loss:.3f} at "
            f"{fmt_tokens(tokens)} tokens ({ref.key})"
        )
    elif spreads < 0:
        verdict, severity = f"ahead of the recipe by {size}", "info"
        title = (
            f"Not behind its recipe: ahead by {abs(diff):.3f} ({abs(spreads):.1f} spreads) at "
            f"{fmt_tokens(tokens)} tokens ({ref.key})"
        )
        if run_lr is not None and ref_lr is not None and ref_lr - run_lr > limits.lr_fraction_margin:
            verdict += (
                f"; its LR is at {run_lr:.0%} of its peak where the reference's was at "
                f"{ref_lr:.0%}: an earlier anneal is worth part of the lead"
            )
    else:
        verdict, severity = f"behind the recipe by {size}", "info"
        title = f"Loss is behind its recipe by {diff:.3f} ({spreads:.1f} spreads, {ref.key})"
        anneal_ahead = (
            run_lr is not None
            and ref_lr is not None
            and run_lr - ref_lr > limits.lr_fraction_margin
            and diff <= limits.max_schedule_gap * ref_loss
        )
        if anneal_ahead:
            verdict += (
                f"; its LR is still at {run_lr:.0%} of its peak where the reference's was at "
                f"{ref_lr:.0%}: the anneal ahead is expected to close much of it"
            )
        elif spreads > limits.behind_spreads:
            severity = "warning"
            if run_lr is None:
                caveats.append("the run's learning rate is unknown, so a longer schedule cannot be ruled out")
                confidence -= DOUBT
    message = f"{where}: {verdict}."
    if peak_note:
        message += " " + peak_note
    differing = _differing_settings(ctx, ref)
    if differing and severity == "warning":
        message += " Settings that differ from the recipe: " + ", ".join(differing) + "."
    if caveats:
        message += " (Weaker: " + "; ".join(caveats) + ".)"
    message += f" Source: {ref.sources[left.source].where}."
    evidence["settings_differing"] = differing or None
    fixes = []
    if severity == "warning":
        fixes = [f"bring {d.split(' (')[0]} back to the recipe's value" for d in differing] or [
            "compare the run's learning rate, warmup, schedule and data preparation with the "
            f"recipe's ({ref.sources['config'].where})"
        ]
    return finding(
        RULE,
        severity=severity,
        confidence=max(POSSIBLE - DOUBT, confidence),
        title=title,
        message=message,
        evidence=evidence,
        fixes=fixes,
        line=int(a.val.lines[i]),
        ruled_out=ruled_out,
    )


def _lr_fractions(a, ref: Reference, step: int, tokens: float) -> tuple[float | None, float | None]:
    """Where each learning rate stood at the matched point, as a fraction of its own peak."""
    ref_fraction = ref.recipe.schedule.fraction_of_peak(ref.step_at(tokens))
    lr, peak = a.lr_at(step), a.peak_lr
    if lr is None or not peak:
        return None, ref_fraction
    return lr / peak, ref_fraction


def _peak_lr_note(a, ref: Reference, limits) -> str:
    peak, recipe = a.peak_lr, ref.recipe.schedule.peak_lr
    if not peak or max(peak, recipe) / min(peak, recipe) <= limits.peak_lr_ratio:
        return ""
    return f"Its peak learning rate {fmt_lr(peak)} is {_times(peak, recipe)} the recipe's {fmt_lr(recipe)}."


def _times(value: float, reference: float) -> str:
    ratio = value / reference
    return f"{ratio:.0f}x" if ratio >= 1 else f"1/{1 / ratio:.0f} of"


def _differing_settings(ctx: Context, ref: Reference) -> list[str]:
    """The recipe's settings the run's known config sets differently, as 'key value (recipe X)'."""
    if not ctx.config.is_known():
        return []
    differing = []
    for key, wanted in ref.recipe.settings.items():
        value = ctx.config.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isclose(float(value), float(wanted), rel_tol=RELATIVE_SAME, abs_tol=ABSOLUTE_SAME):
            differing.append(f"{key} {value:g} (recipe {wanted:g})")
    return differing


RELATIVE_SAME = 1e-6  # settings equal up to float formatting
ABSOLUTE_SAME = 1e-12
