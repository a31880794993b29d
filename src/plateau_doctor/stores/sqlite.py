"""Opening a tracker's SQLite database read-only, and the errors a user can act on.

`mode=ro` in the URI: SQLite never writes the file, its journal or its WAL (a WAL database with
no -shm file is read through heap memory). A writer holding the lock makes us wait LOCK_WAIT_S,
then say the store is locked rather than hang a sweep. A half-written or foreign file, and a
schema without the tables and columns we read (a newer tracker), are InputErrors naming the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import urllib.parse
from collections.abc import Iterator

from ..read import InputError

LOCK_WAIT_S = 2.0  # long enough for a writer's commit, short enough not to stall a sweep


@contextlib.contextmanager
def connect(path: str, shown_as: str | None = None) -> Iterator[sqlite3.Connection]:
    """A read-only connection; any sqlite3 error inside the block becomes an InputError."""
    name = shown_as or path
    uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_S)
    except sqlite3.Error as exc:
        raise InputError(name, f"cannot open the database: {exc}") from None
    try:
        yield connection
    except sqlite3.Error as exc:
        raise InputError(name, problem(exc)) from None
    finally:
        connection.close()


def problem(exc: sqlite3.Error) -> str:
    """What a sqlite3 error means for someone holding the file."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the database is locked by another process (a run still writing?): {text}"
    if "not a database" in text or "malformed" in text:
        return f"not a complete SQLite database (half-written or truncated copy?): {text}"
    return f"cannot read the database: {text}"


def columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def require(
    connection: sqlite3.Connection, needed: dict[str, set[str]], name: str, tracker: str, version: str = ""
) -> None:
    """Every table and column we read is there, or an InputError saying the schema is not one we
    know (a newer `tracker` than plateau-doctor reads)."""
    for table, wanted in needed.items():
        missing = wanted - columns(connection, table)
        if missing:
            what = (
                f"no table {table!r}"
                if missing == wanted
                else f"table {table!r} has no column {', '.join(sorted(missing))}"
            )
            raise InputError(
                name,
                f"not a {tracker} database this version reads ({what}"
                f"{'; schema ' + version if version else ''}): "
                f"written by a newer {tracker}?",
            )
