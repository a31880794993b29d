"""The loss table: numpy columns for the diagnosis, the same data as DataFrames on request."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from plateau_doctor.model import EVAL_COLUMNS, ITER_COLUMNS
from plateau_doctor.parsers import parse_lines
from plateau_doctor.read import open_log

OVERFIT = Path(__file__).resolve().parents[2] / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"


def test_dataframes_hold_exactly_the_columns_the_analyses_read():
    parsed = parse_lines(open_log(str(OVERFIT)).lines)
    for table, frame, names in ((parsed.iter_table, parsed.iters, ITER_COLUMNS),
                                (parsed.eval_table, parsed.evals, EVAL_COLUMNS)):
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
    parsed = parse_lines(["iter 0: loss 4.0000, time 10.00ms, mfu -100.00%",
                          "iter 1: loss 3.9000, time 10.00ms, mfu -100.00%"])
    assert parsed.eval_table.empty and len(parsed.eval_table) == 0
    assert tuple(parsed.evals.columns) == EVAL_COLUMNS
