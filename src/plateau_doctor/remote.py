"""Remote paths (s3://, gs://, hf://, memory://) through fsspec, the optional `remote` extra:
what read.open_log needs to open a URL, and the Remote filesystem the store readers walk."""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .errors import InputError

URL_SCHEMES_HINT = "s3:// needs s3fs, gs:// needs gcsfs, hf:// needs huggingface_hub"


@dataclass(frozen=True)
class Entry:
    """One directory entry, as a listing gives it (no extra stat call)."""

    name: str
    path: str
    is_dir: bool
    is_link: bool = False


def is_url(path: str | None) -> bool:
    """`s3://bucket/run`, `gs://...`, `hf://...`, `memory://...`: a path fsspec resolves.
    A Windows drive (`C:\\`) has no `://`."""
    return bool(path) and "://" in path and path.split("://", 1)[0].isidentifier()


class Remote:
    """A filesystem fsspec knows (s3, gs, hf, memory, ...), addressed by full URLs."""

    sep = "/"

    def __init__(self, url: str) -> None:
        self.protocol = url.split("://", 1)[0]
        self.fs = _filesystem(url, self.protocol)

    def join(self, *parts: str) -> str:
        return posixpath.join(*parts)

    def basename(self, path: str) -> str:
        return posixpath.basename(path.rstrip("/"))

    def dirname(self, path: str) -> str:
        return posixpath.dirname(path.rstrip("/"))

    def isdir(self, path: str) -> bool:
        return self._ask(path, self.fs.isdir)

    def isfile(self, path: str) -> bool:
        return self._ask(path, self.fs.isfile)

    def exists(self, path: str) -> bool:
        return self._ask(path, self.fs.exists)

    def size(self, path: str) -> int:
        return int(self._ask(path, self.fs.size) or 0)

    def entries(self, path: str) -> list[Entry]:
        try:
            listing = self.fs.ls(path, detail=True)
        except (OSError, ValueError):
            return []
        found = []
        for item in listing:
            name = posixpath.basename(str(item["name"]).rstrip("/"))
            found.append(Entry(name, self.join(path.rstrip("/"), name), item.get("type") == "directory"))
        return sorted(found, key=lambda e: e.name)

    def open(self, path: str) -> BinaryIO:
        try:
            return self.fs.open(path, "rb")
        except FileNotFoundError:
            raise InputError(path, "no such file") from None
        except Exception as exc:  # each backend has its own errors (credentials, network, ...)
            raise InputError(path, f"cannot read: {exc}") from None

    @contextlib.contextmanager
    def local_file(self, path: str) -> Iterator[str]:
        """A local copy in a temporary directory of ours (SQLite cannot read a remote file)."""
        import tempfile  # here: it imports shutil and random, ~10 ms on every plain log's path

        with tempfile.TemporaryDirectory(prefix="plateau-doctor-") as scratch:
            local = os.path.join(scratch, self.basename(path) or "store")
            try:
                self.fs.get_file(path, local)
            except Exception as exc:  # as in open(): the backend's own errors
                raise InputError(path, f"cannot copy it here to read: {exc}") from None
            os.chmod(local, stat.S_IRUSR)
            yield local

    def _ask(self, path: str, question):
        try:
            return question(path)
        except (OSError, ValueError):
            return False


def _filesystem(url: str, protocol: str):
    try:
        import fsspec
    except ImportError:
        raise InputError(
            url, "reading remote paths needs fsspec: pip install 'plateau-doctor[remote]'"
        ) from None
    try:
        return fsspec.filesystem(protocol)
    except ImportError as exc:  # fsspec knows the protocol but its package is missing
        raise InputError(url, f"{exc} ({URL_SCHEMES_HINT})") from None
    except ValueError as exc:  # a protocol fsspec does not know
        raise InputError(url, f"unknown filesystem {protocol!r}: {exc}") from None


def open_url(url: str) -> BinaryIO:
    """A remote file for read.open_log: buffered, so gzip detection can peek at it."""
    import io

    return io.BufferedReader(Remote(url).open(url))
