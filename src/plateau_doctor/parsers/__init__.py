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
from collections.abc import Iterable, Iterator

from ..model import ParsedLog
from ..read import InputError, LogText
from .formats import FORMATS

SNIFF_LINES = 5000


class UnknownFormat(Exception):
    """No parser recognises the log."""


def detect(sample: list[str]) -> str | None:
    """The format with the most matching data lines in the sample, or None if nothing matches."""
    scores = {name: module.sniff(sample) for name, module in FORMATS.items()}
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] > 0 else None


def detect_or_raise(sample: list[str]) -> str:
    """The detected format; UnknownFormat saying why when there is none."""
    fmt = detect(sample)
    if fmt is None:
        if not sample:
            raise UnknownFormat("the log is empty")
        raise UnknownFormat("no training-loss lines of any known format "
                            f"({', '.join(FORMATS)}) in the first {len(sample)} lines")
    return fmt


def parse_lines(lines: Iterable[str], log_format: str = "auto") -> ParsedLog:
    """Parse a log's lines with the given format, or the detected one for 'auto'."""
    if log_format != "auto":
        if log_format not in FORMATS:
            raise UnknownFormat(f"unknown log format {log_format!r}; known: {', '.join(FORMATS)}")
        return FORMATS[log_format].parse(lines)
    iterator: Iterator[str] = iter(lines)
    sample = list(itertools.islice(iterator, SNIFF_LINES))   # empty only if the log is
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
