"""PD602: printed, computed and claimed parameter counts disagree."""
from __future__ import annotations

import re

from ..analyse.scale import printed_count_differs
from ..model import RuleInfo
from .base import Context, Skip, finding

INFO = RuleInfo(
    code="PD602", name="parameter-count", category="config", severity="warning",
    summary="The parameter count computed from the config differs from the printed one, or from "
            "what the config's comments claim.",
    what="Counts nanoGPT's parameters exactly from n_layer, n_head, n_embd, vocab_size, block_size "
         "and bias (position embeddings excluded, as nanoGPT prints it) and compares with the "
         "`number of parameters` line and with sizes claimed in config comments (e.g. '125M').",
    why="Every scale judgement (tokens per parameter, reference LR, Chinchilla) rests on the "
        "parameter count; a model believed to be 125M that is really 40M is read all wrong.",
    fix="Use the computed count; fix the comment, or the config if the model was meant to be bigger.",
    reference="nanoGPT model.py get_num_params (non_embedding=True).",
    thresholds={"printed_tolerance": 0.01, "claim_tolerance": 0.25},
)


def check(ctx: Context, thresholds: dict) -> list:
    f = ctx.facts
    if f.n_params_computed is None:
        return [Skip(INFO.code, "model shape unknown")]
    out = []
    printed = f.n_params_printed
    rel = printed_count_differs(f.n_params_computed, printed, thresholds["printed_tolerance"])
    if rel is not None:
        out.append(finding(
            INFO, confidence=0.8,
            title=f"Printed parameter count {printed / 1e6:.2f}M differs from the config's "
                  f"{f.n_params_computed / 1e6:.2f}M",
            message=("The model the log built is not the one the resolved config describes: "
                     "some config value used here differs from the run's. Scale judgements "
                     "use the printed count, the model that was built."),
            evidence={"printed": printed, "computed": f.n_params_computed, "relative_difference": rel},
            fixes=["pass the run's own config (or --set the differing keys)"], weight=0.5,
        ))
    for claim in ctx.config.claimed_params:
        m = re.match(r"([\d.]+)([MB])", claim)
        if not m:
            continue
        claimed = float(m.group(1)) * (1e6 if m.group(2) == "M" else 1e9)
        rel = abs(claimed - f.n_params_computed) / f.n_params_computed
        if rel > thresholds["claim_tolerance"]:
            out.append(finding(
                INFO, confidence=0.85,
                title=f"The config calls the model {claim}; it has {f.n_params_computed / 1e6:.1f}M parameters",
                message=(f"A comment in the config claims {claim} parameters, but n_layer, n_embd and the "
                         f"vocabulary give {f.n_params_computed:,} (blocks "
                         f"{f.n_params_computed - (f.vocab_size or 0) * _embd(ctx):,} + token embeddings "
                         f"{(f.vocab_size or 0) * _embd(ctx):,}). Scale judgements use the computed count."),
                evidence={"claimed": claim, "computed": f.n_params_computed, "vocab_size": f.vocab_size},
                fixes=["correct the comment; for a real 124M GPT-2 use --n_embd=768 (12 layers, 12 heads)"],
                weight=0.5,
            ))
    return out


def _embd(ctx: Context) -> int:
    try:
        return int(ctx.config.get("n_embd"))
    except (TypeError, ValueError):
        return 0
