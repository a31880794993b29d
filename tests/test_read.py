"""Reading sources: a path, a .gz, stdin; decoding; the block interface; errors a user can fix."""

from __future__ import annotations

import gzip
import io
import sys

import pytest

import plateau_doctor.read as read
from plateau_doctor.read import InputError, LineBuffer, LogText, open_log

TEXT = (
    "Overriding: device = cpu\nstep 0: train loss 4.2874, val loss 4.2823\n"
    "iter 0: loss 4.2689, time 9.00ms, mfu -100.00%\n"
)


def lines(source: LogText) -> list[str]:
    return list(source.lines)


def test_a_path_reads_as_lines_without_newlines(tmp_path):
    path = tmp_path / "run.log"
    path.write_text(TEXT)
    source = open_log(str(path))
    assert source.name == str(path) and source.size == len(TEXT)
    assert lines(source) == TEXT.splitlines()


def test_gzip_is_detected_by_content_not_name(tmp_path):
    path = tmp_path / "run.log"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(TEXT.encode()))
    source = open_log(str(path))
    assert source.size is None  # unknown until decompressed
    assert lines(source) == TEXT.splitlines()


def test_a_corrupt_gzip_is_an_input_error(tmp_path):
    packed = bytearray(gzip.compress(TEXT.encode() * 50, mtime=0))
    packed[-8] ^= 0xFF  # the trailer's CRC no longer matches the content
    path = tmp_path / "run.log.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(InputError, match="cannot read") as caught:
        lines(open_log(str(path)))
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path))


def test_a_truncated_gzip_gives_every_line_before_the_cut_and_says_it_ended_early(tmp_path):
    text = "".join(f"iter {i}: loss {i}.0\n" for i in range(20_000))
    packed = gzip.compress(text.encode(), mtime=0)
    path = tmp_path / "run.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    source = open_log(str(path))
    got = lines(source)
    assert source.ended_early and "truncated" in source.ended_early
    assert len(got) > 1000 and text.startswith("\n".join(got))  # the last line may be cut


def test_a_complete_gzip_does_not_claim_it_ended_early(tmp_path):
    path = tmp_path / "run.log.gz"
    path.write_bytes(gzip.compress(TEXT.encode()))
    source = open_log(str(path))
    assert lines(source) == TEXT.splitlines() and source.ended_early is None


def test_concatenated_gzip_members_and_zero_padding_read_as_one_file(tmp_path):
    path = tmp_path / "run.log.gz"
    path.write_bytes(gzip.compress(b"first\n") + gzip.compress(b"second\n") + b"\0" * 16)
    source = open_log(str(path))
    assert lines(source) == ["first", "second"] and source.ended_early is None


def test_gunzip_inflates_a_bomb_one_bounded_chunk_at_a_time():
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KB
    stream = read.Gunzip(io.BytesIO(bomb))
    first = stream.read(1 << 30)
    assert 0 < len(first) <= read.CHUNK
    total = len(first) + sum(len(chunk) for chunk in iter(lambda: stream.read(read.CHUNK), b""))
    assert total == 64 << 20


