"""Writing reports and exports: atomically, so a reader never sees half a file and a failure
never truncates what was there (the input log included)."""
from __future__ import annotations

import os
import tempfile


class OutputError(Exception):
    """The output cannot be written. `str()` is the one line the user sees."""


def write_atomically(path: str, data: str | bytes) -> None:
    """Write to a temporary file beside the target, then rename: a reader never sees half a
    report, and a failure never truncates an existing file (or the input)."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".plateau-doctor-", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600; a report should read like any file
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
