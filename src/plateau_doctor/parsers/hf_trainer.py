"""HuggingFace Trainer: the dicts it prints on stdout, or its trainer_state.json.

Stdout lines (Python reprs; the newest transformers quote every value as a string):
    {'loss': 2.708, 'grad_norm': 2.515, 'learning_rate': 4.64e-05, 'epoch': 0.07}         train window
    {'loss': '2.708', 'grad_norm': '2.515', 'learning_rate': '4.648e-05', 'epoch': '0.07'}
    {'eval_loss': 1.4676, 'eval_runtime': 42.26, ..., 'epoch': 4.0}                       eval
    {'train_runtime': 12657.8, ..., 'train_loss': 1.7589, 'epoch': 12.0}                  run summary
They may follow a tqdm bar on the same line, carry `0: ` rank prefixes, or hold `nan`/`tensor(...)`
values, which ast.literal_eval refuses; a key/value regex reads those.

iter (and an eval's step) is the optimizer step, from the best evidence the log holds:
  1. the dict's own `'step'` (or `'global_step'`) key, which custom callbacks print;
  2. the training progress bar's count on the dict's own physical line, before it
     (`  5%|▍ | 10/204 [00:19<05:50, 1.94s/it]{'loss': ...}`: Trainer writes the dict beside the
     bar it has just moved to the logging step; a count repeated for the next dict is stale);
  3. for a train dict with neither, its `epoch` interpolated between the rows whose step is known
     (epoch is proportional to the optimizer step, and step 0 is epoch 0). A bar on a line of its
     own is not read for a train dict: in pasted or notebook output it is a later snapshot (06:
     `17% 34/204` follows the dicts of steps 10, 20 and 30, and precedes those of 40, 50, 60);
  4. with none of those anywhere, window index x `logging_steps=N` when TrainingArguments print
     it (not with logging_first_step, epoch logging or a resumed run).
An eval (and the run summary, which is not tabled but places the rows before it) takes the
training bar's latest count read since the last train dict (the bar stands still while evaluating;
the eval bar is another bar), if it lies between the train rows around it, else the step of the
train row before it: an eval logged at the step of a train dict gets that step.
Which steps to believe is decided once the whole log is read, so a log never mixes steps with
window indices. Bar counts that disagree with the epochs (stdout flushed in bursts beside a later
bar) are not read; train dicts that cannot be placed, or whose inferred steps do not increase, send
the whole log back to window indices (1, 2, 3, ...), as a note says; an eval then gets the number
of windows logged before it (0 if it comes first).

The training bar is the one whose total is `Total optimization steps = N`; without that header,
the bar beside most train dicts, else the only bar without a description that is read after the
first dict and never starts again from 0 (eval bars do at each eval; `Map:`, `Loading weights:`
bars have descriptions). Its total is max_steps: meta.max_iters, set only when iters are steps (a
window index against a step count would read as a run stopped at 1%). When the bar or the run
summary's step went past the last logged row (max_steps is seldom a multiple of logging_steps), a
note says so.

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
import re
import warnings
from array import array
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
# `logging_steps=10,` (TrainingArguments repr), `Logging steps = 10`, `logging_steps: 10`
LOGGING_STEPS_RE = re.compile(r"\blogging[_ ]steps\s*[=:]\s*(\d{1,15})(?:\.0*)?(?![\d.eE])", re.IGNORECASE)
LOGGING_OFF_RE = re.compile(r"\blogging_first_step\s*[=:]\s*True\b|\blogging_strategy\s*[=:]\s*"
                            r"['\"]?(?:IntervalStrategy\.)?(?:epoch|no)\b", re.IGNORECASE)
RESUME_RE = re.compile(r"Continuing training from (?:checkpoint|global step)")
# a tqdm bar's `count/total [elapsed<`: `34/204 [01:03<05:30, 1.94s/it]`
BAR_RE = re.compile(r"(\d{1,18})/(\d{1,18}) \[[\d:]{4,12}<")
STEP_KEYS = ("step", "global_step")
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
TRAIN, EVAL, SUMMARY = 1, 0, 2     # a summary row is not tabled: its step only places others
NO_STEP = -1
# where a row's step came from
UNKNOWN, FROM_KEY, FROM_BAR, FROM_EPOCH, FROM_LOGGING_STEPS = range(5)
RECENT_BARS = 4         # bar totals an eval remembers the latest count of
MAX_BAR_TOTALS = 64     # distinct bar totals followed (garbage could print millions)
RESTARTED, DESCRIBED, AFTER_DICT = 1, 2, 4


class _Header:
    """What the Trainer's header and TrainingArguments say about steps."""

    def __init__(self) -> None:
        self.totals: list[int] = []          # `Total optimization steps = N`, in log order
        self.logging_steps: int | None = None
        self.logging_off = False             # logging_first_step / epoch logging: N is no period
        self.resumed = False

    def read(self, line: str, meta) -> None:
        m = PARAMS_RE.search(line)
        if m:
            meta.n_params = float(m.group(1).replace(",", ""))
        m = TOTAL_STEPS_RE.search(line)
        if m:
            meta.notes.append(f"Trainer planned {m.group(1)} optimization steps")
            total = int(m.group(1).replace(",", ""))
            if 0 < total < MAX_STEP:
                self.totals.append(total)
        m = LOGGING_STEPS_RE.search(line)
        if m and 0 < int(m.group(1)) < MAX_STEP:
            self.logging_steps = int(m.group(1))
        if LOGGING_OFF_RE.search(line):
            self.logging_off = True
        if RESUME_RE.search(line):
            self.resumed = True


