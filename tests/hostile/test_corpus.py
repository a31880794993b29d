"""The corpus of nasty inputs, each through the real command line (`python -m plateau_doctor`).

Expected outcome of each case: a report of what could be read (exit 0 or 1), or exit 2 with one
line on stderr naming the file and the problem, never a traceback; always in bounded time and
memory. Small cases live in tests/hostile/corpus/; big ones (the 50 MB line, the 2 GB sparse file)
and the ones the file system must make (a directory, a FIFO, an unreadable file, a data dir with a
pickle or a symlink) are made at test time in tmp_path.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import stat
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
ROOT = HERE.parents[1]
LOG = ROOT / "examples" / "logs" / "h200_shakespeare_char_tiny_model.log"
CONFIG = ROOT / "examples" / "configs" / "h200_shakespeare_char_tiny_model.py"

FAST = 60.0  # seconds: a generous bound for a run over a small file
BIG_RSS_MB = 1500.0  # the watchdog kills a run past this (a 2 GB file read whole would)


def report(run) -> dict:
    """The JSON report of a run that must have produced one."""
    assert run.killed is None, f"killed ({run.killed}) after {run.seconds:.1f}s"
    assert run.returncode in (0, 1), (run.returncode, run.err[-2000:])
    assert "Traceback" not in run.err
    return json.loads(run.stdout)


# -- logs that cannot be diagnosed: exit 2, one line ---------------------------------------------


def test_empty_file(cli, one_line_error, tmp_path):
    run = cli("diagnose", str(CORPUS / "empty.log"), cwd=tmp_path, timeout=FAST)
    one_line_error(run, "the log is empty")


def test_only_warnings(cli, one_line_error, tmp_path):
    run = cli("diagnose", str(CORPUS / "only_warnings.log"), cwd=tmp_path, timeout=FAST)
    one_line_error(run, "no training-loss lines of any known format", "first 7 lines")


def test_binary_file(cli, one_line_error, tmp_path):
    run = cli("diagnose", str(CORPUS / "binary.bin"), cwd=tmp_path, timeout=FAST)
    one_line_error(run, "no training-loss lines of any known format")


def test_directory_passed_as_a_log(cli, one_line_error, tmp_path):
    run = cli("diagnose", str(tmp_path), cwd=tmp_path, timeout=FAST)
    one_line_error(run, str(tmp_path), "is a directory")


def test_missing_file(cli, one_line_error, tmp_path):
    run = cli("diagnose", str(tmp_path / "nope.log"), cwd=tmp_path, timeout=FAST)
    one_line_error(run, str(tmp_path / "nope.log"), "no such file")


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="running as root: file permissions do not apply "
    "(root reads a chmod 000 file, and one inside a chmod 000 directory)",
)
def test_permission_denied(cli, one_line_error, tmp_path):
    log = tmp_path / "secret.log"
    log.write_bytes(LOG.read_bytes())
    log.chmod(0)
    try:
        run = cli("diagnose", str(log), cwd=tmp_path, timeout=FAST)
    finally:
        log.chmod(0o644)
    one_line_error(run, str(log), "permission denied")


@pytest.mark.parametrize("name", ["empty.log", "only_warnings.log", "binary.bin"])
def test_unrecognised_logs_are_named_in_the_error(cli, one_line_error, tmp_path, name):
    path = str(CORPUS / name)
    line = one_line_error(cli("diagnose", path, cwd=tmp_path, timeout=FAST))
    assert line.startswith(f"plateau-doctor: {path}: "), line


@pytest.mark.parametrize(
    "damage, fragment",
    [
        ("truncated_in_header", "the gzip stream ends before its first line"),
        ("corrupt", "while decompressing data"),
        ("not_gzip", "cannot read"),
    ],
)
def test_damaged_gzip(cli, one_line_error, tmp_path, damage, fragment):
    packed = bytearray(gzip.compress(LOG.read_bytes(), mtime=0))
    if damage == "truncated_in_header":  # cut before any content
        packed = packed[:12]
    elif damage == "corrupt":  # flipped bytes in the middle of the stream
        packed[len(packed) // 2] ^= 0xFF
        packed[len(packed) // 2 + 1] ^= 0xFF
    else:  # the magic number, then no gzip stream
        packed = bytearray(b"\x1f\x8b" + b"junk" * 10)
    path = tmp_path / f"{damage}.log.gz"
    path.write_bytes(bytes(packed))
    one_line_error(cli("diagnose", str(path), cwd=tmp_path, timeout=FAST), str(path), fragment)


# -- damaged logs: a report of what could be read -----------------------------------------------


def test_a_gzip_cut_short_is_reported_up_to_the_cut_with_a_note(cli, tmp_path):
    packed = gzip.compress(LOG.read_bytes(), mtime=0)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    done = cli("diagnose", str(path), "--format", "json", cwd=tmp_path, timeout=FAST)
    data = report(done)
    assert data["source"]["format"] == "nanogpt"
    assert any("truncated copy" in note for note in data["notes"])
    whole = report(cli("diagnose", str(LOG), "--format", "json", cwd=tmp_path, timeout=FAST))
    assert 0 < data["run"]["last_iter"] < whole["run"]["last_iter"]


def test_nul_bytes(cli, tmp_path):
    """NULs inside lines, a line of NULs, and the NUL-filled tail a crashed node leaves."""
    data = report(
        cli("diagnose", str(CORPUS / "nul_bytes.log"), "--format", "json", cwd=tmp_path, timeout=FAST)
    )
    assert data["source"]["format"] == "nanogpt"
    assert data["run"]["last_iter"] == 59 and data["run"]["best_val_loss"] == 3.5


def test_invalid_utf8(cli, tmp_path):
    """Invalid bytes in the header, in comments, around the fields, and a cut sequence at EOF."""
    data = report(
        cli("diagnose", str(CORPUS / "invalid_utf8.log"), "--format", "json", cwd=tmp_path, timeout=FAST)
    )
    assert data["source"]["format"] == "nanogpt"
    assert data["run"]["last_iter"] == 59 and data["run"]["tokens_per_iter"] == 16384
    assert data["run"]["best_val_loss"] == pytest.approx(3.7)  # step 40


def test_every_value_nan(cli, tmp_path):
    """A run that was NaN from the start: the report says so (divergence), exit 1."""
    run = cli("diagnose", str(CORPUS / "all_nan.log"), "--format", "json", cwd=tmp_path, timeout=FAST)
    data = report(run)
    assert run.returncode == 1
    assert data["findings"][0]["category"] == "divergence"
    assert data["run"]["best_val_loss"] is None and data["run"]["last_iter"] == 90


def test_huge_values_report_without_noise_on_stderr(cli, tmp_path):
    run = cli("diagnose", str(CORPUS / "huge_values.log"), "--format", "json", cwd=tmp_path, timeout=FAST)
    report(run)
    assert run.err == "", run.err[-2000:]


def test_huge_values_text_report(cli, tmp_path):
    run = cli("diagnose", str(CORPUS / "huge_values.log"), cwd=tmp_path, timeout=FAST)
    assert run.returncode in (0, 1), run.err_lines[-1:]


def test_one_50_mb_line(cli, tmp_path):
    """A 50 MB line (a dumped tensor, a progress bar that never printed a newline) between the
    lines of a real log: the log is still read, in bounded time and memory."""
    lines = LOG.read_bytes().split(b"\n")
    big = tmp_path / "long_line.log"
    with open(big, "wb") as handle:
        handle.write(b"\n".join(lines[:200]) + b"\n")
        handle.write(b"tensor([" + b"0.1234, " * (50 * 2**20 // 8) + b"])\n")
        handle.write(b"\n".join(lines[200:]))
    run = cli("diagnose", str(big), "--format", "json", cwd=tmp_path, timeout=120, max_rss_mb=BIG_RSS_MB)
    data = report(run)
    assert data["source"]["format"] == "nanogpt" and data["run"]["last_iter"] == 3000
    assert run.seconds < 60 and run.max_rss_mb < 1000, (run.seconds, run.max_rss_mb)


def test_one_long_line_that_starts_like_data(cli, tmp_path):
    lines = LOG.read_text().split("\n")
    big = tmp_path / "long_data_line.log"
    big.write_text("\n".join(lines[:200] + ["iter 1: loss 2.0, " + "x" * 2**18] + lines[200:]))
    run = cli("diagnose", str(big), "--format", "json", cwd=tmp_path, timeout=6, max_rss_mb=BIG_RSS_MB)
    report(run)


def test_a_2_gb_sparse_file(cli, one_line_error, tmp_path):
    sparse = tmp_path / "sparse.log"
    with open(sparse, "wb") as handle:
        handle.truncate(2 << 30)  # 2 GiB of NULs that take no disk
    run = cli("diagnose", str(sparse), cwd=tmp_path, timeout=10, max_rss_mb=BIG_RSS_MB)
    one_line_error(run, str(sparse), "no training-loss lines")
    assert run.seconds < 8 and run.max_rss_mb < 500, (run.seconds, run.max_rss_mb)


@pytest.mark.parametrize("writer", ["silent", "none"])
def test_a_fifo_that_never_closes(cli, one_line_error, tmp_path, writer):
    fifo = tmp_path / "never.log"
    os.mkfifo(fifo)
    # "silent": a writer that never writes or closes (read() blocks); "none": open() itself blocks
    keep_open = os.open(fifo, os.O_RDWR | os.O_NONBLOCK) if writer == "silent" else None
    try:
        run = cli("diagnose", str(fifo), "--timeout", "2", cwd=tmp_path, timeout=15)
    finally:
        if keep_open is not None:
            os.close(keep_open)
    one_line_error(run, str(fifo), "timed out after 2")
    assert run.seconds < 10


# -- configs: read, never run; hostile YAML rejected --------------------------------------------


def test_python_config_is_read_without_running_it(cli, tmp_path):
    run = cli(
        "diagnose",
        str(LOG),
        "--config",
        str(CORPUS / "config_exec.py"),
        "--format",
        "json",
        cwd=tmp_path,
        timeout=FAST,
    )
    data = report(run)
    assert not (tmp_path / "MARKER_FROM_CONFIG").exists(), "the config was executed"
    assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())
    notes = " ".join(data["notes"])
    for key in ("learning_rate", "dataset", "wandb_run_name", "n_layer", "n_head", "dropout"):
        assert key in notes, (key, notes)  # "config keys set by code that was not evaluated"


def test_code_that_makes_python_warn_stays_quiet(cli, tmp_path):
    """`1if x else 2` and "\\d" make the compiler warn on stderr; reading them must not."""
    config = tmp_path / "warns.py"
    config.write_text('max_iters = 3000\nx = 1if True else 2\ns = "\\d"\n')
    hf_log = tmp_path / "hf.log"
    hf_log.write_text("{'loss': 1if 1 else 2, 'epoch': 1}\n{'loss': 2.0, 'epoch': 2}\n")
    for args in (
        ["diagnose", str(LOG), "--config", str(config)],
        ["diagnose", str(hf_log)],
        ["diagnose", str(LOG), "--set", "dataset=1if"],
    ):
        run = cli(*args, "--format", "json", cwd=tmp_path, timeout=FAST)
        report(run)
        assert run.err == "", (args, run.err)


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("billion_laughs.yaml", "YAML aliases are not allowed"),
        ("custom_tag.yaml", "could not determine a constructor for the tag"),
        ("unknown_tag.yaml", "could not determine a constructor for the tag '!vault'"),
    ],
)
def test_hostile_yaml_is_rejected(cli, one_line_error, tmp_path, name, fragment):
    path = str(CORPUS / name)
    run = cli("diagnose", str(LOG), "--config", path, cwd=tmp_path, timeout=FAST, max_rss_mb=BIG_RSS_MB)
    one_line_error(run, path, fragment)
    assert run.seconds < 30
    assert not (tmp_path / "MARKER_FROM_CONFIG").exists()


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        ("deep.yaml", "max_iters: " + "[" * 100_000 + "]" * 100_000 + "\n", "YAML nested too deeply"),
        (
            "deep.json",
            '{"max_iters": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "invalid JSON: nested too deeply",
        ),
        ("deep.toml", "max_iters = " + "[" * 100_000 + "]" * 100_000 + "\n", "invalid TOML"),
        ("deep.py", "max_iters = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n", "not valid Python"),
        ("big.py", "# " + "x" * (5 << 20) + "\n", "larger than 4 MB"),
        ("bad_value.yaml", "max_iters: .inf\n", "max_iters = inf: expected a whole number"),
    ],
)
def test_config_nested_10_to_the_5_levels_is_rejected(cli, one_line_error, tmp_path, name, text, fragment):
    path = tmp_path / name
    path.write_text(text)
    run = cli("diagnose", str(LOG), "--config", str(path), cwd=tmp_path, timeout=FAST)
    one_line_error(run, str(path), fragment)


def test_set_value_of_the_wrong_type_is_exit_2(cli, one_line_error, tmp_path):
    run = cli("diagnose", str(LOG), "--set", "max_iters=1e999", cwd=tmp_path, timeout=FAST)
    one_line_error(run, "--set", "max_iters=inf", "expected a whole number")


def test_debug_shows_the_traceback(cli, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("learning_rate = = 3\n")
    run = cli("diagnose", str(LOG), "--config", str(bad), "--debug", cwd=tmp_path, timeout=FAST)
    assert run.returncode == 2
    assert "Traceback (most recent call last)" in run.err
    assert run.err_lines[-1] == f"plateau-doctor: {bad}: not valid Python (line 1): invalid syntax"


# -- --data-dir: sizes only, no pickles, no links out --------------------------------------------


class _Bomb:
    """Unpickling this runs os.system: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _data_dir(tmp_path: Path, tokens: int = 1_000_000) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "train.bin", "wb") as handle:
        handle.truncate(2 * tokens)  # uint16 tokens; sparse, no disk
    (data / "val.bin").write_bytes(b"\0" * 2000)
    return data


