"""Which optimizer step each dict a HuggingFace Trainer printed belongs to.

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
"""

from __future__ import annotations

import itertools
import math
import re
from array import array

from .lines import NAN, LazyRegex

PARAMS_RE = LazyRegex(r"Number of trainable parameters = (\d[\d,]{0,23})\b")
TOTAL_STEPS_RE = LazyRegex(r"Total optimization steps = (\d[\d,]{0,23})\b")
# `logging_steps=10,` (TrainingArguments repr), `Logging steps = 10`, `logging_steps: 10`
LOGGING_STEPS_RE = LazyRegex(r"\blogging[_ ]steps\s*[=:]\s*(\d{1,15})(?:\.0*)?(?![\d.eE])", re.IGNORECASE)
LOGGING_OFF_RE = LazyRegex(
    r"\blogging_first_step\s*[=:]\s*True\b|\blogging_strategy\s*[=:]\s*"
    r"['\"]?(?:IntervalStrategy\.)?(?:epoch|no)\b",
    re.IGNORECASE,
)
RESUME_RE = LazyRegex(r"Continuing training from (?:checkpoint|global step)")
# a tqdm bar's `count/total [elapsed<`: `34/204 [01:03<05:30, 1.94s/it]`
BAR_RE = LazyRegex(r"(\d{1,18})/(\d{1,18}) \[[\d:]{4,12}<")
STEP_KEYS = ("step", "global_step")
MAX_STEP = 2**53  # larger "steps" are corruption: they would not fit the int64 table

TRAIN, EVAL, SUMMARY = 1, 0, 2  # a summary row is not tabled: its step only places others
NO_STEP = -1
# where a row's step came from
UNKNOWN, FROM_KEY, FROM_BAR, FROM_EPOCH, FROM_LOGGING_STEPS = range(5)
RECENT_BARS = 4  # bar totals an eval remembers the latest count of
MAX_BAR_TOTALS = 64  # distinct bar totals followed (garbage could print millions)
RESTARTED, DESCRIBED, AFTER_DICT = 1, 2, 4


class Header:
    """What the Trainer's header and TrainingArguments say about steps."""

    def __init__(self) -> None:
        self.totals: list[int] = []  # `Total optimization steps = N`, in log order
        self.logging_steps: int | None = None
        self.logging_off = False  # logging_first_step / epoch logging: N is no period
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


class Bars:
    """The tqdm bars seen so far: the latest count of each total (most recent last), how many
    train dicts had been logged when it was read, and flags saying whether a total's count ever
    went back (an eval bar, started again at each eval), carried a description (`Map: 100%|...`,
    `Tokenizing ...: 100% ...`) or was read after the first dict."""

    def __init__(self) -> None:
        self.count: dict[int, int] = {}
        self.flags: dict[int, int] = {}
        self.stamp: dict[int, int] = {}
        self.windows = 0  # train dicts logged so far

    def scan(self, text: str, start: int, end: int, after_dict: bool) -> tuple[int, int] | None:
        """Read the bars in text[start:end]; the last one as (count, total), or None."""
        last = None
        if end - start < 12 or text.find(" [", start, end) < 0:
            return None
        for m in BAR_RE.finditer(text, start, end):
            at = m.start()
            if at and (text[at - 1].isalnum() or text[at - 1] in "._"):  # part of a longer word
                continue
            count, total = int(m.group(1)), int(m.group(2))
            if not (count <= total < MAX_STEP and total):
                continue
            flags = self.flags.get(total)
            if flags is None:  # a new bar: has it a description?
                if len(self.flags) >= MAX_BAR_TOTALS:
                    continue
                flags = DESCRIBED if _described(text, at) else 0
            else:
                if count < self.count[total]:
                    flags |= RESTARTED
                del self.count[total]  # re-inserted last: most recent
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
    before = text[max(0, pct - 60) : pct].rstrip("0123456789 ")
    return before.endswith(":") and any(c.isalpha() for c in before)


