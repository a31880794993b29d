"""Many logs at once: every log gets a report, streamed as each finishes."""
from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from plateau_doctor.cli import RunInputs
from plateau_doctor.sweep import DiagnoseJob, deadline, diagnose_each

ROOT = Path(__file__).resolve().parents[1]
LOGS = sorted((ROOT / "examples" / "logs").glob("h200_*.log"))


def job() -> DiagnoseJob:
    inputs = RunInputs(config=None, overrides={}, dataset_tokens=None, data_dir=None,
                       log_format="auto", columns=None)
    return DiagnoseJob(inputs=inputs, settings=None)


def test_a_pool_returns_one_report_per_log():
    paths = [str(p) for p in LOGS]
    done = list(diagnose_each(paths, job(), jobs=2))
    assert [position for position, _, _ in done] == list(range(len(paths)))   # in the given order
    assert all(report.path == paths[position] for position, report, _ in done)


def test_in_process_reports_come_in_the_given_order():
    paths = [str(p) for p in reversed(LOGS[:3])]
    assert [report.path for _, report, _ in diagnose_each(paths, job(), jobs=1)] == paths


def test_a_deadline_must_be_positive():
    with pytest.raises(ValueError, match="--timeout must be > 0"):
        deadline(0, ["x.log"])


def test_text_reports_stream_before_the_last_log_is_read(tmp_path):
    # The second log is a FIFO nobody writes to yet: the first report must already be out.
    fifo = tmp_path / "live.log"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "plateau_doctor", "diagnose", str(LOGS[0]), str(fifo),
                             "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        seen = b""
        while b"run" not in seen:      # the facts table closes a report
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "no report streamed within 60 s"
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, proc.stderr.read().decode()[-2000:]
            seen += chunk
        assert str(LOGS[0]).encode() in seen
        fifo.write_bytes(LOGS[1].read_bytes())     # now the second log arrives
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    out = (seen + rest).decode()
    assert f"{fifo} (nanogpt" in out and "(worst first)" in out, err.decode()[-2000:]
