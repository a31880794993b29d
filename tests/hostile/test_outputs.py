"""Outputs: --output is written atomically and never damages a file; a full disk or a reader that
goes away is one line or silence, never a traceback.

/dev/full and /dev/null: running as root, the real nodes are never used as --output targets
(an --output that renames a temporary file over its target would replace the system's /dev/full
with a regular file); a copy of the device node made with mknod in tmp_path stands in.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LOGS = ROOT / "examples" / "logs"
LOG = LOGS / "h200_shakespeare_char_tiny_model.log"
CONFIG = ROOT / "examples" / "configs" / "h200_shakespeare_char_tiny_model.py"
FAST = 60.0


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".plateau-doctor-")]


def test_output_is_written_whole_and_no_temporary_file_is_left(cli, tmp_path):
    out = tmp_path / "report.json"
    run = cli("diagnose", str(LOG), "--format", "json", "--output", str(out), cwd=tmp_path, timeout=FAST)
    assert run.returncode in (0, 1) and run.stdout == b"" and "Traceback" not in run.err
    assert json.loads(out.read_text())["source"]["path"] == str(LOG)
    assert _leftovers(tmp_path) == []


def test_output_replaces_an_existing_report_by_rename(cli, tmp_path):
    """A reader holding the old report keeps a whole old report: the new one is a new file
    renamed over it, not the old file truncated and rewritten."""
    out = tmp_path / "report.json"
    out.write_text("old report\n")
    reader = open(out)
    old_inode = os.stat(out).st_ino
    try:
        run = cli("diagnose", str(LOG), "--format", "json", "--output", str(out), cwd=tmp_path, timeout=FAST)
        assert run.returncode in (0, 1)
        assert reader.read() == "old report\n"
    finally:
        reader.close()
    assert os.stat(out).st_ino != old_inode
    assert json.loads(out.read_text())["schema_version"] == 1
    assert _leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_existing_output_intact(cli, one_line_error, tmp_path):
    """The write fails halfway (a file-size limit stands in for a full disk that root cannot
    bypass): exit 2 with one line, the previous report untouched, no temporary file left."""
    out = tmp_path / "report.json"
    out.write_text("previous report\n")
    limit = 4096  # the JSON report is larger; the error line is far smaller

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "plateau_doctor",
            "diagnose",
            str(LOG),
            "--format",
            "json",
            "--output",
            str(out),
        ],
        capture_output=True,
        cwd=tmp_path,
        timeout=FAST,
        preexec_fn=small_files,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(out) in lines[0] and "cannot write" in lines[0], lines
    assert out.read_text() == "previous report\n"
    assert _leftovers(tmp_path) == []


def test_output_into_a_missing_directory_is_exit_2(cli, one_line_error, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "report.json"
    run = cli("diagnose", str(LOG), "--output", str(out), cwd=tmp_path, timeout=FAST)
    one_line_error(run, str(out))


@pytest.mark.parametrize("spelling", ["same", "dot", "hardlink", "symlink", "config"])
def test_output_never_overwrites_an_input(cli, one_line_error, tmp_path, spelling):
    log = tmp_path / "run.log"
    log.write_bytes(LOG.read_bytes())
    config = tmp_path / "config.py"
    config.write_bytes(CONFIG.read_bytes())
    target = {"same": str(log), "dot": str(tmp_path / "." / "run.log"), "config": str(config)}.get(spelling)
    if spelling == "hardlink":
        os.link(log, tmp_path / "alias.log")
        target = str(tmp_path / "alias.log")
    elif spelling == "symlink":
        (tmp_path / "link.log").symlink_to(log)
        target = str(tmp_path / "link.log")
    run = cli("diagnose", str(log), "--config", str(config), "--output", target, cwd=tmp_path, timeout=FAST)
    assert log.read_bytes() == LOG.read_bytes(), "the input log was overwritten"
    assert config.read_bytes() == CONFIG.read_bytes(), "the config was overwritten"
    one_line_error(run, target, "input")


def _device_copy(tmp_path: Path, name: str, minor: int) -> str:
    """A path standing for /dev/null (minor 3) or /dev/full (minor 7) that is safe to hand to
    the CLI: the real node when not root (it cannot rename over /dev), else a mknod copy."""
    if os.geteuid() != 0:
        return f"/dev/{name}"
    node = tmp_path / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"root without mknod ({exc}): not risking the real /dev/{name}")
    return str(node)


def test_full_disk_is_one_line_and_the_device_survives(cli, one_line_error, tmp_path):
    full = _device_copy(tmp_path, "full", 7)
    run = cli("diagnose", str(LOG), "--output", full, cwd=tmp_path, timeout=FAST)
    assert stat.S_ISCHR(os.stat(full).st_mode), "the device node was replaced by a file"
    one_line_error(run, full, "No space left on device")


def test_output_to_dev_null_works_and_leaves_the_device(cli, tmp_path):
    null = _device_copy(tmp_path, "null", 3)
    run = cli("diagnose", str(LOG), "--output", null, cwd=tmp_path, timeout=FAST)
    assert stat.S_ISCHR(os.stat(null).st_mode), "the device node was replaced by a file"
    assert run.returncode in (0, 1) and run.err == "", run.err


def test_output_file_gets_the_usual_permissions(cli, tmp_path):
    """Not mkstemp's 0600: a report is read by CI uploaders and web servers."""
    out = tmp_path / "report.txt"
    run = cli("diagnose", str(LOG), "--output", str(out), cwd=tmp_path, timeout=FAST)
    assert run.returncode in (0, 1)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~umask


# -- a reader that goes away --------------------------------------------------------------------


def _closed_early(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose read end is closed before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "plateau_doctor", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=FAST,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("fail_on, code", [("never", 0), ("warning", 1)])
def test_closed_stdout_pipe_exits_quietly_with_the_diagnosis_exit_code(tmp_path, fmt, fail_on, code):
    # the tiny-model log raises warnings: a reader that went away must not turn 1 into 0
    done = _closed_early(["diagnose", str(LOG), "--format", fmt, "--fail-on", fail_on], tmp_path)
    assert done.stderr == b"", done.stderr.decode()[-2000:]
    assert done.returncode == code, done.returncode  # not 2, not killed by SIGPIPE


def test_closed_stdout_pipe_exits_quietly_for_parse(tmp_path):
    done = _closed_early(["parse", str(LOG), "--to", "json"], tmp_path)
    assert done.stderr == b"" and done.returncode == 0, (done.returncode, done.stderr[-2000:])


def test_piped_into_head(tmp_path):
    """`plateau-doctor diagnose LOGS | head -1` with a report far larger than a pipe buffer."""
    logs = " ".join(str(p) for p in sorted(LOGS.glob("*.log")))
    command = (
        f"{sys.executable} -m plateau_doctor diagnose {logs} {logs} --format json --jobs 1 "
        f'| head -1; echo "status=${{PIPESTATUS[0]}}" >&2'
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, cwd=tmp_path, timeout=120)
    assert done.stdout.decode().strip() == "["
    err = done.stderr.decode()
    assert "Traceback" not in err and "Error" not in err, err[-2000:]
    whole = subprocess.run(
        [sys.executable, "-m", "plateau_doctor", "diagnose", *logs.split(), "--jobs", "1"],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert err.strip().splitlines()[-1] == f"status={whole.returncode}", err
