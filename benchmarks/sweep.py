"""A sweep of many small runs: `plateau-doctor diagnose DIR` throughput and peak memory.

    python benchmarks/sweep.py [--runs 10000] [--jobs 0] [--keep] [--runs-dir DIR]

Makes --runs run directories (run_00000/train.log, ...) in a temporary folder, each a real
nanoGPT log (examples/logs/h200_shakespeare_char_overfit_default.log) cut after a number of lines
that varies with the run, so the sweep holds different verdicts. Then times

    plateau-doctor diagnose DIR --format json --output sweep.json --jobs N

and reports runs per second, the peak RSS of the main process and of the largest worker
(ru_maxrss of the children), the CPU seconds each side spent (the main process walks, writes the
JSON and collects results while the workers diagnose), and the baseline: the same number of `python -c pass` starts would
take far longer, which is why one process pool beats one process per run. A benchmark to run,
not a test: nothing fails, it reports. --runs-dir times an existing sweep (one made with --keep),
so repeated timings skip making the runs and read the same files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"
MIN_LINES = 60  # enough for a few evals: every run has something to diagnose


def make_runs(folder: Path, runs: int) -> None:
    lines = SOURCE.read_text().splitlines(keepends=True)
    for n in range(runs):
        cut = MIN_LINES + (n * 37) % (len(lines) - MIN_LINES)
        run = folder / f"run_{n:05d}"
        run.mkdir()
        (run / "train.log").write_text("".join(lines[:cut]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--runs-dir", type=Path, help="an existing sweep to time (its runs are counted)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pd-sweep-"))
    try:
        if args.runs_dir:
            sweep = args.runs_dir.resolve()
            if (sweep / "runs").is_dir():  # the directory --keep printed: its runs are below
                sweep = sweep / "runs"
            args.runs = sum(1 for _ in sweep.rglob("train.log"))
        else:
            sweep = tmp / "runs"
            sweep.mkdir()
            make_runs(sweep, args.runs)
        out = tmp / "sweep.json"
        code = (
            "import resource, sys\nfrom plateau_doctor.cli import main\n"
            f"sys.argv = ['plateau-doctor', 'diagnose', {str(sweep)!r}, '--format', 'json', "
            f"'--output', {str(out)!r}, '--jobs', '{args.jobs}', '--fail-on', 'never']\n"
            "try:\n    main()\nexcept SystemExit as done:\n"
            "    me = resource.getrusage(resource.RUSAGE_SELF)\n"
            "    kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "    sys.stderr.write(f'RSS {me.ru_maxrss} {kids.ru_maxrss}\\n')\n"
            "    cpu = [u.ru_utime + u.ru_stime for u in (me, kids)]\n"
            "    sys.stderr.write(f'CPU {cpu[0]} {cpu[1]}\\n')\n    sys.exit(done.code)\n"
        )
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        rss = [line for line in done.stderr.splitlines() if line.startswith("RSS ")]
        main_kb, worker_kb = (int(x) for x in rss[-1].split()[1:]) if rss else (0, 0)
        cpu = [line for line in done.stderr.splitlines() if line.startswith("CPU ")]
        main_cpu, workers_cpu = (float(x) for x in cpu[-1].split()[1:]) if cpu else (0.0, 0.0)
        reports = json.loads(out.read_text()) if out.exists() else []
        print(
            f"runs: {args.runs:,}  exit: {done.returncode}  reports: {len(reports):,}  "
            f"errors: {sum(1 for r in reports if r.get('error'))}"
        )
        print(f"wall: {seconds:.1f} s  throughput: {args.runs / seconds:,.0f} runs/s")
        print(f"peak RSS: main {main_kb / 1024:.0f} MB, largest worker {worker_kb / 1024:.0f} MB")
        print(
            f"CPU: main {main_cpu:.1f} s, workers {workers_cpu:.1f} s "
            f"({(main_cpu + workers_cpu) * 1000 / max(args.runs, 1):.2f} ms per run in all)"
        )
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
