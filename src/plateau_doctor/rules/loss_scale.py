"""PD605: the logged train loss is a whole multiple of the eval loss: a scaled loss, not a worse model."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import LIKELY, STRONG, Context, Skip, finding

RULE = RuleInfo(
    code="PD605",
    name="scaled-train-loss",
    category="config",
    severity="warning",
    summary="The logged train loss is k times the eval loss at the same steps (k a whole number, "
    "often the gradient accumulation steps): a logging artefact.",
    what="Takes the ratio of the train loss to val at every eval step. A model's train and val "
    "losses differ by a gap, not by a factor; a steady ratio near a whole number k >= 2 is "
    "the loss being summed instead of averaged over k micro-batches (transformers #34191 "
    "and #35204, axolotl #2262) or over k devices. When k equals gradient_accumulation_steps "
    "the cause is certain.",
    why="A train loss k times too large reads as a huge train/val gap, as divergence or as a "
    "model far from converged: every judgement that compares the two is wrong until the "
    "logging is fixed.",
    fix="Divide the logged train loss by the accumulation steps (or upgrade the trainer: "
    "transformers 4.46 fixed the accumulation scaling), and compare train with val only then.",
    example="WARNING PD605 The train loss is 8.0x val: a loss scaled by the 8 accumulation steps",
    reference="transformers #34191, #35204; axolotl #2262.",
    thresholds=(
        Threshold(
            "min_factor",
            1.8,
            "train / val",
            "below about 2x a train loss above val is a dropout or split difference, not a scale",
        ),
        Threshold(
            "whole_tolerance",
            0.08,
            "relative",
            "the ratio sits within 8% of a whole number k (a real gap moves it more)",
        ),
    ),
    weight=0.9,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    ratio = a.train_over_val
    if ratio is None:
        return [Skip(RULE.code, "no train and val losses at the same steps")]
    r, n = ratio
    if r < limits.min_factor:
        return []
    k = round(r)
    if abs(r - k) > limits.whole_tolerance * k:
        return []
    accumulation = ctx.config.get("gradient_accumulation_steps") if a.config_known else None
    accumulation = accumulation or ctx.config.get("gradient_accumulation_steps")
    by_accumulation = isinstance(accumulation, int) and accumulation == k
    cause = (
        f"the {k} gradient accumulation steps"
        if by_accumulation
        else f"{k} (gradient accumulation steps, or devices, summed instead of averaged)"
    )
    return [
        finding(
            RULE,
            confidence=STRONG if by_accumulation else LIKELY,
            title=f"The train loss is {r:.1f}x val: a loss scaled by {cause}",
            message=(
                f"Over {n} evals the logged train loss is a steady {r:.2f}x the val loss. A model's "
                "train and val losses differ by a gap, not a factor: the train loss is summed over "
                f"{k} parts instead of averaged. Divided by {k} it would be about "
                f"{ctx.facts.last_train_loss / k if ctx.facts.last_train_loss else float('nan'):.3f} "
                "at the end; the gap, overfitting and divergence checks that compare the two are not "
                "trustworthy until then."
            ),
            evidence={"train_over_val": r, "k": k, "evals": n, "gradient_accumulation_steps": accumulation},
            fixes=[RULE.fix],
        )
    ]
