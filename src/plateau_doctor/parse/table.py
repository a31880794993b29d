"""The loss table every parser builds: typed columns filled row by row, then frozen into DataFrames.

Rows are kept in `array` columns (8 bytes a number, no Python object per line) so a long log costs
little memory. `build()` applies the resume rule: when a step appears again (a resumed run
re-evaluates at its checkpoint step), the row from the later segment wins.
"""
from __future__ import annotations

from array import array

from ..model import EVAL_COLUMNS, ITER_COLUMNS, LogMeta, ParsedLog

from .lines import NAN


class LossTableBuilder:
    """Accumulates iteration and eval rows; one instance per parsed log."""

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.meta = LogMeta()
        self.segment = 0
        self._iter = {name: array("d") for name in ITER_COLUMNS}
        self._eval = {name: array("d") for name in EVAL_COLUMNS}
        self.last_iter: float | None = None
        self.last_step: float | None = None
        self.rows_in_segment = 0

    # -- segments -------------------------------------------------------------------------
    def new_segment(self) -> None:
        """A new run starts in the same file (a header after data, or steps going backwards)."""
        if self.rows_in_segment:
            self.segment += 1
            self.rows_in_segment = 0
            self.last_iter = self.last_step = None

    # -- rows -----------------------------------------------------------------------------
    def add_iter(self, it: float, loss: float, line: int, time_ms: float = NAN, mfu: float = NAN,
                 lr: float = NAN, grad_norm: float = NAN) -> None:
        if self.last_iter is not None and it < self.last_iter:
            self.new_segment()
        cols = self._iter
        cols["iter"].append(it)
        cols["loss"].append(loss)
        cols["time_ms"].append(time_ms)
        cols["mfu"].append(mfu)
        cols["lr"].append(lr)
        cols["grad_norm"].append(grad_norm)
        cols["segment"].append(self.segment)
        cols["line"].append(line)
        self.last_iter = it
        self.rows_in_segment += 1

    def add_eval(self, step: float, train_loss: float, val_loss: float, line: int) -> None:
        if self.last_step is not None and step < self.last_step:
            self.new_segment()
        cols = self._eval
        cols["step"].append(step)
        cols["train_loss"].append(train_loss)
        cols["val_loss"].append(val_loss)
        cols["checkpoint_saved"].append(0.0)
        cols["segment"].append(self.segment)
        cols["line"].append(line)
        self.last_step = step
        self.rows_in_segment += 1

    def mark_checkpoint(self) -> None:
        """`saving checkpoint` right after an eval: that eval's weights were saved."""
        self.meta.checkpoints_saved += 1
        if self._eval["checkpoint_saved"]:
            self._eval["checkpoint_saved"][-1] = 1.0

    @property
    def n_iters(self) -> int:
        return len(self._iter["iter"])

    @property
    def n_evals(self) -> int:
        return len(self._eval["step"])

    # -- output ---------------------------------------------------------------------------
    def build(self, n_lines: int) -> ParsedLog:
        import numpy as np
        import pandas as pd

        iters = pd.DataFrame({k: np.frombuffer(v, dtype="f8") if len(v) else np.empty(0)
                              for k, v in self._iter.items()})
        evals = pd.DataFrame({k: np.frombuffer(v, dtype="f8") if len(v) else np.empty(0)
                              for k, v in self._eval.items()})
        iters = _later_segment_wins(iters, "iter")
        evals = _later_segment_wins(evals, "step")
        for frame, ints in ((iters, ("iter", "segment", "line")),
                            (evals, ("step", "segment", "line"))):
            for col in ints:
                frame[col] = frame[col].astype("int64")
        evals["checkpoint_saved"] = evals["checkpoint_saved"].astype(bool)
        self.meta.n_lines = n_lines
        self.meta.n_segments = self.segment + 1 if (self.n_iters or self.n_evals) else 0
        return ParsedLog(format=self.format, iters=iters, evals=evals, meta=self.meta)


def _later_segment_wins(frame, key: str):
    """Drop rows whose step is repeated by a later row, then sort by step."""
    if frame.empty:
        return frame.reset_index(drop=True)
    frame = frame.drop_duplicates(subset=[key], keep="last")
    return frame.sort_values(key, kind="stable").reset_index(drop=True)

