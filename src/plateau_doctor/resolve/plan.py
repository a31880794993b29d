"""A plan: the run a config describes, before it starts, built the way a log's run is built.

`check` judges a config alone. It gets the same objects `diagnose` gets from a log, so the same
rules judge both: an empty loss table whose LogMeta says whose config keys these are (and so
which defaults apply and how evals are measured), the resolved config, and the facts the run
would have if it ran to max_iters (tokens planned, epochs over the dataset, tokens per
parameter, the LR at the end), marked `planned` so that rules word what they find as a plan.

Another trainer's keys (HF TrainingArguments) are mapped onto the canonical ones first
(schemas.py), each keeping the source of the keys it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import ConfigValue, ParsedLog, ResolvedConfig, RunFacts
from ..parsers.table import LossTableBuilder
from .config import resolve_config
from .facts import DatasetSize, compute_facts, dataset_size
from .files import ConfigFile, load_config_file
from .schemas import (
    HF,
    HF_DEFAULTS,
    NANOGPT,
    PRETRAINED_KEYS,
    config_kind,
    from_hf,
)

PLAN_FORMAT = "config"  # Report.format of a plan: "nanogpt config", "hf_training_arguments config"
# What a kind says about how its evals are measured: nanoGPT's estimate_loss draws fresh random
# batches; the HF Trainer evaluates the whole eval_dataset every time.
EVAL_KIND = {NANOGPT: "resampled", HF: "fixed"}
LOSS_KIND = {HF: "window_mean"}  # the Trainer logs the mean over logging_steps


@dataclass
class PlanConfig:
    """A config file read for a plan, and whose keys it uses."""

    file: ConfigFile
    kind: str | None
    n_lines: int


@dataclass
class Plan:
    parsed: ParsedLog  # no rows: nothing has run
    config: ResolvedConfig
    facts: RunFacts
    dataset: DatasetSize | None
    notes: list[str] = field(default_factory=list)


def read_plan_config(path: str) -> PlanConfig:
    """The config at `path` and its kind; ConfigError with one line when it cannot be read."""
    file = load_config_file(path)
    try:
        with open(path, "rb") as handle:
            n_lines = handle.read().count(b"\n")
    except OSError:
        n_lines = 0
    return PlanConfig(file, config_kind(path, file.values), n_lines)


def build_plan(
    read: PlanConfig,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    data_dir: str | None = None,
    gpu: str | None = None,
) -> Plan:
    """The plan of the config `read`, with --set `overrides` (in the config's own keys)."""
    notes: list[str] = []
    given, overrides = read.file, dict(overrides or {})
    given_size = dataset_tokens not in (None, "") or bool(data_dir)
    dataset = dataset_size(dataset_tokens, data_dir, ResolvedConfig({}), False) if given_size else None
    finetune = None
    if read.kind == HF:
        given, overrides = _canonical_hf(read.file, overrides, dataset.tokens if dataset else None, notes)
        finetune = True if any(read.file.values.get(k) for k in PRETRAINED_KEYS) else None
    traits = {
        "config_schema": read.kind,
        "eval_kind": EVAL_KIND.get(read.kind),
        "loss_kind": LOSS_KIND.get(read.kind, "micro_batch"),
        "finetune": finetune,
    }
    parsed = LossTableBuilder(plan_format(read.kind), traits).build(read.n_lines)  # no rows: nothing ran
    resolved = resolve_config(parsed, read.file.path, overrides, given=given)
    if dataset is None:
        dataset = dataset_size(None, None, resolved, True, planned=True)
    if _eval_only(resolved):
        # train.py evaluates once and exits (`if iter_num == 0 and eval_only: break`)
        resolved.values["max_iters"] = ConfigValue(0, resolved.source("eval_only") or "default")
        notes.append("eval_only=True: train.py evaluates once and exits, so the plan trains nothing")
    facts = compute_facts(parsed, resolved, dataset, planned=True)
    if facts.max_iters == 0:  # no step is taken: no LR is ever used
        facts.lr_at_last_iter = None
        facts.sources.pop("lr_at_last_iter", None)
    _planned_epochs(read, facts, notes)
    named = read.file.named_gpu
    if gpu or named:
        facts.gpu = gpu or named
        facts.sources["gpu"] = "--gpu" if gpu else "a comment in the config"
    if resolved.get("init_from") == "resume":
        notes.append(
            "init_from='resume': the run continues from a checkpoint's iteration; the plan counts "
            "its tokens from iteration 0"
        )
    return Plan(parsed, resolved, facts, dataset, notes)


def plan_format(kind: str | None) -> str:
    return f"{kind} {PLAN_FORMAT}" if kind else PLAN_FORMAT


def _canonical_hf(
    file: ConfigFile, overrides: dict[str, Any], dataset_tokens: int | None, notes: list[str]
) -> tuple[ConfigFile, dict[str, Any]]:
    """The file's and --set's TrainingArguments values as canonical keys, each in the layer of
    the keys it came from (a warmup ratio from the file times max_steps from --set is --set's)."""
    merged = {**HF_DEFAULTS, **file.values, **overrides}
    mapped, mapping_notes = from_hf(merged, dataset_tokens)
    notes += mapping_notes
    from_file = {k: m.value for k, m in mapped.items() if set(m.inputs) & set(file.values)}
    from_set = {k: m.value for k, m in mapped.items() if set(m.inputs) & set(overrides)}
    # the file's own keys stay too (lr_scheduler_type, num_train_epochs: rules may quote them)
    values = {**file.values, **from_file}
    canonical = ConfigFile(file.path, values, file.unknown, file.claimed_params, file.named_gpu)
    return canonical, {**overrides, **from_set}


def _eval_only(resolved: ResolvedConfig) -> bool:
    return resolved.schema == NANOGPT and bool(resolved.get("eval_only"))


def _planned_epochs(read: PlanConfig, facts: RunFacts, notes: list[str]) -> None:
    """A TrainingArguments plan counts its epochs itself (num_train_epochs) where no dataset
    size turned them into steps."""
    if read.kind != HF or facts.epochs is not None or facts.max_iters is not None:
        return
    epochs = {**HF_DEFAULTS, **read.file.values}.get("num_train_epochs")
    if isinstance(epochs, (int, float)) and not isinstance(epochs, bool) and epochs > 0:
        facts.epochs = float(epochs)
        source = "num_train_epochs" + ("" if "num_train_epochs" in read.file.values else " (its default)")
        facts.sources["epochs"] = source
