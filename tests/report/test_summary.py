"""The sweep summary's seed groups: runs whose paths differ only by a seed token and whose logs
show one recipe give the seed spread, and recipes are compared in units of it."""

from __future__ import annotations

import shutil
from pathlib import Path

from plateau_doctor import diagnose
from plateau_doctor.model import Report, RunFacts
from plateau_doctor.report.markdown import render as render_markdown
from plateau_doctor.report.summary import Summary, seed_recipe
from plateau_doctor.report.text import render_summary

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"


def run(path: str, best_val: float, max_iters: int = 5000) -> Report:
    facts = RunFacts(best_val_loss=best_val, max_iters=max_iters, tokens_per_iter=16384, n_params=10_650_000)
    return Report(path=path, format="nanogpt", lines=100, segments=1, run=facts, findings=[])


def test_a_seed_token_in_the_path_makes_a_recipe_and_a_word_like_seedsweep_does_not():
    assert seed_recipe(run("sweep/lr3e-4/seed_1/train.log", 1.5))[0] == "sweep/lr3e-4/seed*/train.log"
    assert seed_recipe(run("runs/seed-8b82b55d-6955/log.txt", 1.5))[0] == "runs/seed*/log.txt"
    assert seed_recipe(run("seedsweep/lr3e-4/train.log", 1.5)) is None
    assert seed_recipe(run("runs/seeds/train.log", 1.5)) is None


def test_the_real_seeds_of_one_record_measure_its_spread(tmp_path):
    # four of the 75 seeds of one modded-nanogpt record (tests/fixtures/seeds/SOURCES.md):
    # best vals 3.2731, 3.2773, 3.2783, 3.2839
    for log in SEEDS.glob("*.log"):
        shutil.copy(log, tmp_path / log.name)
    summary = Summary.of([diagnose(str(p)) for p in sorted(tmp_path.glob("*.log"))])
    [group] = summary.seed_groups()
    assert len(group.rows) == 4 and abs(group.mean - 3.2782) < 1e-3 and 0.003 < group.sd < 0.006
    assert "4 seeds of" in render_summary(summary) and "sd 0.0044 (3.2731-3.2839)" in render_summary(summary)


def test_a_recipe_worse_by_many_standard_errors_is_beyond_seed_spread():
    reports = [run(f"lr1e-3/seed{k}/log", v) for k, v in enumerate((1.470, 1.474, 1.472))]
    reports += [run(f"lr3e-3/seed{k}/log", v) for k, v in enumerate((1.520, 1.523, 1.517))]
    lines = Summary.of(reports).seed_lines()
    assert lines[0].startswith("3 seeds of lr1e-3/seed*/log: best val 1.4720 mean")
    assert lines[1].endswith(
        "+0.0480 vs lr1e-3/seed*/log (23.1 standard errors: beyond seed spread)"
    )  # README


def test_recipes_apart_by_less_than_their_seeds_vary_are_within_seed_spread():
    reports = [run(f"a/seed{k}/log", v) for k, v in enumerate((1.470, 1.480, 1.460))]
    reports += [run(f"b/seed{k}/log", v) for k, v in enumerate((1.475, 1.485, 1.465))]
    assert "within seed spread" in Summary.of(reports).seed_lines()[1]


def test_one_path_pattern_with_two_recipes_is_not_one_seed_group():
    reports = [run("x/seed1/log", 1.47, max_iters=5000), run("x/seed2/log", 1.20, max_iters=20000)]
    assert Summary.of(reports).seed_groups() == []


def test_the_markdown_summary_lists_the_seed_groups():
    reports = [run(f"lr1e-3/seed{k}/log", v) for k, v in enumerate((1.470, 1.474))]
    page = render_markdown(reports, [], "0.1.0")
    assert "Seed spread, measured from runs that differ only by seed:" in page
    assert "- 2 seeds of lr1e-3/seed\\*/log" in page
