"""How fast and lean plateau-doctor is, measured against mawk and against Python's import floors.

    python benchmarks/bench.py [--runs 5] [--lines 1000000] [--keep]

Generates a deterministic nanoGPT log of --lines lines (1,000,000 lines is ~52 MB: a header, an
`iter N: loss X, time Tms, mfu M%` line per iteration, a `step N: train loss X, val loss Y` line
every 1000 iterations) in a temporary directory. Then, in each of --runs rounds, every measurement
is timed right next to its baseline, so machine load hits both alike, and the table shows the
median of the per-round ratios:

  parse       plateau_doctor.api.parse() on the log, in a fresh process after its imports,
              against mawk extracting the same fields (iter, loss, time, mfu; step, train, val)
  diagnose    plateau_doctor.api.diagnose() on the same log, against that parse
  peak RSS    of the parsing process (ru_maxrss), next to the RSS of its imports alone
  start-up    `plateau-doctor --version` / `--help` against `python -c "import click, rich.console"`
              and `plateau-doctor diagnose <small log>` against `python -c "import pandas"`

It uses the plateau_doctor that `python` imports (PYTHONPATH first), and the plateau-doctor
script installed next to it, byte-compiled first as `pip install .` would have. It is a benchmark to run, not a test: nothing fails, it reports.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL_LOG = ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"
MAWK = "/usr/bin/mawk"

# The same fields plateau-doctor reads, printed one record per line as an awk user would.
AWK_PROGRAM = r"""
/^iter / { it = $2; sub(/:$/, "", it); loss = $4; sub(/,$/, "", loss)
           t = $6; sub(/ms,?$/, "", t); m = $8; sub(/%$/, "", m)
           print "i", it, loss, t, m; next }
/^step / { s = $2; sub(/:$/, "", s); tr = $5; sub(/,$/, "", tr); print "s", s, tr, $8 }
"""

HEADER = """Overriding config with config/train_gpt2.py:
# config for training GPT-2 (124M) down to very nice loss of ~2.85 on 1 node of 8X A100 40GB
wandb_log = False
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 5 * 8
max_iters = 600000
lr_decay_iters = 600000
eval_interval = 1000
eval_iters = 200
log_interval = 1
weight_decay = 1e-1

