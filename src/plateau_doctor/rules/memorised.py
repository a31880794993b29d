"""PD204: the train loss is near zero after many epochs, and the log has no val to check against."""

from __future__ import annotations

import math

from ..model import RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, Context, Skip, finding

RULE = RuleInfo(
    code="PD204",
    name="memorised",
    category="overfitting",
    severity="warning",
    summary="After several epochs the train loss is near zero: the model has memorised its "
    "training data, and with no val loss in the log nothing shows it generalises.",
    what="For a log with no evals, looks at the train loss at the end and the epochs seen: a "
    "language model's loss on new text never comes near zero, so a train loss under "
    "`near_zero` after `min_epochs` passes is the training set memorised. With evals, "
    "PD201 judges overfitting from val instead.",
    why="A memorised training set scores perfectly on itself and says nothing about new text; "
    "the extra epochs that got it there were most likely spent overfitting.",
    fix="Hold out a val split and evaluate during training (eval_strategy / eval_steps), train "
    "fewer epochs, and keep the checkpoint with the best val loss.",
    example="WARNING PD204 Train loss 0.008 after 100 epochs, with no val loss to check against",
    thresholds=(
        Threshold(
            "near_zero",
            0.05,
            "nats",
            "a loss of 0.05 nats is 95% probability on every "
            "next token: no real text is that predictable, only memorised text",
        ),
        Threshold(
            "min_epochs",
            3.0,
            "epochs",
            "memorising takes repeated passes; within a few epochs a low loss can still be an easy task",
        ),
    ),
    weight=0.9,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    if len(a.val):
        return [Skip(RULE.code, "the log has val losses: PD201 judges overfitting from them")]
    if f.last_train_loss is None or f.epochs is None:
        return [Skip(RULE.code, "train loss or epochs unknown")]
    if f.last_train_loss >= limits.near_zero or f.epochs < limits.min_epochs:
        return []
    # Next-token prediction on real text cannot come near zero; a classifier on an easy task can.
    # A vocabulary, or a first loss above what a small classification head starts at, says which.
    language_model = bool(f.vocab_size) or (a.init_loss is not None and a.init_loss > math.log(MAX_CLASSES))
    return [
        finding(
            RULE,
            severity="warning" if language_model else "info",
            confidence=LIKELY if language_model else POSSIBLE,
            title=f"Train loss {f.last_train_loss:.3f} after {f.epochs:.0f} epochs, with no val loss to check against",
            message=(
                f"After {f.epochs:.1f} passes over the training data the train loss is "
                f"{f.last_train_loss:.4f}: the model predicts its training data almost perfectly"
                + (
                    ", which for text only memorisation gives. "
                    if language_model
                    else " (an easy classification task can get there honestly). "
                )
                + "The log has no eval, so whether it still generalises is unknown."
            ),
            evidence={
                "last_train_loss": f.last_train_loss,
                "epochs": f.epochs,
                "near_zero": limits.near_zero,
            },
            fixes=[RULE.fix],
        )
    ]


MAX_CLASSES = 20  # a first loss above ln(20) is no small classification head's: a language model
