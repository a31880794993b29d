"""`plateau-doctor watch`: follow a training log while it is written, re-diagnose at every eval.

    python train.py config/x.py | plateau-doctor watch        # a pipe: read until it closes
    plateau-doctor watch out/train.log --timeout 600          # a file: followed like `tail -f`

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
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from .model import ParsedLog, Report
from .parsers.nanogpt import BLOCK
from .read import CHUNK, InputError, LineBuffer, decode_run, is_stdin, open_binary, open_log

SAMPLE_LINES = 5000     # lines kept for format detection, as parsers.detect uses
DECIDE_HITS = 2         # data lines of one format before a live log is taken to be that format


# -- sources ------------------------------------------------------------------------------------

def follow_file(path: str, poll_seconds: float, timeout: float | None,
                events: list[str] | None = None) -> Iterator[bytes | None]:
    """The bytes of a growing file as they are written. Yields None when there is nothing new
    (a chance to refresh the view). Reopens the path when the file is rotated, starts over when
    it is truncated (each noted in `events`), and stops once nothing was added for `timeout`
    seconds (never, if None)."""
    handle = open_binary(path)
    last_growth = time.monotonic()
    try:
        while True:
            data = handle.read(CHUNK)
            if data:
                last_growth = time.monotonic()
                yield data
                continue
            handle, event = _reopen_if_replaced(path, handle)
            if event:
                if events is not None:
                    events.append(event)
                last_growth = time.monotonic()
                yield b""          # the caller ends the old file's last line here
                continue
            if timeout is not None and time.monotonic() - last_growth >= timeout:
                return
            yield None
            time.sleep(poll_seconds)
    finally:
        handle.close()


def _reopen_if_replaced(path: str, handle) -> tuple[Any, str | None]:
    """At the end of what was written: has the path been rotated or the file truncated?"""
    try:
        now = os.stat(path)
    except OSError:              # mid-rotation (renamed, not yet recreated): keep the old file
        return handle, None
    mine = os.fstat(handle.fileno())
    if (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev):
        try:
            fresh = open_binary(path)
        except InputError:
            return handle, None
        handle.close()
        return fresh, "rotated"
    if now.st_size < handle.tell():
        handle.seek(0)
        return handle, "truncated"
    return handle, None


def read_stream(fd: int) -> Iterator[bytes]:
    """A pipe or stdin, as the bytes arrive, until EOF."""
    while True:
        data = os.read(fd, CHUNK)
        if not data:
            return
        yield data


# -- incremental parsing ------------------------------------------------------------------------

class LiveLog:
    """Bytes in, eval rows and table snapshots out; detects the format on the first lines."""

    def __init__(self, log_format: str = "auto", reparse_seconds: float = 1.0) -> None:
        self.log_format = log_format
        self.format: str | None = None if log_format == "auto" else log_format
        self.buffer = LineBuffer(BLOCK)         # the nanoGPT scanner's best block size
        self.n_lines = 0
        self.notes: list[str] = []
        self._sample: list[str] = []        # lines before the format is known (the first ones)
        self._scores: dict[str, int] = {}   # format -> its data lines seen so far
        self._parser = None                 # NanoGPTParser (incremental)
        self._lines: list[str] | None = None  # other formats: every line, re-parsed
        self._parsed: ParsedLog | None = None  # their latest parse
        self._parsed_at = 0.0
        self._reparse_seconds = reparse_seconds
        self._evals_reported = 0
        if self.format:
            self._start(self.format, [])

    # input
    def feed(self, data: bytes) -> None:
        for run in self.buffer.feed(data):
            self._run(*run)

    def end_of_file(self, event: str | None = None) -> None:
        """The input ended (or the file was rotated or truncated): its last line is complete."""
        run = self.buffer.rest()
        if run:
            self._run(*run)
        if self.format is None:
            self._detect([], final=True)
        if event:
            self.notes.append(f"the log file was {event} after line {self.n_lines:,}; "
                              "later lines are numbered on from there")

    def _run(self, buf: bytearray, lo: int, hi: int) -> None:
        if self._parser is not None:
            self._parser.feed_block(buf, lo, hi)
            self.n_lines = self._parser.n_lines
            return
        lines = decode_run(buf, lo, hi)
        self.n_lines += len(lines)
        if self._lines is not None:
            self._lines.extend(lines)
        else:
            self._detect(lines)

    def _detect(self, lines: list[str], final: bool = False) -> None:
        """parsers.detect's rule, counted as lines arrive: the format with the most data lines wins
        (ties in registry order), decided once it has DECIDE_HITS of them (or at the end)."""
        from .parsers.formats import FORMATS

        for name, module in FORMATS.items():
            self._scores[name] = self._scores.get(name, 0) + module.sniff(lines)
        self._sample += lines
        best = max(self._scores, key=lambda name: self._scores[name])
        hits = self._scores[best]
        if hits >= DECIDE_HITS or (hits and (final or len(self._sample) >= SAMPLE_LINES)):
            sample, self._sample = self._sample, []
            self._start(best, sample)
        else:
            del self._sample[SAMPLE_LINES:]          # enough for the error message at the end

    def _start(self, fmt: str, lines: list[str]) -> None:
        from .parsers import UnknownFormat
        from .parsers.formats import FORMATS

        if fmt not in FORMATS:
            raise UnknownFormat(f"unknown log format {fmt!r}; known: {', '.join(FORMATS)}")
        self.format = fmt
        if fmt == "nanogpt":
            from .parsers.nanogpt import NanoGPTParser

            self._parser = NanoGPTParser()
            for line in lines:
                self._parser.feed_line(line)
        else:
            self._lines = list(lines)

    # output
    def new_evals(self, force: bool = False) -> list[tuple[int, float, float]]:
        """(step, train, val) of the eval rows that arrived since the last call."""
        if self._parser is not None:
            table = self._parser.table
            if table.n_evals == self._evals_reported:
                return []
            rows = table.eval_rows(self._evals_reported)
        else:
            parsed = self._reparse(force)
            if parsed is None or len(parsed.eval_table) <= self._evals_reported:
                return []
            tail = parsed.eval_table.rows(slice(self._evals_reported, None))
            rows = list(zip(tail["step"].tolist(), tail["train_loss"].tolist(), tail["val_loss"].tolist()))
        self._evals_reported += len(rows)
        return rows

    def latest_iter(self) -> dict | None:
        if self._parser is not None:
            return self._parser.table.last_iter_row()
        parsed = self._reparse(force=False)
        if parsed is not None and len(parsed.iter_table):
            return {name: values[-1].item() for name, values in parsed.iter_table.arrays.items()}
        return None

    def snapshot(self, final: bool = False) -> ParsedLog:
        """The table so far. `final`: the input is over (the parser is finished)."""
        if self._parser is not None:
            parsed = self._parser.finish() if final else self._parser.snapshot()
        elif self._lines is not None:
            parsed = self._reparse(force=True)
        else:                           # never recognised: let parse_lines say why
            from .parsers import parse_lines

            parsed = parse_lines(self._sample, self.log_format)
        parsed.meta.notes.extend(n for n in self.notes if n not in parsed.meta.notes)
        return parsed

    def _reparse(self, force: bool) -> ParsedLog | None:
        """Other formats have no incremental parser: parse all lines again, at most once per
        `reparse_seconds` unless forced."""
        if self._lines is None:
            return None
        now = time.monotonic()
        if force or self._parsed is None or now - self._parsed_at >= self._reparse_seconds:
            from .parsers import parse_lines

            self._parsed = parse_lines(self._lines, self.format or "auto")
            self._parsed_at = now
        return self._parsed


# -- diagnosis ----------------------------------------------------------------------------------

@dataclass
class Diagnosis:
    """The options every re-diagnosis uses, and the latest result."""

    name: str
    config: str | None
    overrides: dict
    dataset_tokens: str | None
    report: Report | None = None
    error: str | None = None
    lines: int = -1            # log lines the report covers
    seconds: list[float] = field(default_factory=list)    # how long each re-diagnosis took

    def run(self, parsed: ParsedLog, final: bool = False) -> Report | None:
        from .api import diagnose
        from .resolve.files import ConfigError

        started = time.perf_counter()
        try:
            self.report = diagnose(self.name, self.config, overrides=self.overrides,
                                   dataset_tokens=self.dataset_tokens, parsed=parsed)
            self.error = None
            self.lines = parsed.meta.n_lines
        except (ConfigError, InputError):
            raise                      # the user's arguments are wrong: stop now
        except Exception as exc:       # noqa: BLE001 - a live view must outlive one bad snapshot
            if final:
                raise
            self.error = f"{type(exc).__name__}: {exc}"
        self.seconds.append(time.perf_counter() - started)
        return self.report


def raised(report: Report | None) -> list:
    return [f for f in report.findings if f.raised] if report else []


# -- views --------------------------------------------------------------------------------------

class PlainView:
    """One line per eval: step, train, val and the findings raised at that point."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __enter__(self) -> "PlainView":
        return self

    def __exit__(self, *exc) -> None:
        self.out.flush()

    def refresh(self, log: LiveLog, diagnosis: Diagnosis) -> None:
        pass

    def evals(self, rows: list[tuple[int, float, float]], diagnosis: Diagnosis) -> None:
        for n, (step, train, val) in enumerate(rows):
            line = f"step {step}: train {train:.4f}, val {val:.4f}"
            if n == len(rows) - 1:       # findings were computed with this eval as the latest
                line += " | " + _findings_summary(diagnosis)
            self.out.write(line + "\n")
        self.out.flush()


