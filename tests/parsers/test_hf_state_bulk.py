"""trainer_state.json's log_history is tabled in bulk when every entry is plain (int steps,
number values); the table must be the one the entry-by-entry loop builds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from plateau_doctor.parsers import hf_trainer

NAN = math.nan


def history_cases() -> dict[str, list]:
    plain = [
        {"loss": 3.0 - i / 100, "learning_rate": 1e-4, "grad_norm": 1.5, "step": i} for i in range(1, 60)
    ]
    plain += [{"eval_loss": 2.9, "step": 30}, {"eval_loss": 2.5, "step": 59}]
    plain.sort(key=lambda e: e["step"])
    restart = [{"loss": 3.0, "step": s} for s in (10, 20, 30)] + [{"eval_loss": 2.0, "step": 30}]
    restart += [{"loss": 3.1, "learning_rate": 2, "step": s} for s in (10, 20)] + [
        {"eval_loss": 2.2, "step": 20}
    ]
    both = [
        {"loss": 2.0, "eval_loss": 2.1, "step": 5},
        {"loss": 1.9, "step": 6},
        {"eval_loss": 1.8, "step": 4},
    ]
    return {
        "plain": plain,
        "restart": restart,
        "loss_and_eval_in_one_entry": both,
        "eval_first": [{"eval_loss": 4.0, "step": 0}, {"loss": 3.0, "step": 1}],
        "summary_and_junk": plain[:5] + [{"train_runtime": 5.0, "step": 59}, [1, 2], {"loss": 1.0}],
        "only_evals": [{"eval_loss": 2.0, "step": s} for s in (1, 2, 3)],
        # entries the table skips between the rows: evals must still land between the right ones
        "junk_between_rows": plain[:3]
        + [[1], {"loss": 9.0}, {"eval_loss": 2.0, "step": 3}, "x", {"loss": 2.0, "eval_loss": 1.0, "step": 4}]
        + [{"train_runtime": 1.0, "loss": 3.0, "eval_loss": 0.5, "step": 5}, {"step": 6}]
        + [{**e, "step": e["step"] + 5} for e in plain[3:9]],
        "empty": [],
        # not plain: the loop reads these (the bulk path must step aside, not misread them)
        "bool_loss": [{"loss": True, "step": 1}, {"loss": 2.0, "step": 2}],
        "string_lr": [{"loss": 2.0, "learning_rate": "1e-4", "step": 1}],
        "float_step": [{"loss": 2.0, "step": 1.0}, {"loss": 1.0, "step": 2.5}],
        "huge_int": [{"loss": 10**400, "step": 1}],
        "negative_step": [{"loss": 2.0, "step": -1}, {"loss": 2.0, "step": 3}],
    }


@pytest.mark.parametrize("name", sorted(history_cases()))
def test_bulk_table_is_the_loop_table(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    state = {"global_step": 100, "max_steps": 200, "log_history": history_cases()[name]}
    lines = json.dumps(state, indent=2).split("\n")
    fast = hf_trainer._parse_state(lines)
    monkeypatch.setattr(hf_trainer, "_bulk_history", lambda history, table: None)
    slow = hf_trainer._parse_state(lines)
    for mine, theirs in ((fast.iter_table, slow.iter_table), (fast.eval_table, slow.eval_table)):
        assert mine.arrays.keys() == theirs.arrays.keys()
        for key in mine.arrays:
            assert mine[key].dtype == theirs[key].dtype, key
            assert np.array_equal(mine[key], theirs[key], equal_nan=True), key
    assert fast.meta == slow.meta


def test_bulk_history_allocates_each_column_once_and_keeps_line_zero_without_a_row_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plateau_doctor.parsers import table

    def no_growth(self, capacity: int):
        raise AssertionError("a column was copied to grow")

    monkeypatch.setattr(table.Column, "_moved", no_growth)
    history = [{"loss": 3.0 - i / 1e4, "learning_rate": 1e-4, "step": i} for i in range(1, 5001)]
    for step in (1000, 2000, 3000, 4000):  # evals cut the rows into five blocks
        history.insert(step, {"eval_loss": 2.5, "step": step})
    parsed = hf_trainer._parse_state(json.dumps({"log_history": history}, indent=2).split("\n"))
    lines = parsed.iter_table["line"]
    assert len(lines) == 5000 and not lines.any()
    assert lines.strides == (0,)  # one stored zero, viewed 5000 times
