"""PD609: a plan's tokens per iteration far from the near-optimal batch for its compute."""

from __future__ import annotations

from ..domain.scale import (
    DEEPSEEK_FITTED_FLOPS,
    non_embedding_flops_per_token,
    optimal_batch_tokens,
)
from ..model import RuleInfo, Threshold
from .base import DOUBT, POSSIBLE, TRAINS_NOTHING, Context, Skip, finding, fmt_count

RULE = RuleInfo(
    code="PD609",
    name="batch-size",
    category="config",
    severity="warning",
    summary="The plan's tokens per iteration are far from the near-optimal batch for its model "
    "size and tokens.",
    what="Computes the plan's training compute C = M x D (M: the blocks' FLOPs per token, "
    "72 n_layer d^2 + 12 n_layer d block_size; D: tokens planned) and DeepSeek LLM's "
    "near-optimal batch for it, B_opt = 0.292 C^0.3271 tokens, and compares the plan's "
    "tokens per iteration with it (a character or byte token counted as a quarter of a BPE "
    "one, in both). Beyond `far_ratio` either way it is flagged. Pretraining only: a "
    "fine-tune's batch follows its dataset. Judged before a run only.",
    why="Far below the optimum, gradients are noisy and the run takes many small steps (slow on "
    "the GPU, and the LR must be lower); far above it, each token buys less and the run makes "
    "too few optimizer steps for its tokens.",
    fix="gradient_accumulation_steps (or batch_size) for tokens per iteration near B_opt, with "
    "max_iters rescaled to keep the tokens planned.",
    reference="Bi et al. 2024 (DeepSeek LLM) eq. 1: B_opt = 0.2920 C^0.3271, fitted on 1e17-3e20 "
    "FLOPs; GPT-3 (Brown et al. 2020, Table 2.1) used 0.5M tokens at 125M-760M parameters.",
    example="WARNING PD609 Batch of 2,048 tokens per iteration is 22x below the near-optimal ~45k",
    thresholds=(
        Threshold(
            "far_ratio",
            8.0,
            "x the near-optimal batch",
            "DeepSeek's near-optimal region spans a few x at a given compute, and well-trained "
            "models of one size differ 4x (GPT-3 0.5M and Pythia 2M tokens at ~100M parameters): "
            "8x away is outside any usual range",
        ),
        Threshold(
            "byte_token_worth",
            0.25,
            "BPE tokens",
            "a BPE token of English text averages about 4 bytes: a byte or character token "
            "carries a quarter of it (as PD203)",
        ),
    ),
    weight=0.6,
    log_free=True,
    plan_only=True,
)


def check(ctx: Context, limits) -> list:
    f, a = ctx.facts, ctx.analyses
    if not f.planned:
        return [Skip(RULE.code, "judged before a run: a log shows the batch's effect in its loss")]
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    if a.finetune[0] is True:
        return [Skip(RULE.code, f"a fine-tune ({a.finetune[1]}): its batch follows its dataset")]
    per_token = _flops_per_token(ctx)
    if not per_token or per_token < 0 or not f.tokens_per_iter or not f.tokens_seen:
        return [Skip(RULE.code, "model shape, tokens per iteration or tokens planned unknown")]
    worth = limits.byte_token_worth if a.byte_level else 1.0
    compute = per_token * f.tokens_seen * worth
    optimal = optimal_batch_tokens(compute)
    batch = f.tokens_per_iter * worth
    ratio = batch / optimal
    if 1 / limits.far_ratio <= ratio <= limits.far_ratio:
        return []
    low, high = DEEPSEEK_FITTED_FLOPS
    extrapolated = not low <= compute <= high
    unit = " BPE-equivalent" if a.byte_level else ""
    too_small = ratio < 1
    far = f"{1 / ratio:.0f}x below" if too_small else f"{ratio:.0f}x above"
    message = (
        f"{f.tokens_per_iter:,} tokens per iteration ({fmt_count(batch)}{unit}) for ~{compute:.2g} FLOPs of "
        f"training ({fmt_count(f.tokens_seen)} tokens planned) is {far} DeepSeek LLM's near-optimal "
        f"batch for that compute, ~{fmt_count(optimal)}{unit} tokens"
        + (f" (their law is fitted on {low:.0e}-{high:.0e} FLOPs: extrapolated here)" if extrapolated else "")
        + (
            ": gradients will be noisy and the run will take many small steps."
            if too_small
            else ": each token buys less, and the run makes few optimizer steps for its tokens."
        )
    )
    return [
        finding(
            RULE,
            confidence=POSSIBLE - DOUBT * extrapolated,
            title=f"Batch of {f.tokens_per_iter:,} tokens per iteration is {far} the near-optimal ~{fmt_count(optimal / worth)}",
            message=message,
            evidence={
                "tokens_per_iter": f.tokens_per_iter,
                "near_optimal_tokens_per_iter": optimal / worth,
                "ratio": ratio,
                "training_flops": compute,
                "tokens_planned": f.tokens_seen,
                "extrapolated": extrapolated or None,
            },
            fixes=_fixes(ctx, optimal / worth),
        )
    ]


def _flops_per_token(ctx: Context) -> float | None:
    try:
        return non_embedding_flops_per_token(
            int(ctx.config.get("n_layer")), int(ctx.config.get("n_embd")), int(ctx.config.get("block_size"))
        )
    except (TypeError, ValueError):
        return None


def _fixes(ctx: Context, target: float) -> list[str]:
    """Accumulation for ~target tokens per iteration at the same micro-batch (or a smaller
    micro-batch where one is already too many), max_iters keeping the tokens planned."""
    f, config = ctx.facts, ctx.config
    try:
        batch, block = int(config.get("batch_size")), int(config.get("block_size"))
    except (TypeError, ValueError):
        return [f"tokens per iteration near {fmt_count(target)}, with max_iters keeping the tokens planned"]
    sequences = max(1, round(target / block))
    change = (
        {"gradient_accumulation_steps": max(1, round(sequences / batch))}
        if sequences >= batch
        else {"batch_size": sequences, "gradient_accumulation_steps": 1}
    )
    per_iter = change.get("batch_size", batch) * change["gradient_accumulation_steps"] * block
    iters = max(1, round(f.tokens_seen / per_iter))
    return [
        f"{ctx.setting(**change, max_iters=iters, lr_decay_iters=iters)} ({per_iter:,} tokens per "
        f"iteration, the same {fmt_count(f.tokens_seen)} tokens; retune learning_rate for the new batch)"
    ]
