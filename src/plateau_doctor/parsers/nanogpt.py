"""karpathy/nanoGPT's train.py stdout (see ../shared/notes/NANOGPT_FORMAT.md).

The lines that matter:
    step 250: train loss 1.9747, val loss 2.0779          (eval, master only)
    iter 10: loss 3.1462, time 67.89ms, mfu 5.49%          (train; old form has no mfu,
    iter 0: loss 1.70, time 69641.57ms, lr:0.0003 , mfu: -100.00%   forks add fields)
and the header: the echoed config file, `Overriding: k = v`, tokens per iteration, vocab size,
init mode and parameter counts. Under DDP every rank prints the header, so it repeats.
Tutorials built on nanoGPT print the eval line their own way, and are read as evals too:
    step   250 | train loss 1.5630 | val loss 1.5790
    Ep 1 (Step 000150): Train loss 4.319, Val loss 4.003   (LLMs-from-scratch; often after a tqdm bar)

NanoGPTParser is a state machine fed one line at a time (`feed_line`) or one block of lines at a
time (`feed_block`); `snapshot()` gives the table so far, `finish()` the final one. Blocks go
through the vectorised scanner (nanogpt_fast), which decodes the strict iter lines of the block in
bulk; every other line is fed to the same careful per-line code, in order.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable

from ..model import LogMeta, ParsedLog
from ..read import LogText
from .lines import NAN, NUMERIC_START, LazyRegex, as_sample, clean_line, is_elision, numeric, pieces, to_float
from .table import LossTableBuilder

NAME = "nanogpt"
TRAITS = {
    "eval_kind": "resampled",
    "config_schema": "nanogpt",
}  # estimate_loss() draws fresh random batches at every eval; the config keys are train.py's
DETECTION_ORDER = 10  # breaks ties in detection: lower wins (formats.py)
# bytes of the shortest iter line train.py prints (the old format: "iter 0: loss 0.0000, time
# 0.00ms\n"): a file of N bytes holds at most N / MIN_ITER_LINE of them, so room for that many rows
# (address space, only touched as rows arrive) means the columns never need copying to grow.
MIN_ITER_LINE = 33
# bytes per block for the vectorised scanner: big enough that numpy's per-call cost is spread over
# thousands of lines, small enough that its temporaries stay in cache. Measured on a 1M-line log
# (2 cores, 2 MB of L2 each; parse in a fresh process, medians of 6, alternated): 128 KB 0.331 s,
# 256 KB 0.291 s. Blocks this big need the allocator settled first (nanogpt_fast.settle_allocator:
# without it 256 KB took 0.378 s, from page faults on fresh temporaries).
BLOCK = 1 << 18

# Forks that print losses in bits per character add a unit after each value ("loss 6.1854 BPC").
UNIT_WORD = r"\s+(?:BPC|bpc|bits?)"
UNIT = r"(?:" + UNIT_WORD + r")?"
EVAL_RE = LazyRegex(
    r"^step\s+(\d{1,15})\s*[:|]\s*train loss\s+([^\s,|]+)" + UNIT + r",?\s*\|?\s*val loss\s+(\S+)"
)
# the LLMs-from-scratch book's eval line, searched for: it is often glued to a tqdm bar
EP_STEP_RE = LazyRegex(r"\bEp (\d{1,6}) \(Step (\d{1,15})\): Train loss ([^\s,]+), Val loss (\S+)")
ITER_RE = LazyRegex(r"^iter (\d{1,15}): loss (\S+?)" + UNIT + r"(?:,|$)(.*)")
# sniff's test of an iter line in one match, twice as fast as ITER_RE and numeric(loss), with the
# same answer for every line:
# - numeric(loss) is a lookahead where the loss starts. The start is fixed (the digits before
#   ": loss " are all of them), and the loss ends before whitespace, "," or the end of the line,
#   none of which can go on a number, "nan" (its \b holds there) or "inf": what the lookahead sees
#   past the loss changes nothing numeric(loss) would say.
# - the lazy `\S+?` UNIT `(?:,|$)` is a greedy scan that never backtracks: it matches when the run
#   of non-space characters from the loss holds a "," after its first character, or else is
#   followed by the line's end ($) or by a unit word and then "," or the end. That is what the
#   lazy form accepts: its "," can only be inside the run, its `$` and unit only after all of it.
ITER_SNIFF_RE = LazyRegex(
    r"^iter \d{1,15}: loss (?=(?i:" + NUMERIC_START.pattern + r"))\S[^\s,]*(?:,|$|" + UNIT_WORD + r"(?:,|$))"
)
BITS_RE = LazyRegex(r"\d\s+(?:BPC|bpc|bits?)\b")
# anchored at word starts, with the colon optional as a unit: no quadratic backtracking on a
# long garbled tail
FIELD_RE = LazyRegex(r"(?<![A-Za-z_])([A-Za-z_]+)\s*(?::\s*)?(-?[0-9.eE+-]+|nan|inf|-inf)")
TOKENS_RE = LazyRegex(
    r"^(?:tokens per iteration will be|total number of tokens per iteration):?\s*(\d[\d,]{0,23})"
)
VOCAB_RE = LazyRegex(
    r"^(?:found )?vocab_size = (\d+)|^defaulting to vocab_size of GPT-2 to (\d+)"
    r"|^forcing vocab_size=(\d+)"
)
PARAMS_RE = LazyRegex(r"^number of parameters: (\d{1,12}(?:\.\d{1,6})?)M")
DECAYED_RE = LazyRegex(r"^num (non-)?decayed parameter tensors: \d+, with (\d[\d,]{0,23}) parameters")
OVERRIDE_RE = LazyRegex(r"^Overriding: (\w+) = (.*)$")
CONFIG_FILE_RE = LazyRegex(r"^Overriding config with (.+):$")
DROPOUT_RE = LazyRegex(r"^overriding dropout rate to (\S+)")
# Forks that change the LR during the run print it on a line of its own (`LINESEARCH LR: 0.0039`,
# `lr = 3e-4`); it holds for the iterations that follow.
LR_LINE_RE = LazyRegex(
    r"^(?:[A-Za-z_!]+ )?(?:lr|LR|learning[ _]rate)\s*[:=]\s*(-?[0-9.]+(?:[eE][-+]?\d+)?)\s*$"
)

# Lines train.py prints itself: any of them ends an echoed config block.
PROGRAM_PREFIXES = (
    "Overriding",
    "tokens per iteration",
    "total number of tokens",
    "found vocab_size",
    "defaulting to vocab_size",
    "Initializing",
    "Resuming training",
    "loading weights",
    "forcing vocab_size",
    "overriding dropout",
    "number of parameters",
    "num decayed",
    "num non-decayed",
    "using fused AdamW",
    "compiling the model",
    "step ",
    "iter ",
    "WARNING: using slow",
)
# The starts of the step and iter lines sniff counts.
DATA_STARTS = ("step ", "iter ")
# Lines that open a run: after data rows they mean a new run (resume or a second run) starts.
RUN_START_PREFIXES = ("Overriding config with", "tokens per iteration", "Initializing", "Resuming training")


def sniff(lines: list[str]) -> int:
    """Count nanoGPT step/iter lines in a sample."""
    sample = as_sample(lines)
    hits = sum(ITER_SNIFF_RE.match(line) is not None for line in sample.starting("iter "))
    hits += sum(_numeric_line(line) for line in sample.starting("step "))
    # the book's eval line is searched for anywhere in a piece (often after a tqdm bar): only the
    # pieces holding its "(Step " can be one, and those counted above are not counted again
    for line in sample.containing("(Step "):
        hits += (
            not (line.startswith(DATA_STARTS) and _numeric_line(line)) and EP_STEP_RE.search(line) is not None
        )
    return hits


# The training loop of Karpathy's gpt.py ("Let's build GPT", ng-video-lecture) and the many
# tutorials copied from it: `if iter % eval_interval == 0 or iter == max_iters - 1:` prints
# `step N: train loss X, val loss Y` and nothing else per step, and AdamW runs at a constant LR
# (no scheduler). Its fingerprint: eval lines only, every step a multiple of the interval but the
# last, which is one short of one. nanoGPT's train.py evaluates at multiples only.
GPT_PY_MIN_EVALS = 4


def _gpt_py_loop(parsed: ParsedLog, extra_fields: bool) -> None:
    """Read a log with gpt.py's fingerprint as that loop: max_iters = the last step + 1, reached,
    at a constant LR by design (unless the eval lines print more, like an LR of a scheduler)."""
    meta, steps = parsed.meta, parsed.eval_table["step"] if not parsed.eval_table.empty else []
    if (
        extra_fields
        or not parsed.iter_table.empty
        or meta.config_echo
        or meta.overrides
        or meta.tokens_per_iter
        or meta.n_segments != 1
        or len(steps) < GPT_PY_MIN_EVALS
    ):
        return
    first, last = int(steps[0]), int(steps[-1])
    interval = int(steps[1]) - first
    regular = interval > 0 and all(int(s) - first == k * interval for k, s in enumerate(steps[:-1]))
    if first != 0 or not regular or (last + 1) % interval or last % interval == 0:
        return
    meta.max_iters = last + 1
    meta.last_step = last + 1  # the loop's last iteration is max_iters - 1: the run finished
    meta.lr_by_design = "constant"
    meta.notes.append(
        f"evals every {interval:,} steps and a last one at step {last:,} = max_iters - 1, no other "
        "lines: the loop of Karpathy's gpt.py, which trains at a constant learning rate (read so)"
    )


def _numeric_line(line: str) -> bool:
    """An eval or iter line whose losses are numbers (the sniffer's test; the parser reads more).
    Each pattern is anchored at its own first word: only that one is tried."""
    if line.startswith("step"):
        m = EVAL_RE.match(line)
        return bool(m) and numeric(m.group(2)) and numeric(m.group(3))
    return ITER_SNIFF_RE.match(line) is not None


def parse(lines: Iterable[str]) -> ParsedLog:
    """Parse decoded lines one by one (the careful path)."""
    parser = NanoGPTParser()
    for raw in lines:
        parser.feed_line(raw)
    return parser.finish()


def parse_source(source: LogText, block: int = BLOCK) -> ParsedLog:
    """Parse an opened log from its raw blocks: the fast path, with the same result as parse()."""
    return parse_blocks(source.blocks(block), size=source.size)


def parse_blocks(blocks: Iterable[tuple[bytearray, int, int]], size: int | None = None) -> ParsedLog:
    """Parse runs of whole lines (read.LineBuffer); `size`, the log's size in bytes if known,
    lets the table reserve room for all its rows at once."""
    parser = NanoGPTParser()
    if size:
        parser.table.reserve_iters(size // MIN_ITER_LINE + 1)
    for buf, lo, hi in blocks:
        parser.feed_block(buf, lo, hi)
    return parser.finish()


class NanoGPTParser:
    """The parse state of one nanoGPT log; feed it lines or blocks, in order."""

    def __init__(self) -> None:
        self.table = LossTableBuilder(NAME, TRAITS)
        self.meta = self.table.meta
        self.n_lines = 0  # physical lines seen; the next one is n_lines + 1
        self._echo_name: str | None = None  # inside an echoed config block
        self._echo_lines: list[str] = []
        self._seen_echo: set[tuple[str, str]] = set()
        self._header_copies: dict[str, int] = {}
        self._last_was_eval = False
        self._eval_extra_fields = False  # an eval line printed more than the two losses (`, lr X`)
        self._lr = NAN  # from a standalone LR line, until the next one
        self._garbled_rows = 0  # loss values that were not numbers (skipped)
        self._allocator_settled = False  # see nanogpt_fast.settle_allocator

    @property
    def n_evals(self) -> int:
        return self.table.n_evals

    # -- input ------------------------------------------------------------------------------
    def feed_line(self, raw: str) -> None:
        """One physical line, without its newline."""
        self.n_lines += 1
        for piece in pieces(raw):
            self._piece(piece, self.n_lines)

    def feed_block(self, buf: bytearray, lo: int, hi: int) -> None:
        """The whole lines in `buf[lo:hi]` (a read.LineBuffer run): strict iter lines in bulk,
        every other line through feed_line, keeping the order of the log."""
        import numpy as np

        from .nanogpt_fast import SETTLE_FROM_BLOCK_BYTES, scan_iter_lines, settle_allocator

        if not self._allocator_settled and hi - lo >= SETTLE_FROM_BLOCK_BYTES:
            settle_allocator()
            self._allocator_settled = True
        scan = scan_iter_lines(buf, lo, hi)
        base = self.n_lines
        n = len(scan.starts)
        done = 0
        if len(scan.rows) < n:
            others = np.ones(n, dtype=bool)
            others[scan.rows] = False
            careful = np.flatnonzero(others)
            upto = np.searchsorted(scan.rows, careful)  # bulk rows before each careful line
            view = memoryview(buf)
            for k, j in zip(careful.tolist(), upto.tolist(), strict=False):
                if j > done:
                    self._bulk(scan, done, j, base)
                    done = j
                self.n_lines = base + k
                self.feed_line(str(view[scan.starts[k] : scan.ends[k]], "utf-8", "replace"))
            view.release()
        if done < len(scan.rows):
            self._bulk(scan, done, len(scan.rows), base)
        self.n_lines = base + n

    # -- output -----------------------------------------------------------------------------
    def snapshot(self) -> ParsedLog:
        """The table so far (read-only views, see LossTableBuilder.snapshot); parsing can go on
        afterwards."""
        meta = copy.deepcopy(self.meta)
        block = self._echo_block()
        if block is not None and block not in self._seen_echo:  # an echo still being printed
            meta.config_echo.append(block)
        self._set_world_size(meta)
        return self.table.snapshot(self.n_lines, meta)

    def finish(self) -> ParsedLog:
        """The final table; nothing may be fed afterwards."""
        if self._echo_name is not None:
            self._close_echo()
        self._set_world_size(self.meta)
        parsed = self.table.build(self.n_lines)
        _gpt_py_loop(parsed, self._eval_extra_fields)
        return parsed

    def _set_world_size(self, meta: LogMeta) -> None:
        """Every rank prints the header: copies per run give the number of ranks."""
        if self._header_copies:
            meta.world_size = max(self._header_copies.values()) // max(1, self.table.segment + 1) or None

    # -- the careful path -------------------------------------------------------------------
    def _add_eval(self, step: str, train_text: str, val_text: str, number: int) -> None:
        train, val = to_float(train_text), to_float(val_text)
        if _garbled(val_text, val) or _garbled(train_text, train):
            self._skip_garbled(number)
            return
        self.table.add_eval(int(step), train, val, number)
        self._last_was_eval = True

    def _piece(self, piece: str, number: int) -> None:
        line = clean_line(piece)
        if self._echo_name is not None:
            # a comment of the echoed file is config text, even one that reads like a metric line
            # (clean_line strips the `# ` of a metric line pasted as a comment elsewhere)
            if piece.lstrip().startswith("#") or not line.startswith(PROGRAM_PREFIXES):
                self._echo_lines.append(piece.rstrip())
                return
            self._close_echo()
        if not line:
            return
        if is_elision(line):
            self.meta.excerpt = True
            return
        head = line[:4]
        if head in ("iter", "step") and BITS_RE.search(line):
            self.meta.loss_unit = "bits"
        if head == "iter":
            m = ITER_RE.match(line)
            if m:
                self._add_iter(m, number)
                self._last_was_eval = False
                return
        elif head == "step":
            m = EVAL_RE.match(line)
            if m:
                self._add_eval(m.group(1), m.group(2), m.group(3), number)
                self._eval_extra_fields = self._eval_extra_fields or bool(line[m.end() :].strip(" ,|"))
                return
        if "(Step " in line:
            m = EP_STEP_RE.search(line)
            if m:
                self._add_eval(m.group(2), m.group(3), m.group(4), number)
                return
        m = LR_LINE_RE.match(line)
        if m:
            self._lr = to_float(m.group(1))
            self.meta.lr_logged = True
            return
        if line.startswith("saving checkpoint"):
            if self._last_was_eval:
                self.table.mark_checkpoint()
            else:
                self.meta.checkpoints_saved += 1
            return
        if line.startswith(RUN_START_PREFIXES) and self.table.rows_in_segment >= 3:
            self.table.new_segment()
        _header_line(line, self.meta, self._header_copies)
        m = CONFIG_FILE_RE.match(line)
        if m:
            self._echo_name, self._echo_lines = m.group(1), []

    def _echo_block(self) -> tuple[str, str] | None:
        if self._echo_name is None:
            return None
        return self._echo_name, "\n".join(self._echo_lines).strip("\n")

    def _close_echo(self) -> None:
        block = self._echo_block()
        if block not in self._seen_echo:  # DDP: every rank echoes the same file
            self._seen_echo.add(block)
            self.meta.config_echo.append(block)
        self._echo_name = None

    def _add_iter(self, m: re.Match, number: int) -> None:
        time_ms = mfu = NAN
        lr = self._lr
        for key, value in FIELD_RE.findall(m.group(3)):
            key = key.lower()
            if key == "time":
                time_ms = to_float(value)
            elif key == "mfu":
                mfu = to_float(value)
                if mfu < 0:  # -100.00% is the placeholder of the first iterations
                    mfu = NAN
            elif key == "lr":
                lr = to_float(value)
                self.meta.lr_logged = True
        loss = to_float(m.group(2))
        if _garbled(m.group(2), loss):
            self._skip_garbled(number)
            return
        self.table.add_iter(int(m.group(1)), loss, number, time_ms=time_ms, mfu=mfu, lr=lr)

    def _skip_garbled(self, number: int) -> None:
        """A loss that is neither a number nor a printed nan/inf (bytes lost in a copy) is not a
        divergence: the row is left out and the first such line is noted."""
        self._garbled_rows += 1
        if self._garbled_rows == 1:
            self.meta.notes.append(
                f"line {number}: a loss that is not a number was skipped "
                "(garbled bytes?); later ones are skipped too"
            )

    def _bulk(self, scan, a: int, b: int, base: int) -> None:
        """Rows a..b of the scanned strict iter lines; what feed_line would do with each."""
        if self._echo_name is not None:  # an iter line ends an echoed config block
            self._close_echo()
        self.table.add_iter_block(
            scan.iters[a:b],
            scan.loss[a:b],
            scan.rows[a:b] + (base + 1),
            time_ms=scan.time_ms[a:b],
            mfu=scan.mfu[a:b],
            lr=self._lr,
        )
        self._last_was_eval = False


def _garbled(text: str, value: float) -> bool:
    """NaN from to_float, but the text was not a printed nan/inf: unreadable, not divergent."""
    return value != value and text.strip(",").lower() not in ("nan", "-nan", "inf", "-inf", "+inf")


def _header_line(line: str, meta, header_copies: dict[str, int]) -> None:
    """Run facts from the header lines; count copies of per-rank lines to infer the world size."""
    m = TOKENS_RE.match(line)
    if m:
        meta.tokens_per_iter = int(m.group(1).replace(",", ""))
        header_copies["tokens"] = header_copies.get("tokens", 0) + 1
        return
    m = PARAMS_RE.match(line)
    if m:
        meta.n_params = float(m.group(1)) * 1e6
        header_copies["params"] = header_copies.get("params", 0) + 1
        return
    m = OVERRIDE_RE.match(line)
    if m:
        meta.overrides[m.group(1)] = m.group(2).strip()
        return
    m = VOCAB_RE.match(line)
    if m:
        meta.vocab_size = int(next(g for g in m.groups() if g))
        return
    m = DECAYED_RE.match(line)
    if m:
        count = int(m.group(2).replace(",", ""))
        if m.group(1):
            meta.nodecayed_params = count
        else:
            meta.decayed_params = count
        return
    m = DROPOUT_RE.match(line)
    if m:
        meta.overrides["dropout"] = m.group(1)
        return
    if line.startswith("Initializing a new model from scratch"):
        meta.init_from = "scratch"
    elif line.startswith("Resuming training"):
        meta.init_from = "resume"
    elif line.startswith("Initializing from OpenAI GPT-2 weights:"):
        meta.init_from = line.split(":", 1)[1].strip()
    elif line.startswith("using fused AdamW:"):
        meta.fused_adamw = line.endswith("True")
    elif line.startswith("compiling the model"):
        meta.compiled = True
    elif line.startswith("Overriding config with"):
        m = CONFIG_FILE_RE.match(line)
        if m and m.group(1) not in meta.config_files:
            meta.config_files.append(m.group(1))
