"""What both trainer callbacks share: the loss table they fill from the logged metrics, the
diagnosis at each eval, the decision to stop, the one line they print, and the reports they
leave at the end. Nothing here knows a trainer: hf.py and lightning.py translate their trainer's
hooks into `train_row`, `eval_row`, `judge` and `finish`.

The diagnosis at an eval is the one `watch` runs: a snapshot of the growing table
(LossTableBuilder.snapshot, a copy of numpy columns) through api.examine.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from ..parsers.table import LossTableBuilder

if TYPE_CHECKING:
    from ..api import Examination
    from ..model import Finding, Report

log = logging.getLogger("plateau_doctor")

STOP_ON = (None, "error")
# The error-level findings a run is worth stopping for: after a divergence every step is wasted;
# after overfitting beyond noise every step makes the model worse, but stopping only helps when
# a checkpoint near the best eval is there to go back to.
STOP_CATEGORIES = ("divergence", "overfitting")
NEEDS_CHECKPOINT = ("overfitting",)
REPORT_FILES = ("report.json", "report.html")
NAN = float("nan")
FIRST_SENTENCE = re.compile(r"^(.*?[.!?])(?=\s|$)")


def guarded(hook):
    """A callback hook that never raises into the training loop: a failure is logged (the first
    one with its traceback, once per callback) and training goes on without this hook's work."""

    @functools.wraps(hook)
    def wrapper(self, *args, **kwargs):
        try:
            return hook(self, *args, **kwargs)
        except Exception:  # noqa: BLE001 - the user's run matters more than our diagnosis
            recorder = getattr(self, "recorder", None)
            if recorder is None or not recorder.failed:
                log.warning(
                    "plateau-doctor: the callback's %s failed; training goes on without it "
                    "(further failures are not logged)",
                    hook.__name__,
                    exc_info=True,
                )
            if recorder is not None:
                recorder.failed = True
            return None

    return wrapper


@dataclass
class Judgement:
    """The diagnosis at one eval: the report, the line printed, and why training stops (or None)."""

    report: Report
    line: str
    stop: str | None


class TrainingRecorder:
    """The loss table of one training run, filled row by row from the trainer's logged metrics."""

    def __init__(
        self,
        fmt: str,
        traits: dict[str, Any],
        *,
        stop_on: str | None = None,
        config: dict[str, Any] | None = None,
        dataset_tokens: str | int | None = None,
        out: TextIO | None = None,
    ) -> None:
        if stop_on not in STOP_ON:
            from ..settings import did_you_mean

            raise ValueError(
                f"stop_on must be None (never stop) or 'error', not {stop_on!r}"
                + did_you_mean(str(stop_on), ["error"])
            )
        self.format = fmt
        self.traits = traits
        self.stop_on = stop_on
        self.user_config = checked_config(config or {})
        self.dataset_tokens = dataset_tokens
        self.out = out
        self.failed = False  # a hook has failed once (logged); later failures stay quiet
        self.start("<training run>", {})

    # -- input ----------------------------------------------------------------------------------
    def start(self, name: str, config: dict[str, Any]) -> None:
        """A new run begins (trainer.train() / fit()): an empty table, the trainer's config (in
        the config keys the rules read) as the run's own settings, and its name for the reports."""
        self.name = name
        self.table = LossTableBuilder(self.format, self.traits)
        self.table.meta.overrides = {
            key: repr(plain(value)) for key, value in config.items() if value is not None
        }
        self.records = 0  # metric records read: this log's "lines"
        self.stopped: str | None = None
        self.latest: Examination | None = None

    def train_row(self, step: int, loss: float, lr: float = NAN, grad_norm: float = NAN) -> None:
        self.records += 1
        self.table.add_iter(step, number(loss), 0, lr=number(lr), grad_norm=number(grad_norm))
        if not math.isnan(number(lr)):
            self.table.meta.lr_logged = True

    def eval_row(self, step: int, val_loss: float, train_loss: float = NAN) -> None:
        self.records += 1
        self.table.add_eval(step, number(train_loss), number(val_loss), 0)

    @property
    def meta(self):
        """The LogMeta the callbacks complete (max_iters, epochs, n_params, vocab_size, notes)."""
        return self.table.meta

    # -- diagnosis ------------------------------------------------------------------------------
    def examine(self, live: bool = False) -> Examination:
        """api.examine of the table so far. `live`: the run goes on past the last row, so where
        the table ends says nothing about where the run stops (LogMeta.excerpt: no "the run
        stopped at 10 of 60", no "stopped while the LR was high")."""
        import copy

        from ..api import examine

        meta = copy.deepcopy(self.table.meta)
        if live:
            meta.excerpt = True
            meta.notes.append("diagnosed during training: the run goes on past the last row")
        parsed = self.table.snapshot(self.records, meta)
        self.latest = examine(
            self.name,
            overrides=self.user_config,
            dataset_tokens=self.dataset_tokens,
            parsed=parsed,
        )
        return self.latest

    def judge(self, step: int, checkpoint: str | None) -> Judgement:
        """Diagnose the run so far. `checkpoint`: what the run could fall back to (None when it
        has no checkpoint), which decides whether overfitting is worth a stop."""
        report = self.examine(live=True).report
        stop, held = (None, None) if self.stop_on is None else stop_reason(report, checkpoint)
        if stop:
            self.stopped = stop
        line = f"plateau-doctor step {step:,}: {summary(report)}"
        if stop or held:
            line += f" | {stop or held}"
        return Judgement(report, line, stop)

    def say(self, line: str) -> None:
        print(line, file=self.out or sys.stdout, flush=True)

    # -- the end --------------------------------------------------------------------------------
    def finish(self, step: int, directory: str | None) -> str:
        """The run is over: diagnose all of it, write the reports into `directory`, and return
        the last line to print."""
        exam = self.examine()
        paths = write_reports(exam, directory)
        line = f"plateau-doctor at the end (step {step:,}): {summary(exam.report)}"
        if self.stopped:
            line += " | training was stopped by plateau-doctor"
        return line + (f" | report: {paths[-1]}" if paths else " | no output directory: no report written")


