"""Line clean-up shared by every parser: what real logs wrap around the lines we want."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

NAN = float("nan")

# ANSI colour/cursor sequences (wandb footers, rich/tqdm output) and C0 controls other than tab.
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f]")

# Prefixes launchers and pastes put in front of a program's line: a chat/markdown quote `> `,
# srun/torchrun rank labels `0: ` or `[rank0]: `, and ISO or syslog-style timestamps.
PREFIX_RE = re.compile(
    r"^(?:>\s?|\[rank\d+\]:\s*|\d{1,4}:\s+|"
    r"\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s*(?:-\s*)?|"
    r"\[\d\d:\d\d:\d\d(?:\.\d+)?\]\s*)+"
)


def clean_line(raw: str) -> str:
    """Strip ANSI codes, control characters and launcher/quote/timestamp prefixes."""
    if "\x1b" in raw or "\x00" in raw or "\x08" in raw:
        raw = ANSI_RE.sub("", raw)
    line = raw.strip()
    if line and (line[0] in ">[" or line[0].isdigit()):
        line = PREFIX_RE.sub("", line, count=1).strip()
    return line


def pieces(raw: str) -> list[str]:
    """A physical line may hold several `\\r`-separated screen updates (tqdm, HF downloads);
    each piece is looked at as a line of its own."""
    if "\r" not in raw:
        return [raw]
    return [p for p in raw.split("\r") if p.strip()]


def clean_pieces(lines) -> Iterator[str]:
    """Every `\r` piece of every line, cleaned: what a format's sniffer looks at."""
    for raw in lines:
        for piece in pieces(raw):
            yield clean_line(piece)


class NumberedLines:
    """The cleaned lines of a log with their 1-based physical line numbers; each `\r` piece is a
    line of its own and keeps the number of the physical line it came from. `count` is how many
    physical lines have been read: the table's line count, also when the last lines held nothing."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.count = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for self.count, raw in enumerate(self._lines, start=1):
            for piece in pieces(raw):
                yield self.count, clean_line(piece)


NUMERIC_START = re.compile(r"[-+]?(?:\d|\.\d|nan\b|inf)", re.IGNORECASE)


def numeric(text: str) -> bool:
    """Does a captured value start like a number (or nan/inf)? Sniffers count only lines whose
    values do, so prose that quotes a line's words ("val loss <text>") is not a training log."""
    return NUMERIC_START.match(text) is not None


def to_float(text: str) -> float:
    """A number as Python or C prints it (nan, inf, -inf, 1e-3, '1,234'); NaN if it is not one."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return NAN
