"""Lightning-AI/litgpt (formerly lit-gpt) pretrain and fine-tune stdout: litgpt/pretrain.py,
litgpt/finetune/{lora,adapter,full}.py (fabric.print).

The lines that matter:
    Epoch 1 | iter 1 step 0 | loss train: 1.234, val: n/a | iter time: 298.27 ms             (March 2024 on)
    Epoch 34 | iter 3050700 step 610140 | loss train: 2.846, val: 2.861 | iter time: 112.20 ms (step) remaining time: 0:01:54
    iter 1152 step 144: loss 11.4630, iter time: 1234.56ms (optimizer.step)                  (lit-gpt, 2023)
    iter 1760 | step 220: loss 1.5947, iter time: 263.85 ms (optimizer.step)                  (early 2024)
    iter 4800: val loss 1.7258, val time: 3778.02 ms
    step 600: val loss 1.7258, val time: 3778.02ms                                            (lit-gpt: `step` is the iter)
    Final evaluation | val loss: 1.057 | val ppl: 2.878
    Number of epochs 3 reached, stopping training...   /   Max time (120.00m) reached, stopping training...
    Total parameters: 1,100,048,384   /   Number of trainable parameters: 4,194,304   /   Number of non-trainable parameters: 1,100,048,384

Mapping: iter is the printed iter (micro-batches done, 1-based); the eval lines print the same
counter. The train loss is a RunningMean over the last gradient_accumulation_iters micro-batches:
about one optimizer step, loss_kind micro_batch. The `val:` field of the train line repeats the
latest eval and is not tabled again. `Final evaluation` belongs to the last iter. validate() reads
the first eval.max_iters batches of the val dataloader each time: eval_kind fixed. `Epoch N` is
the pass in progress (1-based): meta.epochs is the last one printed. Frozen (non-trainable)
parameters mean an adapter or LoRA fine-tune of a pretrained model.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, to_float
from .table import LossTableBuilder

NAME = "litgpt"
TRAITS = {"eval_kind": "fixed", "loss_kind": "micro_batch"}
DETECTION_ORDER = 110  # breaks ties in detection: lower wins (formats.py)

NUMBER = r"([-+]?(?:[\d.]{1,30}(?:[eE][-+]?\d{1,3})?|nan|inf))"
EPOCH_RE = LazyRegex(
    r"^Epoch (\d{1,9}) \| iter (\d{1,15}) step \d{1,15} \| loss train: " + NUMBER + r",(.*)$"
)
ITER_RE = LazyRegex(r"^iter (\d{1,15}) \|? ?step \d{1,15}: loss " + NUMBER + r", (iter time:.*)$")
VAL_RE = LazyRegex(r"^(?:iter|step) (\d{1,15}): val loss " + NUMBER + r", val time:")
# A line ITER_RE matches holds "step ", one VAL_RE matches ": val loss ": nanoGPT's iter lines
# (`iter 10: loss 3.1462, ...`), which start like LitGPT's, hold neither and are not tried.
ITER_WORD, VAL_WORD = "step ", ": val loss "
FINAL_RE = LazyRegex(r"^Final evaluation \| val loss: " + NUMBER)
ITER_TIME_RE = LazyRegex(r"iter time: ?([\d.]{1,30}) ?ms")
STOP_RE = LazyRegex(r"^(?:Number of epochs \d{1,9}|Max time \([\d.]{1,20}m\)) reached, stopping training")
PARAMS_RE = LazyRegex(r"^(Total|Number of trainable|Number of non-trainable) parameters: (\d[\d,]{0,23})$")


def sniff(lines: list[str]) -> int:
    """Count LitGPT train and val lines."""
    sample = as_sample(lines)
    hits = sum(EPOCH_RE.match(line) is not None for line in sample.starting("Epoch "))
    # only the pieces holding one of the words can match ITER_RE or VAL_RE; each is tried once
    tried = sample.containing(ITER_WORD)
    tried += [line for line in sample.containing(VAL_WORD) if ITER_WORD not in line]
    for line in tried:
        if line.startswith(("iter ", "step ")):
            hits += ITER_RE.match(line) is not None or VAL_RE.match(line) is not None
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    source = NumberedLines(lines)
    last_iter = 0
    params: dict[str, int] = {}
    for number, line in source:
        m = EPOCH_RE.match(line) if line.startswith("Epoch ") else None
        if m:
            meta.epochs = float(m.group(1))
            last_iter = _add_iter(table, m.group(2), m.group(3), m.group(4), number)
            continue
        if line.startswith(("iter ", "step ")):
            m = ITER_RE.match(line)
            if m:
                last_iter = _add_iter(table, m.group(1), m.group(2), m.group(3), number)
                continue
            m = VAL_RE.match(line)
            if m:
                table.add_eval(int(m.group(1)), NAN, to_float(m.group(2)), number)
            continue
        if line.startswith("Final evaluation"):
            m = FINAL_RE.match(line)
            if m:
                table.add_eval(last_iter, NAN, to_float(m.group(1)), number)
        elif line.endswith("stopping training...") and STOP_RE.match(line):
            meta.stopped_by_design = line
        elif "parameters:" in line:
            m = PARAMS_RE.match(line)
            if m:
                params[m.group(1)] = int(m.group(2).replace(",", ""))
    _set_params(meta, params)
    meta.notes.append(
        "loss is a running mean over one optimizer step's micro-batches; iter counts micro-batches"
    )
    return table.build(source.count, excerpt=source.elided)


def _add_iter(table: LossTableBuilder, it: str, loss: str, rest: str, number: int) -> int:
    time = ITER_TIME_RE.search(rest)
    table.add_iter(int(it), to_float(loss), number, time_ms=to_float(time.group(1)) if time else NAN)
    return int(it)


def _set_params(meta, params: dict[str, int]) -> None:
    frozen = params.get("Number of non-trainable", 0)
    if "Total" in params:
        meta.n_params = float(params["Total"])
    elif "Number of trainable" in params:
        meta.n_params = float(params["Number of trainable"] + frozen)
    if frozen:
        meta.finetune = True
