#!/usr/bin/env python3
"""Score plateau-doctor's diagnoses against labelled real logs.

usage: score_labels.py [LABELS.yaml] [--only NAME] [--format FMT[,FMT]] [--strict] [-v]

LABELS.yaml defaults to tests/data/wild/labels.yaml of this repository; the logs sit beside it. Any
labels file in the same schema works, e.g. ../shared/logs/labels.yaml. The command under test is
$PLATEAU_DOCTOR if set, else `plateau-doctor` on PATH, else `python3 -m plateau_doctor`. Each log
is run as
    <cmd> diagnose LOG --format json [--dataset-tokens N]
and judged by the keys described at the top of the labels file. A log labelled `quiet` (a healthy
run) that raises anything beyond its expected and allowed categories is listed as NOISY; --strict
counts it as failed. A log labelled `parse_fails_today` is still run and judged. Prints one line per
failure, a table per format, and ends with 'N passed, M failed' (exit 1 when anything failed).

The judging is the same as ../shared/tools/check_labels.py (the project's acceptance check), copied
here because a user's clone has no ../shared; only the report around it (per-format table, the
default path, argparse) is new.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

RAISED = ("warning", "error")
TOP_N = 2  # expect_top / expect_top_any look at this many leading raised findings
TIMEOUT_S = 120  # per log, as in check_labels.py
DEFAULT_LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "wild" / "labels.yaml"


def command() -> list[str]:
    if os.environ.get("PLATEAU_DOCTOR"):
        return shlex.split(os.environ["PLATEAU_DOCTOR"])
    if shutil.which("plateau-doctor"):
        return ["plateau-doctor"]
    return [sys.executable, "-m", "plateau_doctor"]


def run_tool(entry: dict, folder: Path, cmd: list[str]) -> tuple[list[str], dict | None]:
    """Run the tool on one labelled log: (problems that stop judging, the JSON report or None)."""
    argv = cmd + ["diagnose", str(folder / entry["file"]), "--format", "json"]
    if entry.get("dataset_tokens"):
        argv += ["--dataset-tokens", str(entry["dataset_tokens"])]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [f"no answer in {TIMEOUT_S} s"], None
    problems = ["traceback on stderr"] if "Traceback" in done.stderr else []
    if done.returncode not in (0, 1):
        tail = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        return problems + [f"exit {done.returncode}: {tail[:160]}"], None
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return problems + ["stdout is not JSON"], None
    if isinstance(report, list):
        report = report[0] if report else {}
    return problems, report


def judge_report(entry: dict, report: dict) -> tuple[list[str], list[str]]:
    """The label's verdict on one report: (problems, raised categories in report order)."""
    problems = []
    fmt = (report.get("source") or {}).get("format")
    if entry.get("format") and fmt != entry["format"]:
        problems.append(f"format {fmt!r}, expected {entry['format']!r}")
    findings = report.get("findings") or []
    raised = [f.get("category") for f in findings if f.get("severity") in RAISED]
    top = raised[:TOP_N]
    for cat in entry.get("expect_top", []):
        if cat not in top:
            problems.append(f"{cat} not in top {TOP_N} {top}")
    anyof = entry.get("expect_top_any")
    if anyof and not set(anyof) & set(top):
        problems.append(f"none of {anyof} in top {TOP_N} {top}")
    for cat in entry.get("expect_any", []):
        if cat not in raised:
            problems.append(f"{cat} not raised")
    for cat in entry.get("forbid", []):
        if cat in raised:
            problems.append(f"{cat} raised but forbidden")
    if entry.get("quiet"):
        allowed = set(entry.get("allow", []))
        for key in ("expect_top", "expect_top_any", "expect_any"):
            allowed |= set(entry.get(key, []))
        extra = [
            f"{f.get('code')}:{f.get('category')}"
            for f in findings
            if f.get("severity") in RAISED and f.get("category") not in allowed
        ]
        if extra:
            problems.append(f"NOISY: quiet log raises {extra}")
    if entry.get("forbid_errors"):
        errs = [f.get("category") for f in findings if f.get("severity") == "error"]
        if errs:
            problems.append(f"errors raised {errs}")
    return problems, raised


def judge(entry: dict, folder: Path, cmd: list[str]) -> tuple[list[str], list[str] | None]:
    problems, report = run_tool(entry, folder, cmd)
    if report is None:
        return problems, None
    more, raised = judge_report(entry, report)
    return problems + more, raised


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "labels",
        nargs="?",
        default=str(DEFAULT_LABELS),
        help="labels file (default: tests/data/wild/labels.yaml)",
    )
    parser.add_argument("--only", help="keep the logs whose file name contains this text")
    parser.add_argument("--format", dest="formats", help="keep the logs of these formats (comma separated)")
    parser.add_argument("--strict", action="store_true", help="a noisy quiet log counts as failed")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list the logs that pass")
    return parser.parse_args(argv)


def load_entries(args: argparse.Namespace) -> list[dict]:
    entries = yaml.safe_load(Path(args.labels).read_text(encoding="utf-8")) or []
    if args.only:
        entries = [e for e in entries if args.only in e["file"]]
    if args.formats:
        wanted = set(args.formats.split(","))
        entries = [e for e in entries if e.get("format") in wanted]
    return entries


def print_table(rows: dict[str, list[int]]) -> None:
    print(f"{'format':<16}{'logs':>6}{'passed':>8}{'quiet':>7}{'noisy':>7}")
    for fmt in sorted(rows):
        logs, passed, quiet, noisy = rows[fmt]
        print(f"{fmt:<16}{logs:>6}{passed:>8}{quiet:>7}{noisy:>7}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    entries = load_entries(args)
    folder = Path(args.labels).resolve().parent
    cmd = command()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda e: judge(e, folder, cmd), entries))
    passed = noisy = 0
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # logs, passed, quiet, noisy
    for entry, (problems, raised) in zip(entries, results, strict=False):
        row = rows[entry.get("format", "?")]
        row[0] += 1
        row[2] += bool(entry.get("quiet"))
        loud = [p for p in problems if p.startswith("NOISY")]
        noisy += bool(loud)
        row[3] += bool(loud)
        if not args.strict and loud and len(loud) == len(problems):
            print(f"NOISY {entry['file']}: " + "; ".join(loud))
            problems = []
        if problems:
            print(f"FAIL {entry['file']}: " + "; ".join(problems))
        else:
            passed += 1
            row[1] += 1
            if args.verbose:
                print(f"ok   {entry['file']}: raised {raised}")
    print_table(rows)
    quiet = sum(1 for e in entries if e.get("quiet"))
    print(
        f"{noisy} of {quiet} healthy (quiet) runs raise a warning or error"
        + ("" if args.strict else " (--strict counts them as failed)")
    )
    print(f"{passed} passed, {len(entries) - passed} failed")
    return 0 if passed == len(entries) else 1


if __name__ == "__main__":
    sys.exit(main())
