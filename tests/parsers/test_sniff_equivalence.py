"""Detection's shortcuts change no count: every format's sniff gives the same number as its frozen
pre-shortcut version (sniff_reference) on every real log we have (its first 1000 and 5000 lines),
on those logs dressed the ways launchers and terminals dress lines (rank tags, timestamps, `\\r`
screen updates, ANSI colours, tqdm bars, other formats' lines mixed in) and on other formats' lines
with their values garbled and words changed at random. Each sniff is called with one Sample shared
by all formats, as detect() does, and with a plain list: the two kinds of argument it gets."""

from __future__ import annotations

import itertools
import os
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sniff_reference import SNIFFERS

from plateau_doctor.parsers import detect
from plateau_doctor.parsers.formats import FORMATS
from plateau_doctor.parsers.lines import Sample
from plateau_doctor.read import InputError, open_log

ROOT = Path(__file__).parents[2]
SHARED_LOGS = Path(os.environ.get("PLATEAU_DOCTOR_SHARED_LOGS") or ROOT.parent / "shared" / "logs")
LOG_FOLDERS = (ROOT / "tests" / "data", ROOT / "examples" / "logs", SHARED_LOGS)
HEADS = (1000, 5000)  # what `diagnose DIR` sniffs, and what `diagnose FILE` does
DRESSED_LINES = 400  # of each real log, dressed: enough for every format's data lines to show
FUZZ_SAMPLES = 600
FUZZ_SEED = 20261205  # fixed: a failure names a sample that can be made again


def real_logs() -> list[Path]:
    return sorted(p for folder in LOG_FOLDERS if folder.is_dir() for p in folder.rglob("*") if p.is_file())


def head(path: Path, lines: int) -> list[str] | None:
    try:
        return open_log(str(path)).head(lines)
    except (InputError, OSError, ValueError):
        return None


def differences(sample: list[str]) -> list[str]:
    """Where the new sniffers (given a Sample and a plain list) or detect() differ from the old."""
    old = {name: SNIFFERS[name](list(sample)) for name in FORMATS}
    shared = Sample(sample)
    found = []
    for name, module in FORMATS.items():
        for kind, argument in (("Sample", shared), ("list", list(sample))):
            new = module.sniff(argument)
            if new != old[name]:
                found.append(f"{name} on a {kind}: {new} != {old[name]}")
    best = max(old, key=lambda name: old[name])
    expected = best if old[best] > 0 else None
    if detect(list(sample)) != expected:
        found.append(f"detect: {detect(list(sample))} != {expected}")
    return found


