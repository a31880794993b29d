"""Parsers: one module per log format, each turning lines into the same ParsedLog.

Each format module exposes NAME, TRAITS (what its numbers mean, as LogMeta fields: how its evals
are measured, whose config keys it uses; its table builder starts from them), `sniff(lines) ->
int` (how many of the sample lines are that format's own data lines) and `parse(lines) ->
ParsedLog`. Detection picks the format whose data
lines dominate the first lines of the log, so a log that quotes another format's template, or
carries a few stray lines, is still recognised by what it mostly is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

from ..model import ParsedLog
from ..read import InputError, LogText
from .formats import FORMATS
from .lines import Sample

SNIFF_LINES = 5000


class UnknownFormat(Exception):
    """No parser recognises the log."""


def detect(sample: list[str]) -> str | None:
    """The format with the most matching data lines in the sample, or None if nothing matches."""
    sample = Sample(sample)  # every sniff cleans the same lines: once
    scores = {name: module.sniff(sample) for name, module in FORMATS.items()}
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] > 0 else None


def detect_or_raise(sample: list[str]) -> str:
    """The detected format; UnknownFormat saying why when there is none."""
    fmt = detect(sample)
    if fmt is None:
        if not sample:
            raise UnknownFormat("the log is empty")
        raise UnknownFormat(
            "no training-loss lines of any known format "
            f"({', '.join(FORMATS)}) in the first {len(sample)} lines"
        )
    return fmt


def parse_lines(lines: Iterable[str], log_format: str = "auto") -> ParsedLog:
    """Parse a log's lines with the given format, or the detected one for 'auto'."""
    if log_format != "auto":
        if log_format not in FORMATS:
            raise UnknownFormat(f"unknown log format {log_format!r}; known: {', '.join(FORMATS)}")
        return FORMATS[log_format].parse(lines)
    iterator: Iterator[str] = iter(lines)
    sample = list(itertools.islice(iterator, SNIFF_LINES))  # empty only if the log is
    fmt = detect_or_raise(sample)
    return FORMATS[fmt].parse(itertools.chain(sample, iterator))


def parse_source(source: LogText, log_format: str = "auto") -> ParsedLog:
    """Parse an opened log (read.open_log). nanoGPT logs take the vectorised block path
    (nanogpt.parse_source, the same table as the line path); other formats go line by line."""
    if log_format == "auto":
        sample = source.head(SNIFF_LINES)
        if not sample and source.ended_early:
            raise InputError(source.name, "the gzip stream ends before its first line (a truncated copy)")
        log_format = detect_or_raise(sample)
    elif log_format not in FORMATS:
        raise UnknownFormat(f"unknown log format {log_format!r}; known: {', '.join(FORMATS)}")
    module = FORMATS[log_format]
    parsed = module.parse_source(source) if hasattr(module, "parse_source") else module.parse(source.lines)
    if source.ended_early:
        parsed.meta.notes.append(source.ended_early)
    return parsed


def parse_runs(source: LogText, log_format: str = "auto") -> list[ParsedLog]:
    """Parse an opened log into its runs: one ParsedLog per run from scratch in the file (seeds
    run one after another, a restart from step 0 or back at the first logged step), in log order.
    A resume from a checkpoint that repeats a few steps stays in its run, as a segment.

    The whole log is read into memory once, parsed to find where its runs are, and each run is
    parsed again on its own lines, so each gets its own header facts (config echo, tokens per
    iteration, ...): the lines between one run's last data line and the next run's first data line
    (the next run's start-up output) belong to the next run. Line numbers stay those of the file.
    A one-run log gives a one-element list, the same table as parse_source. Metrics tables (CSV,
    JSON lines) are one table with one header and are not cut.
    """
    lines = list(source.lines)
    if log_format == "auto":
        if not lines and source.ended_early:
            raise InputError(source.name, "the gzip stream ends before its first line (a truncated copy)")
        log_format = detect_or_raise(lines[:SNIFF_LINES])
    elif log_format not in FORMATS:
        raise UnknownFormat(f"unknown log format {log_format!r}; known: {', '.join(FORMATS)}")
    module = FORMATS[log_format]
    whole = module.parse(lines)
    spans = whole.meta.runs
    if len(spans) < 2 or getattr(module, "WHOLE_FILE", False):
        runs = [whole]
    else:
        runs = [_parse_run(module, lines, k, spans) for k in range(len(spans))]
    if source.ended_early:
        runs[-1].meta.notes.append(source.ended_early)
    return runs


def _parse_run(module, lines: Sequence[str], k: int, spans: list[tuple[int, int]]) -> ParsedLog:
    """Run k of the file: from just after run k-1's last data line (line 1 for the first) to run
    k's last data line, or the end of the file for the last run. The lines before it are fed as
    blank lines, which no parser reads, so line numbers stay those of the file."""
    first = 1 if k == 0 else spans[k - 1][1] + 1
    last = len(lines) if k == len(spans) - 1 else spans[k][1]
    parsed = module.parse(itertools.chain(itertools.repeat("", first - 1), lines[first - 1 : last]))
    parsed.meta.runs = []
    parsed.meta.run_in_file = f"run {k + 1} of {len(spans)}, lines {first:,}-{last:,}"
    return parsed
