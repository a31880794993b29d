"""Vectorised reading of nanoGPT's train lines: a block of a few thousand lines decoded by a few
dozen numpy operations instead of a regex and a float() per line.

    iter 1234: loss 3.1462, time 67.89ms, mfu 5.49%

Only lines that are *exactly* this (train.py's own format, or the old one without mfu) are taken
here; every other line of the block, and any line this scanner is not sure about, is left to the
careful line parser, which gives the same result on these lines (a test checks it on every real
log). Each number is read from one 8-byte little-endian word gathered at its first character, with
SWAR bit tricks (SIMD within a register): find the delimiter byte, check that every byte before it
is a digit (one '.' and a leading '-' allowed), and fold the digits into an integer. Dividing that
exact integer by 10**decimals is a single correctly rounded division, so the value is bit for bit
what float() returns. Tokens longer than 8 characters fall back to the careful parser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

U64 = np.uint64


def _every_byte(b: int) -> np.uint64:
    return U64(int.from_bytes(bytes([b]) * 8, "little"))


def _word(text: bytes) -> tuple[np.uint64, np.uint64]:
    """A literal as a little-endian word, and the mask of the bytes it occupies."""
    return U64(int.from_bytes(text.ljust(8, b"\0"), "little")), U64((1 << (8 * len(text))) - 1)


ONE, EIGHT, BYTE = U64(1), U64(8), U64(0xFF)
ZEROS, LOW7, HIGH = _every_byte(0x30), _every_byte(0x7F), _every_byte(0x80)
DIGIT_LIMIT = _every_byte(0x76)  # 0x76 + 9 < 0x80 <= 0x76 + 10
DOT = U64(ord(".") ^ 0x30)  # a '.' after XOR with '0'
MINUS = U64(ord("-"))
ITER, ITER_MASK = _word(b"iter ")
LOSS, LOSS_MASK = _word(b": loss ")
TIME, TIME_MASK = _word(b", time ")
MS_MFU, _ = _word(b"ms, mfu ")
MS, _ = _word(b"ms")
# folding 8 digit bytes (most significant first) into an integer: pairs, then quads, then all
PAIR_MASK = U64(0x000000FF000000FF)
MUL_HI = U64(100 + (1000000 << 32))
MUL_LO = U64(1 + (10000 << 32))
POW10 = 10.0 ** np.arange(8)


# glibc malloc maps allocations of 128 KB and more with mmap and unmaps them on free, until the
# first such block is freed: then it raises that threshold to the freed size (its "dynamic mmap
# threshold", up to 32 MB) and keeps smaller blocks in the heap for reuse. A fresh process that
# scans big blocks would map, fault in and unmap each block's ~30 temporaries of ~160 KB again
# and again (75,000 page faults and +30% scan time on a 1M-line log at 256 KB blocks). Freeing one
# array of this size first, never touched and so never resident, makes glibc raise the threshold
# now instead of never: the state a warm process is in anyway. Other allocators ignore it.
SETTLE_ALLOCATION_BYTES = 8 << 20
# a block from which the temporaries (the newline mask is one byte a byte) reach that 128 KB
SETTLE_FROM_BLOCK_BYTES = 1 << 17


def settle_allocator() -> None:
    """Let the allocator keep scan temporaries in its heap (see SETTLE_ALLOCATION_BYTES)."""
    np.empty(SETTLE_ALLOCATION_BYTES, dtype=np.uint8)  # freed at once: that free is the point


@dataclass
class IterLines:
    """What a block holds: where its lines are, and the strict iter lines already decoded."""

    starts: np.ndarray  # offset of each line's first byte in the buffer
    ends: np.ndarray  # offset of each line's newline (or of the block end)
    rows: np.ndarray  # indices (into starts) of the strict iter lines, ascending
    iters: np.ndarray  # int64
    loss: np.ndarray  # float64, one per row
    time_ms: np.ndarray
    mfu: np.ndarray  # NaN for the -100.00% placeholder and the old format without mfu


def scan_iter_lines(buf: bytearray, lo: int, hi: int) -> IterLines:
    """Split `buf[lo:hi]` into lines and decode the strict iter lines among them.

    `buf` must have 8 readable bytes after `hi` and one before `lo` (read.LineBuffer keeps 16).
    """
    u = np.frombuffer(buf, dtype=np.uint8)
    # every 8-byte window, addressed by its first byte: one gather reads a whole number
    words = np.ndarray(shape=(len(u) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    ends = np.flatnonzero(u[lo:hi] == 10) + lo
    if hi > lo and u[hi - 1] != 10:  # a last line without its newline
        ends = np.append(ends, hi)
    starts = np.empty_like(ends)
    starts[:1] = lo
    starts[1:] = ends[:-1] + 1

    rows = np.flatnonzero((words[starts] & ITER_MASK) == ITER)
    first = starts[rows] + 5
    # a trailing \r (CRLF logs) is not part of the line; the careful parser strips it too
    stop = ends[rows]
    stop -= u[stop - 1] == 13

    # Each step finds the next delimiter inside one word. Positions are clamped to the block end
    # so a line that is not an iter line never sends a read past the padding; such lines fail
    # the literal checks anyway.
    it_word = words[first]
    colon = np.minimum(first + _find(it_word, ord(":")), hi)
    ok = (words[colon] & LOSS_MASK) == LOSS
    loss_word = words[colon + 7]
    comma = np.minimum(colon + 7 + _find(loss_word, ord(",")), hi)
    ok &= (words[comma] & TIME_MASK) == TIME
    time_word = words[comma + 7]
    ms = np.minimum(comma + 7 + _find(time_word, ord("m")), hi)
    after_time = words[ms]
    has_mfu = after_time == MS_MFU
    mfu_word = words[ms + 8]
    percent = ms + 8 + _find(mfu_word, ord("%"))
    # the line ends right after "%", or right after "ms" in the old format (before Feb 2023)
    old = ~has_mfu & ((after_time & U64(0xFFFF)) == MS) & (ms + 2 == stop)
    ok &= (has_mfu & (percent + 1 == stop)) | old

    values, valid, integer = _numbers(
        np.concatenate([it_word, loss_word, time_word, mfu_word]),
        np.concatenate([colon - first, comma - colon - 7, ms - comma - 7, percent - ms - 8]),
    )
    n = len(rows)
    values, valid, integer = values.reshape(4, n), valid.reshape(4, n), integer.reshape(4, n)
    ok &= valid[0] & integer[0] & valid[1] & valid[2] & (valid[3] | old)

    mfu = values[3]
    mfu[old | (mfu < 0)] = np.nan  # -100.00% is the placeholder of the first iterations
    return IterLines(
        starts=starts,
        ends=ends,
        rows=rows[ok],
        iters=values[0][ok].astype(np.int64),
        loss=values[1][ok],
        time_ms=values[2][ok],
        mfu=mfu[ok],
    )


def _find(words: np.ndarray, byte: int) -> np.ndarray:
    """Index (0-7) of the first byte equal to `byte` in each word; 8 when there is none (the byte
    may then be the one just after the word: the callers check that position)."""
    y = words ^ _every_byte(byte)
    zero = y & LOW7
    zero += LOW7
    zero |= y  # high bit clear exactly in the zero bytes of y (no carries)
    np.invert(zero, out=zero)
    zero &= HIGH
    lowest = ~zero
    lowest += ONE
    lowest &= zero  # the lowest flag only
    lowest -= ONE  # ones below it: 8j+7 of them
    return (np.bitwise_count(lowest) >> np.uint8(3)).astype(np.int64)


def _numbers(words: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The number in the first `width` bytes of each word: [-]digits[.digits], 1 to 8 characters
    (a width of 8 means the delimiter was not in the word: the caller's next check, just past the
    word, decides whether the token really ended there).

    Returns the float values, a mask of the words that really hold such a number, and a mask of
    those that are plain digits (no sign, no dot).
    """
    minus = (words & BYTE) == MINUS
    words = np.where(minus, words >> EIGHT, words)  # read "-1.5" as "1.5", negate at the end
    width = width - minus
    shift = width.astype(U64) << U64(3)
    in_token = ONE << shift
    in_token -= ONE  # low `width` bytes (all bytes when width is out of range)
    z = words ^ ZEROS  # digits become 0-9, '.' 0x1e
    z &= in_token
    in_token &= HIGH
    bad = z & LOW7
    bad += DIGIT_LIMIT
    bad |= z
    bad &= in_token  # high bit set in every byte of the token that is not a digit
    n_bad = np.bitwise_count(bad)
    # valid rows have at most one such byte; then popcount(bad - 1) = 8 * index + 7, or 64
    dot_bits = np.bitwise_count(bad - ONE).astype(U64) & U64(0x78)
    has_dot = n_bad == 1
    is_dot = ((z >> dot_bits) & BYTE) == DOT
    valid = (n_bad == 0) | (has_dot & is_dot)
    valid &= width >= 1 + has_dot
    integer = valid & (n_bad == 0) & ~minus

    # drop the dot: the bytes above it move down one (below is all ones when there is no dot)
    below = ONE << dot_bits
    below -= ONE
    digits = z >> EIGHT
    digits &= ~below
    digits |= z & below
    # right-align the digit bytes in the word (zero bytes in front are zero digits), then fold
    digits <<= U64(64) - shift + (has_dot.astype(U64) << U64(3))
    digits = digits * U64(10) + (digits >> EIGHT)
    digits = ((digits & PAIR_MASK) * MUL_HI + ((digits >> U64(16)) & PAIR_MASK) * MUL_LO) >> U64(32)
    decimals = np.where(has_dot, width - 1 - (dot_bits >> U64(3)).astype(np.int64), 0) & 7
    values = digits.astype(np.float64) / POW10[decimals]
    np.negative(values, out=values, where=minus)
    return values, valid, integer
