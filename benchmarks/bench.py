"""How fast and lean plateau-doctor is, measured against mawk and against Python's import floors.

    python benchmarks/bench.py [--runs 5] [--lines 1000000] [--keep]
    python benchmarks/bench.py --check benchmarks/baseline.json      # the regression guard (CI)
    python benchmarks/bench.py --lines 100000 --runs 3 --write-baseline benchmarks/baseline.json

Generates a deterministic nanoGPT log of --lines lines (1,000,000 lines is ~52 MB: a header, an
`iter N: loss X, time Tms, mfu M%` line per iteration, a `step N: train loss X, val loss Y` line
every 1000 iterations) in a temporary directory. Then, in each of --runs rounds, every command
runs --repeats times (the fastest kept) right next to its yardstick, so machine load hits both
alike, and the table shows the median of the per-round ratios:

  parse        plateau_doctor.api.parse() in a fresh process after its imports, against mawk
               extracting the same fields (iter, loss, time, mfu; step, train, val)
  diagnose     `plateau-doctor diagnose LOG`, the whole process, against that mawk; its peak RSS
  after parse  the diagnosis of the parsed table (api.diagnose(parsed=...)), as a share of
               parse + diagnosis in one process, with the rules already loaded as the command
               line loads them before it reads the log (their loading is shown on its own line)
  csv/parquet  `plateau-doctor parse LOG --to csv|parquet --output FILE` against mawk
  start-up     `--version` / `--help` against `python -c "import typer, rich"` (the CLI libraries'
               floor; `import click, rich.console` where typer is not installed), and
               `diagnose <small log>` against `python -c "import pandas"`

--check BASELINE measures at the baseline's size and rounds and exits 1 when a ratio (or the peak
RSS) is more than --tolerance (25%) above the baseline's; a ratio over the bound is measured
again over as many rounds before it fails, so one slow moment of the machine does not fail CI.
Ratios, not times: the baseline holds on a slower or faster machine.

It uses the plateau_doctor that `python` imports (PYTHONPATH first), and the plateau-doctor
script installed next to it, byte-compiled first as `pip install .` would have.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
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

# Runs in a fresh interpreter, in the order `plateau-doctor diagnose` works: imports, then the
# rules loaded (the command line checks --select/--ignore and the settings file against them
# before it reads the log; timed on its own), then the parse, then the diagnosis. None of it needs
# pandas (the loss table is numpy; DataFrames are built only on request).
WORKER = r"""
import json, sys, time
import numpy
import plateau_doctor.api as api
from plateau_doctor.rules import load_rules
started = time.perf_counter()
load_rules()
rules_s = time.perf_counter() - started
started = time.perf_counter()
parsed = api.parse(sys.argv[1])
result = {"parse_s": time.perf_counter() - started, "rows": len(parsed.iter_table), "rules_s": rules_s}
started = time.perf_counter()
try:
    api.diagnose(sys.argv[1], parsed=parsed)
    result["post_s"] = time.perf_counter() - started
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


