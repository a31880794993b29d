"""Shared fixtures for the parser tests: the real logs in ../shared/logs (absent in a user's clone,
so tests that need them skip) and a helper to parse a named real log through detection."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plateau_doctor.model import ParsedLog
from plateau_doctor.parsers import parse_lines
from plateau_doctor.read import open_log

import os

# ../shared/logs, or a folder laid out like it (PLATEAU_DOCTOR_SHARED_LOGS: a copy with logs not yet
# added to shared/, labels.yaml included)
SHARED_LOGS = Path(os.environ.get("PLATEAU_DOCTOR_SHARED_LOGS")
                   or Path(__file__).parents[2].parent / "shared" / "logs")


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
def named_real_log(shared_logs: Path) -> Callable[[str], ParsedLog]:
    """Parse a real log that may not be in shared/logs yet: skip when it is absent."""
    def parse(name: str) -> ParsedLog:
        path = shared_logs / name
        if not path.is_file():
            pytest.skip(f"{name} is not in {shared_logs}")
        return parse_lines(open_log(str(path)).lines)
    return parse
