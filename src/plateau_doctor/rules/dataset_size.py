"""PD604: the dataset size given does not square with the log."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import CERTAIN, LIKELY, Context, Skip, finding, fmt_tokens

RULE = RuleInfo(
    code="PD604",
    name="dataset-size",
    category="config",
    severity="warning",
    summary="--dataset-tokens (or --data-dir) is smaller than one iteration's batch, or gives a "
    "number of epochs the log's own epoch counter contradicts.",
    what="Checks the size of the training split given on the command line against what the log "
    "shows: one iteration's tokens (a dataset smaller than a batch is almost always a number "
    "in the wrong unit: bytes, megabytes, documents), and the epochs the log counts itself "
    "(HF Trainer, LLaMA-Factory) against tokens seen divided by the size given.",
    why="Every repetition judgement (epochs, memorisation, the 4-epoch rule) divides by this "
    "number: a wrong one gives a confident, wrong epoch count.",
    fix="Pass the training split's size in tokens (train.bin's bytes / 2 for nanoGPT's uint16 "
    "files, or --data-dir), or leave it out and let the log's epoch counter speak.",
    example="WARNING PD604 --dataset-tokens 4k is smaller than one iteration (16.4k tokens)",
    thresholds=(
        Threshold(
            "epoch_disagreement",
            0.25,
            "relative",
            "the log's own epoch count and the one "
            "the size implies may differ a little (packing, padding, a dropped last batch); "
            "25% apart they describe different datasets",
        ),
    ),
    weight=0.6,
    log_free=True,
)


def check(ctx: Context, limits) -> list:
    f, meta = ctx.facts, ctx.parsed.meta
    if not f.dataset_tokens:
        return [Skip(RULE.code, "no dataset size given")]
    out = []
    if f.tokens_per_iter and f.dataset_tokens < f.tokens_per_iter:
        out.append(
            finding(
                RULE,
                confidence=CERTAIN,
                title=(
                    f"The dataset size {fmt_tokens(f.dataset_tokens)} is smaller than one iteration "
                    f"({fmt_tokens(f.tokens_per_iter)} tokens)"
                ),
                message=(
                    f"{f.sources.get('dataset_tokens')} gives {f.dataset_tokens:,} tokens, but every "
                    f"iteration reads {f.tokens_per_iter:,}: that would be {f.tokens_per_iter / f.dataset_tokens:.0f} "
                    "epochs per iteration. The number is probably in another unit (bytes, MB, "
                    "documents); the epoch count built on it is not trustworthy."
                ),
                evidence={"dataset_tokens": f.dataset_tokens, "tokens_per_iter": f.tokens_per_iter},
                fixes=[RULE.fix],
            )
        )
    if meta.epochs and f.epochs and meta.epochs > 0:
        ratio = f.epochs / meta.epochs
        if abs(ratio - 1) > limits.epoch_disagreement:
            out.append(
                finding(
                    RULE,
                    confidence=LIKELY,
                    title=(f"The dataset size gives {f.epochs:.1f} epochs; the log counts {meta.epochs:.1f}"),
                    message=(
                        f"Tokens seen over the {fmt_tokens(f.dataset_tokens)} tokens given is {f.epochs:.1f} "
                        f"passes, but the trainer's own epoch counter reached {meta.epochs:.2f}. One of "
                        "them describes another dataset; the trainer's count is what ran."
                    ),
                    evidence={
                        "epochs_from_dataset_tokens": f.epochs,
                        "epochs_logged": meta.epochs,
                        "dataset_tokens": f.dataset_tokens,
                    },
                    fixes=[RULE.fix],
                )
            )
    return out
