"""The per-run API mapped over a cluster with Dask (docs/CLUSTER.md): every run's report comes
back, a broken run carries its error in place, and the result is what `diagnose` writes."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from plateau_doctor.sweep import RunInputs, diagnose_to_json

ROOT = Path(__file__).resolve().parents[1]
LOGS = sorted((ROOT / "examples" / "logs").glob("h200_shakespeare_char_*.log"))[:3]


def test_the_per_run_unit_is_plain_data_with_the_error_in_place(tmp_path):
    [good] = diagnose_to_json(str(LOGS[0]))
    [bad] = diagnose_to_json(str(tmp_path / "missing.log"))
    assert good["schema_version"] == 1 and good["findings"] is not None and "error" not in good
    assert "no such file" in bad["error"]["message"] and bad["run"] is None
    json.dumps([good, bad], allow_nan=False)  # shippable between processes and machines


def test_the_dask_recipe_gives_the_same_reports_as_diagnose(tmp_path):
    pytest.importorskip("dask.bag", reason="dask is not installed (pip install 'plateau-doctor[dask]')")
    distributed = pytest.importorskip("dask.distributed", reason="dask.distributed is not installed")
    import dask.bag as db

    paths = [str(p) for p in LOGS] + [str(tmp_path / "missing.log")]
    job = partial(diagnose_to_json, inputs=RunInputs(dataset_tokens="1003854"))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        reports = db.from_sequence(paths, npartitions=2).map(job).flatten().compute()
    assert [r["source"]["path"] for r in reports] == paths
    assert "error" in reports[-1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "plateau_doctor",
            "diagnose",
            *paths[:-1],
            "--dataset-tokens",
            "1003854",
            "--format",
            "json",
        ],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert json.loads(done.stdout) == reports[:-1]
