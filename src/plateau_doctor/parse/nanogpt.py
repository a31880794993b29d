"""karpathy/nanoGPT's train.py stdout (see ../shared/notes/NANOGPT_FORMAT.md).

The lines that matter:
    step 250: train loss 1.9747, val loss 2.0779          (eval, master only)
    iter 10: loss 3.1462, time 67.89ms, mfu 5.49%          (train; old form has no mfu,
    iter 0: loss 1.70, time 69641.57ms, lr:0.0003 , mfu: -100.00%   forks add fields)
and the header: the echoed config file, `Overriding: k = v`, tokens per iteration, vocab size,
init mode and parameter counts. Under DDP every rank prints the header, so it repeats.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, clean_line, pieces, to_float
from .table import LossTableBuilder

NAME = "nanogpt"

EVAL_RE = re.compile(r"^step (\d+): train loss (\S+?),? val loss (\S+)")
ITER_RE = re.compile(r"^iter (\d+): loss (\S+?)(?:,|$)(.*)")
FIELD_RE = re.compile(r"([A-Za-z_]+)\s*:?\s*(-?[0-9.eE+-]+|nan|inf|-inf)")
TOKENS_RE = re.compile(r"^(?:tokens per iteration will be|total number of tokens per iteration):?\s*([\d,]+)")
VOCAB_RE = re.compile(r"^(?:found )?vocab_size = (\d+)|^defaulting to vocab_size of GPT-2 to (\d+)"
                      r"|^forcing vocab_size=(\d+)")
PARAMS_RE = re.compile(r"^number of parameters: ([\d.]+)M")
DECAYED_RE = re.compile(r"^num (non-)?decayed parameter tensors: \d+, with ([\d,]+) parameters")
OVERRIDE_RE = re.compile(r"^Overriding: (\w+) = (.*)$")
CONFIG_FILE_RE = re.compile(r"^Overriding config with (.+):$")
DROPOUT_RE = re.compile(r"^overriding dropout rate to (\S+)")
# Forks that change the LR during the run print it on a line of its own (`LINESEARCH LR: 0.0039`,
# `lr = 3e-4`); it holds for the iterations that follow.
LR_LINE_RE = re.compile(r"^(?:[A-Za-z_!]+ )?(?:lr|LR|learning[ _]rate)\s*[:=]\s*(-?[0-9.]+(?:[eE][-+]?\d+)?)\s*$")

# Lines train.py prints itself: any of them ends an echoed config block.
PROGRAM_PREFIXES = (
    "Overriding", "tokens per iteration", "total number of tokens", "found vocab_size",
    "defaulting to vocab_size", "Initializing", "Resuming training", "loading weights",
    "forcing vocab_size", "overriding dropout", "number of parameters", "num decayed",
    "num non-decayed", "using fused AdamW", "compiling the model", "step ", "iter ", "WARNING: using slow",
)
# Lines that open a run: after data rows they mean a new run (resume or a second run) starts.
RUN_START_PREFIXES = ("Overriding config with", "tokens per iteration", "Initializing", "Resuming training")


def sniff(lines: list[str]) -> int:
    """Count nanoGPT step/iter lines in a sample."""
    hits = 0
    for raw in lines:
        for piece in pieces(raw):
            line = clean_line(piece)
            if line.startswith(("step ", "iter ")) and (EVAL_RE.match(line) or ITER_RE.match(line)):
                hits += 1
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME)
    meta = table.meta
    echo_name: str | None = None     # inside an echoed config block
    echo_lines: list[str] = []
    seen_echo: set[tuple[str, str]] = set()
    header_copies: dict[str, int] = {}
    last_was_eval = False
    current_lr = NAN      # from a standalone LR line, until the next one
    number = 0

    def close_echo() -> None:
        nonlocal echo_name
        if echo_name is not None:
            block = (echo_name, "\n".join(echo_lines).strip("\n"))
            if block not in seen_echo:       # DDP: every rank echoes the same file
                seen_echo.add(block)
                meta.config_echo.append(block)
            echo_name = None

    for number, raw in enumerate(lines, start=1):
        for piece in pieces(raw):
            line = clean_line(piece)
            if echo_name is not None:
                if not line.startswith(PROGRAM_PREFIXES):
                    echo_lines.append(piece.rstrip())
                    continue
                close_echo()
            if not line:
                continue
            head = line[:4]
            if head == "iter":
                m = ITER_RE.match(line)
                if m:
                    _add_iter(table, m, number, current_lr)
                    last_was_eval = False
                    continue
            elif head == "step":
                m = EVAL_RE.match(line)
                if m:
                    table.add_eval(int(m.group(1)), to_float(m.group(2)), to_float(m.group(3)), number)
                    last_was_eval = True
                    continue
            m = LR_LINE_RE.match(line)
            if m:
                current_lr = to_float(m.group(1))
                meta.lr_logged = True
                continue
            if line.startswith("saving checkpoint"):
                if last_was_eval:
                    table.mark_checkpoint()
                else:
                    meta.checkpoints_saved += 1
                continue
            if line.startswith(RUN_START_PREFIXES) and table.rows_in_segment >= 3:
                table.new_segment()
            _header_line(line, meta, header_copies)
            m = CONFIG_FILE_RE.match(line)
            if m:
                echo_name, echo_lines = m.group(1), []
    close_echo()
    if header_copies:
        meta.world_size = max(header_copies.values()) // max(1, table.segment + 1) or None
    return table.build(number)


def _add_iter(table: LossTableBuilder, m: re.Match, number: int, lr: float = NAN) -> None:
    time_ms = mfu = NAN
    for key, value in FIELD_RE.findall(m.group(3)):
        key = key.lower()
        if key == "time":
            time_ms = to_float(value)
        elif key == "mfu":
            mfu = to_float(value)
            if mfu < 0:          # -100.00% is the placeholder of the first iterations
                mfu = NAN
        elif key == "lr":
            lr = to_float(value)
            table.meta.lr_logged = True
    table.add_iter(int(m.group(1)), to_float(m.group(2)), number, time_ms=time_ms, mfu=mfu, lr=lr)


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
