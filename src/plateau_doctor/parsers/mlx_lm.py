"""ml-explore/mlx-lm (and mlx-examples' lora.py before it) fine-tuning stdout: mlx_lm/tuner/trainer.py.

The lines that matter (print() in trainer.py until June 2026):
    Starting training..., iters: 1000
    Iter 1: Val loss 2.936, Val took 5.265s
    Iter 10: Train loss 2.662, Learning Rate 1.000e-05, It/sec 0.490, Tokens/sec 161.374, Trained Tokens 3290, Peak mem 9.707 GB
    Iter 10: Train loss 3.608, It/sec 0.015, Tokens/sec 1.425                       (mlx-examples, 2023)
    Iter 100: Saved adapter weights to adapters/adapters.safetensors and ...
    Trainable parameters: 0.041% (1.311M/3212.750M)                                 (trainable/all)
    Node 0 of 4                                                                     (distributed)
and the rich UI of mlx_lm/cli_ui.py (June 2026 on): a header panel row `batch · iters   4 · 1,000`,
a table header `iter   train_loss     tok/s     tokens` and rows
    10    2.662 ▼    161    3.3k            (train: iter, loss, an arrow, tok/s, tokens)
    200    val 1.234    5.27s              (validation)

Mapping: iter is the printed iteration (1-based). The train loss is the mean over the
steps_per_report iterations since the last report (all ranks): loss_kind window_mean. It/sec
gives time_ms (1000 / It/sec); Learning Rate goes to lr. evaluate() draws val_batches (default 25)
batches of the val set in a fresh random order at each eval: the same set when it holds no more
than that, a different sample when it is larger; the log does not tell which, so eval_kind stays
unknown. mlx_lm.lora always starts from a pretrained model: finetune True. The 2023 lora.py (the
train line without a Learning Rate field) had no LR schedule, only optim.Adam(learning_rate=...):
its LR is constant by design (lr_by_design), where the later trainer prints the LR it schedules.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, to_float
from .table import LossTableBuilder

NAME = "mlx_lm"
TRAITS = {"loss_kind": "window_mean", "finetune": True}
DETECTION_ORDER = 90  # breaks ties in detection: lower wins (formats.py)

TRAIN_RE = LazyRegex(r"^Iter (\d{1,15}): Train loss (\S+?),(.*)$")
VAL_RE = LazyRegex(r"^Iter (\d{1,15}): Val loss (\S+?),")
LR_RE = LazyRegex(r"\bLearning Rate (\S+?),")
IT_SEC_RE = LazyRegex(r"\bIt/sec ([\d.]{1,30})")
ITERS_RE = LazyRegex(r"^Starting training\.\.\., iters: (\d{1,15})")
PARAMS_RE = LazyRegex(r"^Trainable parameters: ([\d.]{1,12})% \([\d.]{1,20}M/([\d.]{1,20})M\)")
# LoRA / DoRA train a few percent of the weights at most; a full fine-tune trains them all
ADAPTER_MAX_TRAINABLE_PERCENT = 10.0
NODE_RE = LazyRegex(r"^Node \d{1,6} of (\d{1,6})")
# the rich UI (cli_ui.TrainUI): rows under the `iter   train_loss` header
UI_TRAIN_RE = LazyRegex(r"^(\d{1,15})\s+(\S+) [▼▲]\s")
UI_VAL_RE = LazyRegex(r"^(\d{1,15})\s+val (\S+)\s")
UI_ITERS_RE = LazyRegex(r"batch · iters\s+\d{1,9} · (\d[\d,]{0,20})")


def sniff(lines: list[str]) -> int:
    """Count `Iter N: Train loss` / `Iter N: Val loss` lines and rich-UI rows."""
    sample = as_sample(lines)
    hits = 0
    for line in sample.starting("Iter "):
        hits += TRAIN_RE.match(line) is not None or VAL_RE.match(line) is not None
    # a UI row starts with a digit (never "Iter ") and holds an arrow: with no arrow anywhere, none is
    rows = sample.pieces if sample.mentions("▼") or sample.mentions("▲") else []
    for line in rows:
        if line[:1].isdigit() and ("▼" in line or "▲" in line):
            hits += UI_TRAIN_RE.match(line) is not None
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    source = NumberedLines(lines)
    ui_rows = False  # the rich UI prints no LR whether or not a schedule was configured
    for number, line in source:
        if line.startswith("Iter "):
            _iter_line(table, line, number)
        elif line[:1].isdigit():
            ui_rows = _ui_row(table, line, number) or ui_rows
        elif line.startswith("Starting training"):
            m = ITERS_RE.match(line)
            if m:
                meta.max_iters = int(m.group(1))
        elif line.startswith("Trainable parameters:"):
            m = PARAMS_RE.match(line)
            if m:
                meta.n_params = to_float(m.group(2)) * 1e6
                meta.trains_adapters = to_float(m.group(1)) <= ADAPTER_MAX_TRAINABLE_PERCENT
        elif line.startswith("Node "):
            m = NODE_RE.match(line)
            if m:
                meta.world_size = int(m.group(1))
        elif "batch · iters" in line:
            m = UI_ITERS_RE.search(line)
            if m:
                meta.max_iters = int(m.group(1).replace(",", ""))
        elif line.startswith("save "):
            meta.checkpoints_saved += 1
    meta.notes.append("train loss is the mean over each report interval")
    if table.n_iters and not meta.lr_logged and not ui_rows:
        meta.lr_by_design = "constant"
        meta.notes.append(
            "no LR printed: mlx-examples' lora.py of this line format has no LR schedule (constant)"
        )
    return table.build(source.count, excerpt=source.elided)


def _iter_line(table: LossTableBuilder, line: str, number: int) -> None:
    m = TRAIN_RE.match(line)
    if m:
        rest = m.group(3)
        lr = LR_RE.search(rest)
        it_sec = IT_SEC_RE.search(rest)
        rate = to_float(it_sec.group(1)) if it_sec else NAN
        if lr:
            table.meta.lr_logged = True
        table.add_iter(
            int(m.group(1)),
            to_float(m.group(2)),
            number,
            lr=to_float(lr.group(1)) if lr else NAN,
            time_ms=1000 / rate if rate > 0 else NAN,
        )
        return
    m = VAL_RE.match(line)
    if m:
        table.add_eval(int(m.group(1)), NAN, to_float(m.group(2)), number)
    elif "Saved adapter weights" in line:
        table.meta.checkpoints_saved += 1
        if table.meta.trains_adapters is None:
            table.meta.trains_adapters = True  # what it saves is adapters: a LoRA run


def _ui_row(table: LossTableBuilder, line: str, number: int) -> bool:
    """Read a rich-UI row; True where the line was one."""
    m = UI_TRAIN_RE.match(line)
    if m:
        table.add_iter(int(m.group(1)), to_float(m.group(2)), number)
        return True
    m = UI_VAL_RE.match(line)
    if m:
        table.add_eval(int(m.group(1)), NAN, to_float(m.group(2)), number)
        return True
    return False
