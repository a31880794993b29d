"""Every real log in tests/data/wild is read: `diagnose --format json` exits 0 or 1 with a JSON report,
never a traceback and never exit 2 ("no training-loss lines"). A log whose label says
`parse_fails_today` is a strict xfail, so the day its parser learns the format the test says so.

How well the diagnosis matches the labels is measured by tools/score_labels.py, not here: those are
judgements to improve against, not a contract a commit must keep.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WILD = ROOT / "tests" / "data" / "wild"
LABELS = yaml.safe_load((WILD / "labels.yaml").read_text(encoding="utf-8"))
WORKERS = 2  # the machine has 2 cores; each run is a separate process
TIMEOUT_S = 120


def _param(entry: dict):
    if entry.get("parse_fails_today"):
        mark = pytest.mark.xfail(strict=True, reason=entry.get("parse_reason", "cannot be read today"))
        return pytest.param(entry, id=entry["file"], marks=mark)
    return pytest.param(entry, id=entry["file"])


def _diagnose(entry: dict) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "plateau_doctor", "diagnose", str(WILD / entry["file"]), "--format", "json"]
    if entry.get("dataset_tokens"):
        argv += ["--dataset-tokens", str(entry["dataset_tokens"])]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess]:
    """All wild logs diagnosed once, two at a time (one process per log, as a user runs it)."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip((e["file"] for e in LABELS), pool.map(_diagnose, LABELS), strict=False))


def test_every_wild_log_has_a_label_and_every_label_a_log():
    labelled = {e["file"] for e in LABELS}
    on_disk = {p.name for p in WILD.iterdir()} - {"labels.yaml", "SOURCES.md"}
    assert labelled == on_disk


def test_every_wild_log_is_named_in_sources():
    sources = (WILD / "SOURCES.md").read_text(encoding="utf-8")
    assert [e["file"] for e in LABELS if f"| {e['file']} |" not in sources] == []


@pytest.mark.parametrize("entry", [_param(e) for e in LABELS])
def test_wild_log_is_read_into_a_json_report_without_a_traceback(entry, runs):
    done = runs[entry["file"]]
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 1), done.stderr.strip().splitlines()[-1:]
    report = json.loads(done.stdout)
    assert report["source"]["format"] == entry["format"]
