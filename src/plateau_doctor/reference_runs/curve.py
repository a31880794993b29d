"""What a reference is: a known-good public run's recipe, its loss against tokens seen, the seed
spread at its scale, and where every number comes from.

Plain data plus two small computations the comparison needs: the reference's loss at a token
count (interpolated in log-tokens between its points, never extrapolated) and where its learning
rate stood there (a fraction of its peak).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SCHEDULE_KINDS = ("cosine", "linear_warmdown")


@dataclass(frozen=True)
class Source:
    """One public source: what it is and where to read it (a URL, or repo:path@commit)."""

    what: str
    where: str


@dataclass(frozen=True)
class Point:
    """The reference's val loss after `tokens` tokens of training (`step` optimizer steps)."""

    step: int
    tokens: int
    val_loss: float
    uncertainty: float  # how well the point itself is known, in loss (reading a figure, rounding)
    source: str  # a key of Reference.sources


@dataclass(frozen=True)
class Schedule:
    """The reference's learning-rate schedule, enough to say how far it had annealed.

    cosine: linear warmup to `peak_lr` over `warmup_iters`, cosine down to `final_lr` at
    `decay_iters` (nanoGPT's get_lr, llm.c's default). linear_warmdown: `peak_lr` held (after
    warmup) until `decay_iters - warmdown_iters`, then linear to `final_lr` at `decay_iters`
    (modded-nanogpt's trapezoid)."""

    kind: str
    peak_lr: float
    warmup_iters: int
    decay_iters: int
    final_lr: float
    warmdown_iters: int = 0

    def lr_at(self, step: float) -> float:
        if step < self.warmup_iters:
            return self.peak_lr * (step + 1) / (self.warmup_iters + 1)
        if step >= self.decay_iters:
            return self.final_lr
        if self.kind == "cosine":
            ratio = (step - self.warmup_iters) / max(1, self.decay_iters - self.warmup_iters)
            return self.final_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (self.peak_lr - self.final_lr)
        start = self.decay_iters - self.warmdown_iters
        if step < start:
            return self.peak_lr
        return self.peak_lr + (step - start) / max(1, self.warmdown_iters) * (self.final_lr - self.peak_lr)

    def fraction_of_peak(self, step: float) -> float:
        return self.lr_at(step) / self.peak_lr


@dataclass(frozen=True)
class Recipe:
    """What identifies the reference's run: a run matches it when these agree (matching.py)."""

    model: str  # in words: "GPT-2 small: 12 layers, 12 heads, n_embd 768"
    n_params: int
    vocab_sizes: tuple[int, ...]  # the tokenizer's size, and its padded size where padded
    tokenizer: str
    dataset: str  # in words
    dataset_names: tuple[str, ...]  # names a run's `dataset` setting gives it (normalised)
    tokens_per_iter: int
    max_iters: int
    schedule: Schedule
    optimizer: str
    # facts that must equal the recipe's exactly for a match (a speedrun record is one script:
    # its step count is part of what it is); names of RunFacts fields
    exact: tuple[str, ...] = ()
    # the recipe's settings under nanoGPT's config keys, to name what a run does differently
    settings: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Reference:
    """A published run's loss curve and the recipe that produced it."""

    key: str
    title: str
    recipe: Recipe
    metric: str  # what the points measure
    eval_kind: str  # "resampled" or "fixed", as LogMeta.eval_kind
    eval_set: str  # in words
    points: tuple[Point, ...]
    seed_spread: float  # sd of val loss between seeds at this scale, in loss
    seed_spread_source: str  # a key of sources
    seed_spread_note: str
    sources: dict[str, Source]
    notes: tuple[str, ...] = ()

    @property
    def first_tokens(self) -> int:
        return self.points[0].tokens

    @property
    def last_tokens(self) -> int:
        return self.points[-1].tokens

    def covers(self, tokens: float) -> bool:
        return self.first_tokens <= tokens <= self.last_tokens

    def loss_at(self, tokens: float) -> tuple[float, float, tuple[Point, Point]]:
        """(loss, its uncertainty, the two points between which it was read) at `tokens`, linear
        in log-tokens between neighbouring points; ValueError outside the points (no guess)."""
        if not self.covers(tokens):
            raise ValueError(
                f"{tokens:,.0f} tokens is outside {self.key}'s points "
                f"({self.first_tokens:,}-{self.last_tokens:,})"
            )
        for left, right in zip(self.points, self.points[1:], strict=False):
            if left.tokens <= tokens <= right.tokens:
                break
        else:
            left = right = self.points[0]  # a single point, matched exactly
        if right.tokens == left.tokens:
            return left.val_loss, left.uncertainty, (left, right)
        w = (math.log(tokens) - math.log(left.tokens)) / (math.log(right.tokens) - math.log(left.tokens))
        loss = left.val_loss + w * (right.val_loss - left.val_loss)
        uncertainty = max(left.uncertainty, right.uncertainty)
        return loss, uncertainty, (left, right)

    def step_at(self, tokens: float) -> float:
        return tokens / self.recipe.tokens_per_iter