@pytest.mark.parametrize("name", [None, "", "-"])
def test_stdin(monkeypatch, name):
    stdin = io.TextIOWrapper(io.BytesIO(TEXT.encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    source = open_log(name)
    assert source.name == "<stdin>"
    assert lines(source) == TEXT.splitlines()
    assert not stdin.buffer.closed  # never close the process's own stdin


def test_invalid_utf8_becomes_replacement_characters_on_the_same_lines(tmp_path):
    path = tmp_path / "run.log"
    path.write_bytes(b"ok\n\xff\xfe bad \xe2\x82\nend \xe2")
    assert lines(open_log(str(path))) == ["ok", "\ufffd\ufffd bad \ufffd", "end \ufffd"]


def test_truncated_last_line_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "run.log"
    path.write_bytes(b"a\r\n\n\nb\r\nlast without newline")
    assert lines(open_log(str(path))) == ["a\r", "", "", "b\r", "last without newline"]


def test_empty_file(tmp_path):
    path = tmp_path / "run.log"
    path.write_bytes(b"")
    assert lines(open_log(str(path))) == [] and open_log(str(path)).head(10) == []


def test_missing_file():
    with pytest.raises(InputError) as caught:
        open_log("does/not/exist.log")
    assert str(caught.value) == "does/not/exist.log: no such file"


def test_directory(tmp_path):
    with pytest.raises(InputError) as caught:
        open_log(str(tmp_path))
    assert str(caught.value) == f"{tmp_path}: is a directory, not a log file"


def test_permission_denied_at_stat_and_at_open(tmp_path, monkeypatch):
    path = tmp_path / "run.log"
    path.write_text(TEXT)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # root reads anything, so chmod cannot test this: make the calls refuse instead
    monkeypatch.setattr(read, "open", refuse, raising=False)
    with pytest.raises(InputError) as caught:
        open_log(str(path))
    assert str(caught.value) == f"{path}: permission denied"
    monkeypatch.setattr(read.os, "stat", refuse)
    with pytest.raises(InputError, match="permission denied$"):
        open_log(str(path))


def test_head_peeks_without_consuming(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    source = open_log(str(path))
    assert source.head(3) == ["line 0", "line 1", "line 2"]
    assert source.head(1000)[-1] == "line 99"
    assert lines(source) == [f"line {i}" for i in range(100)]


@pytest.mark.parametrize("size", [1, 5, 64, 1 << 20])
def test_blocks_are_whole_lines_with_padding_around_them(tmp_path, size):
    text = "".join(f"iter {i}: {'x' * (i % 37)}\n" for i in range(300)) + "tail"
    path = tmp_path / "run.log"
    path.write_text(text)
    seen = []
    for buf, lo, hi in open_log(str(path)).blocks(size):
        assert lo >= read.PAD and len(buf) - hi >= read.PAD
        chunk = bytes(buf[lo:hi])
        assert chunk.endswith(b"\n") or chunk == b"tail"
        seen.append(chunk)
    assert b"".join(seen).decode() == text


def test_line_buffer_grows_for_a_line_longer_than_itself():
    buffer = LineBuffer(size=8)
    assert list(buffer.feed(b"a" * 100)) == [] and buffer.pending == 100
    [(buf, lo, hi)] = list(buffer.feed(b"\nb\nc"))
    assert bytes(buf[lo:hi]) == b"a" * 100 + b"\nb\n"
    buf, lo, hi = buffer.rest()
    assert bytes(buf[lo:hi]) == b"c" and buffer.rest() is None


def test_line_buffer_feed_yields_runs_of_about_its_size():
    buffer = LineBuffer(size=64)
    runs = [bytes(buf[lo:hi]) for buf, lo, hi in buffer.feed(b"0123456789\n" * 100)]
    assert b"".join(runs) == b"0123456789\n" * 100
    assert max(map(len, runs)) <= 64 and len(buffer.buf) == 64 + 2 * read.PAD


def test_an_overlong_line_keeps_its_first_mebibyte_and_the_lines_after_it(tmp_path):
    from plateau_doctor.read import MAX_LINE, open_log

    path = tmp_path / "long.log"
    path.write_bytes(b"first\n" + b"x" * (3 * MAX_LINE + 123) + b"\nlast\n")
    lines = list(open_log(str(path)).lines)
    assert lines[0] == "first" and lines[2] == "last" and len(lines) == 3
    assert len(lines[1]) == MAX_LINE


def test_a_gzip_stream_on_stdin_is_recognised_by_its_magic_bytes():
    import json
    import subprocess
    from pathlib import Path

    log = Path(__file__).resolve().parents[1] / "examples/logs/h200_shakespeare_char_overfit_default.log"
    done = subprocess.run(
        [sys.executable, "-m", "plateau_doctor", "diagnose", "--format", "json"],
        input=gzip.compress(log.read_bytes()),
        capture_output=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert report["source"]["path"] == "<stdin>" and report["run"]["last_iter"] == 5000