def test_data_dir_never_unpickles_meta_pkl(cli, tmp_path):
    marker = tmp_path / "UNPICKLED"
    data = _data_dir(tmp_path)
    (data / "meta.pkl").write_bytes(pickle.dumps(_Bomb(marker)))
    run = cli(
        "diagnose",
        str(LOG),
        "--config",
        str(CONFIG),
        "--data-dir",
        str(data),
        "--format",
        "json",
        cwd=tmp_path,
        timeout=FAST,
    )
    result = report(run)
    assert not marker.exists(), "meta.pkl was unpickled"
    assert result["run"]["dataset_tokens"] == 1_000_000


def test_data_dir_train_bin_linking_outside_is_refused(cli, one_line_error, tmp_path):
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"\0" * 4000)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.bin").symlink_to(outside)
    run = cli("diagnose", str(LOG), "--data-dir", str(data), cwd=tmp_path, timeout=FAST)
    one_line_error(run, str(data / "train.bin"), "pointing outside --data-dir")


def test_data_dir_link_inside_is_followed(cli, tmp_path):
    data = _data_dir(tmp_path, tokens=5000)
    os.rename(data / "train.bin", data / "train_v2.bin")
    (data / "train.bin").symlink_to("train_v2.bin")
    result = report(
        cli(
            "diagnose",
            str(LOG),
            "--config",
            str(CONFIG),
            "--data-dir",
            str(data),
            "--format",
            "json",
            cwd=tmp_path,
            timeout=FAST,
        )
    )
    assert result["run"]["dataset_tokens"] == 5000


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_data_dir_train_bin_that_is_not_a_file_is_refused(cli, one_line_error, tmp_path, kind):
    data = tmp_path / "data"
    data.mkdir()
    if kind == "directory":
        (data / "train.bin").mkdir()
    else:
        os.mkfifo(data / "train.bin")
    run = cli("diagnose", str(LOG), "--data-dir", str(data), cwd=tmp_path, timeout=FAST)
    one_line_error(run, str(data / "train.bin"), "not a regular file")
    assert stat.S_ISDIR(os.stat(data).st_mode)
