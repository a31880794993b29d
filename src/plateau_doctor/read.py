"""Sources: a path, a .gz path, or stdin, decoded as UTF-8 with replacement, one line at a time.

Nothing here writes to or changes the input. Problems a user can fix (missing file, a directory,
permission denied, a corrupt gzip) become an InputError naming the file; the CLI prints it as one
line and exits 2.
"""
from __future__ import annotations

import codecs
import gzip
import io
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK = 1 << 20


class InputError(Exception):
    """The input cannot be read. `str()` is the one line the user sees."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class LogText:
    """An opened log: a display name and an iterator over its decoded lines (no newline)."""

    name: str
    lines: Iterator[str]


def is_stdin(path: str | None) -> bool:
    return path in (None, "", "-")


def open_log(path: str | None) -> LogText:
    """Open a log for reading. The file is checked up front so errors surface before parsing."""
    if is_stdin(path):
        return LogText("<stdin>", _decode_lines(sys.stdin.buffer, "<stdin>"))
    assert path is not None
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory, not a log file")
    try:
        handle = open(path, "rb")
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    if _is_gzip(handle):
        return LogText(path, _decode_lines(gzip.GzipFile(fileobj=handle), path, handle))
    return LogText(path, _decode_lines(handle, path))


def _is_gzip(handle: io.BufferedReader) -> bool:
    try:
        return handle.peek(2)[:2] == b"\x1f\x8b"
    except OSError:
        return False


def _decode_lines(stream, name: str, owner=None) -> Iterator[str]:
    """Yield lines decoded as UTF-8 (invalid bytes become U+FFFD), reading in large chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    tail = ""
    try:
        while True:
            try:
                chunk = stream.read(CHUNK)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise InputError(name, f"cannot read: {exc}") from None
            if not chunk:
                break
            text = tail + decoder.decode(chunk)
            parts = text.split("\n")
            tail = parts.pop()
            yield from parts
        tail += decoder.decode(b"", final=True)
        if tail:
            yield tail   # a truncated last line is still a line
    finally:
        if name != "<stdin>":   # never close the process's own stdin
            (owner or stream).close()
