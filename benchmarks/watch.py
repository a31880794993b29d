"""`plateau-doctor watch` on a growing nanoGPT log: what each re-diagnosis after a new eval line
costs near 1M lines, against yardsticks measured in the same run, and the memory of a 10M-line run.

    python benchmarks/watch.py [--lines 1000000] [--evals 20] [--runs 3] [--memory-lines 10000000]

Speed (each of --runs rounds): benchmarks/bench.py's generator writes the log; the file on disk
starts with all but the last --evals eval intervals of --lines lines and is followed as the CLI
follows it (follow_file, then watch.take with a LiveLog, a Diagnosis and the plain view). Then
one eval interval at a time (1000 iter lines and the eval line) is appended, and the time from
the append until the report of that eval is out is measured. Right after each, two yardsticks on
the file as it is then:
  mawk          mawk extracting the fields of the whole file (bench.py's AWK_PROGRAM)
  from scratch  api.parse + api.diagnose of the whole file, in this process
The table shows the median and worst re-diagnosis and the medians of the per-eval ratios.

Memory (--memory-lines, 0 to skip): a fresh process follows a log of that many lines as a writer
BURST_LINES ahead of the reader (it reads what is there, re-diagnoses at the latest eval, polls
again) and samples its RSS every million lines: MB per million lines is the slope of those
samples from the first million on, and the peak is the process's high-water mark (VmHWM).

A benchmark to run, not a test: nothing fails. The issue's target: < 50 ms per re-diagnosis at 1M
lines; memory flat over a 10M-line run.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import AWK_PROGRAM, MAWK, generate  # noqa: E402

EVAL_EVERY = 1001  # lines per eval interval in bench.py's log: 1000 iter lines and the eval line
BURST_LINES = 100_000  # the memory run: lines the writer is ahead of the reader at each poll
SAMPLE_EVERY = 1_000_000  # the memory run: lines between two RSS samples
TARGET_MS = 50.0


def watch_parts():
    """A LiveLog, Diagnosis and plain view set up as `run_watch` sets them up, and the CLI's GC
    setting (the console script raises gen-0's threshold before anything runs)."""
    from plateau_doctor.__main__ import GC_FIRST_GENERATION_THRESHOLD
    from plateau_doctor.watch.live import Diagnosis, LiveLog
    from plateau_doctor.watch.views import PlainView

    gc.set_threshold(GC_FIRST_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
    return LiveLog("auto"), Diagnosis("train.log", None, {}, None), PlainView(io.StringIO())


def catch_up(chunks: Iterator[bytes | None], log, diagnosis, view) -> None:
    """Read what the writer has written, as watch does, until the reader has nothing new."""
    from plateau_doctor.watch import take

    events: list[str] = []
    for data in chunks:
        take(data, log, diagnosis, view, events)
        if data is None:
            return


def eval_ends(data: bytes) -> list[tuple[int, int]]:
    """(byte offset just after it, lines up to and including it) of each eval line."""
    ends, at, lines = [], 0, 0
    while (start := data.find(b"\nstep ", at)) >= 0:
        end = data.index(b"\n", start + 1) + 1
        lines += data.count(b"\n", at, end)
        ends.append((end, lines))
        at = end
    return ends


def mawk_seconds(path: Path, awk: Path) -> float:
    started = time.perf_counter()
    subprocess.run([MAWK, "-f", str(awk), str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def scratch_seconds(path: Path) -> tuple[float, str]:
    """api.parse + api.diagnose of the whole file, and the JSON report it gives."""
    from plateau_doctor import api
    from plateau_doctor.report.json import render

    started = time.perf_counter()
    report = api.diagnose("train.log", parsed=api.parse(str(path)))
    seconds = time.perf_counter() - started
    return seconds, render([report])


def speed_round(source: bytes, workdir: Path, awk: Path, lines: int, evals: int) -> list[dict]:
    """One growing log, followed; a row per appended eval: watch's, mawk's and from-scratch's s."""
    from plateau_doctor.report.json import render
    from plateau_doctor.watch.follow import follow_file

    ends = eval_ends(source)
    last = next(k for k, (_, upto) in enumerate(ends) if upto >= lines)
    cuts = [end for end, _ in ends[last - evals : last + 1]]
    path = workdir / "train.log"
    path.write_bytes(source[: cuts[0]])
    log, diagnosis, view = watch_parts()
    chunks = follow_file(str(path), poll_seconds=0, timeout=None)
    catch_up(chunks, log, diagnosis, view)  # the backlog: read through, then one diagnosis
    rows = []
    with path.open("ab") as out:
        for a, b in zip(cuts, cuts[1:], strict=False):
            out.write(source[a:b])
            out.flush()
            started = time.perf_counter()
            catch_up(chunks, log, diagnosis, view)
            row = {"watch_s": time.perf_counter() - started, "lines": log.n_lines}
            row["mawk_s"] = mawk_seconds(path, awk)
            row["scratch_s"], scratch_json = scratch_seconds(path)
            row["same_report"] = render([diagnosis.report]) == scratch_json
            rows.append(row)
    chunks.close()
    return rows


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), in MB. Not ru_maxrss:
    a child inherits its parent's peak through fork and exec."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
    return kib * 1024 / 1e6


def bursts(path: Path) -> Iterator[bytes | None]:
    """The file as a writer BURST_LINES ahead of the reader serves it: full reads through the
    burst, then nothing new (the reader has caught up), then the next burst."""
    from plateau_doctor.read import CHUNK

    with path.open("rb") as handle:
        head = handle.read(1 << 20)
        burst = BURST_LINES * len(head) // head.count(b"\n")  # ~bytes per burst
        handle.seek(0)
        while data := handle.read(burst):
            for at in range(0, len(data), CHUNK):
                yield data[at : at + CHUNK]
            yield None


def memory_child(path: Path) -> None:
    """Follow the log as `bursts` serves it, sampling RSS every SAMPLE_EVERY lines; JSON out."""
    from plateau_doctor.watch import take

    log, diagnosis, view = watch_parts()
    samples = [(0, rss_mb())]
    for data in bursts(path):
        take(data, log, diagnosis, view, [])
        if log.n_lines >= len(samples) * SAMPLE_EVERY:
            samples.append((log.n_lines, rss_mb()))
    samples.append((log.n_lines, rss_mb()))  # at the end
    print(json.dumps({"samples": samples, "peak_mb": rss_mb("VmHWM"), "diagnoses": len(diagnosis.seconds)}))


def memory_run(workdir: Path, n_lines: int) -> dict:
    path = workdir / "memory.log"
    generate(path, n_lines)
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(path)], capture_output=True, text=True, check=True
    )
    path.unlink()
    return json.loads(done.stdout)


def speed_table(rounds: list[list[dict]]) -> str:
    rows = [row for one in rounds for row in one]
    ms = [row["watch_s"] * 1000 for row in rows]

    def ratio(key: str) -> float:
        return statistics.median(row["watch_s"] / row[key] for row in rows)

    per_round = ", ".join(f"{statistics.median(r['watch_s'] for r in one) * 1000:.1f}" for one in rounds)
    lines = rows[0]["lines"], rows[-1]["lines"]
    return "\n".join(
        [
            f"re-diagnosis after each new eval line, {lines[0]:,}-{lines[1]:,} lines, "
            f"{len(rows)} evals over {len(rounds)} rounds:",
            f"  median {statistics.median(ms):.1f} ms, worst {max(ms):.1f} ms "
            f"(target < {TARGET_MS:.0f} ms: {'met' if max(ms) < TARGET_MS else 'NOT met'}); "
            f"median per round: {per_round} ms",
            f"  mawk over the whole file: median {statistics.median(r['mawk_s'] for r in rows):.3f} s; "
            f"ratio watch/mawk {ratio('mawk_s'):.3f}",
            f"  from-scratch parse + diagnose: median {statistics.median(r['scratch_s'] for r in rows):.3f} s;"
            f" ratio watch/from-scratch {ratio('scratch_s'):.3f}",
            f"  watch's report equals diagnose's of the same file: "
            f"{sum(r['same_report'] for r in rows)}/{len(rows)} evals",
        ]
    )


def memory_table(result: dict) -> str:
    samples = result["samples"]
    later = [(n / 1e6, mb) for n, mb in samples if n >= SAMPLE_EVERY]
    millions, mb = [n for n, _ in later], [mb for _, mb in later]
    slope = statistics.linear_regression(millions, mb).slope if len(later) >= 2 else float("nan")
    trace = ", ".join(f"{n / 1e6:.0f}M {mb:.0f}" for n, mb in samples)
    return (
        f"memory, {samples[-1][0]:,} lines ({result['diagnoses']} re-diagnoses): "
        f"{slope:.1f} MB per million lines, peak {result['peak_mb']:.0f} MB\n  RSS MB at: {trace}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--evals", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-lines", type=int, default=10_000_000)
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if not Path(MAWK).exists():
        sys.exit(f"{MAWK} is needed as the yardstick (apt-get install mawk)")
    workdir = Path(tempfile.mkdtemp(prefix="plateau-watch-"))
    try:
        generate(workdir / "source.log", args.lines + 2 * EVAL_EVERY)
        source = (workdir / "source.log").read_bytes()
        awk = workdir / "extract.awk"
        awk.write_text(AWK_PROGRAM)
        rounds = []
        for n in range(args.runs):
            rounds.append(speed_round(source, workdir, awk, args.lines, args.evals))
            print(f"round {n + 1}/{args.runs} done", file=sys.stderr)
        print(speed_table(rounds))
        if args.memory_lines:
            print(memory_table(memory_run(workdir, args.memory_lines)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