class Rows:
    """The logged dicts in log order, held until the log ends: which number is a row's step can
    only be decided then (the training bar's total, say, may be learnt last). Typed arrays: a few
    numbers a row, no Python object per row."""

    def __init__(self) -> None:
        self.kind = array("b")
        self.value = array("d")  # loss, or eval_loss
        self.lr = array("d")
        self.grad_norm = array("d")
        self.epoch = array("d")
        self.line = array("q")
        self.window = array("q")  # train: its window index; eval: windows logged before it
        self.key = array("q")  # the dict's own step, NO_STEP if none
        self.bar = array("q")  # train: the bar beside it (count, total), NO_STEP if none
        self.bar_total = array("q")
        self.recent = array("q")  # evals, summaries: RECENT_BARS (total, count) pairs each

    def __len__(self) -> int:
        return len(self.kind)

    def add(
        self,
        kind: int,
        value: float,
        logs: dict[str, float],
        line: int,
        window: int,
        bar: tuple[int, int] | None,
        recent: list[tuple[int, int]],
    ) -> None:
        self.kind.append(kind)
        self.value.append(value)
        self.lr.append(logs.get("learning_rate", NAN) if kind == TRAIN else NAN)
        self.grad_norm.append(logs.get("grad_norm", NAN) if kind == TRAIN else NAN)
        self.epoch.append(logs.get("epoch", NAN))
        self.line.append(line)
        self.window.append(window)
        self.key.append(key_step(logs))
        self.bar.append(bar[0] if bar and kind == TRAIN else NO_STEP)
        self.bar_total.append(bar[1] if bar and kind == TRAIN else NO_STEP)
        if kind != TRAIN:
            pairs = [x for pair in recent for x in pair]
            self.recent.extend(pairs + [NO_STEP] * (2 * RECENT_BARS - len(pairs)))


def key_step(logs: dict[str, float]) -> int:
    """The dict's own optimizer step ('step', else 'global_step'), NO_STEP if absent or unusable."""
    for key in STEP_KEYS:
        if key in logs:
            step = step_value(logs[key])
            if step is not None:
                return step
    return NO_STEP


def step_value(value: object) -> int | None:
    """A step: a whole number (int, or a float like 10.0) in range, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value < MAX_STEP else None


class Steps:
    """The optimizer step of every row, where they came from, and the training bar's total."""

    def __init__(self, steps: array, note: str, total: int | None) -> None:
        self.steps, self.note, self.total = steps, note, total


def resolve(rows: Rows, bars: Bars, header: Header, notes: list[str]) -> Steps | None:
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
                if rows.bar[i] != last_bar:  # the same count again: a stale bar
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
        notes.append(
            "progress-bar counts disagree with the logged epochs (stdout flushed in "
            "bursts?): not read as steps"
        )
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
    parts = [
        f"{counts[FROM_KEY]} from the dicts' 'step'" if counts[FROM_KEY] else "",
        f"{counts[FROM_BAR]} read off the progress bar beside the dict" if counts[FROM_BAR] else "",
        f"{counts[FROM_EPOCH]} interpolated from the epoch (approximate)" if counts[FROM_EPOCH] else "",
        f"window index x logging_steps {header.logging_steps}" if counts[FROM_LOGGING_STEPS] else "",
    ]
    note = "iter is the optimizer step: " + ", ".join(p for p in parts if p)
    return Steps(steps, note if any(parts) else "eval steps are optimizer steps (no train dicts)", total)


def _training_total(rows: Rows, bars: Bars, header: Header) -> int | None:
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


def _by_logging_steps(rows: Rows, steps: array, source: bytearray, header: Header, notes: list[str]) -> bool:
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


def _interpolate(rows: Rows, steps: array, source: bytearray) -> str:
    """Give each train row without a step one interpolated from its epoch between the rows with
    a step around it (step 0 is epoch 0; past the last, that row's steps per epoch). Returns why
    it could not, or ''."""
    n = len(rows)
    epoch = rows.epoch

    def usable(i: int) -> bool:
        return bool(source[i]) and math.isfinite(epoch[i]) and epoch[i] >= 0

    following = array("q", [NO_STEP]) * n  # the next row with a step and an epoch
    ref = nxt = NO_STEP  # ref: the one with the largest epoch
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
        if lo_e > epoch[i]:  # a new run started: count from its beginning
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


def _place_evals(rows: Rows, steps: array, source: bytearray) -> str:
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
        if (
            prev_train != NO_STEP
            and (source[i] in inferred or prev_source in inferred)
            and not rows.epoch[i] < prev_epoch
            and steps[i] <= prev_train
        ):
            return "the steps inferred for the dicts do not increase"
        prev_train, prev_source, prev_epoch = steps[i], source[i], rows.epoch[i]
    return ""
