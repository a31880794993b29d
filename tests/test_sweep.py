"""Many logs at once: every log gets a report, streamed as each finishes."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from plateau_doctor.sweep import DiagnoseJob, RunInputs, deadline, diagnose_each, discover_runs

ROOT = Path(__file__).resolve().parents[1]
LOGS = sorted((ROOT / "examples" / "logs").glob("h200_*.log"))


def job() -> DiagnoseJob:
    inputs = RunInputs(
        config=None, overrides={}, dataset_tokens=None, data_dir=None, log_format="auto", columns=None
    )
    return DiagnoseJob(inputs=inputs, settings=None)


def test_a_pool_returns_one_report_per_log():
    paths = [str(p) for p in LOGS]
    done = list(diagnose_each(paths, job(), jobs=2))
    assert [position for position, _, _ in done] == list(range(len(paths)))  # in the given order
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "plateau_doctor", "diagnose", str(LOGS[0]), str(fifo), "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        seen = b""
        while b"run" not in seen:  # the facts table closes a report
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "no report streamed within 60 s"
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, proc.stderr.read().decode()[-2000:]
            seen += chunk
        assert str(LOGS[0]).encode() in seen
        fifo.write_bytes(LOGS[1].read_bytes())  # now the second log arrives
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    out = (seen + rest).decode()
    assert f"{fifo} (nanogpt" in out and "(worst first)" in out, err.decode()[-2000:]


# -- fault isolation: one bad log among many ---------------------------------------------------


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *args], capture_output=True, cwd=cwd or ROOT, timeout=300
    )


@pytest.fixture
def mixed(tmp_path) -> list[str]:
    """Good logs around an empty file, a binary file and a missing one."""
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 64)
    return [
        str(LOGS[0]),
        str(tmp_path / "empty.log"),
        str(tmp_path / "binary.bin"),
        str(tmp_path / "missing.log"),
        str(LOGS[1]),
    ]


def test_every_log_gets_its_slot_and_a_bad_one_carries_an_error_object(mixed):
    done = cli("diagnose", *mixed, "--format", "json")
    reports = json.loads(done.stdout)
    assert [r["source"]["path"] for r in reports] == mixed
    assert [bool(r.get("error")) for r in reports] == [False, True, True, True, False]
    assert "no such file" in reports[3]["error"]["message"]
    assert reports[0]["findings"] and reports[4]["findings"]  # the good ones kept their results
    assert done.returncode == 2  # ... and the run still fails
    errors = done.stderr.decode().strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("plateau-doctor: ") for line in errors)


@pytest.mark.parametrize("fmt", ["json", "text", "html"])  # streamed list, streamed text, plots from workers
def test_jobs_1_and_jobs_n_give_the_same_bytes(mixed, fmt):
    one = cli("diagnose", *mixed, "--format", fmt, "--jobs", "1")
    two = cli("diagnose", *mixed, "--format", fmt, "--jobs", "2")
    assert one.returncode == two.returncode == 2
    assert one.stdout == two.stdout and one.stdout


def test_each_format_reports_the_unreadable_log_in_place(mixed):
    sarif = json.loads(cli("diagnose", *mixed, "--format", "sarif").stdout)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert len(invocation["toolExecutionNotifications"]) == 3
    junit = cli("diagnose", *mixed, "--format", "junit").stdout.decode()
    assert 'errors="3"' in junit and junit.count("<error ") == 3
    markdown = cli("diagnose", *mixed, "--format", "markdown").stdout.decode()
    assert markdown.count("**Could not be diagnosed:**") == 3 and "5 runs:" in markdown
    github = cli("diagnose", *mixed, "--format", "github").stdout.decode()
    assert github.count("::error file=") >= 3 and "could not read the log" in github
    text = cli("diagnose", *mixed).stdout.decode()
    assert text.count("(not diagnosed)") == 3 and "3 unreadable" in text


def test_a_single_bad_log_is_still_one_line_on_stderr_and_nothing_on_stdout(tmp_path):
    done = cli("diagnose", str(tmp_path / "missing.log"), "--format", "json")
    assert done.returncode == 2 and done.stdout == b""
    assert len(done.stderr.decode().strip().splitlines()) == 1


# -- sweeps: a directory of runs ---------------------------------------------------------------


@pytest.fixture
def sweep_dir(tmp_path) -> Path:
    """Runs in nested folders, beside files that are not training logs."""
    root = tmp_path / "sweep"
    for n, log in enumerate(LOGS[:6]):
        run_dir = root / f"lr_{n}" / "seed_0"
        run_dir.mkdir(parents=True)
        (run_dir / "train.log").write_bytes(log.read_bytes())
        (run_dir / "README.md").write_text((ROOT / "README.md").read_text())
        (run_dir / "config.py").write_text("learning_rate = 1e-3\n")
    (root / "notes.csv").write_text("name,age\nbob,3\n")
    (root / "lr_0" / "seed_0" / "ckpt.pt").write_bytes(b"PK\x03\x04\0\0" + bytes(range(256)) * 4000)
    (root / ".hidden").mkdir()
    (root / ".hidden" / "train.log").write_bytes(LOGS[0].read_bytes())
    return root


def test_discovery_finds_only_the_training_logs_in_sorted_order(sweep_dir):
    found = list(discover_runs([str(sweep_dir)]))
    assert found == sorted(found) and len(found) == 6
    assert all(path.endswith("train.log") and "/.hidden/" not in path for path in found)


def test_a_directory_prints_one_ranked_summary_grouped_by_verdict(sweep_dir):
    done = cli("diagnose", str(sweep_dir))
    out = done.stdout.decode()
    assert out.startswith("6 runs: ") and "(worst first)" in out
    assert "Most likely" not in out  # no full reports for a sweep, only rows
    assert out.count("train.log") == 6
    counts = out.splitlines()[0]
    assert sum(int(part.split()[0]) for part in counts.split(": ", 1)[1].split(" (")[0].split(", ")) == 6


def test_json_and_markdown_of_a_sweep_carry_every_run(sweep_dir):
    reports = json.loads(cli("diagnose", str(sweep_dir), "--format", "json").stdout)
    assert len(reports) == 6 and all(r["findings"] is not None for r in reports)
    markdown = cli("diagnose", str(sweep_dir), "--format", "markdown").stdout.decode()
    assert markdown.count("## plateau-doctor: `") == 6 and "6 runs:" in markdown


def test_a_streamed_json_list_is_byte_for_byte_the_rendered_one():
    from plateau_doctor.read import InputError
    from plateau_doctor.report.json import ListWriter, render
    from plateau_doctor.sweep import failed

    reports = [report for _, report, _ in diagnose_each([str(p) for p in LOGS[:2]], job(), jobs=1)]
    reports.insert(1, failed("gone.log", InputError("gone.log", "no such file")))
    pieces: list[str] = []
    writer = ListWriter(pieces.append)
    for report in reports:
        writer.add(report)
    writer.close()
    assert "".join(pieces) == render(reports)


# -- a file holding several runs -----------------------------------------------------------------


@pytest.fixture
def two_runs_in_one_file(tmp_path) -> Path:
    """Two real runs appended to one file (`tee -a` twice): an LR 100x too low, then a healthy run."""
    path = tmp_path / "two.log"
    examples = ROOT / "examples" / "logs"
    path.write_bytes(
        (examples / "h200_shakespeare_char_lr_low_2e-5.log").read_bytes()
        + (examples / "h200_shakespeare_char_healthy_2k.log").read_bytes()
    )
    return path


def test_a_file_of_two_runs_gets_a_report_for_each_run_in_every_mode(two_runs_in_one_file):
    path = str(two_runs_in_one_file)
    for jobs in (1, 2):
        done = list(diagnose_each([path, str(LOGS[0])], job(), jobs=jobs))
        assert [position for position, _, _ in done] == [0, 1, 2]
        assert [r.run_in_file for _, r, _ in done] == [
            "run 1 of 2, lines 1-380",
            "run 2 of 2, lines 381-650",
            None,
        ]
    [(_, first, _), (_, second, _)] = diagnose_each([path], job())  # one path alone, too
    assert first.findings[0].category == "lr_too_low" and first.run.last_iter == 3000
    assert second.run.last_iter == 2000 and "lr_too_low" not in {
        f.category for f in second.findings if f.raised
    }


def test_the_cli_names_each_run_of_a_file_in_its_heading_summary_and_json(two_runs_in_one_file):
    text = cli("diagnose", str(two_runs_in_one_file), "--dataset-tokens", "1003854").stdout.decode()
    assert "two.log (run 1 of 2, lines 1-380)" in text and "2 runs: " in text
    reports = json.loads(cli("diagnose", str(two_runs_in_one_file), "--format", "json").stdout)
    assert [r["source"]["run_in_file"] for r in reports] == [
        "run 1 of 2, lines 1-380",
        "run 2 of 2, lines 381-650",
    ]
    one_run = json.loads(cli("diagnose", str(LOGS[0]), "--format", "json").stdout)
    assert "run_in_file" not in one_run["source"]  # a one-run report is unchanged


def test_discovery_finds_a_log_that_opens_with_a_long_training_script(tmp_path):
    # modded-nanogpt prints its whole script before the first step line: over 1,000 lines
    seeds = ROOT / "tests" / "fixtures" / "seeds"
    log = next(iter(sorted(seeds.glob("*.log"))))
    script = "".join(f"x{i} = {i}  # the training script, echoed\n" for i in range(1500))
    (tmp_path / "run.txt").write_text(script + "=" * 100 + "\n" + log.read_text())
    assert list(discover_runs([str(tmp_path)])) == [str(tmp_path / "run.txt")]


# -- speed: detection once per file ------------------------------


def test_a_short_log_carries_the_format_discovery_detected_and_a_long_one_does_not(tmp_path):
    from plateau_doctor.sweep import DISCOVERY_LINES, DiscoveredLog, format_to_parse

    (tmp_path / "a_short.log").write_bytes(LOGS[0].read_bytes())
    lines = LOGS[0].read_text().splitlines(keepends=True)
    padding = ["# more output\n"] * DISCOVERY_LINES
    (tmp_path / "b_long.log").write_text("".join(lines + padding))
    (tmp_path / "c_preamble.log").write_text("".join(padding + lines))
    short, long, preamble = discover_runs([str(tmp_path)])
    assert isinstance(short, DiscoveredLog) and short.sniffed == "nanogpt"
    assert long.sniffed is None  # detection saw 1,000 lines; parsing detects on 5,000
    assert preamble.sniffed == "nanogpt"  # nothing in 1,000 lines: the second look saw 5,000
    assert format_to_parse(short, "auto", None) == "nanogpt"
    assert format_to_parse(long, "auto", None) == "auto"
    assert format_to_parse(short, "csv", None) == "csv"  # --log-format still wins
    assert format_to_parse(short, "auto", {"train": "loss"}) == "auto"  # and --columns
    store = DiscoveredLog(str(tmp_path / "runs.db"), "nanogpt")  # a store's name: read by stores/
    assert format_to_parse(store, "auto", None) == "auto"


def test_a_log_parsed_with_the_discovered_format_gives_the_same_report(tmp_path):
    import pickle

    from plateau_doctor.report.json import render
    from plateau_doctor.sweep import DiscoveredLog

    path = str(LOGS[0])
    found = pickle.loads(pickle.dumps(DiscoveredLog(path, "nanogpt")))  # as a worker gets it
    assert found.sniffed == "nanogpt" and found == path
    [(known, _)] = job()(found)
    [(detected, _)] = job()(path)
    assert type(known.path) is str and render([known]) == render([detected])


def test_discovery_on_a_pool_finds_what_it_finds_in_process(sweep_dir, monkeypatch):
    import plateau_doctor.sweep as sweep

    in_process = list(discover_runs([str(sweep_dir)]))
    monkeypatch.setattr(sweep, "DISCOVERY_POOL_MIN", 1)
    monkeypatch.setattr(sweep, "DISCOVERY_BATCH", 2)
    monkeypatch.setattr(sweep, "usable_cores", lambda: 2)
    pooled = list(discover_runs([str(sweep_dir)]))
    assert pooled == in_process and len(pooled) == 6
    assert [p.sniffed for p in pooled] == [p.sniffed for p in in_process]


def test_batches_spread_a_few_logs_over_every_worker_and_cap_a_sweep():
    from plateau_doctor.sweep import MAX_BATCH, _batches, batch_size

    assert batch_size(5, 2) == 1 and batch_size(None, 2) == 1
    assert batch_size(10_000, 2) == MAX_BATCH
    assert list(_batches(["a", "b", "-", "c", "d", "e"], 2)) == [["a", "b"], ["-"], ["c", "d"], ["e"]]


def test_batched_pool_keeps_the_order_and_reads_stdin_here(monkeypatch):
    import plateau_doctor.sweep as sweep

    monkeypatch.setattr(sweep, "batch_size", lambda total, workers: 2)
    paths = [str(p) for p in LOGS[:5]]
    done = list(diagnose_each(paths, job(), jobs=2))
    assert [report.path for _, report, _ in done] == paths
    assert [position for position, _, _ in done] == list(range(len(paths)))
