"""How fast `stores.find_runs` finds every run in a sweep of small run directories.

    python benchmarks/discover_bench.py [--dirs 10000] [--runs 5] [--keep]

Builds, in a temporary directory, --dirs run directories of the kinds a sweep holds, in turn:
a nanoGPT run (train.log: a real 572-line log, a config.py and a README.md beside it: files a classifier
must look at and reject), a TensorBoard run (one event file), an HF Trainer output directory
(checkpoint-*/trainer_state.json, config.json, model.safetensors), a W&B run directory
(files/output.log, config.yaml, run-<id>.wandb), and one mlflow.db of 100 runs. Then, in each of
--runs rounds, in fresh processes, times:

  find_runs   stores.find_runs(root): every run found, classified, named (nothing parsed)
  baseline    os.walk(root) and the first 4 KiB of every file: the least any classifier that
              looks inside files can do, measured next to it so machine load hits both alike

and reports the median of per-round ratios, throughput in directories per second and the peak
RSS of each process. A benchmark to run, not a test: nothing fails, it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"

# Peak RSS is VmHWM from /proc: ru_maxrss survives exec, so it would report this parent's peak.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"

FIND = r"""
import json, sys, time
from plateau_doctor.stores import find_runs
started = time.perf_counter()
runs = find_runs(sys.argv[1])
elapsed = time.perf_counter() - started
kinds = {}
for run in runs:
    kinds[run.kind] = kinds.get(run.kind, 0) + 1
print(json.dumps({"s": elapsed, "runs": len(runs), "kinds": kinds, "rss_kb": PEAK}))
""".replace("PEAK", PEAK)

BASELINE = r"""
import json, os, sys, time
started = time.perf_counter()
files = 0
for directory, _, names in os.walk(sys.argv[1]):
    for name in names:
        with open(os.path.join(directory, name), "rb") as handle:
            handle.read(4096)
        files += 1
print(json.dumps({"s": time.perf_counter() - started, "files": files, "rss_kb": PEAK}))
""".replace("PEAK", PEAK)


def build(root: Path, dirs: int) -> None:
    """The sweep: run directories of each kind in turn, from templates made once."""
    log_text = LOG.read_text()  # a whole small run: 572 lines, 31 kB
    template = _event_file(root / "template-tb")
    hf_state = json.dumps(
        {
            "global_step": 100,
            "max_steps": 100,
            "log_history": [
                {"loss": 3.0 - i / 50, "learning_rate": 1e-4, "step": i} for i in range(10, 110, 10)
            ],
        }
    )
    safetensors = _safetensors_bytes()
    kinds = ["log", "hf", "wandb"] + (["tb"] if template else [])
    for i in range(dirs):
        run = root / f"sweep{i // 1000:02d}" / f"run{i:05d}"
        kind = kinds[i % len(kinds)]
        if kind == "log":
            _write(run / "train.log", log_text)
            _write(run / "config.py", "learning_rate = 6e-4\nmax_iters = 5000\n")
            _write(run / "README.md", "# a run\n")
        elif kind == "tb":
            (run / "events").mkdir(parents=True)
            shutil.copy(template, run / "events" / template.name)
        elif kind == "hf":
            _write(run / "checkpoint-100" / "trainer_state.json", hf_state)
            _write(run / "checkpoint-100" / "config.json", '{"vocab_size": 65}')
            (run / "checkpoint-100" / "model.safetensors").write_bytes(safetensors)
        else:
            files = run / "wandb" / f"run-20260101_000000-{i:08d}"
            _write(files / "files" / "output.log", log_text)
            _write(files / "files" / "config.yaml", "wandb_version: 1\n\nlr:\n  value: 0.0006\n")
            (files / f"run-{i:08d}.wandb").write_bytes(b"")
    shutil.rmtree(root / "template-tb", ignore_errors=True)
    _mlflow_db(root / "mlflow" / "mlflow.db", 100)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _event_file(directory: Path) -> Path | None:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        print("tensorboardX not installed: no TensorBoard runs in the sweep", file=sys.stderr)
        return None
    writer = SummaryWriter(str(directory))
    for step in range(100):
        writer.add_scalar("train/loss", 3.0 - step / 50, step)
    writer.close()
    return next(directory.iterdir())


def _safetensors_bytes() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    return len(header).to_bytes(8, "little") + header + bytes(16)


def _mlflow_db(path: Path, runs: int) -> None:
    """A database with MLflow's tables (the columns the reader needs), 100 runs."""
    import sqlite3

    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE experiments (experiment_id INTEGER, name TEXT, lifecycle_stage TEXT);
            CREATE TABLE runs (run_uuid TEXT, name TEXT, experiment_id INTEGER, status TEXT,
                               lifecycle_stage TEXT, start_time INTEGER);
            CREATE TABLE metrics (key TEXT, value REAL, timestamp INTEGER, run_uuid TEXT, step INTEGER, is_nan INTEGER);
            CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);
            INSERT INTO experiments VALUES (0, 'sweep', 'active');""")
        db.executemany(
            "INSERT INTO runs VALUES (?, ?, 0, 'FINISHED', 'active', ?)",
            [(f"{i:032x}", f"run-{i}", i) for i in range(runs)],
        )


def one_round(root: Path, find_first: bool) -> dict:
    """Both measurements, in an order that alternates between rounds (the first of a pair may
    meet colder caches)."""
    order = ("find", "base") if find_first else ("base", "find")
    scripts = {"find": FIND, "base": BASELINE}
    return {
        name: json.loads(
            subprocess.run(
                [sys.executable, "-c", scripts[name], str(root)], capture_output=True, text=True, check=True
            ).stdout
        )
        for name in order
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated sweep")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pd-discover-"))
    try:
        build(scratch, args.dirs)
        rounds = [one_round(scratch, i % 2 == 0) for i in range(args.runs)]
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept: {scratch}")
    find_s = statistics.median(r["find"]["s"] for r in rounds)
    base_s = statistics.median(r["base"]["s"] for r in rounds)
    ratio = statistics.median(r["find"]["s"] / r["base"]["s"] for r in rounds)
    last = rounds[-1]
    print(f"sweep: {args.dirs:,} run directories, {last['base']['files']:,} files, {os.cpu_count()} cores")
    print(f"found: {last['find']['runs']:,} runs {json.dumps(last['find']['kinds'], sort_keys=True)}")
    print(f"{'measure':<34}{'median s':>10}{'dirs/s':>10}{'peak RSS MB':>13}")
    print(
        f"{'find_runs':<34}{find_s:>10.2f}{args.dirs / find_s:>10,.0f}"
        f"{statistics.median(r['find']['rss_kb'] for r in rounds) / 1024:>13.1f}"
    )
    print(
        f"{'baseline: os.walk + 4 KiB/file':<34}{base_s:>10.2f}{args.dirs / base_s:>10,.0f}"
        f"{statistics.median(r['base']['rss_kb'] for r in rounds) / 1024:>13.1f}"
    )
    print(f"find_runs / baseline (median of {args.runs} rounds): {ratio:.2f}x")


if __name__ == "__main__":
    main()
