"""The loss table: numpy columns for the diagnosis, the same data as DataFrames on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from plateau_doctor.model import EVAL_COLUMNS, ITER_COLUMNS
from plateau_doctor.parsers import parse_lines
from plateau_doctor.read import open_log

OVERFIT = (
    Path(__file__).resolve().parents[2] / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"
)


def test_dataframes_hold_exactly_the_columns_the_analyses_read():
    parsed = parse_lines(open_log(str(OVERFIT)).lines)
    for table, frame, names in (
        (parsed.iter_table, parsed.iters, ITER_COLUMNS),
        (parsed.eval_table, parsed.evals, EVAL_COLUMNS),
    ):
        assert isinstance(frame, pd.DataFrame)
        assert tuple(frame.columns) == names
        assert len(frame) == len(table) > 0
        for name in names:
            np.testing.assert_array_equal(frame[name].to_numpy(), table[name])


def test_the_dataframe_is_built_once_and_shares_the_columns_memory():
    parsed = parse_lines(open_log(str(OVERFIT)).lines)
    assert parsed.iters is parsed.iters
    assert np.shares_memory(parsed.iters["loss"].to_numpy(), parsed.iter_table["loss"])


def test_rows_selects_the_same_rows_of_every_column():
    parsed = parse_lines(open_log(str(OVERFIT)).lines)
    late = parsed.eval_table.rows(slice(len(parsed.eval_table) // 2, None))
    assert len(late) == len(parsed.eval_table) - len(parsed.eval_table) // 2
    assert late["step"][0] == parsed.eval_table["step"][len(parsed.eval_table) // 2]
    assert late["line"][-1] == parsed.eval_table["line"][-1]


def test_a_log_with_no_evals_has_an_empty_eval_table_with_every_column():
    parsed = parse_lines(
        ["iter 0: loss 4.0000, time 10.00ms, mfu -100.00%", "iter 1: loss 3.9000, time 10.00ms, mfu -100.00%"]
    )
    assert parsed.eval_table.empty and len(parsed.eval_table) == 0
    assert tuple(parsed.evals.columns) == EVAL_COLUMNS


def test_a_resumed_run_replaces_only_the_steps_it_repeats():
    from plateau_doctor.parsers.table import LossTableBuilder

    table = LossTableBuilder("nanogpt")
    for it in range(0, 300, 10):
        table.add_iter(it, 3.0 - it / 1000, it + 1)
    for it in range(200, 400, 10):  # resumed from the checkpoint at 200
        table.add_iter(it, 2.5 - it / 1000, 1000 + it)
    parsed = table.build(2000)
    steps = parsed.iter_table["iter"].tolist()
    assert steps == list(range(0, 400, 10))
    assert parsed.iter_table["segment"][steps.index(250)] == 1 and parsed.iter_table["segment"][0] == 0
    assert not any("start from step 0" in note for note in parsed.meta.notes)


def test_runs_from_scratch_pasted_one_after_another_leave_the_last_one_and_its_resumes():
    from plateau_doctor.parsers.table import LossTableBuilder

    table = LossTableBuilder("nanogpt")
    line = 0
    for start, stop, level in ((0, 500, 5.0), (0, 300, 4.0), (100, 600, 3.0)):  # run, run, resume
        for it in range(start, stop, 100):
            line += 1
            table.add_eval(it, level, level + 0.1, line)
    parsed = table.build(line)
    assert parsed.eval_table["step"].tolist() == [0, 100, 200, 300, 400, 500]
    assert parsed.eval_table["train_loss"].tolist() == [4.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    assert parsed.meta.n_segments == 2
    assert any(
        "2 runs that start from step 0; the report is about the last one, from line 6" in n
        for n in parsed.meta.notes
    )


def test_a_block_given_one_line_number_for_every_row_is_the_block_given_that_number_per_row():
    from plateau_doctor.parsers.table import LossTableBuilder

    iters = np.array([5, 6, 7, 2, 3], dtype=np.int64)  # a restart inside the block
    loss = np.array([3.0, 2.9, 2.8, 3.1, 3.0])
    tables = []
    for lines in (0, np.zeros(5, dtype=np.int64)):
        builder = LossTableBuilder("test", {})
        builder.add_iter_block(iters, loss, lines, time_ms=np.nan, mfu=np.nan)
        tables.append(builder.build(0))
    scalar, vector = (parsed.iter_table for parsed in tables)
    assert tables[0].meta == tables[1].meta  # what the first rows noted: runs, starts
    for key in vector.arrays:
        assert np.array_equal(scalar[key], vector[key], equal_nan=True), key
        assert scalar[key].dtype == vector[key].dtype, key
