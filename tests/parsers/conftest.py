"""Shared fixtures for the parser tests: the real logs in ../shared/logs (absent in a user's clone,
so tests that need them skip), the real logs of the other trainer formats kept in the repository
(tests/data/formats), and a helper to parse a named real log through detection."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from plateau_doctor.model import ParsedLog
from plateau_doctor.parsers import parse_lines
from plateau_doctor.read import open_log

# ../shared/logs, or a folder laid out like it (PLATEAU_DOCTOR_SHARED_LOGS)
SHARED_LOGS = Path(
    os.environ.get("PLATEAU_DOCTOR_SHARED_LOGS") or Path(__file__).parents[2].parent / "shared" / "logs"
)
FORMAT_LOGS = Path(__file__).parents[1] / "data" / "formats"  # shipped with the repository


@pytest.fixture
def shared_logs() -> Path:
    if not SHARED_LOGS.is_dir():
        pytest.skip("../shared/logs is not present")
    return SHARED_LOGS


@pytest.fixture
def real_log(shared_logs: Path) -> Callable[[str], ParsedLog]:
    """Parse a real log by file name, with format detection."""

    def parse(name: str) -> ParsedLog:
        return parse_lines(open_log(str(shared_logs / name)).lines)

    return parse


@pytest.fixture
def named_real_log() -> Callable[[str], ParsedLog]:
    """Parse a real log kept in tests/data/formats (or, failing that, in ../shared/logs)."""

    def parse(name: str) -> ParsedLog:
        for folder in (FORMAT_LOGS, SHARED_LOGS):
            if (folder / name).is_file():
                return parse_lines(open_log(str(folder / name)).lines)
        pytest.skip(f"{name} is in neither {FORMAT_LOGS} nor {SHARED_LOGS}")

    return parse