# -- the ways real lines reach us -------------------------------------------------------------------
BAR = "  45%|████▌     | 45/100 [00:05<00:06,  8.9it/s]"
OTHER_FORMATS = [
    "step 0: train loss 10.9, val loss 10.9",
    "iter 0: loss 10.9, time 100.00ms, mfu -100.00%",
    "step:1/100 train_loss:10.9 train_time:50ms step_avg:nanms",
    "step    1/74 | loss 10.9 (+nanz)| norm 5.0 (+nanz)| lr 3.00e-04 | 44.57 ms",
    "val loss 11.0",
    "s:0 trl:10.9 lr:0.000001 norm:15.37",
    "step 00000/00100 (0.00%) | loss: 10.9 | lrm: 1.00 | dt: 100.00ms",
    "Step 00000 | Validation bpb: 3.1",
    "{'loss': 2.708, 'grad_norm': 2.5, 'learning_rate': 4.6e-05, 'epoch': 0.07}",
    "step: 10  loss:  9.1234  memory: 49.66GiB(52.28%)  tps: 5,856",
    "validate step: 10  loss:  9.0000  memory: 49.66GiB(52.28%)",
    " iteration       10/     500 | consumed samples: 80 | lm loss: 9.729805E+00 |",
    " validation loss at iteration 10 | lm loss value: 9.5E+00 | lm loss PPL: 1.3E+04 | ",
    "Iter 10: Train loss 2.662, Learning Rate 1.000e-05, It/sec 0.490",
    "Iter 1: Val loss 2.936, Val took 5.265s",
    "10    2.662 ▼  1.000e-05",
    "20    2.701 ▲  1.000e-05",
    "Step 1 | loss:2.0853 lr:2e-05 tokens_per_second_per_gpu:57.83 ",
    "1|2|Loss: 1.8718:   2%|▏         | 2/101 [00:05<04:07,  2.50s/it]",
    "Epoch 1 | iter 1 step 0 | loss train: 3.724, val: n/a | iter time: 45.73 ms",
    "iter 1152 step 144: loss 11.4630, iter time: 1234.56ms (optimizer.step)",
    "iter 1760 | step 220: loss 1.5947, iter time: 263.85 ms (optimizer.step)",
    "iter 100: val loss 3.5000, val time: 1234.56 ms",
    "Ep 1 (Step 000150): Train loss 4.319, Val loss 4.003",
    '{"_step": 0, "train/loss": 10.9}',
    "| Training Loss | Epoch | Step | Validation Loss |",
    "| 2.5 | 1.0 | 10 | 2.4 |",
    "_step,train/loss,val/loss",
    "0,10.9,10.9",
]
DRESSINGS: dict[str, Callable[[list[str]], list[str]]] = {
    "rank tag": lambda lines: [f"[rank0]: {line}" for line in lines],
    "srun label and timestamp": lambda lines: [
        f"3: 2024-05-01 12:00:00,123 - root - INFO - {x}" for x in lines
    ],
    "glog": lambda lines: [f"I0501 12:00:00.123456 123 train.py:45] {line}" for line in lines],
    "carriage returns": lambda lines: [
        a + "\r" + b for a, b in zip(lines[::2], lines[1::2] + [""], strict=False)
    ],
    "progress updates": lambda lines: [f"{BAR}\r{line}\r" for line in lines],
    "tqdm bar glued in front": lambda lines: [BAR + line for line in lines],
    "ANSI colours": lambda lines: [f"\x1b[1;32m{line}\x1b[0m" for line in lines],
    "pasted as comments": lambda lines: [f"# {line}" for line in lines],
    "quoted": lambda lines: [f"> {line}" for line in lines],
    "indented with blank lines": lambda lines: [x for line in lines for x in (f"   {line}  ", "", "\t")],
    "newlines inside lines": lambda lines: [
        f"{a}\n{b}\n" for a, b in zip(lines[::2], lines[1::2] + [""], strict=False)
    ],
    "other formats mixed in": lambda lines: [
        x for i, line in enumerate(lines) for x in (line, OTHER_FORMATS[i % len(OTHER_FORMATS)])
    ],
    "upper case": lambda lines: [line.upper() for line in lines],
}


# -- random lines: other formats' lines with their words and numbers changed ----------------------
WORDS = [
    "iter", "Iter", "step", "Step", "s:", "step:", "validate", "validation", "Epoch", "Ep", "iteration",
    " ", "  ", "\t", ":", ": ", ",", ", ", "|", " | ", "/", "(", ")", "(Step ", "%", "\r", "\n",
    "loss", "loss ", "val loss ", "train loss ", "Train loss ", "Val loss ", "loss:", "loss train: ",
    "trl:", "tel:", "eval:", "|Loss: ", "memory:", "val time:", "iter time: ", "Validation bpb:",
    "0", "7", "12", "003", "1.5", ".5", "-.5", "-", "+", ".", "1e-3", "nan", "NaN", "-nan", "inf",
    "-inf", "infinity", "nanx", "in", "na", "n/a", "x", "BPC", " BPC", " bits", "bit", "ms", "▼", "▲",
    "{", "}", "{'", "'loss': ", "'eval_loss': ", '"log_history"', '"loss":', "_", "[rank0]: ", "# ",
    "\x1b[0m", "2024-05-01 12:00:00 ", BAR, "٣", "", "",
]  # fmt: skip
# what a printed value may be made of, good or garbled: number parts, nan/inf, units, separators
VALUE_PARTS = [
    "0", "12", "1.5", ".5", ".", "-", "+", "e", "E-3", "nan", "NaN", "inf", "Infinity", "in", "na", "x",
    "_", "5", ",", " ", "|", " BPC", " bpc", " bits", " bit", "bits", "BPCx", "\n", "%", "ms", "n/a", "٣",
]  # fmt: skip
TOKEN_RE = re.compile(r"(\s+|[:,|()/'{}]|(?<=\d)(?=[a-z]))")  # cut between words, numbers, marks
NUMBER_RE = re.compile(r"[-+]?\d[\d.eE+-]*")
MAX_EDITS = 3
MAX_VALUE_PARTS = 3


