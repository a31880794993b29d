"""karpathy/llm.c main.log (`train_gpt2cu -o DIR` writes DIR/main.log; llmc/logger.h).

The lines:
    s:0 tel:11.0092                          val loss
    s:0 trl:11.0091 lr:0.000001 norm:15.37   train (older llm.c: `s:0 trl:10.965596`, no lr/norm)
    s:250 eval:0.2945                        HellaSwag accuracy (not a loss: not tabled)

Mapping: iter and eval step are the printed `s:`, which is 0-based (the number of updates done
before the step), one less than the stdout `step` for the same update. `trl` -> loss, `lr` -> lr,
`norm` -> grad_norm, `tel` -> val_loss. There is no header, so no max_iters or model size. The file
is appended to on resume, so steps can repeat: the table's later-segment-wins rule handles that.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, numeric, to_float
from .table import LossTableBuilder

NAME = "llmc_mainlog"
TRAITS = {
    "eval_kind": "fixed"
}  # the val loader is reset before each eval: the same val_max_steps batches every time
DETECTION_ORDER = 40  # breaks ties in detection: lower wins (formats.py)

# Bounded step digits (corruption must not overflow the float table); fields start after a space
# (a long run of word characters would otherwise be rescanned from every position).
LINE_RE = LazyRegex(r"^s:(\d{1,15}) (trl|tel|eval):(\S+)(.*)$")
FIELD_RE = LazyRegex(r"(?<!\S)(\w+):(\S+)")


def sniff(lines: list[str]) -> int:
    """Count `s:N trl:X` / `s:N tel:X` lines."""
    hits = 0
    for line in as_sample(lines).starting("s:"):
        m = LINE_RE.match(line)
        if m and m.group(2) != "eval" and numeric(m.group(3)):
            hits += 1
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    zero_lr = hellaswag = 0
    source = NumberedLines(lines)
    for number, line in source:
        m = LINE_RE.match(line) if line.startswith("s:") else None
        if not m:
            continue
        step, kind, value = int(m.group(1)), m.group(2), to_float(m.group(3))
        if kind == "tel":
            table.add_eval(step, NAN, value, number)
        elif kind == "trl":
            fields = dict(FIELD_RE.findall(m.group(4)))
            lr = to_float(fields.get("lr", "nan"))
            if lr == lr:
                meta.lr_logged = True
                zero_lr += lr == 0.0
            table.add_iter(step, value, number, lr=lr, grad_norm=to_float(fields.get("norm", "nan")))
        else:
            hellaswag += 1
    if zero_lr:
        # `lr:%.6f` prints any LR below 5e-7 as 0.000000: the schedule may not really be at zero
        meta.notes.append(f"lr printed with 6 decimals: {zero_lr} steps read as lr 0 (below 5e-7)")
    if hellaswag:
        meta.notes.append(f"{hellaswag} HellaSwag accuracy lines (`eval:`) not tabled")
    meta.notes.append("main.log steps are 0-based (s: = updates done before the step)")
    return table.build(source.count, excerpt=source.elided)
