"""PD503: the loss sits exactly at ln(k): the model predicts k outcomes uniformly and learns nothing."""

from __future__ import annotations

from ..model import RuleInfo
from .base import CERTAIN, Context, finding

RULE = RuleInfo(
    code="PD503",
    name="uniform-prediction",
    category="plateau",
    severity="error",
    summary="The loss is pinned at ln(k): the model predicts k outcomes uniformly and does not learn.",
    what="Looks for a loss held within a few thousandths of ln(k), with almost no spread, over the "
    "recent iteration losses (or over most evals when the log has only evals): k a class "
    "count up to 20 (a classification head) or a vocabulary size (a language model). A "
    "learning model's loss moves with every batch; one that outputs the same distribution "
    "for every input scores exactly ln(k) on each of them.",
    why="A loss at ln(vocab) or ln(classes) is the cross-entropy of a uniform guess: the run is "
    "spending compute on a model that has learned nothing (or has collapsed back to nothing).",
    fix="Check that the weights receive gradients (frozen parameters, an adapter attached to no "
    "layer, a zero learning rate, an optimizer that never steps), that the targets are not "
    "all ignored or masked, and that the learning rate is not so high that the model "
    "collapsed; a logged gradient norm of 0 confirms it.",
    example="ERROR PD503 Loss pinned at ln(50304) = 10.826: the model predicts uniformly",
    reference="Cross-entropy of a uniform distribution over k outcomes is ln(k) (Karpathy, 'A "
    "Recipe for Training Neural Networks': verify the loss at init).",
    weight=1.3,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    p = a.pinned
    if p is None:
        return []
    what = f"a vocabulary of {p.k:,} tokens" if p.k > MAX_CLASSES_SHOWN else f"{p.k} classes"
    collapsed = p.best_before < a.uniform_loss(p.k) - COLLAPSE_NATS
    how = (
        f"It was lower before (best {p.best_before:.3f}) and collapsed there at step {p.since_step:,}."
        if collapsed
        else "It has not moved from the uniform guess."
    )
    return [
        finding(
            RULE,
            confidence=CERTAIN,
            title=f"Loss pinned at {a.log_name}({p.k:,}) = {a.uniform_loss(p.k):.3f}: the model predicts uniformly",
            message=(
                f"The {p.curve} loss sits at {p.level:.4f} (spread {p.spread:.4f}) from step "
                f"{p.since_step:,}: the cross-entropy of a uniform guess over {what}. "
                "A model that learns moves its loss with every batch; this one gives every "
                f"input the same flat distribution. {how}"
            ),
            evidence={
                "level": p.level,
                "uniform_loss": a.uniform_loss(p.k),
                "k": p.k,
                "spread": p.spread,
                "curve": p.curve,
                "since_step": p.since_step,
                "best_before": p.best_before,
            },
            fixes=[
                "check that the weights get gradients: frozen parameters, an adapter attached to no "
                "layer, a learning rate of 0, an optimizer that never steps (a logged gradient norm "
                "of 0 confirms it)",
                "check the targets: all ignored or masked (ignore_index everywhere) gives the same",
                "if it collapsed after learning, restart from before it with a lower learning rate"
                if collapsed
                else "run a few steps on one batch: a model that learns overfits it fast",
            ],
        )
    ]


MAX_CLASSES_SHOWN = 20  # above it, k is a vocabulary, not a class count
COLLAPSE_NATS = 0.5  # a best loss this far below ln(k) earlier: it learned, then collapsed