def wall(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, the child's own ru_maxrss through wait4) of one process."""
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped above; keeps Popen from waiting again
    return time.perf_counter() - started, usage.ru_maxrss


def tool_command() -> list[str]:
    script = Path(sys.executable).with_name("plateau-doctor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plateau_doctor"]


@functools.cache
def cli_yardstick() -> tuple[str, str]:
    """What start-up is measured against: `import typer, rich` (the issue's yardstick) where
    typer is installed, else the imports of the CLI's own libraries."""
    done = subprocess.run([sys.executable, "-c", "import typer"], capture_output=True, check=False)
    return (
        ("import typer, rich", "import typer, rich")
        if done.returncode == 0
        else (
            "import click, rich.console",
            "import click, rich.console",
        )
    )


def one_round(log: Path, awk: Path, tool: list[str], scratch: Path, parquet: bool, repeats: int) -> dict:
    """One round: every command once, `repeats` times over, keeping each command's fastest run,
    so one start slowed by the machine does not move the round's ratios."""
    py = sys.executable
    row: dict = {}
    worker = subprocess.run([py, "-c", WORKER, str(log)], capture_output=True, text=True, check=True)
    row.update(json.loads(worker.stdout))
    commands = {
        "mawk_s": [MAWK, "-f", str(awk), str(log)],
        "cli_diagnose_s": tool + ["diagnose", str(log), "--fail-on", "never"],
        "csv_s": tool + ["parse", str(log), "--to", "csv", "--output", str(scratch / "t.csv")],
        "parquet_s": tool + ["parse", str(log), "--to", "parquet", "--output", str(scratch / "t.parquet")],
        "cli_floor_s": [py, "-c", cli_yardstick()[1]],
        "version_s": tool + ["--version"],
        "help_s": tool + ["--help"],
        "pandas_s": [py, "-c", "import pandas"],
        "small_s": tool + ["diagnose", str(SMALL_LOG), "--fail-on", "never"],
    }
    if not parquet:
        del commands["parquet_s"]
    for _ in range(repeats):
        for key, cmd in commands.items():
            seconds, rss_kb = wall(cmd)
            row[key] = min(row.get(key, seconds), seconds)
            if key == "cli_diagnose_s":
                row["cli_rss_kb"] = max(row.get("cli_rss_kb", 0), rss_kb)
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


def share(rows: list[dict]) -> float | None:
    """The diagnosis after parsing as a share of parse + diagnosis, in one process."""
    values = [r["post_s"] / (r["parse_s"] + r["post_s"]) for r in rows if "post_s" in r]
    return statistics.median(values) if values else None


# (key, measure, its time, yardstick, the yardstick's time, target); each ratio is the median of
# the per-round ratios. The regression guard compares exactly these keys with the baseline.
def measures(rows: list[dict], n_lines: int, mb: float) -> list[tuple]:
    big = f"{n_lines:,} lines ({mb:.0f} MB)"
    floor = cli_yardstick()[0]
    table = [
        ("parse", f"parse, {big}", "parse_s", "mawk", "mawk_s", 1.0),
        ("diagnose", "diagnose (whole process), same log", "cli_diagnose_s", "mawk", "mawk_s", 1.0),
        ("csv", "parse --to csv, same log", "csv_s", "mawk", "mawk_s", 2.0),
        ("parquet", "parse --to parquet, same log", "parquet_s", "mawk", "mawk_s", 2.0),
        ("version", "plateau-doctor --version", "version_s", floor, "cli_floor_s", 0.5),
        ("help", "plateau-doctor --help", "help_s", floor, "cli_floor_s", 1.0),
        ("small", "diagnose, small log (579 lines)", "small_s", "import pandas", "pandas_s", 0.5),
    ]
    out = [
        (key, name, median(rows, num), base, median(rows, den), ratio(rows, num, den), target)
        for key, name, num, base, den, target in table
        if median(rows, num) is not None
    ]
    post = median(rows, "post_s")
    out.append(
        ("after_parse", "diagnosis after parsing (in process)", post, "parse + it", None, share(rows), 0.2)
    )
    return out


def report(rows: list[dict], n_lines: int, size: int) -> tuple[str, dict[str, float]]:
    diag_error = next((r["diagnose_error"] for r in rows if "diagnose_error" in r), None)
    rss = median(rows, "cli_rss_kb") / 1024
    table = measures(rows, n_lines, size / 1e6)
    lines = [
        f"{'measure':<38} {'time':>8}  {'yardstick':<26} {'time':>8}  {'ratio':>6}  {'target':>7}  ok",
        "-" * 106,
    ]
    ratios = {}
    for key, name, value, base_name, base, r, target in table:
        ratios[key] = r
        lines.append(
            f"{name:<38} {_s(value):>8}  {base_name:<26} {_s(base):>8}  "
            f"{_r(r):>6}  {f'<= {target:.1f}':>7}  {_ok(r is not None and r <= target)}"
        )
    ratios["rss_mb"] = rss
    lines.append(
        f"{'peak RSS, diagnose (whole process)':<38} {rss:>6.0f}MB  {'':<26} {'':>8}  "
        f"{'':>6}  {'<= 100MB':>7}  {_ok(rss <= 100)}"
    )
    rules_s = median(rows, "rules_s")
    if rules_s is not None:
        lines.append(
            f"{'loading the rules (before the parse)':<38} {_s(rules_s):>8}  once per process, log size apart"
        )
    lines.append("")
    lines.append(f"median of {len(rows)} rounds; each ratio is taken within one round.")
    for flag in ("--version", "--help"):
        loaded = heavy_imports(flag)
        lines.append(f"{flag} imports numpy/pandas: {loaded or 'no'}")
    if diag_error:
        lines.append(f"diagnose on the big log failed: {diag_error}")
    return "\n".join(lines), ratios


def check(ratios: dict[str, float], baseline_path: Path, tolerance: float) -> list[str]:
    """The measures that grew by more than `tolerance` against the committed baseline."""
    saved = json.loads(baseline_path.read_text())
    baseline = saved["ratios"]
    failures = []
    if saved.get("cli_yardstick", cli_yardstick()[0]) != cli_yardstick()[0]:
        failures.append(
            f"start-up yardstick: {cli_yardstick()[0]!r}, the baseline used {saved['cli_yardstick']!r}"
        )
    for key, before in baseline.items():
        now = ratios.get(key)
        if now is None:
            failures.append(f"{key}: not measured now (baseline {before:.3f})")
        elif now > before * (1 + tolerance):
            failures.append(f"{key}: {now:.3f} against the baseline's {before:.3f} (+{now / before - 1:.0%})")
    return failures


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s"


def _r(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def measure_rounds(args, log: Path, awk: Path, tool: list[str], workdir: Path, parquet: bool) -> list[dict]:
    rows = []
    for n in range(args.runs):
        rows.append(one_round(log, awk, tool, workdir, parquet, args.repeats))
        print(
            f"round {n + 1}/{args.runs}: diagnose {rows[-1]['cli_diagnose_s']:.3f}s, mawk {rows[-1]['mawk_s']:.3f}s",
            file=sys.stderr,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument(
        "--check",
        type=Path,
        metavar="BASELINE",
        help="exit 1 when a ratio is more than --tolerance above BASELINE's (its --lines are used)",
    )
    parser.add_argument("--tolerance", type=float, default=0.25)
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each command in a round (fastest kept)"
    )
    parser.add_argument("--write-baseline", type=Path, metavar="FILE", help="save the ratios as a baseline")
    args = parser.parse_args()
    if not Path(MAWK).exists():
        sys.exit(f"{MAWK} is needed as the yardstick (apt-get install mawk)")
    if args.check:
        saved = json.loads(args.check.read_text())
        args.lines, args.runs = saved["lines"], saved["runs"]
    parquet = subprocess.run([sys.executable, "-c", "import pyarrow"], capture_output=True).returncode == 0

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
        if not parquet:
            print("pyarrow is not installed: parse --to parquet is not measured", file=sys.stderr)
        tool = tool_command()
        rows = measure_rounds(args, log, awk, tool, workdir, parquet)
        text, ratios = report(rows, args.lines, log.stat().st_size)
        if args.check and check(ratios, args.check, args.tolerance):
            # a ratio above the bound may be the machine: as many rounds again, and the medians
            # over all of them decide
            print("a ratio is above the bound: measuring as many rounds again", file=sys.stderr)
            rows += measure_rounds(args, log, awk, tool, workdir, parquet)
        text, ratios = report(rows, args.lines, log.stat().st_size)
        print(text)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.write_baseline:
        kept = {k: round(v, 4) for k, v in ratios.items() if v is not None}
        args.write_baseline.write_text(
            json.dumps(
                {"lines": args.lines, "runs": args.runs, "cli_yardstick": cli_yardstick()[0], "ratios": kept},
                indent=1,
            )
            + "\n"
        )
        print(f"baseline written to {args.write_baseline}")
    if args.check:
        failures = check(ratios, args.check, args.tolerance)
        for failure in failures:
            print(f"REGRESSION {failure}")
        print(
            f"against {args.check}: {'FAILED' if failures else 'no ratio grew by more than'} "
            f"{'' if failures else f'{args.tolerance:.0%}'}".rstrip()
        )
        sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
