"""Real logs for the reference tests, and the facts the pipeline reads from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from plateau_doctor.api import examine

REPO = Path(__file__).resolve().parents[2]
LOG_DIRS = {"examples": REPO / "examples" / "logs", "shared": REPO.parent / "shared" / "logs"}


@pytest.fixture
def real_log():
    """A real log by folder ('examples' ships with the repository; 'shared' is only in the
    project's workspace, so its tests skip elsewhere)."""

    def get(folder: str, name: str) -> Path:
        path = LOG_DIRS[folder] / name
        if folder == "shared" and not path.is_file():
            pytest.skip("../shared/logs is not present (only in the project workspace)")
        assert path.is_file(), path
        return path

    return get


@pytest.fixture
def examined():
    """The intermediate results of diagnosing a log (facts, config, analyses, report)."""

    def run(path: Path, **kwargs):
        return examine(str(path), **kwargs)

    return run
