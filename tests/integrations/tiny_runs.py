"""Tiny real training runs on the CPU for the callback tests: token data the model can learn (a
Markov chain: each token is 5 x the previous + 3 mod the vocabulary, one in five drawn at random,
so the loss falls towards a floor of ~1.3 nats) and an LR schedule that can be made to jump
mid-run by a factor, the way a wrong LR on resume or a schedule bug sends a run off.

The trainers are real (never mocked): a test module skips with the reason when its library
cannot be imported."""

from __future__ import annotations

import pytest

VOCAB = 64
SEQ = 32
NOISE = 0.2  # the share of tokens drawn at random: the floor of the loss


def import_or_skip(*modules: str) -> None:
    """Import each module or skip the calling test module, naming what is missing and why."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            pytest.skip(
                f"{name} cannot be imported ({exc}): pip install torch first (torch==2.13.0 here), "
                "then 'plateau-doctor[hf,lightning]'",
                allow_module_level=True,
            )


def markov_tokens(rows: int, seed: int):
    import torch

    generator = torch.Generator().manual_seed(seed)
    tokens = torch.empty(rows, SEQ, dtype=torch.long)
    tokens[:, 0] = torch.randint(0, VOCAB, (rows,), generator=generator)
    for t in range(1, SEQ):
        following = (tokens[:, t - 1] * 5 + 3) % VOCAB
        drawn = torch.randint(0, VOCAB, (rows,), generator=generator)
        tokens[:, t] = torch.where(torch.rand(rows, generator=generator) < NOISE, drawn, following)
    return tokens


def lr_jump(jump_at: int | None, factor: float):
    """A LambdaLR multiplier: 1 until step `jump_at`, `factor` from there (None: never)."""

    def multiplier(step: int) -> float:
        return 1.0 if jump_at is None or step < jump_at else factor

    return multiplier