class _Bars:
    """The tqdm bars seen so far: the latest count of each total (most recent last), how many
    train dicts had been logged when it was read, and flags saying whether a total's count ever
    went back (an eval bar, started again at each eval), carried a description (`Map: 100%|...`,
    `Tokenizing ...: 100% ...`) or was read after the first dict."""

    def __init__(self) -> None:
        self.count: dict[int, int] = {}
        self.flags: dict[int, int] = {}
        self.stamp: dict[int, int] = {}
        self.windows = 0                         # train dicts logged so far

    def scan(self, text: str, start: int, end: int, after_dict: bool) -> tuple[int, int] | None:
        """Read the bars in text[start:end]; the last one as (count, total), or None."""
        last = None
        if end - start < 12 or text.find(" [", start, end) < 0:
            return None
        for m in BAR_RE.finditer(text, start, end):
            at = m.start()
            if at and (text[at - 1].isalnum() or text[at - 1] in "._"):   # part of a longer word
                continue
            count, total = int(m.group(1)), int(m.group(2))
            if not (count <= total < MAX_STEP and total):
                continue
            flags = self.flags.get(total)
            if flags is None:                    # a new bar: has it a description?
                if len(self.flags) >= MAX_BAR_TOTALS:
                    continue
                flags = DESCRIBED if _described(text, at) else 0
            else:
                if count < self.count[total]:
                    flags |= RESTARTED
                del self.count[total]            # re-inserted last: most recent
            if after_dict:
                flags |= AFTER_DICT
            self.count[total] = count
            self.flags[total] = flags
            self.stamp[total] = self.windows
            last = (count, total)
        return last

    def recent(self) -> list[tuple[int, int]]:
        """(total, latest count) of the most recently moved bars read since the last train dict,
        newest first (an older count says nothing the train row before does not)."""
        fresh = ((t, c) for t, c in reversed(self.count.items()) if self.stamp[t] == self.windows)
        return list(itertools.islice(fresh, RECENT_BARS))

    def training_total(self) -> int | None:
        """Without a header or a bar beside a dict: the only bar without a description that was
        read after the first dict and never started again from 0."""
        found = [t for t, f in self.flags.items() if f & (RESTARTED | DESCRIBED | AFTER_DICT) == AFTER_DICT]
        return found[0] if len(found) == 1 else None


def _described(text: str, at: int) -> bool:
    """Does the bar whose count starts at `at` have a description (`Map: 100%|`)? HF's training
    and eval bars have none; the datasets and model-loading bars do."""
    pct = text.rfind("%", max(0, at - 400), at)
    if pct < 0:
        return False
    before = text[max(0, pct - 60):pct].rstrip("0123456789 ")
    return before.endswith(":") and any(c.isalpha() for c in before)


