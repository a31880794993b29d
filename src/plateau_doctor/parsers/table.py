"""The loss table every parser builds: typed columns filled row by row or block by block, then
handed over as numpy vectors (model.Columns).

No Python object per row: single rows land in `array` columns (8 bytes a number), and blocks of
rows from the vectorised nanoGPT scanner are copied into one preallocated numpy vector per column.
`build()` hands those vectors over without copying them (a million-row log is never held
twice) and applies the resume rule: when a step appears again (a resumed run re-evaluates at its
checkpoint step), the row from the later segment wins. `snapshot()` hands out read-only views of
the same vectors, so a live parser can go on and `watch` pays nothing per snapshot for the rows it
already has: rows are only ever appended past a snapshot's end, a vector outgrown is replaced
(snapshots keep the old one), and the one write into a row already handed out (a checkpoint flag)
goes to a copy.
"""

from __future__ import annotations

import copy
from array import array
from typing import TYPE_CHECKING

from ..model import EVAL_COLUMNS, ITER_COLUMNS, Columns, LogMeta, ParsedLog
from .lines import NAN

if TYPE_CHECKING:
    import numpy as np

# array typecodes: integers stay integers (int64 in the DataFrame), flags are one byte.
ITER_TYPES = {
    "iter": "q",
    "loss": "d",
    "time_ms": "d",
    "mfu": "d",
    "lr": "d",
    "grad_norm": "d",
    "segment": "q",
    "line": "q",
}
EVAL_TYPES = {
    "step": "q",
    "train_loss": "d",
    "val_loss": "d",
    "checkpoint_saved": "b",
    "segment": "q",
    "line": "q",
}
NUMPY_TYPES = {"q": "int64", "d": "float64", "b": "bool"}
assert tuple(ITER_TYPES) == ITER_COLUMNS and tuple(EVAL_TYPES) == EVAL_COLUMNS