def fuzz_value(rng: random.Random) -> str:
    return "".join(rng.choice(VALUE_PARTS) for _ in range(rng.randint(1, MAX_VALUE_PARTS)))


def fuzz_line(rng: random.Random) -> str:
    """A line of some format with its values garbled at random and up to MAX_EDITS of its tokens
    replaced, dropped or added to."""
    line = NUMBER_RE.sub(
        lambda m: fuzz_value(rng) if rng.random() < 1 / 3 else m.group(), rng.choice(OTHER_FORMATS)
    )
    tokens = [t for t in TOKEN_RE.split(line) if t]
    for _ in range(rng.randint(0, MAX_EDITS)):
        i = rng.randrange(len(tokens))
        edit = rng.randrange(3)
        if edit == 0:
            tokens[i] = rng.choice(WORDS)
        elif edit == 1:
            tokens.insert(i, rng.choice(WORDS))
        elif len(tokens) > 1:
            del tokens[i]
    return "".join(tokens)


def fuzz_samples() -> Iterator[list[str]]:
    rng = random.Random(FUZZ_SEED)
    for _ in range(FUZZ_SAMPLES):
        yield [fuzz_line(rng) for _ in range(rng.randint(1, 40))]


# -- the tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("lines", HEADS)
def test_every_real_log_gets_the_same_counts(lines):
    checked = 0
    for path in real_logs():
        sample = head(path, lines)
        if sample is not None:
            assert differences(sample) == [], path
            checked += 1
    assert checked >= 50  # tests/data and examples/logs alone hold more


@pytest.mark.parametrize("dressing", DRESSINGS)
def test_dressed_real_logs_get_the_same_counts(dressing):
    dress = DRESSINGS[dressing]
    for path in real_logs():
        sample = head(path, DRESSED_LINES)
        if sample:
            assert differences(dress(sample)) == [], path
    assert differences(dress(OTHER_FORMATS)) == []


def test_random_lines_get_the_same_counts():
    for number, sample in enumerate(fuzz_samples()):
        assert differences(sample) == [], f"fuzz sample {number}: {sample}"


def test_the_random_lines_reach_every_sniffer():
    """The fuzz is worth something only if each sniffer counts some of its lines."""
    counted = {name: 0 for name in SNIFFERS}
    for sample in fuzz_samples():
        for name, sniff in SNIFFERS.items():
            counted[name] += sniff(sample)
    assert [name for name, hits in counted.items() if hits == 0] == []


LOSS_TAILS = ["", ",", ", time 1.00ms", " BPC", " bits, mfu 1%", " bit", "\n", "\nx", " x", "|"]


def test_nanogpts_one_match_iter_test_agrees_with_the_old_two_on_every_short_loss():
    """Every loss of up to three VALUE_PARTS, each line as it is (not cleaned: the pattern's
    equivalence does not rest on the cleaning)."""
    from sniff_reference import _nanogpt_numeric_line

    from plateau_doctor.parsers.nanogpt import ITER_SNIFF_RE

    for value in itertools.product(VALUE_PARTS, repeat=MAX_VALUE_PARTS):
        for tail in LOSS_TAILS:
            line = "iter 5: loss " + "".join(value) + tail
            assert (ITER_SNIFF_RE.match(line) is not None) == _nanogpt_numeric_line(line), line
