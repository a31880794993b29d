"""NVIDIA/Megatron-LM and its forks (Megatron-DeepSpeed, MindSpeed, GPT-NeoX) stdout:
megatron/training/training.py, training_log() and evaluate_and_print_results().

The lines that matter (training_log builds one `key: value |` line per log interval; newer
versions put `[2024-05-01 12:00:00.123456]` in front, stripped by lines.clean_line):
    iteration     5426/  250000 | consumed samples:      2778112 | elapsed time per iteration (ms): 1234.5 | learning rate: 2.999E-04 | global batch size:   512 | lm loss: 2.345678E+00 | loss scale: 1.0 | grad norm: 0.234 | number of skipped iterations:   0 | number of nan iterations:   0 |
    iteration  100/  100000 | ... | lm loss: 9.6E+00 | sop loss: 6.9E-01 | ...                (BERT: the first loss is lm loss)
    iteration 2/ 95367 | consumed samples: 4096 | consumed tokens: 8388608 | elapsed time per iteration (s): 769.99 | ...   (Megatron-DeepSpeed)
    samples/sec: 51.2 | iteration 10/ 50 | elapsed time per iteration (ms): 19987.6 | learning rate: 1.2E-04 | lm_loss: 7.1E+00 | ...   (GPT-NeoX)
    validation loss at iteration 1000 | lm loss value: 3.201E+00 | lm loss PPL: 2.455E+01 |
    validation loss at iteration 1000 on validation set | lm loss value: ... |          (newer)
    validation loss at the end of training for val data | lm loss value: ... |        (older: after the last iteration)
    validation results at iteration 100 | lm_loss value: 6.9E+00 | lm_loss_ppl value: 1.0E+03 |   (GPT-NeoX)
and the argument dump (`  train_iters ........ 250000` between `---- arguments ----` and
`---- end of arguments ----`), `using world size: 8, data-parallel size: ...`, and
`[exiting program at iteration N] datetime: ...` (--exit-interval / --exit-duration-in-mins /
SIGTERM: the job stops on purpose, to be resumed).

Mapping: iter is the printed iteration (1-based: iterations done); max_iters the number after the
slash. `lm loss` is the sum of the losses of the iterations advanced since the last line divided
by their number: a mean over the log interval, loss_kind window_mean. When that mean is NaN,
Megatron leaves the loss out of the line (`if avg >= 0.0`), so a line with nan iterations and no
loss is a NaN row (divergence); a window whose iterations were all skipped (fp16 loss-scale
search) prints 0.0 for a loss never measured, and is left out. grad norm, learning rate and the
per-iteration time go to grad_norm, lr and time_ms. Skipped and nan iterations are summed into
meta.skipped_iters / meta.nan_iters. The validation iterator is made once and goes on through the
val set: each eval reads the next eval_iters batches, so eval_kind is "resampled" unless the
argument dump shows full_validation True (the whole set each time: "fixed"). Only the first
validation set of --multiple-validation-sets is tabled; test-set lines are not. tokens_per_iter is
global_batch_size x seq_length from the argument dump. The dataset builder prints, for the train
split first, `total number of samples: S` and `total number of epochs: E` (the index repeats the
split E times to hold S samples): the last `consumed samples` x E / S is meta.epochs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, to_float
from .table import LossTableBuilder

NAME = "megatron"
TRAITS = {"eval_kind": "resampled", "loss_kind": "window_mean"}
DETECTION_ORDER = 80  # breaks ties in detection: lower wins (formats.py)

ITERATION_RE = LazyRegex(r"(?:^|\|\s*)iteration\s+(\d{1,15})\s*/\s*(\d{1,15})\s*\|")
VALIDATION_RE = LazyRegex(r"^(validation\S{0,40}) (?:loss|results) at (.{1,200}?)\s*\|(.*)$")
AT_ITERATION_RE = LazyRegex(r"^iteration (\d{1,15})(?: on (\w+) set)?$")
ARG_RE = LazyRegex(r"^(\w{1,80}) \.{2,60} (.*)$")
WORLD_RE = LazyRegex(r"^using world size: (\d{1,9})")
VOCAB_RE = LazyRegex(r"^padded vocab \(size: \d{1,12}\) with \d{1,12} dummy tokens \(new size: (\d{1,12})\)")
LOADED_RE = LazyRegex(r"^successfully loaded checkpoint from .{0,4000}? at iteration (\d{1,15})$")
# the first of these fields that the line holds is the training loss
LOSS_KEYS = ("lm loss", "lm_loss", "loss")
EXIT_MARK = "exiting program"


def sniff(lines: list[str]) -> int:
    """Count Megatron iteration lines and validation lines."""
    sample = as_sample(lines)
    hits = 0
    # the word can be anywhere in an iteration line: only the pieces holding it are tested for it
    for line in sample.containing("iteration"):
        if "|" in line:
            hits += ITERATION_RE.search(line) is not None or VALIDATION_RE.match(line) is not None
        elif line.startswith("validation"):
            hits += VALIDATION_RE.match(line) is not None
    for line in sample.starting("validation"):  # those without the word, not counted above
        hits += "iteration" not in line and VALIDATION_RE.match(line) is not None
    return hits


class _State:
    """What the parse carries from line to line."""

    def __init__(self) -> None:
        self.in_args = False
        self.args: dict[str, str] = {}
        self.last_iter = 0
        self.val_set: str | None = None  # the name of the tabled validation set
        self.other_sets = 0
        self.unmeasured = 0  # windows of skipped iterations only
        self.consumed = 0  # `consumed samples` of the latest iteration line
        # the dataset builder prints `total number of samples: S` / `total number of epochs: E`
        # for train, then validation, then test: the first pair is the train set's
        self.train_samples: int | None = None
        self.train_epochs: int | None = None


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    meta.skipped_iters = meta.nan_iters = 0
    state = _State()
    source = NumberedLines(lines)
    for number, line in source:
        if state.in_args:
            _argument_line(line, state)
            continue
        if "iteration" in line and "|" in line:
            m = ITERATION_RE.search(line)
            if m:
                _add_iteration(table, state, m, line, number)
                continue
        if line.startswith("validation"):
            m = VALIDATION_RE.match(line)
            if m:
                _add_validation(table, state, m, number)
                continue
        if line.startswith("----") and " arguments " in line and "end of" not in line:
            state.in_args = True
        elif EXIT_MARK in line:
            meta.stopped_by_design = line.strip("[] ").split("]")[0]
        elif line.startswith("total number of"):
            _dataset_line(line, state)
        else:
            _startup_line(line, meta)
    _apply_args(state.args, meta)
    if state.train_samples and state.train_epochs and state.consumed:
        # the index holds train_epochs passes of train_samples samples in all
        meta.epochs = state.consumed * state.train_epochs / state.train_samples
    if len(source.ranks) > 1 and meta.world_size is None:
        meta.world_size = len(source.ranks)
    if state.unmeasured:
        meta.notes.append(
            f"{state.unmeasured} log intervals had only skipped iterations (loss 0.0 "
            "printed for a loss never measured): left out"
        )
    if state.other_sets:
        meta.notes.append(
            f"{state.other_sets} lines of other validation sets not tabled (only {state.val_set!r})"
        )
    meta.notes.append("lm loss is the mean over each log interval")
    return table.build(source.count, excerpt=source.elided)


def _fields(line: str) -> dict[str, str]:
    """`key: value |` cells -> {key: value}."""
    fields = {}
    for cell in line.split("|"):
        key, sep, value = cell.rpartition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _add_iteration(table: LossTableBuilder, state: _State, m: re.Match, line: str, number: int) -> None:
    meta = table.meta
    it = int(m.group(1))
    meta.max_iters = int(m.group(2))
    fields = _fields(line)
    state.consumed = _count(fields.get("consumed samples")) or state.consumed
    skipped = _count(fields.get("number of skipped iterations"))
    nans = _count(fields.get("number of nan iterations"))
    meta.skipped_iters += skipped
    meta.nan_iters += nans
    advanced = it - state.last_iter if it > state.last_iter else None
    state.last_iter = it
    loss_text = next((fields[key] for key in LOSS_KEYS if key in fields), None)
    if loss_text is None:
        if not nans:
            return  # no loss printed and nothing says it was NaN: nothing to table
        loss = NAN
    else:
        loss = to_float(loss_text)
        if loss == 0 and advanced is not None and skipped >= advanced:
            state.unmeasured += 1
            return
    time_ms = to_float(fields.get("elapsed time per iteration (ms)", "nan"))
    if time_ms != time_ms and "elapsed time per iteration (s)" in fields:
        time_ms = to_float(fields["elapsed time per iteration (s)"]) * 1000
    lr = to_float(fields.get("learning rate", "nan"))
    if lr == lr:
        meta.lr_logged = True
    table.add_iter(
        it, loss, number, time_ms=time_ms, lr=lr, grad_norm=to_float(fields.get("grad norm", "nan"))
    )


def _add_validation(table: LossTableBuilder, state: _State, m: re.Match, number: int) -> None:
    name, where, rest = m.group(1), m.group(2), m.group(3)
    at = AT_ITERATION_RE.match(where)
    if at:
        if at.group(2) and at.group(2) != "validation":
            return  # `on test set`
        step = int(at.group(1))
    elif where.startswith("the end of training for val"):
        step = state.last_iter
    else:
        return  # the end-of-training test-set line
    if state.val_set is None:
        state.val_set = name
    elif name != state.val_set:
        state.other_sets += 1
        return
    fields = _fields(rest)
    value = next((fields[f"{key} value"] for key in LOSS_KEYS if f"{key} value" in fields), None)
    if value is not None:
        table.add_eval(step, NAN, to_float(value), number)


def _dataset_line(line: str, state: _State) -> None:
    key, _, value = line.partition(":")
    if key == "total number of samples" and state.train_samples is None:
        state.train_samples = _count(value) or None
    elif key == "total number of epochs" and state.train_epochs is None:
        state.train_epochs = _count(value) or None


def _startup_line(line: str, meta) -> None:
    if line.startswith("using world size:"):
        m = WORLD_RE.match(line)
        if m:
            meta.world_size = int(m.group(1))
    elif line.startswith("padded vocab"):
        m = VOCAB_RE.match(line)
        if m:
            meta.vocab_size = int(m.group(1))
    elif line.startswith("saving checkpoint at iteration"):
        meta.checkpoints_saved += 1
    elif line.startswith("successfully loaded checkpoint"):
        m = LOADED_RE.match(line)
        if m and int(m.group(1)) > 0:
            meta.init_from = "resume"


def _argument_line(line: str, state: _State) -> None:
    if line.startswith("----"):
        state.in_args = False
        return
    m = ARG_RE.match(line)
    if m:
        state.args[m.group(1)] = m.group(2).strip()


def _apply_args(args: dict[str, str], meta) -> None:
    """Run facts from the argument dump (rank 0 prints it once)."""
    if _count(args.get("world_size")):
        meta.world_size = _count(args["world_size"])
    if meta.max_iters is None and _count(args.get("train_iters")):
        meta.max_iters = _count(args["train_iters"])
    batch, seq = _count(args.get("global_batch_size")), _count(args.get("seq_length"))
    if batch and seq:
        meta.tokens_per_iter = batch * seq
    if args.get("full_validation") == "True":
        meta.eval_kind = "fixed"
    if args.get("finetune") == "True" or args.get("pretrained_checkpoint", "None") != "None":
        meta.finetune = True


def _count(text: str | None) -> int:
    """A printed count; 0 when absent or not a count."""
    if text is None:
        return 0
    text = text.strip()
    return int(text) if 0 < len(text) <= 18 and text.isascii() and text.isdigit() else 0
