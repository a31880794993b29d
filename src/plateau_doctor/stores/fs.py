"""Where a store's files are: the local disk, or a remote filesystem through fsspec.

The readers and discovery only list directories, open files for reading and, for SQLite, need a
local file; `Local` and `Remote` give them exactly that, so one reader serves both. Nothing here
writes to the store: a remote SQLite database is copied into a temporary directory of ours.
No numpy, no fsspec at import time: `diagnose` of a plain log imports this module's package.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

from ..remote import Entry, Remote, is_url


class Local:
    """The local disk."""

    sep = os.sep

    def join(self, *parts: str) -> str:
        return os.path.join(*parts)

    def basename(self, path: str) -> str:
        return os.path.basename(path.rstrip("/\\")) or path

    def dirname(self, path: str) -> str:
        return os.path.dirname(path.rstrip("/\\"))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def isfile(self, path: str) -> bool:
        return os.path.isfile(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def size(self, path: str) -> int:
        return os.stat(path).st_size

    def entries(self, path: str) -> list[Entry]:
        """The directory's entries, sorted by name; [] when it cannot be listed."""
        try:
            with os.scandir(path) as listing:
                found = [Entry(e.name, e.path, _is_dir(e), e.is_symlink()) for e in listing]
        except OSError:
            return []
        return sorted(found, key=lambda e: e.name)

    def open(self, path: str) -> BinaryIO:
        from ..read import open_binary

        return open_binary(path)

    @contextlib.contextmanager
    def local_file(self, path: str) -> Iterator[str]:
        yield path


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def filesystem_for(path: str) -> Local | Remote:
    return Remote(path) if is_url(path) else Local()
