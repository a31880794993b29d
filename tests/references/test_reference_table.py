"""The curated references are well-formed, every number has a public source, and the two
computations on them (the loss at a token count, the LR at a step) do what they say."""

from __future__ import annotations

import math
import re

import pytest

import plateau_doctor
from plateau_doctor.reference_runs import REFERENCES
from plateau_doctor.reference_runs.curve import SCHEDULE_KINDS, Schedule

COMMIT_PINNED = re.compile(r"^[\w.-]+/[\w.-]+:\S+@[0-9a-f]{40}$")  # owner/repo:path@commit
WHERE = re.compile(
    r"https://github\.com/\S+|^[\w.-]+/[\w.-]+:\S+@[0-9a-f]{40}|code-search index file id \d+"
    r"|shared/notes/DOMAIN\.md"
)


@pytest.mark.parametrize("ref", REFERENCES, ids=lambda r: r.key)
def test_every_point_and_spread_names_a_public_source(ref):
    for point in ref.points:
        assert point.source in ref.sources, (ref.key, point)
    assert ref.seed_spread_source in ref.sources
    assert "config" in ref.sources  # the recipe itself is cited
    for key, source in ref.sources.items():
        assert source.what and WHERE.search(source.where), (ref.key, key, source.where)
    assert COMMIT_PINNED.match(ref.sources["config"].where)


@pytest.mark.parametrize("ref", REFERENCES, ids=lambda r: r.key)
def test_points_are_in_token_order_and_tokens_are_steps_times_the_batch(ref):
    tokens = [p.tokens for p in ref.points]
    assert tokens == sorted(set(tokens)) and len(tokens) >= 2
    for p in ref.points:
        assert p.tokens == p.step * ref.recipe.tokens_per_iter
        assert 0 < p.val_loss < math.log(max(ref.recipe.vocab_sizes))  # below a uniform guess
        assert 0 <= p.uncertainty < ref.seed_spread * 10


@pytest.mark.parametrize("ref", REFERENCES, ids=lambda r: r.key)
def test_recipe_and_spread_are_complete(ref):
    recipe = ref.recipe
    assert recipe.n_params > 0 and recipe.tokens_per_iter > 0 and recipe.vocab_sizes
    assert recipe.schedule.kind in SCHEDULE_KINDS
    assert ref.points[-1].step <= recipe.max_iters
    assert ref.eval_kind in ("resampled", "fixed")
    assert 0 < ref.seed_spread < 0.05 * ref.points[-1].val_loss
    assert all(name == re.sub(r"[^a-z0-9]", "", name) for name in recipe.dataset_names)


def test_keys_are_unique_and_the_api_lists_them_all():
    keys = [r.key for r in plateau_doctor.references()]
    assert len(keys) == len(set(keys)) == len(REFERENCES)
    assert {
        "nanogpt-gpt2-124m-owt",
        "llmc-gpt2-124m-fineweb10b",
        "nanogpt-shakespeare-char",
        "modded-nanogpt-124m-muon-2024-10-10",
    } <= set(keys)


def test_loss_at_interpolates_in_log_tokens_and_refuses_outside_the_points():
    ref = next(r for r in REFERENCES if r.key == "llmc-gpt2-124m-fineweb10b")
    a, b = ref.points[3], ref.points[4]  # 5,000 and 7,500 steps
    middle = math.sqrt(a.tokens * b.tokens)  # halfway in log-tokens
    loss, uncertainty, pair = ref.loss_at(middle)
    assert loss == pytest.approx((a.val_loss + b.val_loss) / 2)
    assert pair == (a, b) and uncertainty == a.uncertainty
    assert ref.loss_at(a.tokens)[0] == pytest.approx(a.val_loss)
    with pytest.raises(ValueError, match="outside"):
        ref.loss_at(ref.first_tokens - 1)
    with pytest.raises(ValueError, match="outside"):
        ref.loss_at(ref.last_tokens + 1)


def test_llmc_schedule_reproduces_the_lr_its_public_log_printed(real_log):
    # real_40 is the reference's own run; main.log prints lr with 6 decimals
    ref = next(r for r in REFERENCES if r.key == "llmc-gpt2-124m-fineweb10b")
    printed = {}
    for line in real_log("shared", "real_40_llmc_gpt2_124M_8xH100_main.log").read_text().splitlines():
        m = re.match(r"s:(\d+) trl:\S+ lr:(\S+)", line)
        if m:
            printed[int(m.group(1))] = float(m.group(2))
    for step in (350, 699, 5000, 9780, 15000, 19559):
        assert ref.recipe.schedule.lr_at(step) == pytest.approx(printed[step], abs=1e-6), step


def test_a_warmdown_schedule_holds_its_peak_then_falls_linearly_to_the_end():
    s = Schedule(
        "linear_warmdown", peak_lr=0.0036, warmup_iters=0, decay_iters=6200, final_lr=0.0, warmdown_iters=1800
    )
    assert s.fraction_of_peak(4400) == pytest.approx(1.0)
    assert s.fraction_of_peak(5300) == pytest.approx(0.5)
    assert s.fraction_of_peak(6200) == pytest.approx(0.0)