def _findings_summary(diagnosis: Diagnosis) -> str:
    if diagnosis.error:
        return f"diagnosis failed: {diagnosis.error}"
    found = raised(diagnosis.report)
    if not found:
        return "no findings"
    top = found[0]
    text = f"{top.code} {top.severity}: {top.title}"
    if len(found) > 1:
        text += "; also " + ", ".join(f"{f.code} {f.category}" for f in found[1:4])
    return text


class LiveView:
    """A rich.live panel redrawn as lines arrive: latest losses, sparklines, findings."""

    def __init__(self, out: TextIO, name: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.name = name
        self.console = Console(file=out)
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)
        self._log: LiveLog | None = None
        self._diagnosis: Diagnosis | None = None
        self._last_eval: tuple[int, float, float] | None = None
        self._loss_spark = ""

    def __enter__(self) -> "LiveView":
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def refresh(self, log: LiveLog, diagnosis: Diagnosis) -> None:
        self._log, self._diagnosis = log, diagnosis
        self.live.update(self._render())

    def evals(self, rows: list[tuple[int, float, float]], diagnosis: Diagnosis) -> None:
        self._last_eval = rows[-1]
        self._diagnosis = diagnosis

    def iter_losses(self, losses: list[float]) -> None:
        from .report.text import sparkline

        self._loss_spark = sparkline(losses)

    def _render(self):
        from rich.console import Group
        from rich.markup import escape
        from rich.table import Table

        from .report.text import STYLE, sparkline

        log, diagnosis = self._log, self._diagnosis
        title = f"[bold]plateau-doctor watch[/] {escape(self.name)}"
        if log is not None:
            title += f"  ({log.format or 'detecting format'}, {log.n_lines:,} lines)"
        table = Table(show_header=False, box=None, padding=(0, 2))
        latest = log.latest_iter() if log else None
        if latest:
            table.add_row("iter", f"{int(latest['iter']):,}", f"loss {latest['loss']:.4f}",
                          _fmt("time", latest.get("time_ms"), "{:.2f}ms"),
                          _fmt("mfu", latest.get("mfu"), "{:.2f}%"))
        if self._last_eval:
            step, train, val = self._last_eval
            table.add_row("eval", f"{step:,}", f"train {train:.4f}", f"val {val:.4f}", "")
        parts: list[Any] = [title, table]
        report = diagnosis.report if diagnosis else None
        if report and len(report.val_series) >= 2:
            parts.append(f"val   {sparkline(report.val_series)}  "
                         f"{report.val_series[0]:.4f} -> {report.val_series[-1]:.4f}")
        if self._loss_spark:
            parts.append(f"loss  {self._loss_spark}")
        if diagnosis and diagnosis.error:
            parts.append(f"[red]diagnosis failed: {escape(diagnosis.error)}[/]")
        found = raised(report)
        if report is not None:
            parts.append("[bold]findings[/]" + ("" if found else ": none raised"))
        for f in found[:6]:
            parts.append(f"  [{STYLE[f.severity]}]{f.severity.upper()} {f.code}[/] "
                         f"[{f.category}] {escape(f.title)}")
        if not latest and not self._last_eval:
            parts.append("[dim]waiting for training lines...[/]")
        return Group(*parts)


