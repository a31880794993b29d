"""Incremental parsing and re-diagnosis for `watch`: bytes in, eval rows, table snapshots and the
latest report out. Each new nanoGPT line costs O(1) parse work; other formats are re-parsed at
most once a second; the diagnosis runs again only when an eval line arrived."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..analyse.live import LiveMemo
from ..model import ParsedLog, Report
from ..parsers.nanogpt import BLOCK
from ..read import InputError, LineBuffer, decode_run

SAMPLE_LINES = 5000  # lines kept for format detection, as parsers.SNIFF_LINES
DECIDE_HITS = 2  # data lines of one format before a live log is taken to be that format


class LiveLog:
    """Bytes in, eval rows and table snapshots out; detects the format on the first lines."""

    def __init__(self, log_format: str = "auto", reparse_seconds: float = 1.0) -> None:
        self.log_format = log_format
        self.format: str | None = None if log_format == "auto" else log_format
        self.buffer = LineBuffer(BLOCK)  # the nanoGPT scanner's best block size
        self.n_lines = 0
        self.waiting = False  # the followed file does not exist yet
        self.notes: list[str] = []
        self._sample: list[str] = []  # lines before the format is known (the first ones)
        self._parser = None  # NanoGPTParser (incremental)
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
            self.notes.append(
                f"the log file was {event} after line {self.n_lines:,}; "
                "later lines are numbered on from there"
            )

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
        """The parsers' own detection (parsers.detect) on the lines so far, decided once the
        winning format has DECIDE_HITS data lines in the sample (or at the end, or once the
        sample is as long as `diagnose` sniffs): a live log is detected as its file would be."""
        from ..parsers import detect
        from ..parsers.formats import FORMATS

        self._sample += lines
        fmt = detect(self._sample) if (lines or final) else None
        if fmt is not None and (
            final or len(self._sample) >= SAMPLE_LINES or FORMATS[fmt].sniff(self._sample) >= DECIDE_HITS
        ):
            sample, self._sample = self._sample, []
            self._start(fmt, sample)
        else:
            del self._sample[SAMPLE_LINES:]  # enough for the error message at the end

    def _start(self, fmt: str, lines: list[str]) -> None:
        from ..parsers import UnknownFormat
        from ..parsers.formats import FORMATS

        if fmt not in FORMATS:
            raise UnknownFormat(f"unknown log format {fmt!r}; known: {', '.join(FORMATS)}")
        self.format = fmt
        if fmt == "nanogpt":
            from ..parsers.nanogpt import NanoGPTParser

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
            rows = list(
                zip(
                    tail["step"].tolist(), tail["train_loss"].tolist(), tail["val_loss"].tolist(), strict=True
                )
            )
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
        else:  # never recognised: let parse_lines say why
            from ..parsers import parse_lines

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
            from ..parsers import parse_lines

            self._parsed = parse_lines(self._lines, self.format or "auto")
            self._parsed_at = now
        return self._parsed


# -- diagnosis ----------------------------------------------------------------------------------


@dataclass
class Diagnosis:
    """The options every re-diagnosis uses, and the latest result.

    Only the latest report is kept, and without its examination (the loss table and analyses
    `api.diagnose` leaves on a report for notebooks): a report kept with it would hold that
    snapshot's columns, and a column outgrown since is a vector watch no longer needs. The
    report and its examination refer to each other, so dropping the report alone would leave
    them to the cyclic collector, which the CLI runs rarely (__main__)."""

    name: str
    config: str | None
    overrides: dict
    dataset_tokens: str | None
    report: Report | None = None
    error: str | None = None
    lines: int = -1  # log lines the report covers
    seconds: list[float] = field(default_factory=list)  # how long each re-diagnosis took
    # what the re-diagnoses carry from one to the next (analyse/live.py): it holds the columns of
    # the latest snapshot, and of an outgrown one only until the next re-diagnosis
    memo: LiveMemo = field(default_factory=LiveMemo)

    def run(self, parsed: ParsedLog, final: bool = False) -> Report | None:
        from ..api import examine
        from ..resolve.files import ConfigError

        started = time.perf_counter()
        try:
            self.report = examine(
                self.name,
                self.config,
                overrides=self.overrides,
                dataset_tokens=self.dataset_tokens,
                parsed=parsed,
                live=self.memo,
            ).report
            self.error = None
            self.lines = parsed.meta.n_lines
        except (ConfigError, InputError):
            raise  # the user's arguments are wrong: stop now
        except Exception as exc:  # noqa: BLE001 - a live view must outlive one bad snapshot
            if final:
                raise
            self.error = f"{type(exc).__name__}: {exc}"
        self.seconds.append(time.perf_counter() - started)
        return self.report


def raised(report: Report | None) -> list:
    return [f for f in report.findings if f.raised] if report else []
