"""Where `watch` reads from: a regular file followed like `tail -F` (waited for while it does not
exist yet, reopened when rotated, read again from the start when truncated), a pipe or stdin read
until it closes, a .gz read through. `timeout` ends the wait for data on any of them; what was
read until then is still reported."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..read import CHUNK, InputError, is_stdin, open_binary, open_log


def chunks(
    source: str | None, poll_seconds: float, timeout: float | None, events: list[str]
) -> Iterator[bytes | None]:
    """The input as it arrives: follow a regular file; read pipes, stdin and .gz to their end.
    Yields None when there is nothing new (a chance to redraw); "waiting" and "timeout" are
    noted in `events`."""
    if is_stdin(source):
        yield from read_stream(sys.stdin.fileno(), poll_seconds, timeout, events)
        return
    assert source is not None
    yield from wait_for(source, poll_seconds, timeout, events)
    handle = open_binary(source)  # InputError now, before any output
    try:
        info = os.fstat(handle.fileno())
        gzipped = handle.peek(2)[:2] == b"\x1f\x8b"
    finally:
        handle.close()
    if gzipped:  # a finished, compressed log: read it through
        for buf, lo, hi in open_log(source).blocks():
            yield bytes(memoryview(buf)[lo:hi])
    elif stat.S_ISREG(info.st_mode):
        yield from follow_file(source, poll_seconds, timeout, events)
    else:  # a named pipe or a device
        fd = os.open(source, os.O_RDONLY)
        try:
            yield from read_stream(fd, poll_seconds, timeout, events)
        finally:
            os.close(fd)


def wait_for(path: str, poll_seconds: float, timeout: float | None, events: list[str]) -> Iterator[None]:
    """Until `path` exists (like tail -F): yield None at each poll. A path still missing after
    `timeout` seconds is an input error."""
    started = time.monotonic()
    while not os.path.exists(path):
        if not events or events[-1] != "waiting":
            events.append("waiting")
        if timeout is not None and time.monotonic() - started >= timeout:
            raise InputError(path, f"no such file (waited {timeout:g} s for it to appear)")
        yield None
        time.sleep(poll_seconds)
    if events and events[-1] == "waiting":
        events.pop()


def follow_file(
    path: str, poll_seconds: float, timeout: float | None, events: list[str] | None = None
) -> Iterator[bytes | None]:
    """The bytes of a growing file as they are written. Yields None when there is nothing new
    (a chance to refresh the view). Reopens the path when the file is rotated, starts over when
    it is truncated (each noted in `events`), and stops once nothing was added for `timeout`
    seconds (never, if None)."""
    handle = open_binary(path)
    last_growth = time.monotonic()
    try:
        while True:
            data = handle.read(CHUNK)
            if data:
                last_growth = time.monotonic()
                yield data
                continue
            handle, event = _reopen_if_replaced(path, handle)
            if event:
                if events is not None:
                    events.append(event)
                last_growth = time.monotonic()
                yield b""  # the caller ends the old file's last line here
                continue
            if timeout is not None and time.monotonic() - last_growth >= timeout:
                if events is not None:
                    events.append("timeout")
                return
            yield None
            time.sleep(poll_seconds)
    finally:
        handle.close()


def _reopen_if_replaced(path: str, handle) -> tuple[Any, str | None]:
    """At the end of what was written: has the path been rotated or the file truncated?"""
    try:
        now = os.stat(path)
    except OSError:  # mid-rotation (renamed, not yet recreated): keep the old file
        return handle, None
    mine = os.fstat(handle.fileno())
    if (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev):
        try:
            fresh = open_binary(path)
        except InputError:
            return handle, None
        handle.close()
        return fresh, "rotated"
    if now.st_size < handle.tell():
        handle.seek(0)
        return handle, "truncated"
    return handle, None


def read_stream(
    fd: int, poll_seconds: float = 0.5, timeout: float | None = None, events: list[str] | None = None
) -> Iterator[bytes | None]:
    """A pipe or stdin, as the bytes arrive, until EOF, or until nothing arrived for `timeout`
    seconds (noted as "timeout" in `events`). Yields None between polls."""
    import select

    last_data = time.monotonic()
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], poll_seconds)
        except (OSError, ValueError):  # not selectable (some devices): block on read
            ready = [fd]
        if not ready:
            if timeout is not None and time.monotonic() - last_data >= timeout:
                if events is not None:
                    events.append("timeout")
                return
            yield None
            continue
        data = os.read(fd, CHUNK)
        if not data:
            return
        last_data = time.monotonic()
        yield data
