"""`watch`: a log followed while a writer process appends to it, a pipe read to EOF, rotation
and truncation, Ctrl-C, and the incremental parse state."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from plateau_doctor.watch.follow import follow_file
from plateau_doctor.watch.live import LiveLog

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "logs"
OVERFIT = EXAMPLES / "h200_shakespeare_char_overfit_default.log"
SRC = str(Path(__file__).resolve().parents[1] / "src")

WRITER = textwrap.dedent("""
    import sys, time
    src, dst, pieces, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    lines = open(src).read().splitlines(keepends=True)
    size = -(-len(lines) // pieces)
    with open(dst, "a") as out:
        for i in range(0, len(lines), size):
            out.write("".join(lines[i:i + size]))
            out.flush()
            time.sleep(pause)
""")


def watcher(source: str, timeout: float | None, **popen) -> subprocess.Popen:
    code = (
        "import sys\nfrom plateau_doctor.watch import run_watch\n"
        f"sys.exit(run_watch({source!r}, once_per_eval=True, config=None, overrides={{}}, "
        f"dataset_tokens='1003854', log_format='auto', poll_seconds=0.05, timeout={timeout!r}))"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, **popen)


def eval_lines(output: str) -> list[tuple[int, str]]:
    return [
        (int(m.group(1)), line)
        for line in output.splitlines()
        if (m := re.match(r"step (\d+): train [\d.]+, val [\d.]+", line))
    ]


def test_findings_appear_after_the_eval_that_triggers_them_in_a_growing_file(tmp_path):
    log = tmp_path / "train.log"
    log.touch()
    watch = watcher(str(log), timeout=1.5)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(OVERFIT), str(log), "6", "0.3"])
    output, _ = watch.communicate(timeout=30)
    writer.wait(timeout=5)

    evals = eval_lines(output)
    assert [step for step, _ in evals] == list(range(0, 5001, 250))  # every eval, in order
    # val is best at step 1750 and only rises after it: no overfitting finding before then
    assert not any("PD201" in line for step, line in evals if step <= 1750)
    assert "PD201" in evals[-1][1]
    assert "| " in evals[-1][1]  # the last eval carries findings
    # then the full report, and exit code 1 for the error finding
    assert "Verdict: overfitting" in output and "1. ERROR PD201" in output
    assert watch.returncode == 1


def test_a_pipe_is_read_until_it_closes_and_the_process_exits(tmp_path):
    watch = watcher("-", timeout=None, stdin=subprocess.PIPE)
    lines = OVERFIT.read_text().splitlines(keepends=True)
    for i in range(0, len(lines), 150):
        watch.stdin.write("".join(lines[i : i + 150]))
        watch.stdin.flush()
        time.sleep(0.05)
    watch.stdin.close()
    output = watch.stdout.read()
    assert watch.wait(timeout=20) == 1
    assert [step for step, _ in eval_lines(output)][-1] == 5000
    assert "<stdin> (nanogpt, 579 lines)" in output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_cleanly_with_the_report(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(OVERFIT.read_text())
    watch = watcher(str(log), timeout=None)  # would follow forever
    first = watch.stdout.readline()  # it has read the log: an eval line is out
    assert first.startswith("step ")
    watch.send_signal(signal.SIGINT)
    output, _ = watch.communicate(timeout=20)
    assert "Traceback" not in output and "1. ERROR PD201" in output
    assert watch.returncode == 1


def test_follow_file_survives_rotation_and_truncation(tmp_path):
    path = tmp_path / "train.log"
    path.write_bytes(b"first\n")
    events: list[str] = []
    chunks = follow_file(str(path), poll_seconds=0.01, timeout=0.3, events=events)
    assert next(chunks) == b"first\n"
    assert next(chunks) is None  # nothing new yet
    path.rename(tmp_path / "train.log.1")  # logrotate: move away, start a new file
    path.write_bytes(b"second file, longer\n")
    assert next(chunks) == b"" and events == ["rotated"]
    assert next(chunks) == b"second file, longer\n"
    path.write_bytes(b"third\n")  # truncated and rewritten in place
    assert next(chunks) == b"" and events == ["rotated", "truncated"]
    assert next(chunks) == b"third\n"
    started = time.monotonic()
    assert all(chunk is None for chunk in chunks)  # then it gives up after the timeout
    assert time.monotonic() - started < 2


def test_live_log_is_incremental_and_waits_for_the_format():
    live = LiveLog()
    live.feed(b"Overriding: device = cpu\ntokens per iteration will be: 16,384\n")
    assert live.format is None and live.new_evals() == []
    live.feed(b"step 0: train loss 4.2874, val loss 4.2823\niter 0: loss 4.26")  # half a line
    assert live.format is None  # one data line is not enough to decide
    live.feed(b"89, time 9.00ms, mfu -100.00%\n")
    assert live.format == "nanogpt"
    assert live.new_evals() == [(0, 4.2874, 4.2823)] and live.new_evals() == []
    assert live.latest_iter()["loss"] == 4.2689
    snapshot = live.snapshot()
    live.feed(b"step 10: train loss 3.0, val loss 3.1\nsaving checkpoint to out\n")
    assert live.new_evals() == [(10, 3.0, 3.1)]
    live.end_of_file()
    final = live.snapshot(final=True)
    assert len(snapshot.evals) == 1 and len(final.evals) == 2  # a snapshot is a copy
    assert final.evals["checkpoint_saved"].tolist() == [False, True]
    assert final.meta.tokens_per_iter == 16_384 and final.meta.n_lines == 6


def test_a_single_data_line_is_enough_at_the_end_of_input():
    live = LiveLog()
    live.feed(b"header\nstep 0: train loss 4.0, val loss 4.1")
    assert live.format is None
    live.end_of_file()
    assert live.format == "nanogpt" and live.snapshot(final=True).evals["val_loss"].tolist() == [4.1]


def test_live_log_other_formats_are_reparsed():
    live = LiveLog(reparse_seconds=0)
    live.feed(b"s:0 tel:11.0\ns:0 trl:10.9 lr:0.000001 norm:15.37\n")
    assert live.format == "llmc_mainlog"
    assert live.new_evals() == [(0, pytest.approx(float("nan"), nan_ok=True), 11.0)]
    live.feed(b"s:1 trl:9.5 lr:0.000002 norm:10.0\n")
    assert live.latest_iter()["loss"] == 9.5


def test_a_log_no_parser_recognises_is_one_line_naming_the_file(tmp_path):
    from plateau_doctor.read import InputError
    from plateau_doctor.watch import run_watch

    log = tmp_path / "notes.txt"
    log.write_text("just some text\nnothing numeric here\n")
    with pytest.raises(InputError) as caught:
        run_watch(
            str(log),
            once_per_eval=True,
            config=None,
            overrides={},
            dataset_tokens=None,
            log_format="auto",
            poll_seconds=0.01,
            timeout=0,
            out=io.StringIO(),
        )
    assert str(caught.value).startswith(f"{log}: no training-loss lines")


def test_a_missing_file_is_waited_for_like_tail_F(tmp_path):
    log = tmp_path / "not_yet.log"
    watch = watcher(str(log), timeout=2)
    time.sleep(0.5)  # the job has not started writing yet
    assert watch.poll() is None  # still waiting, not exit 2
    log.write_text(OVERFIT.read_text())
    output, _ = watch.communicate(timeout=60)
    assert [step for step, _ in eval_lines(output)][-1] == 5000 and watch.returncode == 1


def test_a_file_that_never_appears_is_one_error_after_the_timeout(tmp_path):
    from plateau_doctor.read import InputError
    from plateau_doctor.watch import run_watch

    with pytest.raises(InputError, match="waited 0.3 s for it to appear"):
        run_watch(
            str(tmp_path / "never.log"),
            once_per_eval=True,
            config=None,
            overrides={},
            dataset_tokens=None,
            log_format="auto",
            poll_seconds=0.05,
            timeout=0.3,
            out=io.StringIO(),
        )


def test_a_val_only_log_never_prints_nan_for_the_missing_train_value(tmp_path):
    from plateau_doctor.watch import run_watch

    seed = sorted((Path(__file__).parent / "fixtures" / "seeds").glob("*.log"))[0]
    log = tmp_path / "val_only.log"
    log.write_text("".join(seed.read_text().splitlines(keepends=True)[:400]))
    out = io.StringIO()
    run_watch(
        str(log),
        once_per_eval=True,
        config=None,
        overrides={},
        dataset_tokens=None,
        log_format="auto",
        poll_seconds=0.01,
        timeout=0.2,
        out=out,
    )
    text = out.getvalue()
    assert "step 0: val 10.8258" in text and "nan" not in text.lower().replace("nanogpt", "")


def test_the_timeout_on_a_pipe_reports_what_was_read_and_says_why_it_stopped(tmp_path):
    head = tmp_path / "head.log"
    head.write_text("".join(OVERFIT.read_text().splitlines(keepends=True)[:120]))
    # the writer prints 120 lines, then stays silent with the pipe open for 60 s
    feeder = subprocess.Popen(["sh", "-c", f"cat '{head}'; sleep 60"], stdout=subprocess.PIPE)
    try:
        watch = watcher("-", timeout=1.0, stdin=feeder.stdout)
        output, _ = watch.communicate(timeout=30)  # well before the writer would close
    finally:
        feeder.kill()
        feeder.wait()
    assert "watch stopped after no new data for 1 s" in output and "120 lines read" in output
    assert "step 250: train 1.9810, val 2.0731" in output


def test_a_forced_format_that_reads_nothing_is_an_error_naming_the_detected_one(tmp_path):
    from plateau_doctor.read import InputError
    from plateau_doctor.watch import run_watch

    with pytest.raises(InputError, match="read as llmc_mainlog.*looks like nanogpt"):
        run_watch(
            str(OVERFIT),
            once_per_eval=True,
            config=None,
            overrides={},
            dataset_tokens=None,
            log_format="llmc_mainlog",
            poll_seconds=0.01,
            timeout=0.1,
            out=io.StringIO(),
        )


def _bulk_log(first: int, last: int, eval_every: int) -> bytes:
    """train.py's own lines (the vectorised scanner's) for iterations first..last-1, an eval
    before every `eval_every`-th."""
    lines = []
    for it in range(first, last):
        if it % eval_every == 0:
            lines.append(f"step {it}: train loss {4 - it / 1e4:.4f}, val loss {4.1 - it / 1e4:.4f}")
        lines.append(f"iter {it}: loss {4 - it / 1e4:.4f}, time 50.00ms, mfu 30.00%")
    return ("\n".join(lines) + "\n").encode()


def test_a_snapshot_is_read_only_views_that_later_rows_never_change():
    live = LiveLog()
    # the first eval's checkpoint flag makes the column more than one repeated value
    head = _bulk_log(0, 3000, 500).replace(b"\niter 0:", b"\nsaving checkpoint to out\niter 0:", 1)
    live.feed(head + b"step 3000: train loss 3.7000, val loss 3.8000\n")
    snapshot = live.snapshot()
    iters, evals = snapshot.iter_table.arrays, snapshot.eval_table.arrays
    before = {name: values.copy() for name, values in {**iters, **evals}.items()}
    assert not any(values.flags.writeable for values in {**iters, **evals}.values())
    # a checkpoint flag lands on the eval row the snapshot already holds; then enough rows to
    # outgrow every column's vector
    live.feed(b"saving checkpoint to out\n" + _bulk_log(3001, 30000, 500))
    live.end_of_file()
    final = live.snapshot(final=True)
    for name, values in {**iters, **evals}.items():
        np.testing.assert_array_equal(values, before[name], err_msg=name)
    assert snapshot.eval_table["checkpoint_saved"].tolist() == [True] + [False] * 6  # the flag
    # written after the snapshot went to a copy
    assert final.eval_table["checkpoint_saved"][len(snapshot.eval_table) - 1]


def test_watch_reports_what_diagnose_reports_on_the_same_file():
    from plateau_doctor.api import diagnose
    from plateau_doctor.report.json import render
    from plateau_doctor.watch.live import Diagnosis

    text = OVERFIT.read_bytes()
    live = LiveLog()
    diagnosis = Diagnosis(str(OVERFIT), None, {}, None)
    for start in range(0, len(text), 4096):  # as a follower reads it: chunks cut mid-line
        live.feed(text[start : start + 4096])
        if live.new_evals():
            diagnosis.run(live.snapshot())
    live.end_of_file()
    diagnosis.run(live.snapshot(final=True), final=True)
    assert render([diagnosis.report]) == render([diagnose(str(OVERFIT))])
