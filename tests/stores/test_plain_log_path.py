"""A plain log's path through api.parse stays as it was: one stat asks whether it is a store, and
no store reader, SQLite, protobuf or fsspec is imported (benchmarks/bench.py times that path)."""

from __future__ import annotations

import subprocess
import sys

import store_writers

SCRIPT = """
import sys
import plateau_doctor.api as api
api.diagnose(sys.argv[1])
print(" ".join(sorted(m for m in sys.modules if m.startswith("plateau_doctor.stores")
                      or m.split(".")[0] in ("sqlite3", "google", "fsspec", "yaml_", "tempfile"))))
"""


def test_diagnosing_a_plain_log_imports_no_store_reader():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(store_writers.OVERFIT_LOG)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["plateau_doctor.stores"]
