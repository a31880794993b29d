"""Line clean-up shared by every parser: what real logs wrap around the lines we want."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from functools import cached_property

NAN = float("nan")


class LazyRegex:
    """A regular expression compiled the first time it is used.

    Detection imports every format's module, but a log is parsed by one format: compiling the
    other formats' patterns at import was ~6 ms of a small diagnosis's ~190 ms, for patterns that
    never run. After the first use each method (`match`, `search`, ...) is the compiled
    pattern's own bound method, kept on this object, so a hot loop pays nothing extra.
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    @cached_property
    def compiled(self) -> re.Pattern:
        return re.compile(*self._source)

    def __getattr__(self, name: str):
        # reached only for a name not kept yet: the first use of `match`, `pattern`, ...
        if name.startswith("__"):  # copy and pickle probe for hooks: this is not a pattern's
            raise AttributeError(name)
        value = getattr(self.compiled, name)
        setattr(self, name, value)
        return value


# ANSI colour/cursor sequences (wandb footers, rich/tqdm output) and C0 controls other than tab.
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f]")

# Prefixes that launchers, loggers and pastes put in front of a program's line, stripped in any
# order and any number (torchrun's rank tag before the logger's timestamp, ...):
#   > quote          a chat/markdown quote
#   # paste          a line pasted as a comment (`# step 100: train loss ...`)
#   [rank0]:         torchrun --tee / srun rank tags, also [default0]: and [trainer0|0]: (elastic)
#   0:               srun --label
#   2024-05-01 12:00:00,123 / [2024-05-01T12:00:00Z] / [12:00:00]   timestamps
#   [titan] 2024-...  a program's tag in front of its logging timestamp
#   - root - INFO -   logging's `%(asctime)s - %(name)s - %(levelname)s - ` tail after a timestamp
#   INFO:name:       logging.basicConfig's default `%(levelname)s:%(name)s:`
#   [INFO]           a bracketed level (DeepSpeed, loguru-style)
#   I0501 12:00:00.123456 123 file.py:45]   glog / absl
# Every alternative starts with a fixed character class and has bounded or delimiter-stopped
# repetition, so a long garbled line is matched in linear time.
LEVEL = r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)"
PREFIX_RE = re.compile(
    r"^(?:>\s?|#+\s+|"
    r"\[[A-Za-z_]{0,20}\d{1,6}(?:\|\d{1,6})?\]:\s*|\d{1,4}:\s+|"
    r"(?:\[[A-Za-z_]{1,20}\]\s*(?=\[?\d{4}-))?"
    r"\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s*(?:-\s*)?"
    r"(?:[\w.]{1,80}\s+-\s+)?(?:" + LEVEL + r"\s+-\s+)?|"
    r"\[\d\d:\d\d:\d\d(?:\.\d+)?\]\s*|" + LEVEL + r":[\w.]{1,80}:|\[" + LEVEL + r"\]\s*|"
    r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{1,9}\s+\d{1,9}\s+[\w.\-]{1,80}:\d{1,6}\]\s*)+"
)
# first characters of a line that may carry a prefix: the regex is tried only on those
PREFIX_STARTS = frozenset(">#[0123456789IWEDCF")

# A tqdm bar ends in `[elapsed<remaining, rate]` (`[00:05<00:00,  4.75it/s]`, `[07:00<17:31,
# 14.21s/it, loss=1.2]`); when a program's line was printed right after a bar without a newline, the
# rest of the physical line is a line of its own.
TQDM_END_RE = re.compile(r"\[(?:\d{1,4}:)?\d{1,2}:\d\d<(?:(?:\d{1,4}:)?\d{1,2}:\d\d|\?)[^\]\n<]{0,200}\]")
RANK_TAG_RE = re.compile(r"\[(?:rank|default|trainer)?(\d{1,6})(?:\|\d{1,6})?\]:")


def clean_line(raw: str) -> str:
    """Strip ANSI codes, control characters and launcher/quote/timestamp/logger prefixes."""
    if "\x1b" in raw or "\x00" in raw or "\x08" in raw:
        raw = ANSI_RE.sub("", raw)
    line = raw.strip()
    if line and line[0] in PREFIX_STARTS:
        line = PREFIX_RE.sub("", line, count=1).strip()
    return line


def rank_tag(raw: str) -> int | None:
    """The rank of a `[rank3]:` / `[default3]:` / `[trainer0|3]:` tag at the start of a line."""
    m = RANK_TAG_RE.match(raw.lstrip())
    return int(m.group(1)) if m else None


def pieces(raw: str) -> list[str]:
    """A physical line may hold several `\\r`-separated screen updates (tqdm, HF downloads), and
    a program's line printed right after a tqdm bar; each piece is looked at as a line of its own."""
    if "\r" not in raw:
        return _after_bars(raw) if "<" in raw else [raw]
    found = [p for p in raw.split("\r") if p.strip()]
    if "<" in raw:
        found = [q for p in found for q in _after_bars(p)]
    return found


def _after_bars(raw: str) -> list[str]:
    """Split a line after each tqdm bar that has more text behind it."""
    out, start = [], 0
    for m in TQDM_END_RE.finditer(raw):
        if raw[m.end() :].strip():
            out.append(raw[start : m.end()])
            start = m.end()
    if not out:
        return [raw]
    out.append(raw[start:])
    return [p for p in out if p.strip()]


