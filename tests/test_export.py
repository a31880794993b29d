"""`parse --to csv` writes its table in bulk (export.long_csv); the text must be what pandas'
to_csv writes for the same long table, byte for byte, whatever the values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from plateau_doctor.api import parse
from plateau_doctor.export import EXACT_BELOW, LONG_COLUMNS, _floats, long_csv, long_table
from plateau_doctor.model import Columns, LogMeta, ParsedLog

ROOT = Path(__file__).resolve().parents[1]
LOGS = sorted((ROOT / "examples" / "logs").glob("*.log")) + sorted(
    (ROOT / "tests" / "data" / "wild").glob("*.log")
)

AWKWARD = [
    0.0, -0.0, 1.0, -1.0, 3.5, 5.5007, 0.1 + 0.2, 1e-4, 9.9999e-5, 1e-5, 6e-4, 123456.789, 999999999.5,
    1e9, 1e15, 1e16, 1.5e17, -2.25, 2.5e-7, 0.000123456789, 1.0000000001, math.inf, -math.inf, math.nan,
    7.0, 12345678.123456789, 1 / 3,
]  # fmt: skip


def pandas_csv(parsed: ParsedLog) -> bytes:
    return long_table(parsed).to_csv(index=False, na_rep="").encode()


def table(iters: dict, evals: dict) -> ParsedLog:
    return ParsedLog("nanogpt", Columns(iters), Columns(evals), LogMeta())


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_real_logs_as_pandas_writes_them(log: Path) -> None:
    parsed = parse(str(log))
    assert long_csv(parsed, LONG_COLUMNS) == pandas_csv(parsed)


def test_chunks_formatted_on_several_threads_give_the_same_text(monkeypatch) -> None:
    # many small chunks, each on one of four threads: the text must still be in order
    monkeypatch.setattr("plateau_doctor.export.CHUNK_ROWS", 37)
    parsed = parse(str(ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"))
    assert long_csv(parsed, LONG_COLUMNS, threads=4) == pandas_csv(parsed)


def test_awkward_floats_ints_and_steps() -> None:
    n = len(AWKWARD)
    values = np.array(AWKWARD)
    iters = {
        "iter": np.arange(n, dtype=np.int64)[::-1] * 7 - 20,  # negative steps, out of order
        "loss": values,
        "time_ms": values[::-1].copy(),
        "mfu": np.full(n, np.nan),
        "lr": values * 1e-3,
        "grad_norm": -values,
        "segment": np.zeros(n, np.int64),
        "line": np.arange(n, dtype=np.int64) + 10**12,
    }
    evals = {
        "step": np.array([0, 7, 7, -6], np.int64),
        "train_loss": np.array([1.25, math.nan, -0.0, 3.0]),
        "val_loss": np.array([2.0, 1e-12, math.inf, 0.5]),
        "checkpoint_saved": np.array([True, False, True, False]),
        "segment": np.array([0, 0, 1, 1], np.int64),
        "line": np.array([1, 2, 3, 4], np.int64),
    }
    parsed = table(iters, evals)
    assert long_csv(parsed, LONG_COLUMNS) == pandas_csv(parsed)


def floats_text(values: list[float]) -> list[bytes]:
    """What _floats writes for each value, its NUL padding dropped."""
    matrix = _floats(np.asarray(values, dtype=np.float64))
    return [bytes(row[row != 0]) for row in matrix]


def test_floats_below_the_exact_bound_are_python_repr() -> None:
    """Below EXACT_BELOW one test at 10**9 decides a value's decimals (_decimal_places): values
    as a log prints them (d decimals, read back) and arbitrary doubles must all come out as repr."""
    rng = np.random.default_rng(17)
    n = 20_000
    magnitudes = 10.0 ** rng.uniform(-6, math.log10(EXACT_BELOW), n) * rng.choice([-1, 1], n)
    printed = [float(f"{m:.{d}f}") for m, d in zip(magnitudes, rng.integers(0, 13, n), strict=True)]
    edges = [np.nextafter(EXACT_BELOW, 0), 1e-4, np.nextafter(1e-4, 0), 0.0, -0.0, math.nan, -math.inf]
    for values in (printed + edges, list(magnitudes)):
        assert floats_text(values) == [b"" if v != v else repr(float(v)).encode() for v in values]


def test_large_floats_with_many_decimals_are_python_repr() -> None:
    """Past 2**50 / 10**d, round(x * 10**d) may land one off the digits repr writes though both
    read back as x (151465607.63694063 came out as ...062): such values go to repr."""
    rng = np.random.default_rng(23)
    n = 20_000
    magnitudes = 10.0 ** rng.uniform(math.log10(EXACT_BELOW), 9, n) * rng.choice([-1, 1], n)
    printed = [float(f"{m:.{d}f}") for m, d in zip(magnitudes, rng.integers(0, 10, n), strict=True)]
    edges = [EXACT_BELOW, 151465607.63694063, 38248087.19409999, 999999999.5, 123456789.1]
    for values in (printed + edges, list(magnitudes)):
        assert floats_text(values) == [repr(float(v)).encode() for v in values]
    parsed = table(
        {
            "iter": np.arange(len(edges), dtype=np.int64),
            "loss": np.array(edges),
            "segment": np.zeros(5, np.int64),
        },
        {},
    )
    assert long_csv(parsed, LONG_COLUMNS) == pandas_csv(parsed)


@pytest.mark.parametrize("empty", ["iters", "evals", "both"])
def test_empty_halves(empty: str) -> None:
    iters = {
        "iter": np.array([1, 2], np.int64),
        "loss": np.array([3.0, 2.5]),
        "segment": np.zeros(2, np.int64),
        "line": np.array([5, 6], np.int64),
    }
    evals = {
        "step": np.array([2], np.int64),
        "val_loss": np.array([2.75]),
        "checkpoint_saved": np.array([True]),
        "segment": np.zeros(1, np.int64),
        "line": np.array([7], np.int64),
    }
    if empty in ("iters", "both"):
        iters = {k: v[:0] for k, v in iters.items()}
    if empty in ("evals", "both"):
        evals = {k: v[:0] for k, v in evals.items()}
    parsed = table(iters, evals)
    assert long_csv(parsed, LONG_COLUMNS) == pandas_csv(parsed)


def test_many_rows_cross_chunks() -> None:
    rng = np.random.default_rng(0)
    n = 200_003
    iters = {
        "iter": np.arange(n, dtype=np.int64),
        "loss": np.round(rng.normal(3, 1, n), 4),
        "time_ms": np.round(rng.uniform(0, 5000, n), 2),
        "segment": np.zeros(n, np.int64),
        "line": np.arange(n, dtype=np.int64),
    }
    evals = {
        "step": np.arange(0, n, 1000, dtype=np.int64),
        "val_loss": np.round(rng.normal(3, 1, n // 1000 + 1), 4),
    }
    parsed = table(iters, evals)
    assert long_csv(parsed, LONG_COLUMNS) == pandas_csv(parsed)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_parquet_table_as_pandas_writes_it(log: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pandas as pd

    from plateau_doctor.export import arrow_table

    parsed = parse(str(log))
    frames = pd.concat(
        [parsed.iters.assign(kind="iter").rename(columns={"iter": "step"}), parsed.evals.assign(kind="eval")],
        ignore_index=True,
        sort=False,
    )
    expected = pa.Table.from_pandas(frames, preserve_index=False)
    mine = arrow_table(parsed)
    assert mine.schema == expected.schema.remove_metadata()
    assert mine.to_pylist() == expected.to_pylist()
