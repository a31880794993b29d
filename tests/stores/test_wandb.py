"""A W&B run directory written by the wandb client (offline): output.log as stdout, config.yaml."""

from __future__ import annotations

import json

import pytest

from plateau_doctor.api import diagnose, parse
from plateau_doctor.read import InputError
from plateau_doctor.stores import find_runs


def test_the_run_directory_reads_its_stdout_with_the_log_parsers(wandb_run):
    parsed = parse(str(wandb_run))
    plain = parse(str(_log()))
    assert parsed.format == plain.format == "nanogpt"  # what the stdout is; W&B only kept it
    assert parsed.iter_table["loss"].tolist() == plain.iter_table["loss"].tolist()
    assert parsed.eval_table["val_loss"].tolist() == plain.eval_table["val_loss"].tolist()
    assert any("W&B run directory" in note for note in parsed.meta.notes)


def test_config_yaml_values_are_unwrapped_from_their_value_keys(wandb_run):
    meta = parse(str(wandb_run)).meta
    assert meta.overrides["learning_rate"] == repr(0.001)  # config.yaml: {desc: null, value: 0.001}
    assert meta.overrides["n_layer"] == "6"
    assert "_wandb" not in meta.overrides


def test_a_replayed_overfitting_run_is_diagnosed_overfitting(wandb_run):
    raised = [f.category for f in diagnose(str(wandb_run)).findings if f.raised]
    assert raised[0] == "overfitting"  # labels.yaml: expect_top overfitting


def test_the_summary_values_become_a_note(wandb_run, tmp_path):
    import shutil

    copy = tmp_path / wandb_run.name
    shutil.copytree(wandb_run, copy)
    (copy / "files" / "wandb-summary.json").write_text(
        json.dumps({"train/loss": 0.62, "val/loss": 1.70, "_step": 21})
    )
    notes = parse(str(copy)).meta.notes
    assert "W&B summary (last logged values): train/loss=0.62, val/loss=1.7" in notes


def test_a_config_of_an_unknown_version_is_skipped_with_a_note(wandb_run, tmp_path):
    import shutil

    copy = tmp_path / wandb_run.name
    shutil.copytree(wandb_run, copy)
    config = copy / "files" / "config.yaml"
    config.write_text(config.read_text().replace("wandb_version: 1", "wandb_version: 2"))
    meta = parse(str(copy)).meta
    assert "learning_rate" not in meta.overrides
    assert any("wandb_version 2" in note for note in meta.notes)


def test_a_run_without_output_log_says_where_its_metrics_are(wandb_run, tmp_path):
    import shutil

    copy = tmp_path / wandb_run.name
    shutil.copytree(wandb_run, copy)
    (copy / "files" / "output.log").unlink()
    with pytest.raises(InputError, match="without files/output.log.*binary .wandb file"):
        parse(str(copy))


def test_the_latest_run_link_does_not_count_the_run_twice(wandb_run, tmp_path):
    import shutil

    root = tmp_path / "project"
    shutil.copytree(wandb_run.parent, root / "wandb", symlinks=True)
    latest = root / "wandb" / "latest-run"  # wandb makes it; the committed copy has none
    if not latest.is_symlink():
        latest.symlink_to(root / "wandb" / wandb_run.name)
    assert [(r.name, r.kind) for r in find_runs(str(root))] == [
        (str(root / "wandb" / wandb_run.name), "wandb")
    ]


def _log():
    import store_writers

    return store_writers.OVERFIT_LOG
