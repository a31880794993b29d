"""PD404: the eval standard error a plan's eval_iters will give."""

from __future__ import annotations

import math

from ..model import RuleInfo, Threshold
from .base import DOUBT, LIKELY, POSSIBLE, Context, Skip, finding

RULE = RuleInfo(
    code="PD404",
    name="planned-eval-noise",
    category="eval_noise",
    severity="warning",
    summary="The evals a plan will run are too few batches to measure val to a hundredth of a nat.",
    what="Before a run there is no per-batch sigma to measure, so it is assumed: sigma x "
    "sqrt(tokens per batch) as measured on real nanoGPT logs (the micro-batch losses' spread "
    "around their trend), for character/byte vocabularies and for BPE ones. One eval averages "
    "eval_iters fresh batches of batch_size x block_size tokens, so its standard error is that "
    "sigma / sqrt(eval_iters x batch_size x block_size). Above `min_noise` the plan is "
    "flagged, with the eval_iters that reach `target_se`. Only for evals that draw fresh "
    "batches (nanoGPT); a fixed val set has no such error. After the run PD401 measures it.",
    why="An eval averages eval_iters random batches; with few of them its error is larger than the "
    "improvements being looked for, so upticks, plateaus and 'best checkpoints' are noise.",
    fix="Raise eval_iters (the error falls as 1/sqrt(eval_iters)), or evaluate less often on more batches.",
    reference="Standard error of a mean: sigma / sqrt(n); the sigmas are measured on the project's "
    "real logs (examples/logs, ../shared/logs).",
    example="WARNING PD404 Evals will be accurate to ~0.030 nats: eval_iters=2 is too few batches",
    thresholds=(
        Threshold(
            "min_noise",
            0.01,
            "nats",
            "an eval accurate to a hundredth of a nat supports the decisions people make from it (as PD401)",
        ),
        Threshold("target_se", 0.005, "nats", "the eval error to aim for: half a hundredth (as PD401)"),
        Threshold(
            "byte_sigma",
            1.9,
            "nats x sqrt(tokens)",
            "the median over 7 healthy character/byte-level nanoGPT runs (examples/logs h200_*: "
            "Shakespeare 1.6-2.0, Python code 4.3-4.6) of the micro-batch sigma x sqrt(batch x block)",
        ),
        Threshold("byte_sigma_low", 1.6, "nats x sqrt(tokens)", "the lowest of those 7 runs"),
        Threshold("byte_sigma_high", 4.6, "nats x sqrt(tokens)", "the highest of those 7 runs"),
        Threshold(
            "bpe_sigma",
            10.0,
            "nats x sqrt(tokens)",
            "the middle of 3 healthy BPE nanoGPT pretraining runs: TinyStories 50M 8.0 (real_02), "
            "FineWeb 40M 10.0 (the seed run), GPT-2 124M OpenWebText 12.0 (real_03)",
        ),
        Threshold("bpe_sigma_low", 8.0, "nats x sqrt(tokens)", "the lowest of those 3 runs"),
        Threshold("bpe_sigma_high", 12.0, "nats x sqrt(tokens)", "the highest of those 3 runs"),
    ),
    weight=0.8,
    log_free=True,
    plan_only=True,
)


def check(ctx: Context, limits) -> list:
    f, a = ctx.facts, ctx.analyses
    if not f.planned:
        return [Skip(RULE.code, "a log's eval noise is measured, not assumed: PD401 judges it")]
    if a.eval_kind != "resampled":
        why = "a fixed val set gives the same number for the same weights" if a.eval_kind else "unknown"
        return [Skip(RULE.code, f"how the evals are measured: {why}")]
    try:
        eval_iters = int(ctx.config.get("eval_iters"))
        batch, block = int(ctx.config.get("batch_size")), int(ctx.config.get("block_size"))
    except (TypeError, ValueError):
        return [Skip(RULE.code, "eval_iters, batch_size or block_size unknown")]
    if eval_iters <= 0 or batch <= 0 or block <= 0 or not f.vocab_size:
        return [Skip(RULE.code, "eval_iters, batch_size, block_size or the vocabulary unknown")]
    if a.byte_level:
        sigmas, kind = (limits.byte_sigma, limits.byte_sigma_low, limits.byte_sigma_high), "character/byte"
    else:
        sigmas, kind = (limits.bpe_sigma, limits.bpe_sigma_low, limits.bpe_sigma_high), "BPE"
    tokens = eval_iters * batch * block
    se, low, high = (s / math.sqrt(tokens) for s in sigmas)
    if se <= limits.min_noise:
        return []
    needed = math.ceil((sigmas[0] / limits.target_se) ** 2 / (batch * block))
    return [
        finding(
            RULE,
            confidence=LIKELY if low > limits.min_noise else POSSIBLE - DOUBT * (high < 2 * limits.min_noise),
            title=f"Evals will be accurate to ~{se:.3f} nats: eval_iters={eval_iters} is too few batches",
            message=(
                f"Each eval will average eval_iters={eval_iters} batches of {batch} x {block} tokens "
                f"({tokens:,} tokens). With the per-batch spread measured on real {kind} runs "
                f"(sigma x sqrt(tokens) {sigmas[1]:g}-{sigmas[2]:g}, assumed {sigmas[0]:g}: this run's "
                f"own is unknown until it runs), one eval's standard error is ~{se:.3f} "
                f"({low:.3f}-{high:.3f}) nats: two evals must differ by ~{2 * math.sqrt(2) * se:.2f} "
                "before the difference means anything, so upticks, plateaus and the 'best' "
                "checkpoint will be partly noise."
            ),
            evidence={
                "eval_iters": eval_iters,
                "eval_tokens": tokens,
                "assumed_sigma_x_sqrt_tokens": sigmas[0],
                "eval_standard_error": se,
                "eval_standard_error_range": [low, high],
                "eval_iters_for_target": needed,
            },
            fixes=[
                f"{ctx.setting(eval_iters=needed)} (~{limits.target_se:g} nats, if this run's "
                "spread is like the measured ones; evals cost eval_iters forward passes each)"
            ],
        )
    ]