class _Rows:
    """The logged dicts in log order, held until the log ends: which number is a row's step can
    only be decided then (the training bar's total, say, may be learnt last). Typed arrays: a few
    numbers a row, no Python object per row."""

    def __init__(self) -> None:
        self.kind = array("b")
        self.value = array("d")        # loss, or eval_loss
        self.lr = array("d")
        self.grad_norm = array("d")
        self.epoch = array("d")
        self.line = array("q")
        self.window = array("q")       # train: its window index; eval: windows logged before it
        self.key = array("q")          # the dict's own step, NO_STEP if none
        self.bar = array("q")          # train: the bar beside it (count, total), NO_STEP if none
        self.bar_total = array("q")
        self.recent = array("q")       # evals, summaries: RECENT_BARS (total, count) pairs each

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, kind: int, value: float, logs: dict[str, float], line: int, window: int,
            bar: tuple[int, int] | None, recent: list[tuple[int, int]]) -> None:
        self.kind.append(kind)
        self.value.append(value)
        self.lr.append(logs.get("learning_rate", NAN) if kind == TRAIN else NAN)
        self.grad_norm.append(logs.get("grad_norm", NAN) if kind == TRAIN else NAN)
        self.epoch.append(logs.get("epoch", NAN))
        self.line.append(line)
        self.window.append(window)
        self.key.append(_key_step(logs))
        self.bar.append(bar[0] if bar and kind == TRAIN else NO_STEP)
        self.bar_total.append(bar[1] if bar and kind == TRAIN else NO_STEP)
        if kind != TRAIN:
            pairs = [x for pair in recent for x in pair]
            self.recent.extend(pairs + [NO_STEP] * (2 * RECENT_BARS - len(pairs)))


def _key_step(logs: dict[str, float]) -> int:
    """The dict's own optimizer step ('step', else 'global_step'), NO_STEP if absent or unusable."""
    for key in STEP_KEYS:
        if key in logs:
            step = _step(logs[key])
            if step is not None:
                return step
    return NO_STEP


def _parse_stdout(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME)
    meta = table.meta
    meta.loss_kind = "window_mean"
    header = _Header()
    bars = _Bars()
    rows = _Rows()
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
        beside = None          # the last bar on this physical line so far
        for piece in pieces(raw):
            start = 0
            for match in DICT_RE.finditer(piece):
                beside = bars.scan(piece, start, match.start(), seen_dict) or beside
                start = match.end()
                text = match.group()
                if text == previous:     # the same dict printed by several ranks
                    continue
                previous = text
                logs = _read_dict(text)
                if "train_runtime" in logs:
                    meta.notes.append(f"run summary: train_loss {logs.get('train_loss', NAN):g} "
                                      "(mean over the whole run)")
                    summary_step = max(summary_step, _key_step(logs))
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

    resolved = _resolve(rows, bars, header, meta.notes)
    for i in range(len(rows)):
        step = resolved.steps[i] if resolved else rows.window[i]
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
    if resolved:
        meta.notes.append(resolved.note + at_last)
        meta.max_iters = resolved.total
        last_row = max((resolved.steps[i] for i in range(len(rows)) if rows.kind[i] != SUMMARY),
                       default=NO_STEP)
        bar_end = bars.count.get(resolved.total, NO_STEP) if resolved.total else NO_STEP
        if max(bar_end, summary_step) > last_row:
            where = ("the run summary's 'step'" if summary_step >= bar_end
                     else f"the progress bar's last count, of {resolved.total:,}")
            meta.notes.append(f"training reached step {max(bar_end, summary_step):,} ({where}); "
                              f"the last logged row is at step {last_row:,}")
    elif windows:
        meta.notes.append("no step is printed: iter is the logging-window index" + at_last)
    return table.build(number)


class _Steps:
    """The optimizer step of every row, where they came from, and the training bar's total."""

    def __init__(self, steps: array, note: str, total: int | None) -> None:
        self.steps, self.note, self.total = steps, note, total


