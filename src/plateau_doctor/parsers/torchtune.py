"""pytorch/torchtune recipe stdout and metric-logger files (recipes/*_finetune_*.py,
torchtune/training/metric_logging.py).

The lines that matter:
    Step 1 | loss:1.19 lr:2e-05 tokens_per_second_per_gpu:405.04 grad_norm:1.23    (DiskLogger file /
                                                   StdoutLogger: `Step {step} | {name}:{value} ...`)
    Step 0 | loss:1.7535516023635864 lr:2e-05 gpu_resources:13708965376             (early 2024)
    Step 100 | val_loss:1.2345                     (log_dict of validate(), distributed recipes)
    Validation loss: 1.2345                        (logger.info of the same, after the logger prefix)
    1|27|Loss: 1.1958776712417603:  27%|██▋       | 27/101 [07:00<17:31, 14.21s/it]   (tqdm, stderr)
and the resolved config the recipe echoes (`epochs: 3`, `max_steps_per_epoch: null`).

Mapping: the step is the global optimizer step (1-based, counting across epochs). `loss` is the
token-weighted mean over the gradient-accumulation micro-batches of that one step, so loss_kind
is micro_batch. The tqdm description `epoch|step|Loss: x` carries the same loss for every step;
its rows are used only when the log has no metric-logger loss lines (a log with both would hold
each step twice). The bar's `n/total` is the step within the epoch out of the steps per epoch,
so epochs = (epoch - 1) + n / total, and max_iters = epochs in the config x steps per epoch.
validate() runs over the whole val dataloader: eval_kind fixed. Recipes fine-tune a checkpoint:
finetune True.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, to_float
from .table import LossTableBuilder

NAME = "torchtune"
TRAITS = {"eval_kind": "fixed", "loss_kind": "micro_batch", "finetune": True}
DETECTION_ORDER = 100  # breaks ties in detection: lower wins (formats.py)

STEP_RE = LazyRegex(r"^Step (\d{1,15}) \| (\S.*)$")
FIELD_RE = LazyRegex(r"(?<!\S)([\w/.-]{1,80}):(\S{1,40})(?!\S)")
TQDM_RE = LazyRegex(
    r"^(\d{1,6})\|(\d{1,15})\|Loss: ([-+]?(?:[\d.]{1,30}(?:[eE][-+]?\d{1,3})?|nan|inf))"
    r"(?::\s+\d{1,3}%\|[^|]{0,200}\|\s*(\d{1,15})/(\d{1,15}))?"
)
VALIDATION_RE = LazyRegex(r"^Validation loss: (\S+)")
EPOCHS_RE = LazyRegex(r"^epochs: (\d{1,9})$")


def sniff(lines: list[str]) -> int:
    """Count metric-logger lines holding a loss and tqdm `epoch|step|Loss:` descriptions."""
    sample = as_sample(lines)
    hits = 0
    for line in sample.starting("Step "):
        m = STEP_RE.match(line)
        hits += m is not None and any(key in ("loss", "val_loss") for key, _ in FIELD_RE.findall(m.group(2)))
    for line in sample.containing("|Loss: "):  # a bar's description starts with a digit, never "Step "
        hits += line[:1].isdigit() and TQDM_RE.match(line) is not None
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    source = NumberedLines(lines)
    tqdm_rows: list[tuple[int, float, int]] = []
    logged = 0  # metric-logger train rows
    step = 0  # the latest step seen: what `Validation loss:` belongs to
    epoch_pos: tuple[int, int, int] | None = None  # (epoch, n, total) of the latest bar
    config_epochs = None
    for number, line in source:
        if line.startswith("Step "):
            m = STEP_RE.match(line)
            if m:
                step = int(m.group(1))
                logged += _logger_line(table, step, m.group(2), number)
            continue
        if line[:1].isdigit() and "|Loss: " in line:
            m = TQDM_RE.match(line)
            if m:
                step = int(m.group(2))
                tqdm_rows.append((step, to_float(m.group(3)), number))
                if m.group(4):
                    epoch_pos = (int(m.group(1)), int(m.group(4)), int(m.group(5)))
            continue
        if line.startswith("Validation loss:"):
            m = VALIDATION_RE.match(line)
            if m:
                table.add_eval(step, NAN, to_float(m.group(1)), number)
        elif line.startswith("epochs:"):
            m = EPOCHS_RE.match(line)
            if m:
                config_epochs = int(m.group(1))
    if not logged:
        for row_step, loss, number in tqdm_rows:
            table.add_iter(row_step, loss, number)
    if epoch_pos is not None and epoch_pos[2] > 0:
        epoch, n, total = epoch_pos
        meta.epochs = epoch - 1 + n / total
        if config_epochs:
            meta.max_iters = config_epochs * total
    if len(source.ranks) > 1:
        meta.world_size = len(source.ranks)
    meta.notes.append("loss is the mean over one step's micro-batches")
    return table.build(source.count, excerpt=source.elided)


def _logger_line(table: LossTableBuilder, step: int, text: str, number: int) -> int:
    """Add what a `Step N | key:value ...` line holds; 1 if it was a train row."""
    fields = dict(FIELD_RE.findall(text))
    if "val_loss" in fields:
        table.add_eval(step, NAN, to_float(fields["val_loss"]), number)
    if "loss" not in fields:
        return 0
    lr = to_float(fields.get("lr", "nan"))
    if lr == lr:
        table.meta.lr_logged = True
    table.add_iter(
        step, to_float(fields["loss"]), number, lr=lr, grad_norm=to_float(fields.get("grad_norm", "nan"))
    )
    return 1
