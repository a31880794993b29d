"""`compare` is fair: matched schedule position, 'not comparable' when it is not, differences
judged against eval noise and seed spread, --select/--ignore honoured. On real pairs of runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plateau_doctor import compare
from plateau_doctor.rules import RuleSettings

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "examples" / "logs"
HEALTHY_2K = LOGS / "h200_shakespeare_char_healthy_2k.log"  # default config, 2000-iter schedule
OVERFIT = LOGS / "h200_shakespeare_char_overfit_default.log"  # same config, 5000-iter schedule
LR_HIGH = LOGS / "h200_shakespeare_char_lr_high_1e-2.log"  # 2000-iter schedule, lr 1e-2
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.log"))  # one config, four seeds
LOWEST_SEED = next(p for p in SEEDS if "59ba1f2d" in p.name)  # final val 3.2731
HIGHEST_SEED = next(p for p in SEEDS if "95dc5712" in p.name)  # final val 3.2839
SHARED = ROOT.parent / "shared" / "logs"


def raised(report) -> set[str]:
    return {f.code for f in report.findings if f.raised}


@pytest.fixture
def mid_schedule(tmp_path) -> Path:
    """The 5000-iteration run as it stood at step 2000: 40% into its schedule, LR still high."""
    lines = OVERFIT.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith("step 2000:"))
    path = tmp_path / "mid_schedule.log"
    path.write_text("".join(lines[: cut + 2]))
    return path


def test_a_mid_schedule_candidate_against_an_annealed_baseline_is_not_comparable(mid_schedule):
    # at matched tokens the candidate is 0.027 above the baseline: its LR is still high, the
    # baseline's has annealed. That is the schedule's doing, not a regression.
    report = compare(str(HEALTHY_2K), str(mid_schedule))
    assert not raised(report)
    assert [f.code for f in report.findings] == ["PD804"]
    assert "40%" in report.findings[0].message and "schedule" in report.verdict


def test_runs_with_different_schedules_are_compared_at_matched_fraction():
    report = compare(str(HEALTHY_2K), str(OVERFIT))
    best = next(f for f in report.findings if f.code == "PD801")
    assert best.evidence["aligned_by"] == "schedule fraction"
    assert best.severity == "info"  # best vals 1.4647 vs 1.4585: within the seed spread
    assert any("matched fraction" in note for note in report.notes)


def test_the_same_schedule_is_compared_at_matched_iterations_and_a_real_regression_is_called():
    report = compare(str(HEALTHY_2K), str(LR_HIGH))
    assert {"PD801", "PD802"} <= raised(report)
    assert report.findings[0].evidence["aligned_by"] == "iteration"


@pytest.mark.parametrize("baseline, candidate", [(LOWEST_SEED, HIGHEST_SEED), (HIGHEST_SEED, LOWEST_SEED)])
def test_two_seeds_of_one_config_are_never_a_regression(baseline, candidate):
    # the most distant pair of 75 seeds: 0.0108 apart, 10x one eval's noise, within seed spread
    report = compare(str(baseline), str(candidate))
    assert not raised(report)
    assert "seed spread" in report.verdict


def test_the_seed_spread_is_measured_when_several_seeds_are_given():
    others = [str(p) for p in SEEDS if p != LOWEST_SEED]
    report = compare(str(LOWEST_SEED), others)
    best = next(f for f in report.findings if f.code == "PD801")
    assert "measured from 3 seeds" in best.evidence["seed_spread_source"]
    assert 0.001 < best.evidence["seed_spread_sd"] < 0.01  # 75 seeds: sd 0.0021
    assert not raised(report)


def test_a_given_seed_spread_changes_the_verdict_where_the_difference_is_beyond_it():
    tight = compare(str(LOWEST_SEED), str(HIGHEST_SEED), seed_spread=0.001)
    assert "PD801" in raised(tight)


def test_select_and_ignore_are_honoured():
    only_best = compare(str(HEALTHY_2K), str(LR_HIGH), settings=RuleSettings(select=["PD801"]))
    assert {f.code for f in only_best.findings} == {"PD801"}
    no_matched = compare(str(HEALTHY_2K), str(LR_HIGH), settings=RuleSettings(ignore=["PD802"]))
    assert "PD802" not in {f.code for f in no_matched.findings}


def test_the_cli_compare_honours_ignore_and_exits_by_what_is_left():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "plateau_doctor",
            "compare",
            str(HEALTHY_2K),
            str(LR_HIGH),
            "--ignore",
            "regression",
            "--format",
            "json",
        ],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["findings"] == []


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/logs is not here (a user's clone)")
def test_real_gpt2_runs_with_an_escalating_lr_are_a_regression_with_lowered_confidence():
    # the same model, data and batch; the candidate's fork doubles the LR every ~1000 steps.
    # Neither log echoes its schedule, so the alignment is said to be fair only if they match.
    report = compare(
        str(SHARED / "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log"),
        str(SHARED / "real_04_nanogpt_gpt2_124M_linesearch_lr_escalates.log"),
    )
    assert {"PD801", "PD802"} <= raised(report)
    assert all(f.confidence <= 0.55 for f in report.findings if f.raised)
    assert any("schedule unknown" in note for note in report.notes)


def test_compare_stays_the_exported_function_once_every_module_is_imported():
    # the module is comparison.py: a module named compare.py would replace the function on import
    import importlib
    import pkgutil

    import plateau_doctor

    for module in pkgutil.iter_modules(plateau_doctor.__path__):
        if module.name != "__main__":
            importlib.import_module(f"plateau_doctor.{module.name}")
    assert plateau_doctor.compare is compare and callable(plateau_doctor.compare)
