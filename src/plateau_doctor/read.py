"""Sources: a path, a .gz path, or stdin, read in large binary blocks of whole lines.

A log can be consumed two ways, from the same blocks: as decoded lines (UTF-8, invalid bytes
become U+FFFD) for the line-by-line parsers, or as raw blocks for the vectorised nanoGPT scanner.
`head()` peeks at the first lines for format detection without consuming them.

Nothing here writes to or changes the input. Problems a user can fix (missing file, a directory,
permission denied, a corrupt gzip) become an InputError naming the file; the CLI prints it as one
line and exits 2. A .gz that merely stops early (a copy of a log still being compressed) is read
up to where it stops and says so in `ended_early`: what it holds is still worth a report.
No numpy here: the CLI imports this module on its error path.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from .errors import InputError

CHUNK = 1 << 20  # bytes per read when decoding lines (the nanoGPT scanner picks its own)
PAD = 16  # spare bytes kept before and after a block (see LineBuffer)
HEAD_BYTES = 8 << 20  # head() never buffers more than this looking for lines
MAX_LINE = 1 << 20  # a longer line (a dumped tensor, a binary file) keeps its first MiB


class LineBuffer:
    """Bytes in, runs of whole lines out, in one reused buffer.

    A run is `(buf, lo, hi)`: `buf[lo:hi]` holds complete lines, each ending in b"\\n", except the
    final run of a stream, which may end with a line that has no newline (a truncated last line).
    At least PAD spare bytes lie before `lo` and after `hi`, so a vectorised scanner may read a
    word past either end without bounds checks. A run is valid until the next call that adds data:
    the consumer must not keep views of `buf`.
    """

    def __init__(self, size: int = CHUNK) -> None:
        self.size = size
        self.buf = bytearray(PAD + size + PAD)
        self.lo = self.hi = PAD
        self.skipping = False  # inside a line past MAX_LINE: drop bytes up to its newline

    def room(self) -> memoryview:
        """Free space after the data, for `readinto`; grows the buffer when one partial line
        fills most of it."""
        if self.lo > PAD:  # move the partial line left over from the last run to the front
            n = self.hi - self.lo
            self.buf[PAD : PAD + n] = self.buf[self.lo : self.hi]
            self.lo, self.hi = PAD, PAD + n
        if self.hi - self.lo >= MAX_LINE:  # an overlong line: keep its first MAX_LINE bytes
            self.hi = self.lo + MAX_LINE
            self.skipping = True
        if len(self.buf) - PAD - self.hi < max(1, self.size // 4):  # a line longer than the buffer
            grown = bytearray(2 * len(self.buf))
            grown[: self.hi] = self.buf[: self.hi]
            self.buf = grown
        return memoryview(self.buf)[self.hi : len(self.buf) - PAD]

    def commit(self, n: int) -> None:
        start, self.hi = self.hi, self.hi + n
        if not self.skipping:
            return
        # drop what belongs to the overlong line; keep its newline and whatever follows
        newline = self.buf.find(b"\n", start, self.hi)
        if newline < 0:
            self.hi = start
            return
        tail = self.buf[newline : self.hi]
        self.buf[start : start + len(tail)] = tail
        self.hi = start + len(tail)
        self.skipping = False

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[tuple[bytearray, int, int]]:
        """Copy `data` in, yielding each run of whole lines as soon as it is complete, so runs
        stay about the buffer's size and the buffer only grows for a line longer than itself."""
        view = memoryview(data)
        at = 0
        while at < len(view):
            space = self.room()
            n = min(len(space), len(view) - at)
            space[:n] = view[at : at + n]
            space.release()
            self.commit(n)
            at += n
            run = self.lines()
            if run:
                yield run

    def lines(self) -> tuple[bytearray, int, int] | None:
        """The complete lines buffered so far, or None if there is not one yet."""
        cut = self.buf.rfind(b"\n", self.lo, self.hi) + 1
        if cut <= 0:
            return None
        run = (self.buf, self.lo, cut)
        self.lo = cut
        return run

    def rest(self) -> tuple[bytearray, int, int] | None:
        """At end of input: the last line if it has no newline."""
        if self.hi == self.lo:
            return None
        run = (self.buf, self.lo, self.hi)
        self.lo = self.hi
        return run

    @property
    def pending(self) -> int:
        """Bytes of an incomplete line waiting for its newline."""
        return self.hi - self.lo


