"""A speed change changes no report: every log's JSON report and exports, before and after.

    python benchmarks/reports_unchanged.py write DIR      # the snapshot (take it before the change)
    python benchmarks/reports_unchanged.py check DIR      # the same outputs again, compared with DIR

For every log in ../shared/logs (when it exists), tests/data/formats, tests/data/wild and
examples/logs, plus a generated 200,000-line nanoGPT log (benchmarks/bench.py's generator, so the
vectorised parser's path is covered too), it runs the installed command as a user would:

    plateau-doctor diagnose LOG --format json --fail-on never
    plateau-doctor parse LOG --to csv          plateau-doctor parse LOG --to json
    plateau-doctor parse LOG --to parquet      (compared as the table pyarrow reads back)

and stores each output (exit code and stderr too) in DIR, one file per log and command. `check`
writes them again to a fresh directory and lists every file that differs; it exits 1 if any does.
The source path inside a report is written relative to the folder the log was found in, so the
snapshot does not depend on where the generated log lives. A check to run, not a test.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [
    ROOT.parent / "shared" / "logs",
    ROOT / "tests" / "data" / "formats",
    ROOT / "tests" / "data" / "wild",
    ROOT / "examples" / "logs",
]
SKIP_NAMES = {"SOURCES.md", "labels.yaml", "README.md"}
GENERATED_LINES = 200_000

PARQUET_READ = r"""
import json, sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
print(json.dumps({"schema": [f"{f.name}:{f.type}" for f in table.schema],
                  "rows": table.to_pylist()}, indent=0, default=repr))
"""


def tool() -> list[str]:
    script = Path(sys.executable).with_name("plateau-doctor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plateau_doctor"]


def logs(scratch: Path) -> list[tuple[str, Path]]:
    """(name, path) of every log, the generated one last."""
    found = []
    for folder in FOLDERS:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name not in SKIP_NAMES:
                found.append((f"{folder.parent.name}_{folder.name}__{path.name}", path))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench import generate

    big = scratch / "generated_200k.log"
    generate(big, GENERATED_LINES)
    found.append(("generated__200k.log", big))
    return found


def run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return f"exit {done.returncode}\nstderr: {done.stderr.strip()}\n{done.stdout}"


def outputs(name: str, path: Path, out: Path, scratch: Path) -> None:
    cmd = tool()
    diag = run([*cmd, "diagnose", str(path), "--format", "json", "--fail-on", "never"])
    diag = diag.replace(str(path.parent) + os.sep, "").replace(str(path.parent), ".")
    (out / f"{name}.diagnose.json").write_text(diag)
    for to in ("csv", "json"):
        (out / f"{name}.parse.{to}").write_text(run([*cmd, "parse", str(path), "--to", to]))
    parquet = scratch / f"{name}.parquet"
    head = run([*cmd, "parse", str(path), "--to", "parquet", "--output", str(parquet)])
    if parquet.exists():
        head += run([sys.executable, "-c", PARQUET_READ, str(parquet)])
        parquet.unlink()
    (out / f"{name}.parse.parquet.txt").write_text(head)


def write(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="pd-reports-"))
    try:
        found = logs(scratch)
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(lambda item: outputs(item[0], item[1], out, scratch), found))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    if args.action == "write":
        n = write(args.directory)
        print(f"{n} logs: {len(list(args.directory.iterdir()))} outputs written to {args.directory}")
        return
    fresh = Path(tempfile.mkdtemp(prefix="pd-reports-now-"))
    try:
        n = write(fresh)
        before = {p.name for p in args.directory.iterdir()}
        now = {p.name for p in fresh.iterdir()}
        differ = sorted(
            name
            for name in before & now
            if (args.directory / name).read_bytes() != (fresh / name).read_bytes()
        )
        for name in differ[:5]:
            diff = difflib.unified_diff(
                (args.directory / name).read_text().splitlines(),
                (fresh / name).read_text().splitlines(),
                "before/" + name,
                "now/" + name,
                lineterm="",
                n=1,
            )
            print("\n".join(list(diff)[:30]))
        missing, extra = sorted(before - now), sorted(now - before)
        print(f"{n} logs, {len(now)} outputs: {len(differ)} differ, {len(missing)} missing, {len(extra)} new")
        for label, names in (("differ", differ), ("missing", missing), ("new", extra)):
            for name in names:
                print(f"  {label}: {name}")
        sys.exit(1 if differ or missing or extra else 0)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


if __name__ == "__main__":
    main()
