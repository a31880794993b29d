"""HuggingFace Trainer: the dicts it prints on stdout, or its trainer_state.json.

Stdout lines (Python reprs; the newest transformers quote every value as a string):
    {'loss': 2.708, 'grad_norm': 2.515, 'learning_rate': 4.64e-05, 'epoch': 0.07}         train window
    {'loss': '2.708', 'grad_norm': '2.515', 'learning_rate': '4.648e-05', 'epoch': '0.07'}
    {'eval_loss': 1.4676, 'eval_runtime': 42.26, ..., 'epoch': 4.0}                       eval
    {'train_runtime': 12657.8, ..., 'train_loss': 1.7589, 'epoch': 12.0}                  run summary
They may follow a tqdm bar on the same line, carry `0: ` rank prefixes, or hold `nan`/`tensor(...)`
values, which ast.literal_eval refuses; a key/value regex reads those.

Stdout has no step number. iter is the index of the logging window (1, 2, 3, ...): the only
integer that is always right (optimizer step = window x logging_steps, and logging_steps is not
printed). An eval gets the number of windows logged before it, so it lines up with the train row it
follows (0 if it comes first). The epoch of the last window goes to a note. loss is the mean over
the logging window (loss_kind "window_mean"); learning_rate -> lr, grad_norm -> grad_norm. The
summary dict's train_loss is a whole-run mean, not a window: it goes to a note only.

trainer_state.json (detected by its `"log_history"` key) does carry the real optimizer `step`:
there iter and eval step are that step, and max_iters is `max_steps`.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import re
import warnings
from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, clean_line, pieces, to_float
from .table import LossTableBuilder

NAME = "hf_trainer"

DICT_RE = re.compile(r"\{'[^{}]*\}")
PAIR_RE = re.compile(r"'([^']+)':\s*(?:'([^']*)'|(?:tensor\()?([^,}()]+))")
RANK_RE = re.compile(r"^\s*(?:\[rank(\d+)\]:|(\d{1,4}):\s)")
PARAMS_RE = re.compile(r"Number of trainable parameters = (\d[\d,]{0,23})\b")
TOTAL_STEPS_RE = re.compile(r"Total optimization steps = (\d[\d,]{0,23})\b")
MAX_STEP = 2 ** 53      # larger "steps" are corruption: they would not fit the int64 table


def sniff(lines: list[str]) -> int:
    """Count printed loss/eval_loss dicts, or the loss entries of a trainer_state.json."""
    if any('"log_history"' in line for line in lines):
        return sum(line.count('"loss":') + line.count('"eval_loss":') for line in lines)
    hits = 0
    for raw in lines:
        if "{'" not in raw:
            continue
        for text in DICT_RE.findall(raw):
            if "'loss':" in text or "'eval_loss':" in text:
                hits += 1
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    iterator = iter(lines)
    head: list[str] = []
    for raw in iterator:      # the first non-blank line tells a JSON document from a stdout log
        head.append(raw)
        if raw.strip():
            break
    first = head[-1].strip() if head else ""
    if first == "{" or first.startswith('{"'):
        return _parse_state([*head, *iterator])
    return _parse_stdout(itertools.chain(head, iterator))


# -- stdout -------------------------------------------------------------------------------------
def _parse_stdout(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME)
    meta = table.meta
    meta.loss_kind = "window_mean"
    windows = 0
    epoch = NAN
    ranks: set[str] = set()
    previous = ""
    number = 0
    for number, raw in enumerate(lines, start=1):
        m = RANK_RE.match(raw)
        if m:
            ranks.add(m.group(1) or m.group(2))
        if "{'" not in raw:
            _header_line(clean_line(raw), meta)
            continue
        for piece in pieces(raw):
            for text in DICT_RE.findall(piece):
                if text == previous:     # the same dict printed by several ranks
                    continue
                previous = text
                logs = _read_dict(text)
                if "train_runtime" in logs:
                    meta.notes.append(f"run summary: train_loss {logs.get('train_loss', NAN):g} "
                                      "(mean over the whole run)")
                elif "loss" in logs:
                    windows += 1
                    epoch = logs.get("epoch", epoch)
                    lr = logs.get("learning_rate", NAN)
                    meta.lr_logged = meta.lr_logged or lr == lr
                    table.add_iter(windows, logs["loss"], number, lr=lr,
                                   grad_norm=logs.get("grad_norm", NAN))
                elif "eval_loss" in logs:
                    table.add_eval(windows, NAN, logs["eval_loss"], number)
    if len(ranks) > 1:
        meta.world_size = len(ranks)
        meta.notes.append(f"{len(ranks)} launcher rank labels seen (tasks, maybe nodes, not GPUs)")
    if windows:
        meta.notes.append("no step is printed: iter is the logging-window index"
                          + (f"; epoch {epoch:g} at the last window" if epoch == epoch else ""))
    return table.build(number)


def _read_dict(text: str) -> dict[str, float]:
    """A printed logs dict as floats. literal_eval handles numbers and quoted numbers; `nan`,
    `inf` or `tensor(...)` values make it fail, and then a key/value regex reads the pairs."""
    try:
        with warnings.catch_warnings():     # `1if`, "\d": no SyntaxWarning on stderr
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            value = ast.literal_eval(text)
        items = value.items() if isinstance(value, dict) else ()
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        items = ((m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
                 for m in PAIR_RE.finditer(text))
    return {str(k): _number(v) for k, v in items}


def _number(value: object) -> float:
    if isinstance(value, bool):
        return NAN
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:   # a 400-digit integer: as large as a float gets
            return math.inf if value > 0 else -math.inf
    return to_float(str(value).strip())


def _step(value: object) -> int | None:
    """A trainer_state.json step: a whole number (int, or a float like 10.0) in range, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value < MAX_STEP else None


