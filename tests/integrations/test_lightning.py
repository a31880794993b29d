"""The Lightning callback on real tiny runs: an embedding and a linear head (a bigram model) trained
on the CPU for 60 steps, validated every 10, logging every 5 (tiny_runs.py, in a process of its own)."""

from __future__ import annotations

import json
import os

import pytest
from tiny_runs import JUMP_AT, results_of


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return results_of("lightning", tmp_path_factory.mktemp("lightning"))


def report_of(run: dict) -> dict:
    with open(os.path.join(run["dir"], "report.json")) as handle:
        return json.load(handle)


def test_a_healthy_run_goes_to_its_end_and_leaves_both_reports_in_the_log_dir(runs):
    run = runs["healthy"]
    assert run["global_step"] == runs["max_steps"]
    assert len(run["lines"]) == runs["max_steps"] // runs["eval_every"] + 1
    assert run["lines"][0].startswith("plateau-doctor step 10: Val ")
    assert not any("stopping" in line for line in run["lines"])
    assert {"report.json", "report.html"} <= set(run["files"])
    assert os.path.dirname(run["dir"]) != run["root"]  # the logger's version dir, not the root
    report = report_of(run)
    assert report["source"]["format"] == "lightning_callback"
    assert report["run"]["last_iter"] == runs["max_steps"] == report["run"]["max_iters"]
    assert report["run"]["last_val_loss"] < 2.5  # it learned: ln(64) = 4.16 at init
    assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_stop_on_error_stops_a_diverging_run_and_the_report_says_divergence(runs):
    run = runs["diverging"]
    assert JUMP_AT < run["global_step"] < runs["max_steps"]
    stop = [line for line in run["lines"] if "stopping training" in line]
    assert len(stop) == 1 and "divergence PD10" in stop[0]
    assert any(
        f["category"] == "divergence" and "error" in (f["severity"], f.get("severity_as_found"))
        for f in report_of(run)["findings"]
    )


def test_by_default_the_callback_never_stops_even_a_diverging_run(runs):
    run = runs["diverging_default"]
    assert run["global_step"] == runs["max_steps"]
    assert not any("stopping" in line for line in run["lines"])


def test_a_loss_logged_under_another_name_is_noted_in_the_report_not_raised(runs):
    run = runs["other_val_key"]
    assert run["global_step"] == runs["max_steps"]
    assert any(note.startswith("no val loss among the logged metrics") for note in report_of(run)["notes"])
