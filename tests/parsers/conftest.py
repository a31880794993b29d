"""Shared fixtures for the parser tests: the real logs in ../shared/logs (absent in a user's clone,
so tests that need them skip) and a helper to parse a named real log through detection."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plateau_doctor.model import ParsedLog
from plateau_doctor.parsers import parse_lines
from plateau_doctor.read import open_log

SHARED_LOGS = Path(__file__).parents[2].parent / "shared" / "logs"


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
