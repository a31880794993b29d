"""pytorch/torchtitan stdout (torchtitan/components/metrics.py, MetricsProcessor.log and
log_validation; before March 2025 the same f-strings in train.py).

The lines that matter, after the logger's `[rank0]:[titan] 2025-06-16 22:30:48,735 - root - INFO - `
(stripped by lines.clean_line) and its ANSI colours:
    step: 10  loss:  3.24405  grad_norm:  0.8319  memory:  9.46GiB(64.99%)  tps: 7,282  tflops: 0.52  mfu: 0.17%
    step: 200  loss:  6.1384  memory: 49.66GiB(52.28%)  tps: 5,856  tflops: 339.16  mfu: 34.29%   (before grad_norm, 2025)
    step:  1  loss: 12.2345  memory: 14.83GiB(18.71%)  wps: 1,234  mfu: 3.21%                     (2024: wps, no tflops)
    validate step: 100  loss: 5.1234  memory: 49.66GiB(52.28%)  tps: 12,345                      (Validator, July 2025 on)
and the start-up lines
    Model llama3 8B size: 8,030,261,248 total parameters
    Training starts at step 1, with local batch size 8, global batch size 64, sequence length 8192, total steps 1000 (warmup 200)
    Trainer is initialized with local batch size 8, global batch size 64, sequence length 8192, total steps 1000 (warmup 200).
    Trainer is initialized with 65536 tokens per DP rank, 524288 tokens per train step, gradient accumulation steps 1, maximum context length 8192, total steps 1000 (warmup 200)

Mapping: iter is the printed step (1-based: the number of optimizer steps done). `loss` is the
global average over all tokens of that one step on all ranks (not a window), so loss_kind is
micro_batch; `mfu: N/A` (quantised training) is unknown. grad_norm is after clipping. The LR is
not printed. Validation builds a fresh val dataloader each time (components/validate.py): the
same val set at every eval, eval_kind "fixed". `total steps` gives max_iters; tokens per step is
printed, or global batch size x sequence length. Every rank prints the step line when the logger is
not restricted to rank 0; the repeats of a step collapse into one row.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, to_float
from .table import LossTableBuilder

NAME = "torchtitan"
TRAITS = {"eval_kind": "fixed", "loss_kind": "micro_batch"}
DETECTION_ORDER = 70  # breaks ties in detection: lower wins (formats.py)

STEP_RE = LazyRegex(r"^step:\s*(\d{1,15})\s+loss:\s*(\S+)(.*)$")
VALIDATE_RE = LazyRegex(r"^validate step:\s*(\d{1,15})\s+loss:\s*(\S+)")
GRAD_NORM_RE = LazyRegex(r"\bgrad_norm:\s*(\S+)")
MFU_RE = LazyRegex(r"\bmfu:\s*([\d.]{1,20})%")
PARAMS_RE = LazyRegex(r"size: (\d[\d,]{0,23}) total parameters")
TOTAL_STEPS_RE = LazyRegex(r"\btotal steps (\d{1,15})\b")
TOKENS_PER_STEP_RE = LazyRegex(r"\b(\d{1,18}) tokens per train step\b")
BATCH_RE = LazyRegex(r"\bglobal batch size (\d{1,12}), sequence length (\d{1,9})\b")
STARTS_AT_RE = LazyRegex(r"^Training starts at step (\d{1,15})")


def sniff(lines: list[str]) -> int:
    """Count torchtitan step and validate lines."""
    hits = 0
    for line in as_sample(lines).starting("step:", "validate step:"):
        if line.startswith("step:"):
            # the word first: modded-nanogpt's `step:N/M` lines lack it and skip the pattern
            hits += "memory:" in line and STEP_RE.match(line) is not None
        elif line.startswith("validate step:"):
            hits += VALIDATE_RE.match(line) is not None
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    source = NumberedLines(lines)
    for number, line in source:
        m = STEP_RE.match(line) if line.startswith("step:") else None
        if m:
            rest = m.group(3)
            norm = GRAD_NORM_RE.search(rest)
            mfu = MFU_RE.search(rest)
            table.add_iter(
                int(m.group(1)),
                to_float(m.group(2)),
                number,
                grad_norm=to_float(norm.group(1)) if norm else NAN,
                mfu=to_float(mfu.group(1)) if mfu else NAN,
            )
            continue
        m = VALIDATE_RE.match(line) if line.startswith("validate") else None
        if m:
            table.add_eval(int(m.group(1)), NAN, to_float(m.group(2)), number)
            continue
        _header_line(line, meta)
    if len(source.ranks) > 1:
        meta.world_size = len(source.ranks)
    meta.notes.append("loss is the global mean of one step (not a window); the LR is not printed")
    return table.build(source.count, excerpt=source.elided)


def _header_line(line: str, meta) -> None:
    m = PARAMS_RE.search(line) if "total parameters" in line else None
    if m:
        meta.n_params = float(m.group(1).replace(",", ""))
        return
    if "total steps" not in line:
        m = STARTS_AT_RE.match(line)
        if m and int(m.group(1)) > 1:
            meta.init_from = "resume"
        return
    m = TOTAL_STEPS_RE.search(line)
    if m:
        meta.max_iters = int(m.group(1))
    m = TOKENS_PER_STEP_RE.search(line)
    if m:
        meta.tokens_per_iter = int(m.group(1))
    else:
        m = BATCH_RE.search(line)
        if m:
            meta.tokens_per_iter = int(m.group(1)) * int(m.group(2))
    m = STARTS_AT_RE.match(line)
    if m and int(m.group(1)) > 1:
        meta.init_from = "resume"
