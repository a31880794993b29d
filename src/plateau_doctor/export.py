"""`parse --to csv|json|parquet`: the loss table as files other tools read."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator

from .model import ParsedLog
from .output import write_atomically

# One table of iteration and eval rows, a `kind` column telling them apart (CSV, the notebook)
LONG_COLUMNS = [
    "kind",
    "step",
    "loss",
    "train_loss",
    "val_loss",
    "time_ms",
    "mfu",
    "lr",
    "grad_norm",
    "checkpoint_saved",
    "segment",
    "line",
]


def long_table(parsed: ParsedLog):
    """The loss table as one pandas DataFrame: iteration and eval rows by step, `kind` iter/eval."""
    import pandas as pd

    iters = parsed.iters.assign(kind="iter").rename(columns={"iter": "step"})
    evals = parsed.evals.assign(kind="eval")
    table = pd.concat([iters, evals], ignore_index=True, sort=False)
    return table.reindex(columns=LONG_COLUMNS).sort_values(["step", "kind"], kind="stable")


def export_table(parsed: ParsedLog, to: str, output: str | None, threads: int = 1) -> str | bytes | None:
    """CSV: one table with a `kind` column (iter/eval), written by csv_writer in bulk (the text
    pandas' to_csv gives, byte for byte; pandas itself only for a table of unusual column types).
    JSON: {format, meta, iters, evals}. Parquet: written straight to `output` (needs pyarrow);
    returns None then."""
    if to == "csv":
        fast = long_csv(parsed, LONG_COLUMNS, threads)
        if fast is not None:
            return fast
        return long_table(parsed).to_csv(index=False, na_rep="")
    if to == "json":

        def rows(frame):
            return json.loads(frame.to_json(orient="records"))

        m = parsed.meta
        meta = {
            "lines": m.n_lines,
            "segments": m.n_segments,
            "tokens_per_iter": m.tokens_per_iter,
            "n_params": m.n_params,
            "vocab_size": m.vocab_size,
            "init_from": m.init_from,
            "max_iters": m.max_iters,
            "world_size": m.world_size,
            "loss_kind": m.loss_kind,
            "val_metric": m.val_metric,
            "overrides": m.overrides,
            "notes": m.notes,
        }
        return (
            json.dumps(
                {
                    "format": parsed.format,
                    "meta": meta,
                    "iters": rows(parsed.iters),
                    "evals": rows(parsed.evals),
                },
                indent=1,
            )
            + "\n"
        )
    if output is None:
        raise ValueError("parquet output needs --output FILE")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError("parquet output needs pyarrow: pip install 'plateau-doctor[parquet]'") from None
    out = io.BytesIO()
    table = arrow_table(parsed)
    if table is not None:
        import pyarrow.parquet as pq

        pq.write_table(table, out)
    else:
        import pandas as pd

        frames = pd.concat(
            [
                parsed.iters.assign(kind="iter").rename(columns={"iter": "step"}),
                parsed.evals.assign(kind="eval"),
            ],
            ignore_index=True,
            sort=False,
        )
        frames.to_parquet(out, index=False)
    write_atomically(output, out.getvalue())
    return None


def arrow_table(parsed: ParsedLog):
    """The parquet table from the numpy columns, without pandas: the columns, types and nulls
    pandas' to_parquet writes for the concat of iteration and eval rows (NaN as null, `kind` a
    large_string); None for column types pandas alone decides."""
    import numpy as np
    import pyarrow as pa

    names = ["step" if n == "iter" else n for n in parsed.iter_table.arrays]
    names += ["kind"] + [n for n in parsed.eval_table.arrays if n not in names]
    both = merged_columns(parsed, [n for n in names if n != "kind"])
    if both is None:
        return None
    kind, merged = both
    arrays = []
    for name in names:
        if name == "kind":  # "iter" and "eval" are both four bytes
            offsets = np.arange(len(kind) + 1, dtype=np.int64) * 4
            data = np.array([b"eval", b"iter"])[kind].tobytes()
            arrays.append(
                pa.LargeStringArray.from_buffers(len(kind), pa.py_buffer(offsets), pa.py_buffer(data))
            )
            continue
        values, dtype = merged[name].take(), merged[name].dtype
        if dtype.kind == "O":  # booleans with gaps; all gaps is arrow's null type, as pandas gives
            missing = values == 2
            arrays.append(
                pa.nulls(len(values)) if missing.all() else _arrow(pa.bool_(), values == 1, missing)
            )
        elif dtype.kind == "b":
            arrays.append(_arrow(pa.bool_(), values, None))
        elif dtype.kind == "f":
            arrays.append(_arrow(pa.float64(), values.astype(np.float64, copy=False), np.isnan(values)))
        else:
            arrays.append(_arrow(pa.int64(), values.astype(np.int64, copy=False), None))
    return pa.Table.from_arrays(arrays, names=names)  # pa.table() would import pandas to rule it out


# -- CSV in bulk --------------------------------------------------------------------------------
# pandas' to_csv formats each value in Python (~9 s for a 1M-line log). Here every column becomes
# a matrix of bytes, a row per table row and NUL where a shorter value leaves room; the columns
# side by side with the commas and the newline, the NULs dropped, are the file. The text is what
# to_csv writes, byte for byte (tests/test_export.py holds them side by side): ints as ints, floats
# as Python's repr (the shortest string that reads back the same double), NaN as "", booleans
# True/False; a column's type is the one pandas' concat of the two halves would give it.

CHUNK_ROWS = 65_536
# Runs of one kind of row shorter than this on average are formatted together: each run costs
# its own compaction call (~10 us), more than the NULs a short run saves.
MIN_RUN_ROWS = 32
MAX_DECIMALS = 9  # floats with up to this many decimals are written without Python
# While x * 10**d is below 2**50, a double is within 2**-52 of it relative, under a quarter unit:
# round(x * 10**d) is then the d-decimal string that reads back as x, if one does, and
# _decimal_places' tests are exact. Past it, a float times 10**d may round to a neighbour.
EXACT_SCALED = 2.0**50
EXACT_BELOW = EXACT_SCALED / 10**MAX_DECIMALS  # magnitudes settled by the one test at 10**9
LOW_DIGITS = 5  # _trailing_zeros reads digits five at a time from a table of 10**5 entries
LOW_SPAN = 10**LOW_DIGITS
ZERO = 48  # "0"


class Merged:
    """One column of the long table, as pandas' concat of the two halves gives it (a column
    missing from a half is NaN there: ints become floats, booleans objects, kept as codes 0
    False, 1 True, 2 missing), held as its two halves: rows are gathered from them on demand,
    so no column is ever copied whole."""

    def __init__(self, parts: list, lengths: list[int], dtype, stored, fill) -> None:
        self.parts, self.lengths, self.dtype, self.stored, self.fill = parts, lengths, dtype, stored, fill

    def take(self, rows=None):
        """Rows (indices into iteration rows then eval rows) of the column; all of them for None."""
        import numpy as np

        if rows is None:
            return np.concatenate(
                [
                    np.full(n, self.fill, self.stored) if p is None else p
                    for p, n in zip(self.parts, self.lengths, strict=True)
                ]
            )
        in_iter = rows < self.lengths[0]
        for half, every in ((0, in_iter.all()), (1, not in_iter.any())):
            if every:  # rows of one half only (long_csv formats each kind on its own)
                part = self.parts[half]
                at = rows - self.lengths[0] if half else rows
                return np.full(len(rows), self.fill, self.stored) if part is None else part[at]
        out = np.empty(len(rows), self.stored)
        for part, where, at in (
            (self.parts[0], in_iter, rows),
            (self.parts[1], ~in_iter, rows - self.lengths[0]),
        ):
            out[where] = self.fill if part is None else part[at[where]]
        return out


def merged_columns(parsed: ParsedLog, columns: list[str]):
    """(kind, {name: Merged}) for the long table's columns; kind is 1 for an iteration row, 0 for
    an eval, iteration rows first. None for column types pandas alone decides."""
    import numpy as np

    halves = [
        (parsed.iter_table.arrays, len(parsed.iter_table), {"step": "iter"}),
        (parsed.eval_table.arrays, len(parsed.eval_table), {}),
    ]
    lengths = [halves[0][1], halves[1][1]]
    kind = np.concatenate([np.ones(lengths[0], np.int8), np.zeros(lengths[1], np.int8)])
    merged: dict[str, Merged] = {}
    for name in columns:
        parts = []
        for arrays, _length, renamed in halves:
            values = arrays.get(renamed.get(name, name))
            parts.append(None if values is None else np.asarray(values))
        present = [p for p in parts if p is not None]
        if not present:
            merged[name] = Merged([None, None], lengths, np.dtype(np.float64), np.float64, np.nan)
            continue
        kinds = {p.dtype.kind for p in present}
        if not kinds <= {"i", "u", "f", "b"} or ("b" in kinds and len(kinds) > 1):
            return None  # strings, objects, bool mixed with numbers: pandas decides
        dtype = np.result_type(*present)
        if len(present) < len(parts):  # missing in one half: NaN there, as pandas fills it
            if dtype.kind == "b":
                dtype = np.dtype(object)
            elif dtype.kind in "iu":
                dtype = np.dtype(np.float64)
        if dtype.kind == "O":
            stored, fill = np.int8, 2
        else:
            stored, fill = dtype, np.nan
        cast = [None if p is None else p.astype(stored, copy=False) for p in parts]
        merged[name] = Merged(cast, lengths, dtype, stored, fill)
    return kind, merged


def long_csv(parsed: ParsedLog, columns: list[str], threads: int = 1) -> bytes | None:
    """The long table (LONG_COLUMNS, rows by step, eval before iter at one step) as CSV bytes;
    None for a table whose column types this does not know (pandas writes those)."""
    import numpy as np

    both = merged_columns(parsed, columns[1:])
    if both is None:
        return None
    kind, merged = both
    step = merged["step"].take()
    if step.dtype.kind == "f" and np.isnan(step).any():
        return None  # pandas puts NaN steps last in its own way
    order = np.lexsort((kind, step))
    out = [(",".join(columns) + "\n").encode()]
    # in chunks: the temporaries of formatting stay a few MB a column
    chunks = [order[start : start + CHUNK_ROWS] for start in range(0, len(order), CHUNK_ROWS)]
    for pieces in _chunk_texts(chunks, kind, merged, columns, threads):
        out += pieces
    return b"".join(out)


def _chunk_texts(
    chunks: list, kind, merged: dict[str, Merged], columns: list[str], threads: int
) -> Iterator[list[bytes]]:
    """_chunk_text of each chunk, in order; on up to `threads` threads when there are several
    (the CLI gives it the usable cores): most of the formatting is numpy arithmetic on whole
    columns, which runs without the GIL, so threads share it (1M rows: ~0.38 s -> ~0.26 s on 2
    cores). The text is the same either way."""
    workers = min(len(chunks), threads)
    if workers < 2:
        yield from (_chunk_text(rows, kind, merged, columns) for rows in chunks)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(lambda rows: _chunk_text(rows, kind, merged, columns), chunks)


def _chunk_text(rows, kind, merged: dict[str, Merged], columns: list[str]) -> list[bytes]:
    """The CSV text of `rows`, in order, in pieces. A column's block is as wide as its widest
    value among the rows formatted together, and iteration and eval rows leave different columns
    empty (an iteration row has no val_loss, an eval no time_ms): formatted together, every
    iteration row carries NULs as wide as an eval's val_loss, and the reverse. So when the kinds
    come in long runs (an eval every few hundred iterations), each kind is formatted on its own
    and the runs are laid end to end."""
    import numpy as np

    kinds = kind[rows]
    change = np.flatnonzero(kinds[1:] != kinds[:-1]) + 1
    if not len(change) or len(change) > len(rows) // MIN_RUN_ROWS:
        return [_compact(_row_matrix(rows, kind, merged, columns))]
    matrices = [_row_matrix(rows[kinds == k], kind, merged, columns) for k in (0, 1)]
    done = [0, 0]  # rows of each kind laid out so far
    pieces = []
    bounds = [0, *change.tolist(), len(rows)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        k = int(kinds[a])
        pieces.append(_compact(matrices[k][done[k] : done[k] + b - a]))
        done[k] += b - a
    return pieces


def _row_matrix(rows, kind, merged: dict[str, Merged], columns: list[str]):
    """The rows as a uint8 matrix: each column's text NUL-padded to its block's width, a comma
    after each but the last, a newline after that."""
    import numpy as np

    n = len(rows)
    blocks = [_labels(kind[rows], [b"eval", b"iter"])]
    for name in columns[1:]:
        dtype = merged[name].dtype
        values = merged[name].take(rows)
        if dtype.kind == "O":
            blocks.append(_labels(values, [b"False", b"True", b""]))
        elif dtype.kind == "b":
            blocks.append(_labels(values.astype(np.int8), [b"False", b"True"]))
        elif dtype.kind in "iu":
            blocks.append(_integers(values))
        else:
            blocks.append(_floats(values))
    comma = np.full((n, 1), 44, np.uint8)
    pieces = []
    for block in blocks:
        pieces += [block, comma]
    pieces[-1] = np.full((n, 1), 10, np.uint8)
    return np.concatenate(pieces, axis=1)


def _compact(matrix) -> bytes:
    """A row matrix as text: its bytes, the NUL padding dropped."""
    import numpy as np

    flat = matrix.ravel()
    return np.compress(flat != 0, flat).tobytes()  # twice as fast as matrix[matrix != 0] here


def _labels(codes, labels: list[bytes]):
    """labels[code] for each code, as a NUL-padded matrix as wide as the longest label used (a
    column of empty labels takes no room)."""
    import numpy as np

    used = np.bincount(codes, minlength=len(labels)) > 0
    width = max((len(label) for label, u in zip(labels, used, strict=True) if u), default=0)
    return _strings(np.array(labels, dtype="S"))[:, :width][codes]


def _strings(values):
    """Fixed-width bytes (NUL-padded) as a uint8 matrix."""
    import numpy as np

    width = max(values.dtype.itemsize, 1)
    return np.frombuffer(values.astype(f"S{width}").tobytes(), np.uint8).reshape(len(values), width)


def _digits(magnitude, width: int, out=None):
    """Right-aligned decimal digits of non-negative int64s, NUL before the first digit
    (0 is "0"), into `out` (a uint8 matrix of `width` columns) or a new matrix."""
    import numpy as np

    if out is None:
        out = np.zeros((len(magnitude), width), np.uint8)
    rest = magnitude
    for column in range(width - 1, -1, -1):
        quotient = rest // 10  # `%` and divmod are ~3x slower than `//` by a constant in numpy
        digit = (rest - quotient * 10 + ZERO).astype(np.uint8)
        out[:, column] = digit if column == width - 1 else np.where(rest > 0, digit, 0)
        rest = quotient
    return out


def _integers(values):
    import numpy as np

    values = values.astype(np.int64)
    magnitude = np.abs(values)
    width = len(str(int(magnitude.max()))) if len(values) else 1
    matrix = np.zeros((len(values), width + 1), np.uint8)
    _digits(magnitude, width, matrix[:, 1:])
    rows = np.nonzero(values < 0)[0]
    if not len(rows):
        return matrix[:, 1:]  # no sign to make room for
    matrix[rows, width - _lengths(magnitude[rows])] = 45  # "-" right before the first digit
    return matrix


def _lengths(magnitude):
    """Decimal digits of non-negative ints (0 has one)."""
    import numpy as np

    lengths = np.ones(len(magnitude), np.int64)
    bound = 10
    while True:
        more = magnitude >= bound
        if not more.any():
            return lengths
        lengths += more
        bound *= 10


def _floats(values):
    """Python's repr of each float (NaN empty). A value that is exactly d <= MAX_DECIMALS decimal
    places from a whole number, and in the range repr writes without an exponent, is written
    from its digits; any other, by repr itself."""
    import numpy as np

    values = values.astype(np.float64, copy=False)
    n = len(values)
    missing = np.isnan(values)
    where = None if not missing.any() else np.nonzero(~missing)[0]
    present = values if where is None else values[where]
    if not len(present):
        return np.zeros((n, 0), np.uint8)
    magnitude = np.abs(present)
    # the range repr writes without an exponent (NaN and inf fall outside it)
    plain = ((magnitude >= 1e-4) & (magnitude < 1e9)) | (magnitude == 0)
    decimals, scaled = _decimal_places(magnitude, plain)
    fast = decimals >= 0
    shown = np.maximum(decimals, 1)  # at least one digit after the point: 3.0
    places = int(shown.max())
    whole = scaled // 10**MAX_DECIMALS
    frac = (scaled - whole * 10**MAX_DECIMALS) // 10 ** (MAX_DECIMALS - places)
    int_width = len(str(int(whole.max())))
    others = np.nonzero(~fast)[0]
    text = None
    if len(others):  # repr for the rest (inf, exponents, long fractions), in a block of its own
        text = _strings(np.array([repr(float(v)) for v in present[others]], dtype="S"))
    negative = np.nonzero(np.signbit(present) & fast)[0]
    sign = 1 if len(negative) else 0  # a column for "-" only when some value needs it
    width = sign + int_width + 1 + places + (0 if text is None else text.shape[1])
    matrix = np.zeros((len(present), width), np.uint8)
    _digits(whole, int_width, matrix[:, sign : sign + int_width])
    if len(negative):
        matrix[negative, int_width - _lengths(whole[negative])] = 45  # "-"
    point = sign + int_width
    matrix[:, point] = 46  # "."
    for column in range(places, 0, -1):
        quotient = frac // 10
        digit = (frac - quotient * 10 + ZERO).astype(np.uint8)
        matrix[:, point + column] = digit if column == 1 else np.where(shown >= column, digit, 0)
        frac = quotient
    if text is not None:
        matrix[others, : point + 1 + places] = 0
        matrix[others, point + 1 + places :] = text
    if where is None:
        return matrix
    out = np.zeros((n, width), np.uint8)
    out[where] = matrix
    return out


def _decimal_places(magnitude, plain):
    """(d, the value x 10**MAX_DECIMALS as an int) of each `plain` magnitude x: d the fewest
    decimals, at most MAX_DECIMALS, for which round(x * 10**d) / 10**d == x (division is correctly
    rounded, so that is float("<the d-decimal string>") == x); d is -1 where none does.

    Below EXACT_BELOW one test at MAX_DECIMALS settles it. If some d-decimal integer k reads back
    as x, then x * 10**9 lies within K * 2**-52 < 0.25 of K = k * 10**(9 - d), so round() gives K
    and K / 10**9 == x. Conversely if K / 10**9 == x, then for every d' that K's trailing zeros
    allow, K / 10**(9 - d') is an integer that reads back as x by the same bound. So the test
    passes exactly when some d does, and the fewest decimals are 9 less K's trailing zeros.
    Larger magnitudes try d = 0, 1, ... in turn while x * 10**d stays below EXACT_SCALED; one
    that needs more decimals is left to repr (the digits round() gives there may differ from
    repr's in the last place: 151465607.63694063 would read 151465607.63694062)."""
    import numpy as np

    decimals = np.full(len(magnitude), -1, np.int64)
    scaled = np.zeros(len(magnitude), np.int64)
    small = plain & (magnitude < EXACT_BELOW)
    scale = 10.0**MAX_DECIMALS
    rounded = np.round(magnitude * scale)
    fits = np.nonzero(small & (rounded / scale == magnitude))[0]
    scaled[fits] = rounded[fits]
    decimals[fits] = MAX_DECIMALS - _trailing_zeros(scaled[fits])
    rest = np.nonzero(plain & ~small)[0]
    for d in range(MAX_DECIMALS + 1):
        scale = 10.0**d
        rest = rest[magnitude[rest] * scale < EXACT_SCALED]  # past it, repr writes the value
        if not len(rest):
            break
        rounded = np.round(magnitude[rest] * scale)
        fit = rounded / scale == magnitude[rest]
        decimals[rest[fit]] = d
        scaled[rest[fit]] = rounded[fit].astype(np.int64) * 10 ** (MAX_DECIMALS - d)
        rest = rest[~fit]
    return decimals, scaled


def _trailing_zeros(numbers):
    """Trailing decimal zeros of non-negative int64s, at most MAX_DECIMALS (0 has that many): of
    the low LOW_DIGITS digits from a table, then of the next ones if those are all zeros."""
    import numpy as np

    table = _zeros_table()
    high = numbers // LOW_SPAN
    low = numbers - high * LOW_SPAN
    high -= high // LOW_SPAN * LOW_SPAN  # the next LOW_DIGITS digits
    return np.where(low == 0, np.minimum(LOW_DIGITS + table[high], MAX_DECIMALS), table[low])


@functools.cache
def _zeros_table():
    """Trailing decimal zeros of 0 .. LOW_SPAN - 1 (LOW_DIGITS for 0), as int8."""
    import numpy as np

    numbers = np.arange(LOW_SPAN)
    zeros = np.zeros(LOW_SPAN, np.int8)
    for k in range(1, LOW_DIGITS + 1):
        zeros += numbers % 10**k == 0
    return zeros


def _arrow(kind, values, missing):
    """An arrow array straight from a numpy vector's memory (pa.array() would import pandas to
    check whether it was given a Series): nulls where `missing`, booleans as arrow's bitmap."""
    import numpy as np
    import pyarrow as pa

    validity = None
    if missing is not None and missing.any():
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    if kind == pa.bool_():
        data = pa.py_buffer(np.packbits(values.astype(bool), bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(values))
    return pa.Array.from_buffers(kind, len(values), [validity, data])
