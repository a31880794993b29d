"""The transformers Trainer callback on real tiny runs: a 1-layer GPT-2 (n_embd 32, vocab 64)
trained on the CPU for 50 steps with an eval every 10 (tiny_runs.py, in a process of its own)."""

from __future__ import annotations

import json
import os

import pytest
from tiny_runs import BATCH, JUMP_AT, SEQ, results_of


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return results_of("hf", tmp_path_factory.mktemp("hf"))


def report_of(run: dict) -> dict:
    with open(os.path.join(run["dir"], "report.json")) as handle:
        return json.load(handle)


def test_a_healthy_run_goes_to_its_end_and_leaves_both_reports_in_output_dir_only(runs):
    run = runs["healthy"]
    assert run["global_step"] == runs["max_steps"]
    assert len(run["lines"]) == runs["max_steps"] // runs["eval_every"] + 1  # one per eval, one at the end
    assert run["lines"][0].startswith("plateau-doctor step 10: Val ")
    assert not any("stopping" in line for line in run["lines"])
    assert run["files"] == ["report.html", "report.json"]  # and nothing half-written beside them
    assert run["cwd_files"] == []
    report = report_of(run)
    assert report["source"]["format"] == "hf_trainer_callback"
    assert report["run"]["last_iter"] == runs["max_steps"] == report["run"]["max_iters"]
    assert report["run"]["tokens_per_iter"] == BATCH * SEQ
    assert report["run"]["n_params"] == run["n_params"]
    assert report["run"]["last_val_loss"] < 2.5  # it learned: ln(64) = 4.16 at init
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    with open(os.path.join(run["dir"], "report.html")) as handle:
        assert report["verdict"].split(". ")[0] in handle.read()


def test_stop_on_error_stops_a_diverging_run_and_the_report_says_divergence(runs):
    run = runs["diverging"]
    assert JUMP_AT < run["global_step"] < runs["max_steps"]
    stop = [line for line in run["lines"] if "stopping training" in line]
    assert len(stop) == 1 and "divergence PD10" in stop[0]
    report = report_of(run)
    assert any(
        f["category"] == "divergence" and "error" in (f["severity"], f.get("severity_as_found"))
        for f in report["findings"]
    )
    assert any("ended early by design: plateau-doctor's callback" in note for note in report["notes"])


def test_by_default_the_callback_never_stops_even_a_diverging_run(runs):
    run = runs["diverging_default"]
    assert run["global_step"] == runs["max_steps"]
    assert not any("stopping" in line for line in run["lines"])
    assert any(f["category"] == "divergence" for f in report_of(run)["findings"])


def test_a_callback_that_fails_logs_it_once_and_training_goes_on(runs):
    run = runs["failing"]
    assert run["global_step"] == runs["max_steps"]
    assert len(run["warnings"]) == 1 and "training goes on" in run["warnings"][0]
    assert run["files"] == ["report.html", "report.json"]  # the printing failed, not the report


def test_overfitting_has_a_checkpoint_to_fall_back_to_only_where_the_trainer_saves_one(runs):
    seen, place = runs["checkpoints"], runs["checkpoints"]["dir"]
    assert seen["nothing saved"] == [None, None]  # save_strategy "no"; "steps" with nothing saved yet
    assert seen["two saved"] == [None, os.path.join(place, "checkpoint-20")]  # the latest
    assert seen["best tracked"] == [os.path.join(place, "checkpoint-10")] * 2
