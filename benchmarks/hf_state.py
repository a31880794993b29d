"""An HF Trainer trainer_state.json with a long log_history: `plateau-doctor diagnose` against
reading the same file with json.load alone, paired round by round.

    python benchmarks/hf_state.py [--entries 1000000] [--runs 3] [--keep]

Writes trainer_state.json (indent=2, as the Trainer writes it) with --entries loss entries
(loss, grad_norm, learning_rate, epoch, step) and an eval entry every 10,000 steps, then in each
round times `plateau-doctor diagnose FILE` and `python -c "import json; json.load(open(FILE))"`
as whole processes, each with its peak RSS. A benchmark to run, not a test: nothing fails.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import tool_command, wall  # noqa: E402


def write_state(path: Path, entries: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    history: list[dict] = []
    for step in range(1, entries + 1):
        loss = 2 + 3 * math.exp(-step / (entries / 10)) + rng.gauss(0, 0.05)
        history.append(
            {
                "epoch": round(step / (entries / 10), 4),
                "grad_norm": round(1 + rng.random(), 4),
                "learning_rate": 5e-5 * (1 - step / entries),
                "loss": round(loss, 4),
                "step": step,
            }
        )
        if step % 10_000 == 0:
            history.append(
                {"epoch": round(step / (entries / 10), 4), "eval_loss": round(loss + 0.1, 4), "step": step}
            )
    state = {"epoch": 10.0, "global_step": entries, "max_steps": entries, "log_history": history}
    path.write_text(json.dumps(state, indent=2))


def measure(state: Path, runs: int) -> list[tuple[float, float, int, int]]:
    """(diagnose s, json.load s, diagnose peak KiB, json.load peak KiB) of each round."""
    rows = []
    for n in range(runs):
        tool_s, tool_kb = wall(tool_command() + ["diagnose", str(state), "--fail-on", "never"])
        json_s, json_kb = wall([sys.executable, "-c", f"import json; json.load(open({str(state)!r}))"])
        rows.append((tool_s, json_s, tool_kb, json_kb))
        print(f"round {n + 1}: diagnose {tool_s:.2f}s, json.load {json_s:.2f}s", file=sys.stderr)
    return rows


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, default in (("--entries", 1_000_000), ("--runs", 3)):
        options.add_argument(flag, type=int, default=default)
    options.add_argument("--keep", action="store_true")
    args = options.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pd-hfstate-"))
    state = scratch / "trainer_state.json"
    # written by a child process: a child's peak RSS starts from its parent's at the fork, and
    # the history is 1.4 GB of Python objects while it is built
    here = str(Path(__file__).resolve().parent)
    code = f"import sys; sys.path.insert(0, {here!r}); from hf_state import write_state; from pathlib import Path; "
    subprocess.run(
        [sys.executable, "-c", code + f"write_state(Path({str(state)!r}), {args.entries})"], check=True
    )
    print(f"{state}: {state.stat().st_size / 1e6:.0f} MB, {args.entries:,} entries", file=sys.stderr)
    try:
        rows = measure(state, args.runs)
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    ratio = statistics.median(t / j for t, j, _, _ in rows)
    print(
        f"diagnose {statistics.median(r[0] for r in rows):.2f}s, json.load {statistics.median(r[1] for r in rows):.2f}s"
    )
    print(f"ratio (median of {args.runs} rounds): {ratio:.2f}  target <= 2.0")
    print(
        f"peak RSS: diagnose {statistics.median(r[2] for r in rows) / 1024:.0f} MB, "
        f"json.load {statistics.median(r[3] for r in rows) / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
