"""Writing reports and exports: atomically, so a reader never sees half a file and a failure
never truncates what was there (the input log included)."""

from __future__ import annotations

import os
import stat


class OutputError(Exception):
    """The output cannot be written. `str()` is the one line the user sees."""


def refuse_overwriting_inputs(output: str | None, inputs: list[str | None]) -> None:
    """`--output` naming an input (the log, the config; under any spelling, link or hard link)
    would destroy it: refuse before any work is done."""
    if not output or not os.path.exists(output):
        return
    for path in inputs:
        if path and path != "-" and os.path.exists(path):
            try:
                same = os.path.samefile(output, path)
            except OSError:
                continue
            if same:
                raise OutputError(f"{output}: --output is the input {path}; refusing to overwrite it")


def write_atomically(path: str, data: str | bytes) -> None:
    """Write to a temporary file beside the target, then rename: a reader never sees half a
    report, and a failure never truncates an existing file (or the input)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        # a device, FIFO or /dev/stdout has nothing to replace: write to it
        try:
            with open(path, "wb") as handle:
                handle.write(payload)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        import tempfile  # only when writing a file: stdout needs none of it

        fd, tmp = tempfile.mkstemp(prefix=".plateau-doctor-", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report should read like any file
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


class AtomicText:
    """A text file written piece by piece, appearing at `path` only when closed without error
    (stdout when `path` is None): streaming output with write_atomically's guarantees."""

    def __init__(self, path: str | None) -> None:
        import sys

        self.path = path
        self.tmp: str | None = None
        if path is None:
            self.handle = sys.stdout
            return
        info = os.stat(path) if os.path.exists(path) else None
        if info is not None and not stat.S_ISREG(info.st_mode):
            self.handle = _open_or_fail(path)  # a device or FIFO: write to it
            return
        directory = os.path.dirname(os.path.abspath(path)) or "."
        try:
            import tempfile

            fd, self.tmp = tempfile.mkstemp(prefix=".plateau-doctor-", dir=directory)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write here: {exc.strerror or exc}") from None
        self.handle = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, text: str) -> None:
        if self.path is None:  # stdout: a closed pipe is the caller's to handle
            self.handle.write(text)
            return
        try:
            self.handle.write(text)
        except OSError as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot write: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.path is None:
            self.handle.flush()
            return
        try:
            self.handle.close()
            if self.tmp:
                os.chmod(self.tmp, 0o666 & ~_umask())
                os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot write: {exc.strerror or exc}") from None

    def abort(self) -> None:
        """Drop what was written (an error or an interrupted run): the target is untouched."""
        if self.path is None:
            return
        try:
            self.handle.close()
        except OSError:
            pass
        if self.tmp:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass


def _open_or_fail(path: str):
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