def _resolve(rows: _Rows, bars: _Bars, header: _Header, notes: list[str]) -> _Steps | None:
    """Each row's optimizer step, or None when the log gives no usable evidence of them (then
    iter is the window index). Evidence that contradicts itself is dropped with a note."""
    n = len(rows)
    total = _training_total(rows, bars, header)
    totals = set(header.totals) if header.totals else ({total} if total is not None else set())
    steps = array("q", [NO_STEP]) * n
    source = bytearray(n)
    last_bar = NO_STEP
    e = 0
    for i in range(n):
        if rows.key[i] != NO_STEP:
            steps[i], source[i] = rows.key[i], FROM_KEY
        elif rows.kind[i] == TRAIN:
            if rows.bar[i] != NO_STEP and rows.bar_total[i] in totals:
                if rows.bar[i] != last_bar:              # the same count again: a stale bar
                    steps[i], source[i] = rows.bar[i], FROM_BAR
                last_bar = rows.bar[i]
        else:
            for k in range(0, 2 * RECENT_BARS, 2):
                if rows.recent[e + k] in totals:
                    steps[i], source[i] = rows.recent[e + k + 1], FROM_BAR
                    break
        if rows.kind[i] != TRAIN:
            e += 2 * RECENT_BARS
    bar_points = [(rows.epoch[i], steps[i]) for i in range(n) if source[i] == FROM_BAR]
    if bar_points and not _proportional(bar_points):
        notes.append("progress-bar counts disagree with the logged epochs (stdout flushed in "
                     "bursts?): not read as steps")
        for i in range(n):
            if source[i] == FROM_BAR:
                steps[i], source[i] = NO_STEP, UNKNOWN
    if not any(source) and not _by_logging_steps(rows, steps, source, header, notes):
        return None
    failure = _interpolate(rows, steps, source) or _place_evals(rows, steps, source)
    if failure:
        notes.append(f"{failure}: steps not used")
        return None
    counts = [0] * 5
    for i in range(n):
        if rows.kind[i] == TRAIN:
            counts[source[i]] += 1
    parts = [f"{counts[FROM_KEY]} from the dicts' 'step'" if counts[FROM_KEY] else "",
             f"{counts[FROM_BAR]} read off the progress bar beside the dict" if counts[FROM_BAR] else "",
             f"{counts[FROM_EPOCH]} interpolated from the epoch (approximate)" if counts[FROM_EPOCH] else "",
             f"window index x logging_steps {header.logging_steps}" if counts[FROM_LOGGING_STEPS] else ""]
    note = "iter is the optimizer step: " + ", ".join(p for p in parts if p)
    return _Steps(steps, note if any(parts) else "eval steps are optimizer steps (no train dicts)", total)


def _training_total(rows: _Rows, bars: _Bars, header: _Header) -> int | None:
    """The training bar's total (HF's is max_steps): the header's `Total optimization steps`,
    else the total of the bar beside most train dicts, else the one bar that looks like it."""
    if header.totals:
        return header.totals[-1]
    beside: dict[int, int] = {}
    for i in range(len(rows)):
        if rows.bar_total[i] != NO_STEP:
            beside[rows.bar_total[i]] = beside.get(rows.bar_total[i], 0) + 1
    if beside:
        return max(beside, key=lambda t: (beside[t], t))
    return bars.training_total()


def _by_logging_steps(rows: _Rows, steps: array, source: bytearray, header: _Header,
                      notes: list[str]) -> bool:
    """No step, bar or usable bar anywhere: train steps are window x logging_steps when the log
    printed it and nothing says the windows are not that period (logging_first_step, epoch
    logging, a resumed run)."""
    period = header.logging_steps
    if period is None or header.logging_off or header.resumed:
        return False
    for i in range(len(rows)):
        if rows.kind[i] == TRAIN:
            step = rows.window[i] * period
            if step >= MAX_STEP:
                return False
            steps[i], source[i] = step, FROM_LOGGING_STEPS
    if not any(source):
        return False
    if not _proportional([(rows.epoch[i], steps[i]) for i in range(len(rows)) if source[i]]):
        notes.append(f"logging_steps = {period} disagrees with the logged epochs: not used")
        return False
    return True


def _quantum(value: float) -> float:
    """Half a unit of the last printed digit of an epoch (0.07 -> 0.005): its rounding error."""
    mantissa, _, exponent = repr(value).partition("e")
    decimals = len(mantissa.partition(".")[2])
    try:
        return 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    except OverflowError:
        return math.inf


def _proportional(points: list[tuple[float, int]]) -> bool:
    """Is there one number of steps per epoch that every (epoch, step) agrees with, allowing for
    the epoch's printed rounding and a bar a few steps behind? Points without an epoch say nothing."""
    low, high = 0.0, math.inf
    for epoch, step in points:
        if not (math.isfinite(epoch) and epoch >= 0):
            continue
        quantum, slack = _quantum(epoch), 2 + 0.02 * step
        low = max(low, (step - slack) / (epoch + quantum))
        if epoch - quantum > 0:
            high = min(high, (step + slack) / (epoch - quantum))
    return low <= high


