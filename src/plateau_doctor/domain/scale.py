"""Sizes and the published references they are compared with: parameter counts, tokens, epochs,
the Chinchilla loss law, the loss expected at init and a reference peak learning rate.

The references are for judging the regime (tokens per parameter, which term of the loss law
dominates, whether an LR is unusual for the size), not for predicting absolute losses: the
published constants belong to other data and tokenizers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ParamCount:
    """A GPT's parameter count, as nanoGPT prints it and in all."""

    printed_style: int  # what nanoGPT prints as `number of parameters`: everything except wpe
    total: int  # including the position embedding wpe


def nanogpt_param_count(
    n_layer: int, n_head: int, n_embd: int, vocab_size: int, block_size: int, bias: bool
) -> ParamCount:
    """Exact parameter count of nanoGPT's model.py GPT.

    wte (V x d) is tied with lm_head, so it is counted once; every LayerNorm has a weight and,
    with bias=True, a bias; every Linear has a bias only with bias=True. n_head does not change
    the count (heads split n_embd); it is accepted so callers can pass the config as it is.
    """
    d = n_embd
    b = 1 if bias else 0
    layer_norm = d + b * d
    attention = (d * 3 * d + b * 3 * d) + (d * d + b * d)  # c_attn, c_proj
    mlp = (d * 4 * d + b * 4 * d) + (4 * d * d + b * d)  # c_fc, c_proj
    block = 2 * layer_norm + attention + mlp
    without_wpe = vocab_size * d + n_layer * block + layer_norm  # wte, blocks, ln_f
    return ParamCount(printed_style=without_wpe, total=without_wpe + block_size * d)


# Hoffmann et al. 2022 (Chinchilla), approach 3: L(N, D) = E + A / N^alpha + B / D^beta.
CHINCHILLA = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
CHINCHILLA_TOKENS_PER_PARAM = 20.0  # compute-optimal ratio


def printed_count_differs(computed: float, printed: float | None, tolerance: float = 0.01) -> float | None:
    """The relative difference between a computed parameter count and the one nanoGPT printed
    (`%.2fM`), when it exceeds `tolerance` and the print's own rounding; else None. Counts
    printed below 0.1M carry too few digits to compare."""
    if not printed or printed < 1e5:
        return None
    rel = abs(computed - printed) / printed
    return rel if rel > max(tolerance, 0.005e6 / printed) else None


def chinchilla_terms(n, d) -> tuple[float, float, float]:
    """(E, A / N^alpha, B / D^beta): the irreducible loss, the model-size term, the data term."""
    c = CHINCHILLA
    return c["E"], c["A"] / float(n) ** c["alpha"], c["B"] / float(d) ** c["beta"]


def chinchilla_loss(n_params: float, tokens: float) -> float:
    """Chinchilla's predicted loss for n_params trained on tokens (approximate for other data)."""
    return sum(chinchilla_terms(n_params, tokens))


def tokens_per_param(tokens, n_params) -> float:
    return float(tokens) / float(n_params)


def epochs(tokens_seen, dataset_tokens) -> float:
    """Expected passes over the data (nanoGPT samples random windows, so not a pass count)."""
    return float(tokens_seen) / float(dataset_tokens)


def expected_init_loss(vocab_size: int) -> float:
    """Cross-entropy of a uniform guess over the vocabulary, which a fresh model starts near."""
    return math.log(vocab_size)


_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_TOKEN_COUNT = re.compile(
    r"""^(?P<number>\d{1,3}(?:,\d{3})+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)
        \s*(?P<suffix>[kmbgt]?)$""",
    re.IGNORECASE | re.VERBOSE,
)