def _fmt(label: str, value, template: str) -> str:
    if value is None or value != value:
        return ""
    return f"{label} {template.format(value)}"


# -- the command --------------------------------------------------------------------------------

def run_watch(source: str | None, *, once_per_eval: bool, config: str | None, overrides: dict,
              dataset_tokens: str | None, log_format: str, poll_seconds: float = 0.5,
              timeout: float | None = None, out: TextIO = sys.stdout) -> int:
    """Follow `source` (a path; None or '-' for stdin) until its end, the timeout or Ctrl-C,
    re-diagnosing at each eval; then print the full report. Returns the exit code: 1 if the
    final report holds an error finding, else 0 (bad arguments raise, as in `diagnose`)."""
    name = "<stdin>" if is_stdin(source) else str(source)
    log = LiveLog(log_format)
    diagnosis = Diagnosis(name, config, overrides or {}, dataset_tokens)
    plain = once_per_eval or not _is_tty(out)
    view = PlainView(out) if plain else LiveView(out, name)
    events: list[str] = []
    try:
        with view:
            for data in _chunks(source, poll_seconds, timeout, events):
                if data:
                    log.feed(data)
                elif data is not None:          # b"": the file was rotated or truncated
                    log.end_of_file(events[-1] if events else None)
                if data is None or len(data) < CHUNK:
                    _on_new_lines(log, diagnosis, view)     # caught up with the writer
                else:                           # a backlog: diagnose once it is read
                    view.refresh(log, diagnosis)
            log.end_of_file()
            _on_new_lines(log, diagnosis, view, force=True)
    except KeyboardInterrupt:                   # Ctrl-C: report on what was read
        log.end_of_file()
    report = diagnosis.report
    if report is None or diagnosis.error or diagnosis.lines != log.n_lines:
        report = diagnosis.run(_final_table(log, name), final=True)
    from .report.text import render

    color = not plain and "NO_COLOR" not in os.environ
    out.write(render([report], color=color, width=_width(out)))
    out.flush()
    return 1 if any(f.severity == "error" for f in report.findings) else 0