def _interpolate(rows: _Rows, steps: array, source: bytearray) -> str:
    """Give each train row without a step one interpolated from its epoch between the rows with
    a step around it (step 0 is epoch 0; past the last, that row's steps per epoch). Returns why
    it could not, or ''."""
    n = len(rows)
    epoch = rows.epoch

    def usable(i: int) -> bool:
        return bool(source[i]) and math.isfinite(epoch[i]) and epoch[i] >= 0

    following = array("q", [NO_STEP]) * n          # the next row with a step and an epoch
    ref = nxt = NO_STEP                             # ref: the one with the largest epoch
    for i in range(n - 1, -1, -1):
        following[i] = nxt
        if usable(i):
            nxt = i
            if ref == NO_STEP or epoch[i] > epoch[ref]:
                ref = i
    before = NO_STEP
    for i in range(n):
        if source[i] or rows.kind[i] != TRAIN:
            if usable(i):
                before = i
            continue
        if not (math.isfinite(epoch[i]) and epoch[i] >= 0) or ref == NO_STEP:
            return "a train dict without a step has no epoch to place it by"
        lo_e, lo_s = (epoch[before], steps[before]) if before != NO_STEP else (0.0, 0)
        if lo_e > epoch[i]:                  # a new run started: count from its beginning
            lo_e, lo_s = 0.0, 0
        after = following[i]
        if after != NO_STEP and epoch[after] >= epoch[i] and epoch[after] > lo_e and steps[after] >= lo_s:
            step = lo_s + (epoch[i] - lo_e) * (steps[after] - lo_s) / (epoch[after] - lo_e)
        elif epoch[ref] > 0:
            step = lo_s + (epoch[i] - lo_e) * steps[ref] / epoch[ref]
        else:
            return "a train dict without a step has no epoch to place it by"
        if not (math.isfinite(step) and 0 <= step < MAX_STEP):
            return "an interpolated step is out of range"
        steps[i], source[i] = round(step), FROM_EPOCH
    return ""


def _place_evals(rows: _Rows, steps: array, source: bytearray) -> str:
    """An eval without its own step takes the bar's count before it if that lies between the
    train rows around it, else the step of the train row before it (0 if none). Then check that
    inferred train steps increase (a step read off a key or a bar may go back: a new run).
    Returns what is wrong, or ''."""
    n = len(rows)
    next_train = array("q", [NO_STEP]) * n
    j = NO_STEP
    for i in range(n - 1, -1, -1):
        next_train[i] = j
        if rows.kind[i] == TRAIN:
            j = steps[i]
    inferred = (FROM_EPOCH, FROM_LOGGING_STEPS)
    prev_train, prev_source, prev_epoch = NO_STEP, UNKNOWN, NAN
    for i in range(n):
        if rows.kind[i] == SUMMARY:
            continue
        if rows.kind[i] == EVAL:
            if source[i] != FROM_KEY:
                count = steps[i] if source[i] == FROM_BAR else NO_STEP
                floor = max(prev_train, 0)
                ceiling = next_train[i] if next_train[i] != NO_STEP else MAX_STEP
                steps[i] = count if floor <= count <= ceiling else floor
            continue
        if (prev_train != NO_STEP and (source[i] in inferred or prev_source in inferred)
                and not rows.epoch[i] < prev_epoch and steps[i] <= prev_train):
            return "the steps inferred for the dicts do not increase"
        prev_train, prev_source, prev_epoch = steps[i], source[i], rows.epoch[i]
    return ""


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
    """A step: a whole number (int, or a float like 10.0) in range, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value < MAX_STEP else None


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
    last_row = NO_STEP
    for entry in history:
        if not isinstance(entry, dict) or "train_runtime" in entry or "step" not in entry:
            continue
        step = _step(entry["step"])
        if step is None:
            skipped += 1
            continue
        if "loss" in entry or "eval_loss" in entry:
            last_row = max(last_row, step)
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
    reached = _step(state.get("global_step")) if isinstance(state, dict) else None
    if reached is not None and reached > last_row >= 0:
        meta.notes.append(_reached_note(reached, last_row, meta.max_iters, _stop_flag(state)))
    return table.build(len(lines))


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
