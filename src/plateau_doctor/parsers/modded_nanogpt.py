"""KellerJordan/modded-nanogpt logfiles (records/*/<uuid>.txt).

The lines that matter (every other line is the echoed script source, nvidia-smi or warm-up chatter):
    step:0/6200 val_loss:10.9264 train_time:285ms step_avg:nanms         (eval)
    step:1/6200 train_loss:10.9184 train_time:74701ms step_avg:nanms     (train, 2024 records)
    step:1/7500 train_time:960506ms step_avg:nanms                       (train, newer: no loss)

Mapping: the printed step is the iter (1-based for train lines, as printed) and the eval step;
loss is `train_loss` (one step's loss, so loss_kind stays "micro_batch"); time_ms is the
difference of consecutive `train_time` values. `train_time` includes compilation for the first
steps and then resets to a small value (timing restarts after warm-up), so times before the last
reset are left NaN rather than turned into huge or negative numbers. Newer records print no train
loss at all: those step lines give no iter row (a NaN loss would read as a diverged run); the
evals still carry the val curve.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ParsedLog
from .lines import NAN, LazyRegex, NumberedLines, as_sample, numeric, to_float
from .table import LossTableBuilder

NAME = "modded_nanogpt"
TRAITS = {"eval_kind": "fixed"}  # every eval scores the same val_tokens from the start of the val shards
DETECTION_ORDER = 20  # breaks ties in detection: lower wins (formats.py)

# Step numbers are bounded (a 400-digit "step" is corruption, not a step; it would overflow the
# float table). A field starts at a word start only, so a long run of word characters costs
# linear, not quadratic, time.
STEP_RE = LazyRegex(r"^step:(\d{1,15})/(\d{1,15})\s+(\w+:\S+.*)$")
FIELD_RE = LazyRegex(r"(?<!\S)(\w+):(\S+?)(?:ms)?(?=\s|$)")

# (step, loss, train_time_ms, line) of train lines not yet handed to the table
Pending = list[tuple[int, float, float, int]]


def sniff(lines: list[str]) -> int:
    """Count `step:N/M ...` lines that carry a loss or a train time."""
    hits = 0
    for line in as_sample(lines).starting("step:"):
        m = STEP_RE.match(line)
        if m and numeric(m.group(3).split(":", 1)[1]):  # the first value is a number
            hits += 1
    return hits


def parse(lines: Iterable[str]) -> ParsedLog:
    table = LossTableBuilder(NAME, TRAITS)
    meta = table.meta
    pending: Pending = []
    last_step = -1
    timed_only = 0  # train lines without a loss (newer records)
    last_step_avg = NAN
    source = NumberedLines(lines)
    for number, line in source:
        m = STEP_RE.match(line) if line.startswith("step:") else None
        if not m:
            if line.startswith("stopping_early:"):  # e.g. `stopping_early: wallclock_cap ...`
                meta.stopped_by_design = line[:120]
            continue
        step, total = int(m.group(1)), int(m.group(2))
        fields = dict(FIELD_RE.findall(m.group(3)))
        if step < last_step:  # a second run in the same file
            _flush(table, pending)
            table.new_segment()
        last_step = step
        meta.max_iters = total
        if "val_loss" in fields:
            table.add_eval(step, NAN, to_float(fields["val_loss"]), number)
        elif "train_loss" in fields:
            pending.append(
                (step, to_float(fields["train_loss"]), to_float(fields.get("train_time", "nan")), number)
            )
        elif "train_time" in fields:
            timed_only += 1
            last_step_avg = to_float(fields.get("step_avg", "nan"))
    resets = _flush(table, pending)
    if resets:
        meta.notes.append("train_time resets after warm-up; per-step times before the reset ignored")
    if timed_only:
        meta.notes.append(
            f"{timed_only} step lines carry no train loss (val-only log): no train rows"
            + (f"; last step_avg {last_step_avg:.2f} ms" if last_step_avg == last_step_avg else "")
        )
    return table.build(source.count, excerpt=source.elided)


def _flush(table: LossTableBuilder, pending: Pending) -> int:
    """Hand the buffered train rows to the table with per-step times; return how many resets of
    train_time were seen. Rows are buffered because a reset is only visible after the fact."""
    times = [t for _, _, t, _ in pending]
    resets = [i for i in range(1, len(times)) if times[i] < times[i - 1]]
    first_timed = resets[-1] + 1 if resets else 1  # the reset row itself has no predecessor
    for i, (step, loss, _, line) in enumerate(pending):
        time_ms = NAN
        if i >= first_timed:
            gap = step - pending[i - 1][0]
            if gap > 0:
                time_ms = (times[i] - times[i - 1]) / gap
        table.add_iter(step, loss, line, time_ms=time_ms)
    pending.clear()
    return len(resets)
