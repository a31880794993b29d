"""Does a run follow a reference's recipe? A pure function of what the run's facts and config say.

A run matches a reference when all of these are known and agree:
- it starts from scratch (a fine-tune starts from another model's loss; references are
  pretraining runs);
- its vocabulary is the reference's tokenizer (loss per token depends on what a token is);
- its parameter count is within a tolerance of the reference's;
- its tokens per iteration are within a tolerance (tokens seen need it; batch size shapes the
  loss-vs-tokens curve);
- its dataset, as the run's `dataset` setting names it, is the reference's (the same model on
  other text has another loss);
- any fact the recipe pins exactly (a speedrun record's step count).
Anything unknown is a refusal, with what to pass to make it known: no comparison rests on a
guessed recipe. Among several matches the closest wins; two equally close ones are a refusal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..model import ResolvedConfig, RunFacts
from .curve import Reference


@dataclass(frozen=True)
class Match:
    """How a run stands against one reference's recipe."""

    reference: Reference
    matched: bool
    why_not: str = ""  # the first thing that disagrees or is unknown
    closeness: dict[str, str] = field(default_factory=dict)  # each criterion, in words
    distance: float = math.inf  # sum of |log ratio| of parameters and tokens per iteration
    exact_matched: int = 0  # recipe-pinned facts that agree (more is a closer match)
    caveats: tuple[str, ...] = ()  # what the match took on weaker evidence


@dataclass(frozen=True)
class Choice:
    """The reference a run is compared with, or why there is none."""

    match: Match | None
    why_none: str = ""
    candidates: tuple[Match, ...] = ()


def normalise_dataset(name: str) -> set[str]:
    """The forms a dataset setting can take, reduced to letters and digits per path component:
    'dev/data/fineweb10B/fineweb_train_*.bin' -> {'dev', 'data', 'fineweb10b', 'finewebtrainbin'}."""
    return {re.sub(r"[^a-z0-9]", "", part.lower()) for part in re.split(r"[\\/]", str(name)) if part}


def run_dataset(config: ResolvedConfig) -> tuple[str | None, str]:
    """(the run's dataset setting, where it comes from) where the run's config is known."""
    if not config.is_known() or config.get("dataset") in (None, ""):
        return None, ""
    where = "train.py's default" if config.is_default("dataset") else config.source("dataset") or ""
    return str(config.get("dataset")), where


def match(
    facts: RunFacts,
    config: ResolvedConfig,
    reference: Reference,
    *,
    param_tolerance: float,
    batch_tolerance: float,
) -> Match:
    """How `facts`/`config` stand against `reference`'s recipe. The tolerances are ratios: 1.1
    accepts up to 10% more or less."""
    recipe = reference.recipe
    closeness: dict[str, str] = {}
    caveats: list[str] = []

    def refuse(why: str) -> Match:
        return Match(reference, False, why, closeness)

    if facts.mode == "finetune":
        return refuse("a fine-tune starts from another model's loss; the reference is a run from scratch")
    if facts.mode is None:
        caveats.append("the log does not show the run starting from scratch")
        closeness["start"] = "not shown"
    else:
        closeness["start"] = "from scratch"

    if facts.vocab_size is None:
        return refuse("the vocabulary size is unknown")
    if facts.vocab_size not in recipe.vocab_sizes:
        return refuse(
            f"vocabulary {facts.vocab_size:,}, the recipe's {recipe.tokenizer} has "
            f"{' / '.join(f'{v:,}' for v in recipe.vocab_sizes)}"
        )
    closeness["vocab_size"] = f"{facts.vocab_size:,} ({recipe.tokenizer})"

    for key, value, wanted, tolerance, unit, unknown in (
        (
            "n_params",
            facts.n_params,
            recipe.n_params,
            param_tolerance,
            " parameters",
            "the parameter count is unknown",
        ),
        (
            "tokens_per_iter",
            facts.tokens_per_iter,
            recipe.tokens_per_iter,
            batch_tolerance,
            " tokens per iteration",
            "tokens per iteration are unknown, so tokens seen are too",
        ),
    ):
        if not value:
            return refuse(unknown)
        if _ratio(value, wanted) > tolerance:
            return refuse(f"{_count(value)}{unit}, the recipe's {_count(wanted)}")
        closeness[key] = f"{_count(value)} vs {_count(wanted)} ({_percent(value, wanted)})"

    name, where = run_dataset(config)
    if name is None:
        return refuse("the dataset is not named (pass --set dataset=NAME or the run's config)")
    if not normalise_dataset(name) & set(recipe.dataset_names):
        return refuse(f"dataset {name!r}, the recipe's is {recipe.dataset}")
    closeness["dataset"] = f"{name!r}" + (f" ({where})" if where else "")
    if where == "train.py's default":
        caveats.append("the dataset is train.py's default, not named by the run")

    exact = 0
    for key in recipe.exact:
        value, wanted = getattr(facts, key), getattr(recipe, key)
        if value != wanted:
            return refuse(f"{key} {value if value is not None else 'unknown'}, the recipe's is {wanted:,}")
        closeness[key] = f"{value:,} (the recipe's)"
        exact += 1
    distance = abs(math.log(facts.n_params / recipe.n_params)) + abs(
        math.log(facts.tokens_per_iter / recipe.tokens_per_iter)
    )
    return Match(reference, True, "", closeness, distance, exact, tuple(caveats))


def choose(
    facts: RunFacts,
    config: ResolvedConfig,
    references: tuple[Reference, ...],
    *,
    param_tolerance: float,
    batch_tolerance: float,
    tie: float,
) -> Choice:
    """The closest matching reference (most pinned facts agreeing, then the smallest distance);
    none when nothing matches, or when the two closest are within `tie` of each other and not
    one of them is pinned more exactly (two recipes the facts cannot tell apart)."""
    results = tuple(
        match(facts, config, ref, param_tolerance=param_tolerance, batch_tolerance=batch_tolerance)
        for ref in references
    )
    matched = sorted((m for m in results if m.matched), key=lambda m: (-m.exact_matched, m.distance))
    if not matched:
        reasons = {m.why_not for m in results}
        if len(reasons) == 1:
            return Choice(None, f"no reference recipe matches: {reasons.pop()}", results)
        closest = max(results, key=lambda m: len(m.closeness))  # the one that agreed on most
        return Choice(
            None,
            f"no reference recipe matches (closest, {closest.reference.key}: {closest.why_not})",
            results,
        )
    best = matched[0]
    if len(matched) > 1:
        second = matched[1]
        if second.exact_matched == best.exact_matched and second.distance - best.distance <= tie:
            return Choice(
                None,
                f"the run matches {best.reference.key} and {second.reference.key} "
                "equally well; their curves differ, so neither is used",
                results,
            )
    return Choice(best, "", results)


def _ratio(a: float, b: float) -> float:
    """How many times larger the larger of a and b is: 1.0 for equal."""
    return max(a, b) / min(a, b)


def _count(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= MILLION else f"{n:,.0f}"


MILLION = 1e6


def _percent(value: float, reference: float) -> str:
    return f"{(value / reference - 1) * 100:+.1f}%"
