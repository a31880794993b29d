"""`plateau-doctor watch`: follow a training log while it is written, re-diagnose at every eval.

    python train.py config/x.py | plateau-doctor watch        # a pipe: read until it closes
    plateau-doctor watch out/train.log --timeout 600          # a file: followed like `tail -F`

Reading: a file is polled and reopened when it is rotated (a new inode at its path) or truncated
(shorter than what was read); a pipe or stdin is read until EOF. Parsing is incremental: bytes go
through a LineBuffer into a parser that keeps its state, so each new line costs O(1) work (nanoGPT;
other formats have no incremental parser and are re-parsed, at most once a second). The diagnosis
(`api.diagnose` on a snapshot of the table) runs again only when a new eval line has arrived and
the reader has caught up with the writer (a backlog is read through first).

Output: on a terminal, a rich live view (latest losses, sparklines, current findings); with
--once-per-eval or when stdout is not a terminal, one plain line per eval. At the end of input,
at the timeout, or on Ctrl-C: the full text report. Exit code 1 if it holds an error finding.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from ..model import ParsedLog
from ..read import CHUNK, InputError, is_stdin
from .follow import chunks
from .live import Diagnosis, LiveLog
from .views import LiveView, PlainView, is_tty, thin, width


def run_watch(
    source: str | None,
    *,
    once_per_eval: bool,
    config: str | None,
    overrides: dict,
    dataset_tokens: str | None,
    log_format: str,
    poll_seconds: float = 0.5,
    timeout: float | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Follow `source` (a path; None or '-' for stdin) until its end, the timeout or Ctrl-C,
    re-diagnosing at each eval; then print the full report. Returns the exit code: 1 if the
    final report holds an error finding, else 0 (bad arguments raise, as in `diagnose`)."""
    name = "<stdin>" if is_stdin(source) else str(source)
    log = LiveLog(log_format)
    diagnosis = Diagnosis(name, config, overrides or {}, dataset_tokens)
    plain = once_per_eval or not is_tty(out)
    view = PlainView(out) if plain else LiveView(out, name)
    events: list[str] = []
    try:
        with view:
            for data in chunks(source, poll_seconds, timeout, events):
                take(data, log, diagnosis, view, events)
            log.end_of_file()
            _on_new_lines(log, diagnosis, view, force=True)
    except KeyboardInterrupt:  # Ctrl-C: report on what was read
        log.end_of_file()
    if "timeout" in events:  # say why it stopped and what the report covers
        log.notes.append(
            f"watch stopped after no new data for {timeout:g} s (--timeout): the report "
            f"covers the {log.n_lines:,} lines read"
        )
    report = diagnosis.report
    if report is None or diagnosis.error or diagnosis.lines != log.n_lines or "timeout" in events:
        report = diagnosis.run(_final_table(log, name), final=True)
    from ..report.text import render

    color = not plain and "NO_COLOR" not in os.environ
    out.write(render([report], color=color, width=0 if plain else width(out)))
    out.flush()
    return 1 if any(f.severity == "error" for f in report.findings) else 0


def take(data: bytes | None, log: LiveLog, diagnosis: Diagnosis, view, events: list[str]) -> None:
    """What watch does with each thing `chunks` yields (benchmarks/watch.py drives it too): feed
    the bytes, and re-diagnose once the reader has caught up with the writer (a read shorter
    than CHUNK, or nothing new); a backlog is read through first."""
    log.waiting = bool(events) and events[-1] == "waiting"
    if data:
        log.feed(data)
    elif data is not None:  # b"": the file was rotated or truncated
        log.end_of_file(events[-1] if events else None)
    if data is None or len(data) < CHUNK:
        _on_new_lines(log, diagnosis, view)  # caught up with the writer
    else:  # a backlog: diagnose once it is read
        view.refresh(log, diagnosis)


def _final_table(log: LiveLog, name: str) -> ParsedLog:
    """The whole table; a log no parser recognised is an input error naming the file."""
    from ..parsers import UnknownFormat
    from ..sweep import require_rows

    try:
        parsed = log.snapshot(final=True)
    except (UnknownFormat, ValueError) as exc:  # ValueError: a table parser's "no loss column"
        raise InputError(name, str(exc)) from None
    require_rows(parsed, name, log.log_format)  # a forced --log-format that read nothing
    return parsed


def _on_new_lines(log: LiveLog, diagnosis: Diagnosis, view, force: bool = False) -> None:
    """After new input: re-diagnose if an eval arrived, and redraw."""
    rows = log.new_evals(force)
    if rows:
        parsed = log.snapshot()
        diagnosis.run(parsed)
        if isinstance(view, LiveView):
            view.iter_losses(thin(parsed.iter_table["loss"]))
        view.evals(rows, diagnosis)
    view.refresh(log, diagnosis)