def write_reports(exam: Examination, directory: str | None) -> list[str]:
    """report.json and report.html into `directory` (the run's own output directory), each
    written atomically. Nothing is written anywhere else: without a directory, nothing is."""
    from .. import __version__
    from ..output import write_atomically
    from ..report import html, json
    from ..rules import all_rules

    if not directory:
        return []
    os.makedirs(directory, exist_ok=True)
    texts = {
        "report.json": json.render([exam.report]),
        "report.html": html.render([exam.report], all_rules(), __version__, examinations=[exam]),
    }
    paths = []
    for name in REPORT_FILES:
        path = os.path.join(directory, name)
        write_atomically(path, texts[name])
        paths.append(path)
    return paths


def stop_reason(report: Report, checkpoint: str | None) -> tuple[str | None, str | None]:
    """(why training stops, why it does not although it could) under stop_on="error". A finding
    the diagnosis folded into another cause still counts at the severity it was found with."""
    held = None
    for f in report.findings:
        if (f.severity_as_found or f.severity) != "error" or f.category not in STOP_CATEGORIES:
            continue
        if f.category in NEEDS_CHECKPOINT and checkpoint is None:
            held = f"not stopping for {f.code} {f.category}: no checkpoint to fall back to"
            continue
        fallback = f"; fall back to {checkpoint}" if checkpoint and f.category in NEEDS_CHECKPOINT else ""
        return f"stopping training (stop_on='error'): {f.category} {f.code}: {f.title}{fallback}", None
    return None, held


def summary(report: Report) -> str:
    """The verdict's first sentence and the top raised finding: what the one line says."""
    match = FIRST_SENTENCE.match(report.verdict.strip())
    first = match.group(1) if match else report.verdict.strip()
    top = top_finding(report)
    found = f"{top.code} {top.severity}: {top.title}" if top else "no findings raised"
    return f"{first} | {found}" if first else found


def top_finding(report: Report) -> Finding | None:
    return next((f for f in report.findings if f.raised), None)


def number(value: Any) -> float:
    """A logged metric as a float: tensors and numpy scalars (.item()), strings HF may log; NaN
    for anything that is not a number."""
    if value is None or isinstance(value, bool):
        return NAN
    if hasattr(value, "item"):
        try:
            value = value.item()
        except (TypeError, ValueError, RuntimeError):  # a tensor of several values
            return NAN
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return NAN


def plain(value: Any) -> Any:
    """A config value as a Python scalar (numpy and torch scalars have reprs literal_eval refuses)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (TypeError, ValueError, RuntimeError):
            return str(value)
    return value


def checked_config(config: dict[str, Any]) -> dict[str, Any]:
    """The callback's `config=`: nanoGPT's config keys (the keys the rules read), each with a
    value of its type. An unknown key or a bad value is a ValueError naming it, at construction,
    before any training: a typo must not silently switch a check off."""
    from ..resolve.config import value_problem
    from ..resolve.defaults import NANOGPT_DEFAULTS
    from ..settings import did_you_mean

    known = {*NANOGPT_DEFAULTS, "vocab_size"}
    for key, value in config.items():
        if key not in known:
            raise ValueError(
                f"config: unknown key {key!r}"
                + (did_you_mean(key, known) or " (the keys are nanoGPT train.py's config keys)")
            )
        problem = value_problem(key, value)
        if problem:
            raise ValueError(f"config: {key}={value!r}: {problem}")
    return dict(config)


def count_parameters(model: Any) -> int | None:
    """Parameters of a torch module (None for anything else)."""
    parameters = getattr(model, "parameters", None)
    if parameters is None:
        return None
    try:
        return sum(int(p.numel()) for p in parameters()) or None
    except (TypeError, AttributeError, RuntimeError):
        return None
