"""HuggingFace Trainer: the dicts it prints on stdout, or its trainer_state.json.

Stdout lines (Python reprs; the newest transformers quote every value as a string):
    {'loss': 2.708, 'grad_norm': 2.515, 'learning_rate': 4.64e-05, 'epoch': 0.07}         train window
    {'loss': '2.708', 'grad_norm': '2.515', 'learning_rate': '4.648e-05', 'epoch': '0.07'}
    {'eval_loss': 1.4676, 'eval_runtime': 42.26, ..., 'epoch': 4.0}                       eval
    {'train_runtime': 12657.8, ..., 'train_loss': 1.7589, 'epoch': 12.0}                  run summary
They may follow a tqdm bar on the same line, carry `0: ` rank prefixes, or hold `nan`/`tensor(...)`
values, which ast.literal_eval refuses; a key/value regex reads those.

iter (and an eval's step) is the optimizer step wherever the log shows it, else the logging-
window index: hf_trainer_steps.py decides which, once the whole log is read.

loss is the mean over the logging window (loss_kind "window_mean"); learning_rate -> lr,
grad_norm -> grad_norm. The summary dict's train_loss is a whole-run mean, not a window: it goes
to a note only. The epoch of the last window goes to a note.

trainer_state.json (detected by its `"log_history"` key) carries the real optimizer `step`: there
iter and eval step are that step, and max_iters is `max_steps`. Its `global_step` (where training
stopped, often past the last logged row) goes to a note.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import warnings
from collections.abc import Iterable

from ..model import ParsedLog
from ..read import LogText
from .hf_trainer_steps import (
    EVAL,
    MAX_STEP,
    NO_STEP,
    SUMMARY,
    TRAIN,
    Bars,
    Header,
    Rows,
    key_step,
    resolve,
    step_value,
)
from .lines import NAN, LazyRegex, as_sample, clean_line, pieces, to_float
from .table import LossTableBuilder

NAME = "hf_trainer"
TRAITS = {"eval_kind": "fixed"}  # Trainer.evaluate() runs over the whole eval_dataset every time
DETECTION_ORDER = 60  # breaks ties in detection: lower wins (formats.py)

DICT_RE = LazyRegex(r"\{'[^{}]*\}")
LOSS_VALUE_RE = LazyRegex(
    r"'(?:eval_)?loss':\s*'?[-+]?(?:\d|\.\d|nan\b|inf)"
)  # some versions quote the numbers
PAIR_RE = LazyRegex(r"'([^']+)':\s*(?:'([^']*)'|(?:tensor\()?([^,}()]+))")
RANK_RE = LazyRegex(r"^\s*(?:\[rank(\d+)\]:|(\d{1,4}):\s)")


def sniff(lines: list[str]) -> int:
    """Count printed loss/eval_loss dicts, or the loss entries of a trainer_state.json."""
    sample = as_sample(lines)
    if sample.raw_mentions('"log_history"'):
        return sum(line.count('"loss":') + line.count('"eval_loss":') for line in sample)
    if not sample.raw_mentions("{'"):  # the test below of each line, for all of them at once
        return 0
    hits = 0
    for raw in sample:
        if "{'" not in raw:
            continue
        for text in DICT_RE.findall(raw):
            if LOSS_VALUE_RE.search(text):  # a loss that is a number, not any 'loss' key
                hits += 1
    return hits


HEAD_LINES = 1000  # a stdout log's first non-blank line is within these; else read line by line


def parse_source(source: LogText) -> ParsedLog:
    """parse() of an opened log; a trainer_state.json is decoded whole, not split into lines
    only for them to be joined again for json.loads (1M log_history entries are ~7M lines)."""
    first = next((line.strip() for line in source.head(HEAD_LINES) if line.strip()), "")
    if not (first == "{" or first.startswith('{"')):
        return parse(source.lines)
    pieces: list[str] = []
    newlines = 0  # counted in the bytes, block by block: a third of the time of str.count on the text
    for buf, lo, hi in source.blocks():
        pieces.append(str(memoryview(buf)[lo:hi], "utf-8", "replace"))
        newlines += buf.count(b"\n", lo, hi)  # decoding keeps every newline byte as it is
    text = "".join(pieces)
    del pieces
    n_lines = newlines + (0 if text.endswith("\n") else 1)
    # decoded with its final newline, which json.loads skips: dropping it first would copy the
    # whole text. An error's position counts it, though, so a document that fails is decoded
    # again without it, for the message the line path (lines joined, no final newline) gives.
    state, unreadable = _loads(text)
    if unreadable and text.endswith("\n"):
        state, unreadable = _loads(text[:-1])
    del text  # ~150 MB for a million entries, freed before the history is tabled
    return _table_state(state, unreadable, n_lines)


def parse(lines: Iterable[str]) -> ParsedLog:
    iterator = iter(lines)
    head: list[str] = []
    for raw in iterator:  # the first non-blank line tells a JSON document from a stdout log
        head.append(raw)
        if raw.strip():
            break
    first = head[-1].strip() if head else ""
    if first == "{" or first.startswith('{"'):
        return _parse_state([*head, *iterator])
    return _parse_stdout(itertools.chain(head, iterator))


# -- stdout -------------------------------------------------------------------------------------
def _parse_stdout(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    meta.loss_kind = "window_mean"
    header = Header()
    bars = Bars()
    rows = Rows()
    windows = 0
    epoch = NAN
    ranks: set[str] = set()
    previous = ""
    summary_step = NO_STEP
    seen_dict = False
    number = 0
    for number, raw in enumerate(lines, start=1):
        m = RANK_RE.match(raw)
        if m:
            ranks.add(m.group(1) or m.group(2))
        if "steps" in raw or "logging" in raw or "parameters" in raw or "Continuing" in raw:
            header.read(clean_line(raw), meta)
        if "{'" not in raw:
            if " [" in raw:
                for piece in pieces(raw):
                    bars.scan(piece, 0, len(piece), seen_dict)
            continue
        beside = None  # the last bar on this physical line so far
        for piece in pieces(raw):
            start = 0
            for match in DICT_RE.finditer(piece):
                beside = bars.scan(piece, start, match.start(), seen_dict) or beside
                start = match.end()
                text = match.group()
                if text == previous:  # the same dict printed by several ranks
                    continue
                previous = text
                logs = _read_dict(text)
                if "train_runtime" in logs:
                    meta.notes.append(
                        f"run summary: train_loss {logs.get('train_loss', NAN):g} (mean over the whole run)"
                    )
                    summary_step = max(summary_step, key_step(logs))
                    rows.add(SUMMARY, NAN, logs, number, windows, None, bars.recent())
                elif "loss" in logs:
                    windows = bars.windows = windows + 1
                    epoch = logs.get("epoch", epoch)
                    rows.add(TRAIN, logs["loss"], logs, number, windows, beside, [])
                    seen_dict = True
                elif "eval_loss" in logs:
                    rows.add(EVAL, logs["eval_loss"], logs, number, windows, None, bars.recent())
                    seen_dict = True
            beside = bars.scan(piece, start, len(piece), seen_dict) or beside

    resolved = resolve(rows, bars, header, meta.notes)
    by_epoch = resolved is None and _logged_once_per_epoch(rows)
    for i in range(len(rows)):
        step = resolved.steps[i] if resolved else round(rows.epoch[i]) if by_epoch else rows.window[i]
        if rows.kind[i] == TRAIN:
            lr = rows.lr[i]
            meta.lr_logged = meta.lr_logged or lr == lr
            table.add_iter(step, rows.value[i], rows.line[i], lr=lr, grad_norm=rows.grad_norm[i])
        elif rows.kind[i] == EVAL:
            table.add_eval(step, NAN, rows.value[i], rows.line[i])
    if len(ranks) > 1:
        meta.world_size = len(ranks)
        meta.notes.append(f"{len(ranks)} launcher rank labels seen (tasks, maybe nodes, not GPUs)")
    at_last = f"; epoch {epoch:g} at the last window" if epoch == epoch else ""
    if epoch == epoch and epoch > 0:
        meta.epochs = epoch
    if resolved:
        meta.notes.append(resolved.note + at_last)
        meta.max_iters = resolved.total
        last_row = max(
            (resolved.steps[i] for i in range(len(rows)) if rows.kind[i] != SUMMARY), default=NO_STEP
        )
        bar_end = bars.count.get(resolved.total, NO_STEP) if resolved.total else NO_STEP
        if max(bar_end, summary_step) > last_row:
            meta.last_step = max(bar_end, summary_step)
            where = (
                "the run summary's 'step'"
                if summary_step >= bar_end
                else f"the progress bar's last count, of {resolved.total:,}"
            )
            meta.notes.append(
                f"training reached step {max(bar_end, summary_step):,} ({where}); "
                f"the last logged row is at step {last_row:,}"
            )
    elif by_epoch:
        meta.notes.append("no step is printed and the Trainer logged once per epoch: iter is the epoch")
    elif windows:
        meta.notes.append("no step is printed: iter is the logging-window index" + at_last)
    return table.build(number)


def _logged_once_per_epoch(rows: Rows) -> bool:
    """Every tabled dict carries a whole epoch (logging_strategy="epoch"), train ones rising: the
    epoch is then a truer x than the window count, which a missing train dict would shift."""
    epochs = [rows.epoch[i] for i in range(len(rows)) if rows.kind[i] != SUMMARY]
    train = [rows.epoch[i] for i in range(len(rows)) if rows.kind[i] == TRAIN]
    return (
        bool(train)
        and all(math.isfinite(e) and e >= 1 and abs(e - round(e)) < 1e-6 and e < MAX_STEP for e in epochs)
        and all(b > a for a, b in zip(train, train[1:], strict=False))
    )


def _read_dict(text: str) -> dict[str, float]:
    """A printed logs dict as floats. literal_eval handles numbers and quoted numbers; `nan`,
    `inf` or `tensor(...)` values make it fail, and then a key/value regex reads the pairs."""
    try:
        with warnings.catch_warnings():  # `1if`, "\d": no SyntaxWarning on stderr
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            value = ast.literal_eval(text)
        items = value.items() if isinstance(value, dict) else ()
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        items = (
            (m.group(1), m.group(2) if m.group(2) is not None else m.group(3)) for m in PAIR_RE.finditer(text)
        )
    return {str(k): _number(v) for k, v in items}


def _number(value: object) -> float:
    if isinstance(value, bool):
        return NAN
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # a 400-digit integer: as large as a float gets
            return math.inf if value > 0 else -math.inf
    return to_float(str(value).strip())


# -- trainer_state.json -------------------------------------------------------------------------
def _parse_state(lines: list[str]) -> ParsedLog:
    return _table_state(*_loads("\n".join(lines)), len(lines))


def _loads(text: str) -> tuple[object, str]:
    """The decoded document and ''; or None and the note saying why it could not be decoded."""
    try:
        return json.loads(text), ""
    except RecursionError:
        return None, "trainer_state.json is nested too deeply to read; nothing tabled"
    except ValueError as exc:
        return None, f"trainer_state.json is not valid JSON ({exc}); nothing tabled"


def _table_state(state: object, unreadable: str, n_lines: int) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    meta.loss_kind = "window_mean"
    if unreadable:
        meta.notes.append(unreadable)
        return table.build(n_lines)
    history = state.get("log_history", []) if isinstance(state, dict) else []
    if not isinstance(history, list):
        meta.notes.append("trainer_state.json: log_history is not a list; nothing tabled")
        history = []
    bulk = _bulk_history(history, table)
    skipped, last_row = bulk if bulk is not None else (0, NO_STEP)
    for entry in history if bulk is None else ():
        if not isinstance(entry, dict) or "train_runtime" in entry or "step" not in entry:
            continue
        step = step_value(entry["step"])
        if step is None:
            skipped += 1
            continue
        if "loss" in entry or "eval_loss" in entry:
            last_row = max(last_row, step)
        if "loss" in entry:
            lr = _number(entry.get("learning_rate", NAN))
            meta.lr_logged = meta.lr_logged or lr == lr
            table.add_iter(
                step, _number(entry["loss"]), 0, lr=lr, grad_norm=_number(entry.get("grad_norm", NAN))
            )
        if "eval_loss" in entry:
            table.add_eval(step, NAN, _number(entry["eval_loss"]), 0)
    if skipped:
        meta.notes.append(f"trainer_state.json: {skipped} log_history entries without a usable step skipped")
    max_steps = state.get("max_steps") if isinstance(state, dict) else None
    if isinstance(max_steps, int) and not isinstance(max_steps, bool) and 0 < max_steps < MAX_STEP:
        meta.max_iters = max_steps
    meta.notes.append("trainer_state.json: steps are optimizer steps; rows have no log line (line 0)")
    reached = step_value(state.get("global_step")) if isinstance(state, dict) else None
    stopped = isinstance(state, dict) and _stop_flag(state)
    if reached is not None and reached > last_row >= 0:
        meta.last_step = reached
        meta.notes.append(_reached_note(reached, last_row, meta.max_iters, stopped))
    if reached is not None and stopped and (meta.max_iters is None or reached < meta.max_iters):
        meta.stopped_by_design = "should_training_stop (a callback, e.g. early stopping, ended it)"
    epoch = _number(state.get("epoch", NAN)) if isinstance(state, dict) else NAN
    if math.isfinite(epoch) and epoch > 0:
        meta.epochs = epoch
    return table.build(n_lines)


def _bulk_history(history: list, table: LossTableBuilder) -> tuple[int, int] | None:
    """The log_history loop below, for the usual history, in bulk: every step a plain int in
    range and every loss, learning_rate and grad_norm a plain number. The loss rows go to the
    table in numpy blocks (add_iter_block: add_iter's rules), each eval row in its place between
    them. (0 skipped, the last step with a row); None, with nothing added, for any other history
    (the loop reads it entry by entry).

    One pass reads each entry's fields: json.loads leaves a million dicts scattered in memory,
    and a comprehension per field walked all of them again (0.74 s against 0.60 s of CPU for a
    million entries; map() with itemgetter per field was no faster)."""
    import numpy as np

    steps: list = []  # of every tabled entry: all must be plain ints
    loss_steps: list = []  # the steps of the entries with a loss
    loss: list = []
    lr: list = []
    grad_norm: list = []
    evals: list[tuple[int, dict]] = []  # (loss rows up to and including it, the entry)
    for entry in history:
        if not isinstance(entry, dict) or "train_runtime" in entry or "step" not in entry:
            continue
        step = entry["step"]
        steps.append(step)
        if "loss" in entry:
            loss_steps.append(step)
            loss.append(entry["loss"])
            lr.append(entry.get("learning_rate", NAN))
            grad_norm.append(entry.get("grad_norm", NAN))
        if "eval_loss" in entry:
            evals.append((len(loss), entry))
    if not set(map(type, steps)) <= {int} or any(
        not 0 <= s < MAX_STEP for s in (min(steps, default=0), max(steps, default=0))
    ):
        return None
    columns = (loss, lr, grad_norm)
    if not all(set(map(type, values)) <= {float, int} for values in columns):
        return None  # bools, strings, None, nested values: _number reads each
    try:
        loss, lr, grad_norm = (np.array(values, dtype=np.float64) for values in columns)
    except OverflowError:  # an int beyond a float's range: _number makes it inf
        return None
    iters = np.array(loss_steps, dtype=np.int64)
    table.reserve_iters(len(iters))  # the columns are allocated once, never copied to grow
    table.meta.lr_logged = table.meta.lr_logged or bool((lr == lr).any())
    done = 0  # loss rows added so far
    last_row = NO_STEP
    for upto, entry in evals:
        _add_iters(table, iters[done:upto], loss[done:upto], lr[done:upto], grad_norm[done:upto])
        done = upto
        table.add_eval(entry["step"], NAN, _number(entry["eval_loss"]), 0)
        last_row = max(last_row, entry["step"])
    _add_iters(table, iters[done:], loss[done:], lr[done:], grad_norm[done:])
    if len(iters):
        last_row = max(last_row, int(iters.max()))
    return 0, last_row


def _add_iters(table: LossTableBuilder, iters, loss, lr, grad_norm) -> None:
    # line 0: no log line (one repeated number, which the table keeps without a row each)
    table.add_iter_block(iters, loss, 0, time_ms=NAN, mfu=NAN, lr=lr, grad_norm=grad_norm)


def _stop_flag(state: dict) -> bool:
    """stateful_callbacks.TrainerControl.args.should_training_stop, read defensively."""
    control = state.get("stateful_callbacks")
    for key in ("TrainerControl", "args", "should_training_stop"):
        control = control.get(key) if isinstance(control, dict) else None
    return control is True


def _reached_note(reached: int, last_row: int, max_iters: int | None, stopped: bool) -> str:
    """Training went on past its last logged row (a finished run logs every logging_steps, and
    max_steps is seldom a multiple): say where it got to, so no one reads the last row as the end."""
    if max_iters is not None and reached >= max_iters:
        where = f"reached max_steps ({reached:,}): the run finished"
    elif stopped:
        where = f"stopped at step {reached:,} by its own decision (should_training_stop, e.g. early stopping)"
    else:
        where = f"reached step {reached:,}"
    return f"trainer_state.json: training {where}; the last logged row is at step {last_row:,}"