def _final_table(log: LiveLog, name: str) -> ParsedLog:
    """The whole table; a log no parser recognised is an input error naming the file."""
    from .parsers import UnknownFormat

    try:
        return log.snapshot(final=True)
    except UnknownFormat as exc:
        raise InputError(name, str(exc)) from None


def _chunks(source: str | None, poll_seconds: float, timeout: float | None,
            events: list[str]) -> Iterator[bytes | None]:
    """The input as it arrives: follow a regular file; read pipes, stdin and .gz to their end."""
    if is_stdin(source):
        yield from read_stream(sys.stdin.fileno())
        return
    assert source is not None
    handle = open_binary(source)               # InputError now, before any output
    try:
        info = os.fstat(handle.fileno())
        gzipped = handle.peek(2)[:2] == b"\x1f\x8b"
    finally:
        handle.close()
    if gzipped:                                # a finished, compressed log: read it through
        for buf, lo, hi in open_log(source).blocks():
            yield bytes(memoryview(buf)[lo:hi])
    elif stat.S_ISREG(info.st_mode):
        yield from follow_file(source, poll_seconds, timeout, events)
    else:                                      # a named pipe or a device
        fd = os.open(source, os.O_RDONLY)
        try:
            yield from read_stream(fd)
        finally:
            os.close(fd)


def _on_new_lines(log: LiveLog, diagnosis: Diagnosis, view, force: bool = False) -> None:
    """After new input: re-diagnose if an eval arrived, and redraw."""
    rows = log.new_evals(force)
    if rows:
        parsed = log.snapshot()
        diagnosis.run(parsed)
        if isinstance(view, LiveView):
            view.iter_losses(_thin(parsed.iter_table["loss"]))
        view.evals(rows, diagnosis)
    view.refresh(log, diagnosis)


def _thin(values, points: int = 400) -> list[float]:
    """At most `points` evenly spaced values (a sparkline needs the shape, not a million rows)."""
    import numpy as np

    if len(values) <= points:
        return values.tolist()
    return values[np.linspace(0, len(values) - 1, points).astype(int)].tolist()


def _is_tty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _width(out: TextIO) -> int:
    try:
        return max(60, min(os.get_terminal_size(out.fileno()).columns, 120))
    except (OSError, AttributeError, ValueError):
        return 100