def decode_run(buf: bytearray, lo: int, hi: int) -> list[str]:
    """The lines of a run as text (no newlines). Blocks end at a newline, and no UTF-8 sequence
    contains one, so decoding block by block gives the same text as decoding the whole file."""
    text = str(memoryview(buf)[lo:hi], "utf-8", "replace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


class LogText:
    """An opened log: a display name and its content, read once, as lines or as blocks."""

    def __init__(
        self, name: str, stream: BinaryIO, owner: BinaryIO | None = None, size: int | None = None
    ) -> None:
        self.name = name
        self.size = size  # bytes, when known up front (a plain file)
        self._stream = stream
        self._owner = owner or stream  # what to close (the file under a GzipFile)
        self._peeked = bytearray()  # bytes read by head(), replayed first
        self._eof = False
        self._lines: Iterator[str] | None = None
        self.ended_early: str | None = None  # why the input stopped before its proper end

    @property
    def lines(self) -> Iterator[str]:
        """The decoded lines, without newlines; a truncated last line is still a line."""
        if self._lines is None:
            self._lines = (line for run in self.blocks() for line in decode_run(*run))
        return self._lines

    def head(self, n: int) -> list[str]:
        """The first `n` lines (fewer at end of input), without consuming them."""
        while self._peeked.count(b"\n") < n and not self._eof and len(self._peeked) < HEAD_BYTES:
            data = self._read(CHUNK)
            if not data:
                self._eof = True
            self._peeked += data
        lines = decode_run(self._peeked, 0, len(self._peeked)) if self._peeked else []
        return [line[:MAX_LINE] for line in lines[:n]]  # sniffers need no more of a line

    def blocks(self, size: int = CHUNK) -> Iterator[tuple[bytearray, int, int]]:
        """Runs of whole lines (see LineBuffer), from the start of the log."""
        buffer = LineBuffer(size)
        try:
            peeked, self._peeked = self._peeked, bytearray()
            yield from buffer.feed(peeked)  # first what head() read, then the stream
            while not self._eof:
                space = buffer.room()
                n = self._readinto(space)
                space.release()
                if not n:
                    break
                buffer.commit(n)
                run = buffer.lines()
                if run:
                    yield run
            run = buffer.lines()
            if run:
                yield run
            run = buffer.rest()
            if run:
                yield run
        finally:
            self.close()

    def close(self) -> None:
        if self.name != "<stdin>":  # never close the process's own stdin
            self._owner.close()

    def _read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except EOFError:
            self._cut_short()
            return b""
        except (OSError, zlib.error) as exc:
            raise InputError(self.name, f"cannot read: {exc}") from None

    def _readinto(self, space: memoryview) -> int:
        try:
            return self._stream.readinto(space) or 0
        except EOFError:
            self._cut_short()
            return 0
        except (OSError, zlib.error) as exc:
            raise InputError(self.name, f"cannot read: {exc}") from None

    def _cut_short(self) -> None:
        """Gunzip's EOFError: the compressed stream stops before its end marker. Everything before
        that point was delivered, so it is read; later reads return end of input."""
        self._eof = True
        self.ended_early = (
            "the .gz stops before its end-of-stream marker (a truncated copy): read up "
            "to where it stops, so the run may go on past the last line"
        )


class Gunzip(io.RawIOBase):
    """A .gz file's content, member after member, that gives back everything before a cut.

    gzip.GzipFile raises at a truncated end and drops what it was decompressing for that read
    (up to a whole block), so a cut copy would lose its last lines or all of them. Here every
    byte that decompresses is delivered first; only then does a read raise EOFError. Corrupt
    data still raises zlib.error. Output is produced a bounded chunk at a time (no gzip bomb).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
        self._out = memoryview(b"")
        self._done = False
        self._truncated = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not len(self._out) and not self._done:
            self._out = memoryview(self._inflate_some())
        if not len(self._out):
            if self._truncated:
                raise EOFError("compressed file ended before the end-of-stream marker was reached")
            return 0
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _inflate_some(self) -> bytes:
        if self._inflate.eof:  # a member ended: another may follow
            data = self._inflate.unused_data or self._raw.read(CHUNK)
            if not data.strip(b"\0"):  # end of file (zero padding is allowed)
                self._done = True
                return b""
            self._inflate = zlib.decompressobj(wbits=31)
        else:
            data = self._inflate.unconsumed_tail or self._raw.read(CHUNK)
            if not data:  # the file ends inside a member
                self._done = self._truncated = True
                return b""
        return self._inflate.decompress(data, CHUNK)


def is_stdin(path: str | None) -> bool:
    return path in (None, "", "-")


def open_log(path: str | None) -> LogText:
    """Open a log for reading. The file is checked up front so errors surface before parsing."""
    if is_stdin(path):
        stdin = sys.stdin.buffer
        if _is_gzip(stdin):  # `zcat`-less pipes: gzip is told by its magic bytes, not a name
            return LogText("<stdin>", Gunzip(stdin), owner=stdin)
        return LogText("<stdin>", stdin)
    assert path is not None
    if "://" in str(path):  # s3://, gs://, hf://: through fsspec (the `remote` extra)
        from .remote import is_url, open_url

        handle = open_url(path) if is_url(path) else open_binary(path)
    else:
        handle = open_binary(path)
    if _is_gzip(handle):
        return LogText(path, Gunzip(handle), owner=handle)
    return LogText(path, handle, size=_regular_size(handle))


def open_binary(path: str) -> io.BufferedReader:
    """Open a file for binary reading, or raise InputError with the reason in a few words."""
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
        return open(path, "rb")
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None


def _regular_size(handle: io.BufferedReader) -> int | None:
    try:
        info = os.fstat(handle.fileno())
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _is_gzip(handle) -> bool:
    """The gzip magic bytes, peeked without consuming them (a pipe cannot seek back). A stream
    that cannot peek is taken as plain text."""
    peek = getattr(handle, "peek", None)
    if peek is None:
        return False
    try:
        head = peek(2)
        while len(head) < 2:  # a pipe may deliver one byte first
            more = peek(2)
            if len(more) <= len(head):
                break
            head = more
        return head[:2] == b"\x1f\x8b"
    except (OSError, ValueError):
        return False
