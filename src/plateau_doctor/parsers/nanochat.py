"""karpathy/nanochat stdout (scripts/base_train.py, mid_train.py, chat_sft.py).

The lines that matter:
    step 00004/21400 (0.02%) | loss: 10.421875 | lrm: 1.00 | dt: 1234.56ms | tok/sec: 424,823 | bf16_mfu: 45.67 | epoch: 1 pq: 0 rg: 3 | total time: 0.05m | eta: 12.3m
    step 00010 (1.23%) | loss: 2.345678 | ... | mfu: 45.67 | ...      (chat_sft / mid_train: no /total)
    Step 00250 | Validation bpb: 0.912345                             (eval; capital S)
    Step 00250 | Train bpb: 0.901234 | Validation bpb: 0.912345        (forks: train bpb too)
    Step 02000 | CORE metric: 0.2100                                  (not a loss: not tabled)

Mapping: iter and eval step are the printed step (0-based, as printed). `loss:` is a debiased EMA
of the train loss (beta 0.9), so loss_kind is "ema": spikes are smoothed and lag. `lrm` is a
multiplier of per-group LRs, not an LR, so lr stays NaN. `dt` -> time_ms, `bf16_mfu`/`mfu` ->
mfu (already a percentage). Validation is bits per byte: it goes to val_loss with
meta.val_metric = "bpb" (a `Train bpb` printed beside it goes to the eval's train_loss). Per-rank
`[rank N] ...` lines give the world size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, numeric, to_float
from .table import LossTableBuilder

NAME = "nanochat"
TRAITS = {"eval_kind": "fixed"}  # bpb is measured on the same eval tokens every time
DETECTION_ORDER = 50  # breaks ties in detection: lower wins (formats.py)

# Step numbers and counts are bounded in length (a 400-digit number is corruption and would
# overflow the table) and counts start with a digit (a lone ',' is no number).
STEP_RE = LazyRegex(r"^step (\d{1,15})(?:/(\d{1,15}))? \([\d.]+%\) \| loss: (\S+)(.*)$")
EVAL_RE = LazyRegex(r"^Step (\d{1,15})(?:/\d+)?\s*[|,]\s*(.*)$")
VAL_BPB_RE = LazyRegex(r"Validation bpb:\s*(\S+)", re.IGNORECASE)
TRAIN_BPB_RE = LazyRegex(r"Train bpb:\s*([^\s|]+)", re.IGNORECASE)
FIELD_KEY_RE = LazyRegex(r"[\w/ ]+")
PARAMS_RE = LazyRegex(r"^(?:Number of parameters|total)\s*:\s*(\d[\d,]{0,23})$")
VOCAB_RE = LazyRegex(r"^Vocab size: (\d[\d,]{0,23})\b")
BATCH_RE = LazyRegex(r"^Total batch size (\d[\d,]{0,23}) =>")
RANK_RE = LazyRegex(r"^\[rank (\d+)\]")


def sniff(lines: list[str]) -> int:
    """Count nanochat train lines (`step 00004/21400 (0.02%) | loss: ...`) and val-bpb lines."""
    hits = 0
    for line in as_sample(lines).starting("step ", "Step "):
        if _numeric_line(line):
            hits += 1
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    meta.loss_kind = "ema"
    meta.val_metric = "bpb"
    ranks: set[str] = set()
    core = 0
    source = NumberedLines(lines)
    for number, line in source:
        m = STEP_RE.match(line) if line.startswith("step ") else None
        if m:
            if m.group(2):
                meta.max_iters = int(m.group(2))
            _add_step(table, m, number)
            continue
        if line.startswith("Step "):
            _add_eval(table, line, number)
            core += "CORE metric:" in line
            continue
        if line.startswith("[rank "):  # per-rank lines (GC summaries) reveal the world size
            m = RANK_RE.match(line)
            if m:
                ranks.add(m.group(1))
            continue
        _header_line(line, meta)
    if len(ranks) > 1:
        meta.world_size = len(ranks)
    meta.notes.append("loss is an EMA of the train loss (beta 0.9): spikes are smoothed and lag")
    meta.notes.append("lrm is an LR multiplier, not an LR: lr left unknown")
    if core:
        meta.notes.append(f"{core} CORE metric lines not tabled")
    return table.build(source.count, excerpt=source.elided)


def _add_step(table: LossTableBuilder, m: re.Match, number: int) -> None:
    fields = _fields(m.group(4))
    time_ms = to_float(fields.get("dt", "nan").removesuffix("ms"))
    mfu = to_float(fields.get("bf16_mfu", fields.get("mfu", "nan")))
    table.add_iter(int(m.group(1)), to_float(m.group(3)), number, time_ms=time_ms, mfu=mfu)


def _fields(rest: str) -> dict[str, str]:
    """`| key: value | key: value` -> {key: value}. Split on '|' rather than a regex with optional
    spaces on both sides of each cell, which takes quadratic time on a long run of spaces."""
    fields = {}
    for cell in rest.split("|")[1:]:
        key, sep, value = cell.partition(":")
        key, value = key.strip(), value.strip()
        if sep and value and FIELD_KEY_RE.fullmatch(key):
            fields[key] = value
    return fields


def _numeric_line(line: str) -> bool:
    """A train line or a val-bpb line whose value is a number (the sniffer's test)."""
    m = STEP_RE.match(line)
    if m:
        return numeric(m.group(3))
    m = _val_bpb(line)
    return bool(m) and numeric(m.group(1))


def _val_bpb(line: str) -> re.Match | None:
    m = EVAL_RE.match(line)
    return VAL_BPB_RE.search(m.group(2)) if m else None


def _add_eval(table: LossTableBuilder, line: str, number: int) -> None:
    m = EVAL_RE.match(line)
    val = VAL_BPB_RE.search(m.group(2)) if m else None
    if val:
        train = TRAIN_BPB_RE.search(m.group(2))
        table.add_eval(
            int(m.group(1)), to_float(train.group(1)) if train else NAN, to_float(val.group(1)), number
        )


def _header_line(line: str, meta) -> None:
    m = PARAMS_RE.match(line)
    if m:
        meta.n_params = float(m.group(1).replace(",", ""))
        return
    m = VOCAB_RE.match(line)
    if m:
        meta.vocab_size = int(m.group(1).replace(",", ""))
        return
    m = BATCH_RE.match(line)
    if m:
        meta.tokens_per_iter = int(m.group(1).replace(",", ""))
