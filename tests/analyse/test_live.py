"""LiveTiming follows a growing table: at every call its result must be iteration_timing's of the
whole table, bit for bit, whatever the growth, the evals and the layout."""

from __future__ import annotations

import numpy as np
import pytest

from plateau_doctor.analyse.live import LiveTiming
from plateau_doctor.analyse.timing import iteration_timing


def growing_log(rng: np.random.Generator, n: int, gap: int, first: int):
    """Columns of a log that prints times to 0.01 ms and MFU to 0.01%, with the gaps a run has:
    a compile-time first iteration, -100% MFU placeholders, a few unmeasured times."""
    steps = first + gap * np.arange(n)
    times = np.round(rng.normal(300.0, 4.0, n), 2)
    times[0] = 60_000.0
    times[rng.random(n) < 0.02] = np.nan
    mfu = np.round(rng.normal(40.0, 0.5, n), 2)
    mfu[: min(n, 5)] = np.nan
    return steps, times, mfu


def same(live, whole) -> bool:
    return live == whole  # dataclass equality: every field, floats compared exactly


@pytest.mark.parametrize("seed", range(12))
def test_live_timing_is_iteration_timing_of_the_whole_table_at_every_growth(seed):
    rng = np.random.default_rng(seed)
    n, gap, first = 3000, int(rng.integers(1, 4)), int(rng.integers(0, 3))
    steps, times, mfu = growing_log(rng, n, gap, first)
    # evals every 250 steps; some printed before their iteration, some after it (an eval at a
    # step already read), one at the first step
    eval_steps = sorted([*range(first, first + gap * n, 250 * gap), first + 1])
    eval_steps.append(first + 250 * gap)  # a step evaluated again, much later (a resume)
    eval_steps.append(first + gap * (n - 1) - 3 * gap // 2)  # between two logged steps, or on one
    # the builder's way: one buffer, read-only views of its first rows (the same memory each call)
    buffers = [np.array(column) for column in (steps, times, mfu)]
    live = LiveTiming()
    rows, evals_printed = 2, 0
    while rows < n:
        rows = min(n, rows + int(rng.integers(1, 400)))
        # printed before its iteration (nanoGPT), or well after it: then it falls on a row read
        printed_up_to = steps[rows - 1] + (gap if rng.random() < 0.5 else -100 * gap)
        while evals_printed < len(eval_steps) and eval_steps[evals_printed] <= printed_up_to:
            evals_printed += 1
        views = [b[:rows] for b in buffers]
        for view in views:
            view.flags.writeable = False
        evals = np.array(eval_steps[:evals_printed], dtype=np.int64)
        use_copies = rng.random() < 0.3  # a table copied since (the column outgrew its buffer)
        args = [v.copy() for v in views] if use_copies else views
        assert same(
            live(args[0], args[1], evals, args[2]), iteration_timing(args[0], args[1], evals, args[2])
        )


def test_live_timing_starts_over_when_the_rows_it_read_are_not_the_tables_first():
    rng = np.random.default_rng(1)
    steps, times, mfu = growing_log(rng, 2000, 1, 0)
    live = LiveTiming()
    evals = np.array([500, 1000])
    live(steps[:1500], times[:1500], evals, mfu[:1500])
    resumed = times.copy()
    resumed[1000:] += 50.0  # a resume rewrote rows already read
    assert same(live(steps, resumed, evals, mfu), iteration_timing(steps, resumed, evals, mfu))
    shorter = slice(0, 800)  # fewer rows than read
    assert same(
        live(steps[shorter], times[shorter], evals, mfu[shorter]),
        iteration_timing(steps[shorter], times[shorter], evals, mfu[shorter]),
    )


@pytest.mark.parametrize(
    "steps",
    [
        np.array([0, 10, 20, 25, 40, 50, 60, 70]),  # a gap that changes
        np.array([0, 10, 20, 30, 20, 30, 40, 50]),  # a restart: steps go back
        np.array([5, 5, 6, 7, 8, 9, 10, 11]),  # a repeated step
        np.array([7]),
    ],
)
def test_live_timing_of_other_layouts_is_iteration_timing(steps):
    times = np.linspace(10.0, 17.0, len(steps))
    mfu = np.full(len(steps), 30.0)
    live = LiveTiming()
    for evals in (np.array([20]), np.array([20, 40]), np.array([20, 40, 60])):
        assert same(live(steps, times, evals, mfu), iteration_timing(steps, times, evals, mfu))


def test_live_timing_reads_a_column_the_log_never_prints_and_no_mfu():
    steps = np.arange(0, 5000, 10)
    times = np.full(len(steps), 250.0)
    live = LiveTiming()
    for rows in (100, 300, len(steps)):
        # the table's repeated-value column: a new stride-0 view at every snapshot
        never = np.broadcast_to(np.array(np.nan), (rows,))
        assert same(
            live(steps[:rows], times[:rows], np.array([1000]), never),
            iteration_timing(steps[:rows], times[:rows], np.array([1000]), never),
        )
    assert live(steps, times, np.array([]), None) == iteration_timing(steps, times, np.array([]), None)


@pytest.mark.parametrize(
    "steps",
    [
        np.array([9, 5, 1], dtype=np.uint64),  # going down: the differences wrap around
        np.array([1, -(2**63)], dtype=np.int64),  # past 2**63: wraps to a positive gap
        np.array([0.0, 2.5, 5.0]),  # float steps: compared as floats, the gap is no count
        np.array([False, True]),
        np.array([2**62, 2**62 + 2**61, 2**63 - 1], dtype=np.int64),
    ],
)
def test_timing_of_steps_whose_differences_mislead_is_the_definition(steps):
    times = np.arange(1.0, len(steps) + 1)
    evals = np.array([], dtype=np.int64)
    expected = reference_timing_of(steps, times)
    assert iteration_timing(steps, times, evals) == expected
    assert LiveTiming()(steps, times, evals) == expected


def reference_timing_of(steps, times):
    """The old code's reading, in plain numpy, for tables without evals or MFU."""
    finite = np.isfinite(times)
    normal = finite & (steps != steps.min())
    if not normal.any():
        return None
    gaps = np.diff(steps)
    interval = float(gaps[0]) if (gaps == gaps[0]).all() else float(np.median(gaps))
    from plateau_doctor.analyse.timing import IterationTiming

    return IterationTiming(
        float(np.median(times[normal])),
        int(normal.sum()),
        0.0,
        0,
        int(steps.min()),
        int(steps.max()),
        n_timed=int(finite.sum()),
        log_interval=interval,
        median_mfu_percent=None,
    )


def test_live_timing_with_float_eval_steps_is_iteration_timing():
    start = 2**53 - 4  # integers a float eval step can no longer tell apart
    steps = np.arange(start, start + 10, dtype=np.int64)
    times = np.arange(10, dtype=float) + 100
    evals = np.array([float(2**53)])
    live = LiveTiming()
    for rows in (5, 10):
        assert live(steps[:rows], times[:rows], evals) == iteration_timing(steps[:rows], times[:rows], evals)


def long_noisy_curve(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A micro-batch loss past LONG_CURVE points, printed to 4 decimals, with spikes planted."""
    steps = np.arange(n) * 10
    loss = np.round(3.0 + 2.0 * np.exp(-np.arange(n) / 30_000) + rng.normal(0, 0.05, n), 4)
    loss[rng.integers(0, n, 40)] += rng.uniform(0.2, 1.5, 40)
    return steps, loss


@pytest.mark.parametrize("seed", range(4))
def test_live_spikes_are_detect_spikes_of_the_whole_curve_at_every_growth(seed):
    from plateau_doctor.analyse.live import LiveSpikes
    from plateau_doctor.analyse.spikes import LONG_CURVE, detect_spikes

    rng = np.random.default_rng(seed)
    steps, loss = growing = long_noisy_curve(rng, LONG_CURVE + 60_000)
    buffers = [np.array(column) for column in growing]
    live = LiveSpikes()
    rows = LONG_CURVE - 5_000  # short first: detect_spikes' other path, then the long one
    while rows < len(loss):
        rows = min(len(loss), rows + int(rng.integers(1, 9_000)))
        sigma = float(rng.choice([0.05, 0.04, 0.06, np.nan]))  # it moves with the tail
        args = [b[:rows] for b in buffers] if rng.random() < 0.7 else [b[:rows].copy() for b in buffers]
        assert live(*args, sigma=sigma) == detect_spikes(*args, sigma=sigma)
    assert len(live(steps, loss, sigma=0.05)) >= 20


def test_live_spikes_start_over_when_the_curve_changes_and_step_aside_for_a_nan():
    from plateau_doctor.analyse.live import LiveSpikes
    from plateau_doctor.analyse.spikes import LONG_CURVE, detect_spikes

    rng = np.random.default_rng(9)
    steps, loss = long_noisy_curve(rng, LONG_CURVE + 20_000)
    live = LiveSpikes()
    n = LONG_CURVE + 10_000
    assert live(steps[:n], loss[:n], sigma=0.05) == detect_spikes(steps[:n], loss[:n], sigma=0.05)
    rewritten = loss.copy()
    rewritten[5_000:5_100] += 1.0  # a resume rewrote rows already read
    assert live(steps, rewritten, sigma=0.05) == detect_spikes(steps, rewritten, sigma=0.05)
    with_nan = rewritten.copy()
    with_nan[-3] = np.nan
    assert live(steps, with_nan, sigma=0.05) == detect_spikes(steps, with_nan, sigma=0.05)
    assert live(steps, loss, sigma=0.05, window=80) == detect_spikes(steps, loss, sigma=0.05, window=80)
    live = LiveSpikes()
    live(steps[:n], loss[:n], sigma=0.05)
    nan_in_new_rows = loss.copy()
    nan_in_new_rows[n + 5] = np.nan
    nan_in_new_rows[n + 500] += 2.0  # a spike after it: its position counts finite points only
    assert live(steps, nan_in_new_rows, sigma=0.05) == detect_spikes(steps, nan_in_new_rows, sigma=0.05)
    assert live(steps, loss, sigma=None) == detect_spikes(steps, loss, sigma=None)


def test_timing_of_narrow_integer_steps_out_of_order_is_the_definition():
    # int8 differences wrap around: 120 - (-116) looks like a rise
    steps = np.array([100, 120, -116, -100], dtype=np.int8)
    times = np.array([1.0, 2.0, 50.0, 3.0])
    timing = iteration_timing(steps, times, np.array([120]))
    assert (timing.evals_timed, timing.n_normal) == (1, 2)
    assert LiveTiming()(steps, times, np.array([120])) == timing
