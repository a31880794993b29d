"""PD103: the loss at step 0 does not match a freshly initialised model."""

from __future__ import annotations

import math

import numpy as np

from ..model import RuleInfo, Threshold
from .base import LIKELY, STRONG, Context, Skip, finding

# No tokenizer in use has more than a few hundred thousand entries; ln(2^18) = 12.5 nats.
LARGEST_PLAUSIBLE_VOCAB = 2**18

RULE = RuleInfo(
    code="PD103",
    name="initial-loss",
    category="init_loss",
    severity="error",
    summary="The first loss is inconsistent with ln(vocab_size) for a model trained from scratch.",
    what="Compares the step-0 loss of a from-scratch run with ln(vocab_size), the cross-entropy of "
    "a uniform guess; without a known vocabulary, with ln of the largest plausible one. "
    "Fine-tunes and resumed runs start trained and are not judged.",
    why="A fresh model predicts nearly uniformly, so its loss starts at about ln(V) (4.17 for 65 "
    "characters, 10.83 for GPT-2's 50304). Far above means a bug in the loss, the labels or "
    "the init; far below means the model is not fresh or the data leaks.",
    fix="Check the loss computation (reduction, scaling by gradient accumulation), the targets "
    "(shifted by one, ignore_index), the vocab size and the init before tuning anything else.",
    example="ERROR PD103 Initial loss 132.44 is far above ln(vocab) = 10.83",
    reference="Karpathy, 'A Recipe for Training Neural Networks': verify the loss at init.",
    thresholds=(
        Threshold(
            "max_excess_nats",
            1.5,
            "nats",
            "a fresh model's logits are small but not zero: "
            "its first loss sits up to a few tenths above ln(V); 1.5 nats above is 4.5x the "
            "perplexity of a uniform guess, which only a bug gives",
        ),
        Threshold(
            "max_deficit_nats",
            1.5,
            "nats",
            "1.5 nats below ln(V) before any update means "
            "the model already knows the text: trained weights or leaked data",
        ),
        Threshold(
            "early_share",
            0.02,
            "of the logged steps",
            "large initial logits shrink within the first updates: a first loss above ln(V) that "
            "falls below it this early is the init's scale, not a loss computed wrong (which "
            "stays off for the whole run)",
        ),
    ),
    weight=1.3,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    if a.init_loss is None:
        return [Skip(RULE.code, "no loss at step 0")]
    init = a.init_loss
    expected = a.expected_init_loss
    finetune, _ = a.finetune
    if expected is None:
        ceiling = math.log(LARGEST_PLAUSIBLE_VOCAB)
        if init > ceiling + limits.max_excess_nats:
            lowest = _lowest_early_loss(a, limits.early_share)
            if lowest is not None and lowest < ceiling:
                return [_large_init_logits(a, init, ceiling, lowest, f"ln {LARGEST_PLAUSIBLE_VOCAB:,}")]
            return [
                finding(
                    RULE,
                    confidence=STRONG,
                    line=a.init_loss_line,
                    title=f"Initial loss {init:.2f} is impossible for any real vocabulary",
                    message=(
                        f"The loss at step 0 is {init:.2f} nats, above ln(V) for any plausible "
                        f"vocabulary (ln {LARGEST_PLAUSIBLE_VOCAB:,} = {ceiling:.2f}). A fresh "
                        "model cannot score worse than a uniform guess by that much: the loss or "
                        "the model is broken before training starts."
                    ),
                    evidence={"initial_loss": init, "ln_largest_plausible_vocab": ceiling},
                    fixes=[RULE.fix, "compare with a known-good run of the same config"],
                )
            ]
        if finetune:
            return [
                Skip(RULE.code, "a fine-tune starts from trained weights: its first loss is not ln(vocab)")
            ]
        return [Skip(RULE.code, "vocabulary size or init mode unknown")]
    excess = init - expected
    if excess > limits.max_excess_nats:
        lowest = _lowest_early_loss(a, limits.early_share)
        if lowest is not None and lowest < expected:
            return [_large_init_logits(a, init, expected, lowest, f"{a.log_name}({ctx.facts.vocab_size})")]
        severity, verb = "error", "above"
    elif -excess > limits.max_deficit_nats and finetune is not True:
        severity, verb = "warning", "below"
    else:
        return []
    return [
        finding(
            RULE,
            severity=severity,
            confidence=STRONG if severity == "error" else LIKELY,
            line=a.init_loss_line,
            title=f"Initial loss {init:.2f} is far {verb} {a.log_name}(vocab) = {expected:.2f}",
            message=(
                f"A model trained from scratch should start near {a.log_name}({ctx.facts.vocab_size}) = "
                f"{expected:.2f}; this one starts at {init:.2f} ({excess:+.2f} nats). "
                + (
                    "That points to a bug in the loss, targets or init."
                    if verb == "above"
                    else "That suggests the weights are not fresh (a resume or a fine-tune the log does "
                    "not mention) or the eval data leaks into training."
                )
            ),
            evidence={
                "initial_loss": init,
                "expected_ln_vocab": expected,
                "vocab_size": ctx.facts.vocab_size,
                "excess_nats": excess,
            },
            fixes=[RULE.fix],
        )
    ]


def _lowest_early_loss(a, early_share: float) -> float | None:
    """The lowest finite loss (iteration or val) after the first point and within the first
    early_share of the logged steps, or None. Large initial logits shrink within a few updates;
    a loss computed wrong (scaled by the accumulation steps, say) stays off for the whole run and
    comes down only as fast as training does."""
    lows = []
    for c in (a.iter_loss, a.val):
        if len(c) < 2:
            continue
        span = c.steps[-1] - c.steps[0]
        early = c.values[1:][c.steps[1:] <= c.steps[0] + early_share * span]
        early = early[np.isfinite(early)]
        if len(early):
            lows.append(float(early.min()))
    return min(lows) if lows else None


def _large_init_logits(a, init: float, reference: float, lowest: float, name: str):
    """A first loss above a uniform guess that training then brought below it: the loss works,
    the initial logits were large (an output layer or tied embedding initialised at a large
    scale). Worth knowing, not a broken run."""
    return finding(
        RULE,
        severity="info",
        confidence=LIKELY,
        line=a.init_loss_line,
        title=f"Initial loss {init:.2f} is above {name} = {reference:.2f}: large initial logits",
        message=(
            f"The loss at step 0 is {init:.2f} nats, worse than a uniform guess ({name} = "
            f"{reference:.2f}), and the first updates brought it down to {lowest:.2f}: the loss "
            "itself works. "
            "A fresh model scores above a uniform guess when its initial logits are large (an "
            "output layer or tied embedding initialised at a large scale); a smaller output init "
            "spares the first steps."
        ),
        evidence={"initial_loss": init, "uniform_guess_loss": reference, "lowest_early_loss": lowest},
    )
