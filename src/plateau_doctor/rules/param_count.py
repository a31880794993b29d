"""PD602: printed, computed and claimed parameter counts disagree."""

from __future__ import annotations

import re

from ..domain.scale import printed_count_differs
from ..model import RuleInfo, Threshold
from .base import LIKELY, STRONG, Context, Skip, finding

RULE = RuleInfo(
    code="PD602",
    name="parameter-count",
    category="config",
    severity="warning",
    summary="The parameter count computed from the config differs from the printed one, or from "
    "what the config's comments claim.",
    what="Counts nanoGPT's parameters exactly from n_layer, n_head, n_embd, vocab_size, block_size "
    "and bias (position embeddings excluded, as nanoGPT prints it) and compares with the "
    "`number of parameters` line and with sizes claimed in config comments (e.g. '125M').",
    why="Every scale judgement (tokens per parameter, reference LR, Chinchilla) rests on the "
    "parameter count; a model believed to be 125M that is really 40M is read all wrong.",
    fix="Use the computed count; fix the comment, or the config if the model was meant to be bigger.",
    reference="nanoGPT model.py get_num_params (non_embedding=True).",
    example="WARNING PD602 The config calls the model 125M; it has 40.6M parameters",
    thresholds=(
        Threshold(
            "printed_tolerance",
            0.01,
            "relative",
            "nanoGPT prints %.2fM: a 1% difference is beyond its rounding for any model above 1M parameters",
        ),
        Threshold(
            "claim_tolerance",
            0.25,
            "relative",
            "sizes in comments are rounded ('125M' for 124M): 25% off is another model, not rounding",
        ),
    ),
    weight=0.5,
    log_free=True,
)

MILLION, BILLION = 1e6, 1e9  # nanoGPT prints parameter counts in millions (%.2fM)


def check(ctx: Context, limits) -> list:
    f = ctx.facts
    if f.n_params_computed is None:
        return [Skip(RULE.code, "model shape unknown")]
    out = []
    printed = f.n_params_printed
    rel = printed_count_differs(f.n_params_computed, printed, limits.printed_tolerance)
    if rel is not None:
        out.append(
            finding(
                RULE,
                confidence=LIKELY,
                title=f"Printed parameter count {printed / MILLION:.2f}M differs from the config's "
                f"{f.n_params_computed / MILLION:.2f}M",
                message=(
                    "The model the log built is not the one the resolved config describes: "
                    "some config value used here differs from the run's. Scale judgements "
                    "use the printed count, the model that was built."
                ),
                evidence={"printed": printed, "computed": f.n_params_computed, "relative_difference": rel},
                fixes=["pass the run's own config (or --set the differing keys)"],
            )
        )
    for claim in ctx.config.claimed_params:
        m = re.match(r"([\d.]+)([MB])", claim)
        if not m:
            continue
        claimed = float(m.group(1)) * (MILLION if m.group(2) == "M" else BILLION)
        rel = abs(claimed - f.n_params_computed) / f.n_params_computed
        if rel > limits.claim_tolerance:
            out.append(
                finding(
                    RULE,
                    confidence=STRONG,
                    title=f"The config calls the model {claim}; it has {f.n_params_computed / MILLION:.1f}M parameters",
                    message=(
                        f"A comment in the config claims {claim} parameters, but n_layer, n_embd and the "
                        f"vocabulary give {f.n_params_computed:,} (blocks "
                        f"{f.n_params_computed - (f.vocab_size or 0) * _embd(ctx):,} + token embeddings "
                        f"{(f.vocab_size or 0) * _embd(ctx):,}). Scale judgements use the computed count."
                    ),
                    evidence={"claimed": claim, "computed": f.n_params_computed, "vocab_size": f.vocab_size},
                    fixes=["correct the comment; for a real 124M GPT-2 use n_embd=768 (12 layers, 12 heads)"],
                )
            )
    return out


def _embd(ctx: Context) -> int:
    try:
        return int(ctx.config.get("n_embd"))
    except (TypeError, ValueError):
        return 0