def parse_token_count(text: str) -> int:
    """A token count as people write it: '1003854', '1,003,854', '300k', '9.2M', '9B', '15T',
    '1e9' (k = 10^3, M = 10^6, B or G = 10^9, T = 10^12). Raises ValueError otherwise."""
    cleaned = str(text).strip().replace("_", "")
    match = _TOKEN_COUNT.match(cleaned)
    if not match:
        raise ValueError(
            f"cannot read {text!r} as a token count; write it like 1003854, "
            "1,003,854, 300k, 9.2M, 9B, 15T or 1e9"
        )
    value = float(match["number"].replace(",", "")) * _SUFFIX[match["suffix"].lower()]
    tokens = int(round(value)) if math.isfinite(value) else 0
    if tokens <= 0:  # checked after rounding: '.4' is not a count of tokens
        raise ValueError(f"a token count must be a positive number, got {text!r}")
    return tokens


# Brown et al. 2020 (GPT-3), Table 2.1: peak learning rate by model size.
GPT3_LR_BY_SIZE: tuple[tuple[float, float], ...] = (
    (125e6, 6e-4),
    (350e6, 3e-4),
    (760e6, 2.5e-4),
    (1.3e9, 2e-4),
    (2.7e9, 1.6e-4),
    (6.7e9, 1.2e-4),
    (13e9, 1e-4),
    (175e9, 0.6e-4),
)
SMALL_MODEL_LR_CAP = 2e-3  # nanoGPT trains its 10.7M char model at 1e-3; beyond 2e-3 is no reference


def reference_lr(n_params: float) -> float:
    """A rough reference peak LR for a model of n_params: GPT-3's table, interpolated in log-log.

    Below 125M the first segment's slope is extended (smaller models tolerate more) and capped at
    2e-3; above 175B the last value is kept. It says what is usual, not what is best: an LR a few
    times off it is a hint, not a diagnosis.
    """
    log_n = [math.log(n) for n, _ in GPT3_LR_BY_SIZE]
    log_lr = [math.log(lr) for _, lr in GPT3_LR_BY_SIZE]
    x = math.log(n_params)
    if x >= log_n[-1]:
        return GPT3_LR_BY_SIZE[-1][1]
    if x < log_n[0]:
        slope = (log_lr[1] - log_lr[0]) / (log_n[1] - log_n[0])
        return min(math.exp(log_lr[0] + slope * (x - log_n[0])), SMALL_MODEL_LR_CAP)
    for i in range(len(log_n) - 1):
        if x <= log_n[i + 1]:
            share = (x - log_n[i]) / (log_n[i + 1] - log_n[i])
            return math.exp(log_lr[i] + share * (log_lr[i + 1] - log_lr[i]))
    return GPT3_LR_BY_SIZE[-1][1]


# DeepSeek LLM (Bi et al. 2024, arXiv 2401.02954), section 3.1, eq. 1: the near-optimal batch
# size in tokens for a compute budget C = 6ND FLOPs, fitted on runs from 1e17 to 3e20 FLOPs.
DEEPSEEK_BATCH = dict(coefficient=0.2920, exponent=0.3271)
DEEPSEEK_FITTED_FLOPS = (1e17, 3e20)


def training_flops(n_params: float, tokens: float) -> float:
    """C = 6ND: forward and backward FLOPs of a transformer over `tokens` (Kaplan et al. 2020)."""
    return 6.0 * float(n_params) * float(tokens)


def optimal_batch_tokens(flops: float) -> float:
    """DeepSeek LLM's B_opt = 0.292 * C^0.3271 tokens per optimizer step."""
    return DEEPSEEK_BATCH["coefficient"] * float(flops) ** DEEPSEEK_BATCH["exponent"]


def non_embedding_flops_per_token(n_layer: int, n_embd: int, block_size: int) -> float:
    """DeepSeek LLM's M = 72 n_layer d^2 + 12 n_layer d l_seq: the FLOPs per token of the
    blocks (6 x their 12 L d^2 parameters, plus attention over the sequence), without the
    vocabulary's, which distort small models' counts."""
    return 72.0 * n_layer * n_embd**2 + 12.0 * n_layer * n_embd * block_size