def _header_line(line: str, meta) -> None:
    m = PARAMS_RE.search(line)
    if m:
        meta.n_params = float(m.group(1).replace(",", ""))
        return
    m = TOTAL_STEPS_RE.search(line)
    if m:
        meta.notes.append(f"Trainer planned {m.group(1)} optimization steps")


# -- trainer_state.json -------------------------------------------------------------------------
def _parse_state(lines: list[str]) -> ParsedLog:
    table = LossTableBuilder(NAME)
    meta = table.meta
    meta.loss_kind = "window_mean"
    try:
        state = json.loads("\n".join(lines))
    except RecursionError:
        meta.notes.append("trainer_state.json is nested too deeply to read; nothing tabled")
        return table.build(len(lines))
    except ValueError as exc:
        meta.notes.append(f"trainer_state.json is not valid JSON ({exc}); nothing tabled")
        return table.build(len(lines))
    history = state.get("log_history", []) if isinstance(state, dict) else []
    if not isinstance(history, list):
        meta.notes.append("trainer_state.json: log_history is not a list; nothing tabled")
        history = []
    skipped = 0
    for entry in history:
        if not isinstance(entry, dict) or "train_runtime" in entry or "step" not in entry:
            continue
        step = _step(entry["step"])
        if step is None:
            skipped += 1
            continue
        if "loss" in entry:
            lr = _number(entry.get("learning_rate", NAN))
            meta.lr_logged = meta.lr_logged or lr == lr
            table.add_iter(step, _number(entry["loss"]), 0, lr=lr,
                           grad_norm=_number(entry.get("grad_norm", NAN)))
        if "eval_loss" in entry:
            table.add_eval(step, NAN, _number(entry["eval_loss"]), 0)
    if skipped:
        meta.notes.append(f"trainer_state.json: {skipped} log_history entries without a usable step skipped")
    max_steps = state.get("max_steps") if isinstance(state, dict) else None
    if isinstance(max_steps, int) and not isinstance(max_steps, bool) and 0 < max_steps < MAX_STEP:
        meta.max_iters = max_steps
    meta.notes.append("trainer_state.json: steps are optimizer steps; rows have no log line (line 0)")
    return table.build(len(lines))
