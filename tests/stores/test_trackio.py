"""trackio project databases written by the trackio client."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from plateau_doctor.api import diagnose, parse
from plateau_doctor.read import InputError
from plateau_doctor.stores import find_runs


def test_each_run_of_a_project_is_found_by_its_name(trackio_db):
    assert [(r.name, r.kind) for r in find_runs(str(trackio_db))] == [
        (f"{trackio_db}/overfit", "trackio"),
        (f"{trackio_db}/again", "trackio"),
    ]


def test_a_run_reads_as_its_log_with_its_config(trackio_db, curve):
    parsed = parse(f"{trackio_db}/overfit")
    assert parsed.format == "trackio"
    np.testing.assert_array_equal(parsed.iter_table["loss"], [loss for _, loss, _ in curve.iters])
    np.testing.assert_array_equal(parsed.eval_table["val_loss"], [val for _, _, val in curve.evals])
    assert parsed.meta.overrides["block_size"] == repr(curve.config["block_size"])
    assert not any(key.startswith("_") for key in parsed.meta.overrides)  # trackio's _Username, ...
    assert parsed.meta.config_schema == "nanogpt"


def test_a_replayed_overfitting_run_is_diagnosed_overfitting(trackio_db):
    raised = [f.category for f in diagnose(f"{trackio_db}/overfit").findings if f.raised]
    assert raised[0] == "overfitting"  # labels.yaml: expect_top overfitting


def test_nan_written_as_a_string_comes_back_as_nan(trackio_db, tmp_path):
    copy = tmp_path / "p.db"
    shutil.copy(trackio_db, copy)
    with sqlite3.connect(copy) as db:  # how trackio's serialize_values stores a NaN loss
        db.execute("""UPDATE metrics SET metrics = '{"train_loss": "NaN"}'
                      WHERE run_name = 'overfit' AND step = 100""")
    loss = parse(f"{copy}/overfit").iter_table
    assert np.isnan(loss["loss"][loss["iter"].tolist().index(100)])


def test_reading_writes_nothing_next_to_a_wal_database(trackio_db):
    before = sorted(p.name for p in trackio_db.parent.iterdir())
    with sqlite3.connect(f"file:{trackio_db}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as trackio leaves it
    parse(f"{trackio_db}/overfit")
    assert sorted(p.name for p in trackio_db.parent.iterdir()) == before


def test_a_newer_schema_is_an_input_error(trackio_db, tmp_path):
    copy = tmp_path / "p.db"
    shutil.copy(trackio_db, copy)
    with sqlite3.connect(copy) as db:
        db.execute("ALTER TABLE metrics RENAME COLUMN metrics TO payload")
    with pytest.raises(InputError, match=r"table 'metrics' has no column metrics.*newer trackio"):
        parse(str(copy), "trackio")
