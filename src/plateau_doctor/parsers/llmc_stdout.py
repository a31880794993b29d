"""karpathy/llm.c `train_gpt2cu` stdout.

The lines that matter:
    step   61/74 | loss 3.208939 (+nanz)| norm 1.4800 (+nanz)| lr 3.00e-04 | 44.57 ms | -100.0% bf16 MFU | 91886 tok/s
    step    1/19560: train loss 4.367631 norm 5.1 lr 1.00e-04 (80.64 ms, 50795 tok/s)   (older builds)
    step 0: train loss 5.356082 (took 1452.121000 ms)                                   (CPU train_gpt2.c)
    val loss 11.129390                                  (no step number: attached to the last step)
plus the start-up table (`| num_parameters | 124475904 |`, `| total batch size | 524288 |`, ...),
`num_parameters: N => bytes: M` and `... num_processes=8 and total_batch_size=1048576`.

Mapping: iter is the printed step, which is 1-based on stdout (`step + 1`: the number of updates
done), unlike main.log's 0-based `s:` (the CPU trainer's `step N:` is 0-based too). A `val loss`
line is printed before the next update, so its step is the number of updates done: the last
printed `step N/M`, or N + 1 after a 0-based `step N:` (0 before the first step). loss/norm/lr/ms/MFU go to loss, grad_norm,
lr, time_ms, mfu; MFU `-100.0%` means "GPU not in llm.c's FLOPs table" and becomes NaN. z-scores,
tok/s, HellaSwag accuracy and the free text of `generating:` blocks are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, to_float
from .table import LossTableBuilder

NAME = "llmc_stdout"
TRAITS = {
    "eval_kind": "fixed"
}  # the val loader is reset before each eval: the same val_max_steps batches every time
DETECTION_ORDER = 30  # breaks ties in detection: lower wins (formats.py)

# Numbers are bounded in length: a 400-digit "step" is corruption, and it would overflow the table.
# The searched patterns start only where a number starts ((?<![\d.])) and MFU's text stops at the
# next '%': otherwise a long run of digits would be rescanned from every position (quadratic time).
STEP_RE = LazyRegex(
    r"^step\s+(\d{1,15})(?:/(\d{1,15}))?\s*[:|]\s*(?:train )?loss\s+(-?[\d.]+|-?nan|-?inf)(.*)$"
)
NORM_RE = LazyRegex(r"\bnorm\s+(\S+)")
LR_RE = LazyRegex(r"\blr\s+(\S+)")
MS_RE = LazyRegex(r"(?<![\d.])([\d.]+)\s*ms\b")
MFU_RE = LazyRegex(r"(?<![\d.-])(-?[\d.]+)%[^|%]*MFU")
VAL_RE = LazyRegex(
    r"^val loss\s+(-?(?=\.?\d)[\d.]+(?:[eE][-+]?\d+)?|-?nan|-?inf)(?!\S)"
)  # a number, not prose
NUM_PARAMS_RE = LazyRegex(r"^num_parameters: (\d{1,18})\b")
BATCH_RE = LazyRegex(r"num_processes=(\d{1,9}) and total_batch_size=(\d{1,18})\b")


def sniff(lines: list[str]) -> int:
    """Count llm.c train-step lines (`step N/M | loss X ...`) and `val loss X` lines."""
    hits = 0
    for line in as_sample(lines).starting("step", "val loss "):
        if line.startswith("step"):
            hits += _step_match(line) is not None
        elif line.startswith("val loss "):
            hits += VAL_RE.match(line) is not None
    return hits


def _step_match(line: str) -> re.Match | None:
    m = STEP_RE.match(line)
    # nanoGPT's `step 250: train loss 1.97, val loss 2.07` has the same start: not ours
    return m if m and "val loss" not in m.group(4) else None


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    updates_done = 0  # what a `val loss` line is attached to
    in_sample = 0  # 0 outside a `generating:` block, 1 before its opening `---`, 2 inside
    mfu_placeholder = hellaswag = 0
    source = NumberedLines(lines)
    for number, line in source:
        if in_sample:  # generated text is free text: never read it as log lines
            if line.startswith("---"):
                in_sample = 2 if in_sample == 1 else 0
            continue
        if line.startswith("generating:"):
            in_sample = 1
            continue
        m = _step_match(line) if line.startswith("step") else None
        if m:
            # `step N/M` (CUDA) prints step + 1; CPU's `step N:` prints the 0-based step
            updates_done = int(m.group(1)) + (0 if m.group(2) else 1)
            if m.group(2):
                meta.max_iters = int(m.group(2))
            mfu_placeholder += _add_step(table, m, number)
            continue
        m = VAL_RE.match(line)
        if m:
            table.add_eval(updates_done, NAN, to_float(m.group(1)), number)
            continue
        if line.startswith("HellaSwag:"):
            hellaswag += 1
        elif line.startswith("Writing checkpoint"):
            meta.checkpoints_saved += 1
        else:
            _header_line(line, meta)
    if mfu_placeholder:
        meta.notes.append(
            f"MFU printed as -100% on {mfu_placeholder} steps (GPU missing from "
            "llm.c's peak-FLOPs table): a placeholder, read as unknown"
        )
    if hellaswag:
        meta.notes.append(f"{hellaswag} HellaSwag accuracy lines not tabled")
    meta.notes.append("stdout steps are 1-based (updates done); main.log's s: are 0-based")
    return table.build(source.count, excerpt=source.elided)


def _add_step(table: LossTableBuilder, m: re.Match, number: int) -> int:
    """Add one train row; return 1 if its MFU was the -100% placeholder."""
    rest = m.group(4)
    fields = {}
    for key, regex in (("grad_norm", NORM_RE), ("lr", LR_RE), ("time_ms", MS_RE), ("mfu", MFU_RE)):
        found = regex.search(rest)
        fields[key] = to_float(found.group(1)) if found else NAN
    placeholder = int(fields["mfu"] < 0)
    if placeholder:
        fields["mfu"] = NAN
    if fields["lr"] == fields["lr"]:
        table.meta.lr_logged = True
    table.add_iter(int(m.group(1)), to_float(m.group(3)), number, **fields)
    return placeholder


def _header_line(line: str, meta) -> None:
    """Run facts from the start-up table and the allocation lines."""
    cells = _table_row(line)
    if cells:
        key, value = cells
        number = int(value) if _is_count(value) else None
        if key == "num_parameters" and number is not None:
            meta.n_params = float(number)
        elif key == "total batch size" and number is not None:
            meta.tokens_per_iter = number
        elif key == "vocab_size V" and number is not None:
            meta.vocab_size = number
        elif key == "num_processes" and number is not None:
            meta.world_size = number
        elif key == "weight init method":
            meta.init_from = value
        return
    m = NUM_PARAMS_RE.match(line)
    if m:
        meta.n_params = float(m.group(1))
        return
    m = BATCH_RE.search(line)
    if m:
        meta.world_size = int(m.group(1))
        meta.tokens_per_iter = int(m.group(2))


def _table_row(line: str) -> tuple[str, str] | None:
    """`| key | value |` of the start-up table as (key, value), else None. Split, not a regex: a
    regex with optional spaces around each cell is cubic on a long run of spaces."""
    if len(line) < 5 or line[0] != "|" or line[-1] != "|":
        return None
    cells = line[1:-1].split("|")
    if len(cells) != 2:
        return None
    key, value = cells[0].strip(), cells[1].strip()
    return (key, value) if key else None


def _is_count(value: str) -> bool:
    """ASCII digits only (str.isdigit() also takes '²', which int() refuses), at most 18 of them."""
    return 0 < len(value) <= 18 and value.isascii() and value.isdigit()