class Column:
    """One growing typed column.

    Single values go to `tail` (an array: cheap appends). Blocks of values are copied into
    `data`, one numpy vector with spare capacity sized from the file, so a big log is written
    once, in place (pages of capacity never written are never resident). While every block
    value so far is the same number (the LR of a log that does not print it, the segment of a
    single run) the column only remembers that number and a count.
    """

    __slots__ = ("typecode", "tail", "data", "filled", "constant", "reserve", "shared")

    def __init__(self, typecode: str) -> None:
        self.typecode = typecode
        self.tail = array(typecode)
        self.data: np.ndarray | None = None
        self.filled = 0  # rows in data (or in the constant run)
        self.constant: tuple | None = None  # (value,) while the column is one repeated value
        self.reserve = 0  # rows to allocate room for at the first block
        self.shared = 0  # rows of data that a snapshot's view holds: never written again

    def __len__(self) -> int:
        return self.filled + len(self.tail)

    def extend(self, values: np.ndarray | float, count: int) -> None:
        """Append a block: a vector of `count` values, or one value repeated `count` times."""
        data = self.data
        if data is not None and not self.tail and self.filled + count <= len(data):  # the usual case
            data[self.filled : self.filled + count] = values
            self.filled += count
            return
        if not hasattr(values, "dtype") and self._stays_constant(values):
            self.filled += count
            return
        self._materialise(count)
        self.data[self.filled : self.filled + count] = values
        self.filled += count

    def last(self):
        """The last value (the column must not be empty)."""
        if len(self.tail):
            return self.tail[-1]
        if self.data is not None:
            return self.data[self.filled - 1].item()
        return self.constant[0]

    def set_last(self, value) -> None:
        """Overwrite the last row (a checkpoint flag set after its eval row was added)."""
        if len(self.tail):
            self.tail[-1] = value
        elif self.filled:
            self._materialise(0)
            if self.filled <= self.shared:  # a snapshot holds this row: copy on write
                self.data = self._moved(len(self.data))
            self.data[self.filled - 1] = value

    def to_numpy(self) -> np.ndarray:
        """The whole column as one vector, its memory handed over: nothing may be added after."""
        import numpy as np

        dtype = NUMPY_TYPES[self.typecode]
        if self.data is None and self.constant is None:  # one by one only (most parsers)
            return np.frombuffer(self.tail, dtype=dtype) if len(self.tail) else np.empty(0, dtype)
        if len(self.tail):
            self._materialise(0)
        if self.data is None:  # still one repeated value: a read-only view of it, no memory
            return _repeated(self.constant[0], dtype, self.filled)
        return self.data[: self.filled]

    def view(self) -> np.ndarray:
        """The rows so far as a read-only vector, not copied, that later rows never change (a
        snapshot's). Rows added one by one since the last view are moved into `data` first."""
        import numpy as np

        dtype = NUMPY_TYPES[self.typecode]
        if self._stays_constant():
            return _repeated(self.constant[0], dtype, self.filled)
        if self.data is None and not len(self.tail):
            return np.empty(0, dtype)
        self._materialise(0)
        values = self.data[: self.filled]
        values.flags.writeable = False
        self.shared = self.filled
        return values

    def _stays_constant(self, value: float | None = None) -> bool:
        """While the column has no `data`: are all its rows so far (and `value`, if given) one
        repeated value? If so, the rows added one by one join that constant run."""
        if self.data is not None:
            return False
        if self.constant is not None:
            first = self.constant[0]
        elif len(self.tail):
            first = self.tail[0]
        elif value is not None:
            first = value
        else:
            return False  # no rows at all
        if value is not None and not _same(first, value):
            return False
        if self.tail:  # rows added one by one since: they join the run if they repeat it too
            if not all(_same(first, v) for v in self.tail):
                return False
            self.filled += len(self.tail)
            self.tail = array(self.typecode)
        self.constant = (first,)
        return True

    def _materialise(self, extra: int) -> None:
        """Make sure `data` holds every row so far (tail included) with room for `extra` more."""
        import numpy as np

        need = self.filled + len(self.tail) + extra
        if self.data is None:
            data = np.empty(max(need, self.reserve), dtype=NUMPY_TYPES[self.typecode])
            if self.constant is not None:
                data[: self.filled] = self.constant[0]
                self.constant = None
            self.data = data
        elif need > len(self.data):  # outgrown: a new vector (snapshots keep the old one)
            self.data = self._moved(max(need, len(self.data) * 3 // 2))
        if len(self.tail):
            self.data[self.filled : self.filled + len(self.tail)] = np.frombuffer(self.tail, self.data.dtype)
            self.filled += len(self.tail)
            self.tail = array(self.typecode)

    def _moved(self, capacity: int) -> np.ndarray:
        """The filled rows in a fresh vector of `capacity` rows, which no snapshot holds."""
        import numpy as np

        fresh = np.empty(capacity, dtype=self.data.dtype)
        fresh[: self.filled] = self.data[: self.filled]
        self.shared = 0
        return fresh


def _repeated(value: float, dtype: str, rows: int) -> np.ndarray:
    """One value `rows` times, as a read-only view of a single number: no memory per row (a
    million-row log that prints no LR would otherwise hold 8 MB of NaN)."""
    import numpy as np

    return np.broadcast_to(np.array(value, dtype=dtype), (rows,))


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # NaN (no LR printed) repeats too


class LossTableBuilder:
    """Accumulates iteration and eval rows; one instance per parsed log."""

    def __init__(self, fmt: str, traits: dict | None = None) -> None:
        self.format = fmt
        self.meta = LogMeta(**(traits or {}))  # the format's TRAITS: what its numbers mean
        self.segment = 0
        self._iter = {name: Column(code) for name, code in ITER_TYPES.items()}
        self._eval = {name: Column(code) for name, code in EVAL_TYPES.items()}
        self.last_iter: int | None = None
        self.last_step: int | None = None
        self.rows_in_segment = 0
        self.fresh: dict[int, int] = {}  # segments that start from scratch: their first line
        self._first_step: int | None = None  # the log's first step: a segment starting there is a new run

    # -- segments -------------------------------------------------------------------------
    def new_segment(self) -> None:
        """A new run starts in the same file (a header after data, or steps going backwards)."""
        if self.rows_in_segment:
            self.segment += 1
            self.rows_in_segment = 0
            self.last_iter = self.last_step = None

    def reserve_iters(self, rows: int) -> None:
        """Room for about this many iteration rows (from the file size), allocated at the first
        block; unused room costs address space, not memory."""
        for column in self._iter.values():
            column.reserve = rows

    # -- rows -----------------------------------------------------------------------------
    def add_iter(
        self,
        it: float,
        loss: float,
        line: int,
        time_ms: float = NAN,
        mfu: float = NAN,
        lr: float = NAN,
        grad_norm: float = NAN,
    ) -> None:
        it = int(it)
        if self.last_iter is not None and it < self.last_iter:
            self.new_segment()
        self._note_start(it, line)
        cols = self._iter
        cols["iter"].tail.append(it)
        cols["loss"].tail.append(loss)
        cols["time_ms"].tail.append(time_ms)
        cols["mfu"].tail.append(mfu)
        cols["lr"].tail.append(lr)
        cols["grad_norm"].tail.append(grad_norm)
        cols["segment"].tail.append(self.segment)
        cols["line"].tail.append(line)
        self.last_iter = it
        self.rows_in_segment += 1

    def add_iter_block(
        self,
        iters: np.ndarray,
        loss: np.ndarray,
        lines: np.ndarray | int,
        *,
        time_ms: np.ndarray | float,
        mfu: np.ndarray | float,
        lr: np.ndarray | float = NAN,
        grad_norm: np.ndarray | float = NAN,
    ) -> None:
        """Many iteration rows at once (numpy vectors, or one value for every row, in add_iter's
        order; `lines` too, for rows that have no log line), with add_iter's segment rule applied
        wherever the iteration number goes backwards inside the block."""
        import numpy as np

        if not len(iters):
            return
        bounds = [0, len(iters)]
        drops = iters[1:] < iters[:-1]
        if drops.any():  # rare: a restart inside the block
            bounds[1:1] = (np.flatnonzero(drops) + 1).tolist()
        for a, b in zip(bounds, bounds[1:], strict=False):
            first = int(iters[a])
            if self.last_iter is not None and first < self.last_iter:
                self.new_segment()
            self._note_start(first, int(lines[a]) if hasattr(lines, "dtype") else lines)
            count = b - a
            cols = self._iter
            cols["iter"].extend(iters[a:b], count)
            cols["loss"].extend(loss[a:b], count)
            per_row = (
                ("time_ms", time_ms),
                ("mfu", mfu),
                ("lr", lr),
                ("grad_norm", grad_norm),
                ("line", lines),
            )
            for name, values in per_row:
                cols[name].extend(values[a:b] if hasattr(values, "dtype") else values, count)
            cols["segment"].extend(self.segment, count)
            self.last_iter = int(iters[b - 1])
            self.rows_in_segment += count

    def add_eval(self, step: float, train_loss: float, val_loss: float, line: int) -> None:
        step = int(step)
        if self.last_step is not None and step < self.last_step:
            self.new_segment()
        self._note_start(step, line)
        cols = self._eval
        cols["step"].tail.append(step)
        cols["train_loss"].tail.append(train_loss)
        cols["val_loss"].tail.append(val_loss)
        cols["checkpoint_saved"].tail.append(0)
        cols["segment"].tail.append(self.segment)
        cols["line"].tail.append(line)
        self.last_step = step
        self.rows_in_segment += 1

    def _note_start(self, step: int, line: int) -> None:
        """The first row of a segment at step 0 or 1, or back at the log's first step (a trainer
        that logs every 100 iterations first prints step 100), starts a new run from scratch; a
        resumed run starts where its checkpoint was."""
        if self._first_step is None:
            self._first_step = step
        if not self.rows_in_segment and step <= max(1, self._first_step):
            self.fresh[self.segment] = line

    def mark_checkpoint(self) -> None:
        """`saving checkpoint` right after an eval: that eval's weights were saved."""
        self.meta.checkpoints_saved += 1
        self._eval["checkpoint_saved"].set_last(1)

    @property
    def n_iters(self) -> int:
        return len(self._iter["iter"])

    def last_iter_row(self) -> dict | None:
        """The latest iteration row as it was added (for a live view; O(1))."""
        if not self.n_iters:
            return None
        return {name: column.last() for name, column in self._iter.items()}

    def eval_rows(self, start: int = 0) -> list[tuple[int, float, float]]:
        """(step, train_loss, val_loss) of the eval rows from `start` on, in log order."""
        cols = self._eval
        return list(
            zip(
                cols["step"].view()[start:].tolist(),
                cols["train_loss"].view()[start:].tolist(),
                cols["val_loss"].view()[start:].tolist(),
                strict=False,
            )
        )

    @property
    def n_evals(self) -> int:
        return len(self._eval["step"])

    # -- output ---------------------------------------------------------------------------
    def build(self, n_lines: int, excerpt: bool = False) -> ParsedLog:
        """The final table. It takes over the columns' memory, so nothing may be added after.
        `excerpt`: the log showed it is cut from a longer one (an elision line)."""
        self.meta.excerpt = self.meta.excerpt or excerpt
        return self._frames(n_lines, self.meta, consume=True)

    def snapshot(self, n_lines: int, meta: LogMeta | None = None) -> ParsedLog:
        """The table so far as read-only views of the columns, not copied: the builder can go on
        growing (`watch`), and rows it adds later never show in this snapshot. `meta`, if
        given, is a copy of self.meta the caller completed."""
        return self._frames(n_lines, meta or copy.deepcopy(self.meta), consume=False)

    def _frames(self, n_lines: int, meta: LogMeta, consume: bool) -> ParsedLog:
        meta.n_lines = n_lines
        # Several runs from scratch in one file (pasted one after another) are not one curve:
        # the report is about the last, with its resumes. A resume replaces repeated steps.
        first = max((seg for seg in self.fresh if seg > 0), default=0)
        if first:
            note = (
                f"the log holds {len(self.fresh)} runs that start from step 0; the report is "
                f"about the last one, from line {self.fresh[first]:,}"
            )
            if note not in meta.notes:
                meta.notes.append(note)
            meta.runs = self._run_spans()
        meta.n_segments = self.segment + 1 - first if (self.n_iters or self.n_evals) else 0
        iters = _table(self._iter, "iter", consume, first)
        evals = _table(self._eval, "step", consume, first)
        return ParsedLog(format=self.format, iter_table=iters, eval_table=evals, meta=meta)

    def _run_spans(self) -> list[tuple[int, int]]:
        """(first, last) data line of each run from scratch, in log order; a run is a fresh
        segment with the resumed segments after it."""
        import numpy as np

        starts = sorted({0, *self.fresh})
        segments = np.concatenate([self._iter["segment"].view(), self._eval["segment"].view()])
        lines = np.concatenate([self._iter["line"].view(), self._eval["line"].view()])
        run = np.searchsorted(np.array(starts), segments, side="right") - 1
        spans = []
        for index in range(len(starts)):
            mine = lines[run == index]
            if len(mine):
                spans.append((int(mine.min()), int(mine.max())))
        return spans


def _table(columns: dict[str, Column], key: str, consume: bool, first_segment: int = 0) -> Columns:
    """The rows from `first_segment` on, with the resume rule applied: for a repeated step keep
    the last row, and sort by step. With `consume` the columns' own vectors are handed over, so a
    big log is never held twice; otherwise read-only views of them (Column.view)."""
    keys = _column(columns[key], consume)
    if first_segment:
        import numpy as np

        later = np.flatnonzero(columns["segment"].view() >= first_segment)
        keep = _later_segment_wins(keys[later])
        keep = later if keep is None else later[keep]
    else:
        keep = _later_segment_wins(keys)
    arrays = {}
    for name, column in columns.items():
        values = keys if name == key else _column(column, consume)
        arrays[name] = values if keep is None else values[keep]
    return Columns(arrays)


def _column(column: Column, consume: bool) -> np.ndarray:
    return column.to_numpy() if consume else column.view()


def _later_segment_wins(keys: np.ndarray) -> np.ndarray | None:
    """Row positions that survive the resume rule, in step order; None when the steps already
    increase strictly (the usual case: nothing to drop or reorder)."""
    import numpy as np

    if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])):
        return None
    # np.unique on the reversed keys finds each key's first position there, i.e. its last
    # position in the log, and returns the keys sorted.
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    return len(keys) - 1 - first_in_reversed