tokens per iteration will be: 491,520
Initializing a new model from scratch
defaulting to vocab_size of GPT-2 to 50304 (50257 rounded up for efficiency)
number of parameters: 123.59M
num decayed parameter tensors: 50, with 124,354,560 parameters
num non-decayed parameter tensors: 25, with 19,200 parameters
using fused AdamW: True
compiling the model... (takes a ~minute)"""

# Runs in a fresh interpreter: imports first (not timed), then the parse, then diagnose. Neither
# needs pandas (the loss table is numpy; DataFrames are built only on request).
WORKER = r"""
import json, resource, sys, time
import numpy
import plateau_doctor.api as api
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
parsed = api.parse(sys.argv[1])
result = {"parse_s": time.perf_counter() - started, "rows": len(parsed.iter_table),
          "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "floor_kb": floor}
del parsed
started = time.perf_counter()
try:
    api.diagnose(sys.argv[1])
    result["diagnose_s"] = time.perf_counter() - started
except BaseException as exc:
    result["diagnose_error"] = f"{type(exc).__name__}: {str(exc)[:120]}"
print(json.dumps(result))
"""

NO_HEAVY_IMPORTS = r"""
import sys
from plateau_doctor.cli import main
sys.argv = ["plateau-doctor", sys.argv[1]]
try:
    main()
except SystemExit:
    pass
sys.stderr.write(" ".join(m for m in ("numpy", "pandas") if m in sys.modules) + "\n")
"""


def generate(path: Path, n_lines: int, seed: int = 1337) -> None:
    """A GPT-2-like run: loss decays from ~11 to ~2.9 with noise; an eval every 1000 iterations."""
    rng = random.Random(seed)
    lines = HEADER.split("\n")
    mfu, it = -1.0, 0
    with path.open("w") as out:
        out.write("\n".join(lines) + "\n")
        written = len(lines)
        batch: list[str] = []
        while written < n_lines:
            base = 2.9 + 8.0 * math.exp(-it / 20000) + 0.3 * math.exp(-it / 200000)
            if it % 1000 == 0:
                batch.append(
                    f"step {it}: train loss {base + rng.gauss(0, 0.01):.4f}, "
                    f"val loss {base + 0.02 + rng.gauss(0, 0.01):.4f}"
                )
                written += 1
                if written >= n_lines:
                    break
            dt = 300 + rng.random() * 5 + (9000 if it % 1000 == 0 else 0)
            if it >= 5:
                mfu = 0.45 * 310 / dt if mfu < 0 else 0.9 * mfu + 0.1 * (0.45 * 310 / dt)
            batch.append(
                f"iter {it}: loss {base + rng.gauss(0, 0.08):.4f}, time {dt:.2f}ms, mfu {mfu * 100:.2f}%"
            )
            written += 1
            it += 1
            if len(batch) >= 100_000:
                out.write("\n".join(batch) + "\n")
                batch = []
        if batch:
            out.write("\n".join(batch) + "\n")


def compile_bytecode() -> str:
    """Byte-compile the plateau_doctor under test, as `pip install .` does at install time. An
    editable install never is, and with PYTHONDONTWRITEBYTECODE set every run would compile each
    module from source again: a cost no installed user pays."""
    done = subprocess.run(
        [sys.executable, "-c", "import plateau_doctor, os; print(os.path.dirname(plateau_doctor.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    package = done.stdout.strip()
    compiled = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", package], capture_output=True, text=True, check=False
    )
    return f"bytecode of {package}: " + ("compiled" if compiled.returncode == 0 else "could not be written")


def wall(cmd: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **kwargs)
    return time.perf_counter() - started


def tool_command() -> list[str]:
    script = Path(sys.executable).with_name("plateau-doctor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plateau_doctor"]


def one_round(log: Path, awk: Path, tool: list[str]) -> dict:
    py = sys.executable
    row = {"mawk_s": wall([MAWK, "-f", str(awk), str(log)])}
    worker = subprocess.run([py, "-c", WORKER, str(log)], capture_output=True, text=True, check=True)
    row.update(json.loads(worker.stdout))
    row["click_s"] = wall([py, "-c", "import click, rich.console"])
    row["version_s"] = wall(tool + ["--version"])
    row["help_s"] = wall(tool + ["--help"])
    row["pandas_s"] = wall([py, "-c", "import pandas"])
    row["small_s"] = wall(tool + ["diagnose", str(SMALL_LOG)])
    return row


def heavy_imports(tool_flag: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", NO_HEAVY_IMPORTS, tool_flag], capture_output=True, text=True, check=False
    )
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def ratio(rows: list[dict], num: str, den: str) -> float | None:
    values = [r[num] / r[den] for r in rows if num in r and den in r]
    return statistics.median(values) if values else None


def report(rows: list[dict], n_lines: int, size: int) -> str:
    mb = size / 1e6
    diag_error = next((r["diagnose_error"] for r in rows if "diagnose_error" in r), None)
    rss = median(rows, "rss_kb") / 1024
    floor = median(rows, "floor_kb") / 1024
    table = [
        (
            "parse, {} lines ({:.0f} MB)".format(f"{n_lines:,}", mb),
            median(rows, "parse_s"),
            "mawk",
            median(rows, "mawk_s"),
            ratio(rows, "parse_s", "mawk_s"),
            1.0,
        ),
        (
            "diagnose, same log",
            median(rows, "diagnose_s"),
            "parse",
            median(rows, "parse_s"),
            ratio(rows, "diagnose_s", "parse_s"),
            1.5,
        ),
        (
            "plateau-doctor --version",
            median(rows, "version_s"),
            "import click, rich.console",
            median(rows, "click_s"),
            ratio(rows, "version_s", "click_s"),
            1.5,
        ),
        (
            "plateau-doctor --help",
            median(rows, "help_s"),
            "import click, rich.console",
            median(rows, "click_s"),
            ratio(rows, "help_s", "click_s"),
            1.5,
        ),
        (
            "diagnose, small log (579 lines)",
            median(rows, "small_s"),
            "import pandas",
            median(rows, "pandas_s"),
            ratio(rows, "small_s", "pandas_s"),
            1.3,
        ),
    ]
    lines = [
        f"{'measure':<34} {'time':>8}  {'baseline':<28} {'time':>8}  {'ratio':>6}  {'target':>7}  ok",
        "-" * 104,
    ]
    for name, value, base_name, base, r, target in table:
        lines.append(
            f"{name:<34} {_s(value):>8}  {base_name:<28} {_s(base):>8}  "
            f"{_r(r):>6}  {f'<= {target:.1f}':>7}  {_ok(r is not None and r <= target)}"
        )
    lines.append(
        f"{'peak RSS, parse':<34} {rss:>6.0f}MB  {'its imports alone':<28} {floor:>6.0f}MB  "
        f"{'':>6}  {'<= 150MB':>7}  {_ok(rss <= 150)}"
    )
    lines.append("")
    lines.append(f"median of {len(rows)} rounds; each ratio is taken within one round.")
    for flag in ("--version", "--help"):
        loaded = heavy_imports(flag)
        lines.append(f"{flag} imports numpy/pandas: {loaded or 'no'}")
    if diag_error:
        lines.append(f"diagnose on the big log failed: {diag_error}")
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "failed" if value is None else f"{value:.3f}s"


def _r(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    args = parser.parse_args()
    if not Path(MAWK).exists():
        sys.exit(f"{MAWK} is needed as the baseline (apt-get install mawk)")

    workdir = Path(tempfile.mkdtemp(prefix="plateau-bench-"))
    try:
        log, awk = workdir / "train.log", workdir / "extract.awk"
        started = time.perf_counter()
        generate(log, args.lines)
        awk.write_text(AWK_PROGRAM)
        print(
            f"generated {log} ({log.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        print(compile_bytecode(), file=sys.stderr)
        tool = tool_command()
        rows = []
        for n in range(args.runs):
            rows.append(one_round(log, awk, tool))
            print(
                f"round {n + 1}/{args.runs}: parse {rows[-1]['parse_s']:.3f}s, mawk {rows[-1]['mawk_s']:.3f}s",
                file=sys.stderr,
            )
        print(report(rows, args.lines, log.stat().st_size))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
