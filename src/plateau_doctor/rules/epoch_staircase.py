"""PD205: the train loss steps down at every epoch boundary: the model has seen these examples."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import LIKELY, Context, Skip, finding

RULE = RuleInfo(
    code="PD205",
    name="epoch-staircase",
    category="data_repetition",
    severity="info",
    summary="The train loss drops at each epoch boundary and stays flat within epochs: the "
    "staircase of a model seeing its training examples again.",
    what="Where the log counts epochs, compares the train loss just before and just after each "
    "epoch boundary. Drops at every boundary larger than the scatter within the epoch are the "
    "staircase fine-tunes show (LLaMA-Factory #7485, FastChat #2025): normal, not a sign of "
    "instability, and not an improvement in generalisation either: only an eval says that.",
    why="Read as progress, the staircase suggests training longer; read as spikes or instability, "
    "it sends the diagnosis after the wrong cause. It is the model recognising examples.",
    fix="Judge the epochs by the eval loss, not by the train loss's steps; keep the checkpoint with "
    "the best eval loss.",
    example="INFO PD205 The train loss drops 0.31 at each epoch boundary (3 boundaries)",
    reference="LLaMA-Factory #7485; FastChat #2025.",
    thresholds=(
        Threshold(
            "scatter_multiple",
            3.0,
            "scatters",
            "a drop three times the train curve's own scatter is a step, not a wiggle",
        ),
    ),
    weight=0.3,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    drops = a.epoch_drops
    if drops is None:
        return [Skip(RULE.code, "the log counts fewer than two epochs")]
    scatter = a.train_scatter
    if scatter is None:
        return [Skip(RULE.code, "too few train points to measure their scatter")]
    if not all(drop > max(limits.scatter_multiple * scatter, 0.0) for _, drop in drops):
        return []
    mean_drop = sum(d for _, d in drops) / len(drops)
    return [
        finding(
            RULE,
            confidence=LIKELY,
            title=f"The train loss drops {mean_drop:.3f} at each epoch boundary ({len(drops)} boundaries)",
            message=(
                "At every epoch boundary the train loss steps down ("
                + ", ".join(f"{d:.3f} at step {s:,}" for s, d in drops)
                + f"), each beyond {limits.scatter_multiple:.0f}x its scatter ({scatter:.3f}): the model "
                "recognises the examples it has seen. Normal in a fine-tune, and not progress on new "
                "text: "
                + (
                    "the eval loss says whether the later epochs helped."
                    if len(a.val)
                    else "the log has no eval to say whether the later epochs helped."
                )
            ),
            evidence={
                "boundaries": len(drops),
                "mean_drop": mean_drop,
                "train_scatter": scatter,
                "drops": [round(d, 4) for _, d in drops],
            },
            fixes=[RULE.fix],
        )
    ]