def clean_pieces(lines) -> Iterable[str]:
    """Every `\r` piece of every line, cleaned: what a format's sniffer looks at."""
    if isinstance(lines, Sample):
        return lines.pieces
    return _clean_pieces(lines)


def _clean_pieces(lines) -> Iterator[str]:
    for raw in lines:
        for piece in pieces(raw):
            yield clean_line(piece)


# Joins the cleaned pieces into one text that one C-speed substring search answers for all of them:
# no piece holds a `\r` (pieces() splits at every one, clean_line only deletes), so an occurrence
# of a needle without one lies inside a single piece.
PIECE_SEP = "\r"
# The raw lines' separator: head() splits at it, and a needle without one cannot span two lines.
RAW_SEP = "\n"
# containing() walks the occurrences of a needle one find() at a time, which pays when they are
# few (a nanoGPT log's one "tokens per iteration" line); past one piece in this many, a plain
# filter of every piece is cheaper.
FEW_OCCURRENCES = 8


class Sample(list):
    """A log's first lines as detection shows them to every format's sniff: their cleaned
    pieces are computed once, not once per format (a third of detecting a 5000-line sample).
    Most sniffs count only pieces with a given start or word; they ask for those (starting,
    containing, mentions) instead of each testing every piece in Python, which cost a nanoGPT
    sample's detection ~0.02 ms per format."""

    @cached_property
    def pieces(self) -> list[str]:
        return list(_clean_pieces(self))

    @cached_property
    def _by_first_char(self) -> dict[str, list[int]]:
        """The positions of the pieces, by first character: a search of the joined text costs as
        much as testing every piece, a lookup here next to nothing."""
        index: dict[str, list[int]] = {}
        for position, piece in enumerate(self.pieces):
            first = piece[:1]
            if first in index:
                index[first].append(position)
            else:
                index[first] = [position]
        return index

    @cached_property
    def _text(self) -> str:
        return PIECE_SEP.join(self.pieces)

    @cached_property
    def _raw_text(self) -> str:
        return RAW_SEP.join(self)

    def starting(self, *prefixes: str) -> list[str]:
        """The pieces that start with one of the (non-empty) prefixes, in sample order."""
        index = self._by_first_char
        firsts = {_checked(prefix, PIECE_SEP)[0] for prefix in prefixes}
        buckets = [index[first] for first in firsts if first in index]
        if not buckets:
            return []
        positions = buckets[0] if len(buckets) == 1 else sorted(itertools.chain(*buckets))
        pieces = self.pieces
        return [piece for i in positions if (piece := pieces[i]).startswith(prefixes)]

    def containing(self, needle: str) -> list[str]:
        """The pieces that hold needle, in sample order, each once."""
        text = self._text
        at = text.find(_checked(needle, PIECE_SEP))
        if at == -1:
            return []
        if text.count(needle, at) * FEW_OCCURRENCES > len(self.pieces):
            return [piece for piece in self.pieces if needle in piece]
        found = []
        while at != -1:
            start, end = text.rfind(PIECE_SEP, 0, at) + 1, text.find(PIECE_SEP, at)
            end = len(text) if end == -1 else end
            found.append(text[start:end])
            at = text.find(needle, end)
        return found

    def mentions(self, needle: str) -> bool:
        """Does any piece hold needle?"""
        return _checked(needle, PIECE_SEP) in self._text

    def raw_mentions(self, needle: str) -> bool:
        """Does any raw (uncleaned) line hold needle?"""
        return _checked(needle, RAW_SEP) in self._raw_text


def _checked(needle: str, separator: str) -> str:
    """needle, if it is not empty (which every line and no joined text holds) and cannot span two
    joined lines."""
    if not needle or separator in needle:
        raise ValueError(f"cannot search joined lines for {needle!r}")
    return needle


def as_sample(lines: Iterable[str]) -> Sample:
    """lines as a Sample: detection's own, or a sniff's plain list made into one."""
    return lines if isinstance(lines, Sample) else Sample(lines)


# A line that stands for text left out of a paste: "...", "…", "[...]", "(... 200 lines omitted)",
# "<snip>", "[truncated]". A log holding one is an excerpt: where it ends says nothing of the run.
ELISION_RE = re.compile(
    r"^(?:\.{3,}|…+|[\[(<]\s*(?:\.{3,}|…|snip|truncated|omitted)[^\])>]*[\])>]|"
    r"\.{3,}\s*\(?\d*\s*(?:more\s+)?lines?\s+(?:omitted|skipped|elided)\)?)$",
    re.IGNORECASE,
)
MAX_ELISION = 40


def is_elision(line: str) -> bool:
    return len(line) <= MAX_ELISION and bool(ELISION_RE.match(line))


class NumberedLines:
    """The cleaned lines of a log with their 1-based physical line numbers; each `\r` piece is a
    line of its own and keeps the number of the physical line it came from. `count` is how many
    physical lines have been read: the table's line count, also when the last lines held nothing.
    `ranks` collects the launcher rank tags seen (`[rank3]:`): with every rank's output captured,
    their number is the world size. `elided` says a line marked text as left out (`...`): the
    log is an excerpt."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.count = 0
        self.ranks: set[int] = set()
        self.elided = False

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for count, raw in enumerate(self._lines, start=1):
            self.count = count
            if raw[:1] == "[" and (rank := rank_tag(raw)) is not None:
                self.ranks.add(rank)
            for piece in pieces(raw):
                line = clean_line(piece)
                if is_elision(line):
                    self.elided = True
                yield self.count, line


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
