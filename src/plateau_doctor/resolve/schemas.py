"""Whose keys a config file uses, and how another trainer's keys map onto the ones the rules read.

The rules read nanoGPT's train.py keys (learning_rate, max_iters, warmup_iters, lr_decay_iters,
min_lr, decay_lr, batch_size, gradient_accumulation_steps, block_size, grad_clip, dtype, ...):
the canonical keys. A config in another trainer's words is mapped onto them here, as data: HF
TrainingArguments' renames, its LR schedulers (what each one's decay ends at), its precision
flags and its sequence-length keys. What a mapping needs beyond a rename (a warmup given as a
ratio of the steps, steps given as epochs) is computed from the same tables.

Kinds: "nanogpt" (train.py's keys; a .py config is always one: train.py exec()s it),
"hf_training_arguments" (a TrainingArguments JSON/YAML, or an HfArgumentParser file holding its
fields), None (someone else's keys: read as they are, without defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .defaults import NANOGPT_DEFAULTS

NANOGPT = "nanogpt"
HF = "hf_training_arguments"

# canonical (nanoGPT) key -> TrainingArguments field of the same meaning
HF_NAMES = {
    "learning_rate": "learning_rate",
    "max_iters": "max_steps",
    "warmup_iters": "warmup_steps",
    "weight_decay": "weight_decay",
    "grad_clip": "max_grad_norm",
    "batch_size": "per_device_train_batch_size",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "eval_interval": "eval_steps",
    "beta1": "adam_beta1",
    "beta2": "adam_beta2",
}
# fields only TrainingArguments has: a file with any of them is one
HF_ONLY_FIELDS = frozenset(
    {
        "per_device_train_batch_size",
        "num_train_epochs",
        "max_steps",
        "warmup_steps",
        "lr_scheduler_type",
        "logging_steps",
        "eval_strategy",
        "evaluation_strategy",
        "save_steps",
        "max_grad_norm",
        "warmup_ratio",
        "output_dir",
    }
)
# TrainingArguments' defaults (transformers training_args.py) for the fields mapped here
HF_DEFAULTS: dict[str, Any] = {
    "learning_rate": 5e-5,
    "max_steps": -1,
    "num_train_epochs": 3.0,
    "warmup_steps": 0,
    "warmup_ratio": 0.0,
    "lr_scheduler_type": "linear",
    "weight_decay": 0.0,
    "max_grad_norm": 1.0,
    "per_device_train_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "fp16": False,
    "bf16": False,
}


@dataclass(frozen=True)
class Scheduler:
    """What an HF scheduler does to the LR, in get_lr's terms: whether it decays, and the
    fraction of the peak it ends at (at max_steps). None: a shape get_lr cannot stand for."""

    decays: bool | None
    end_fraction: float = 0.0


# transformers.SchedulerType (optimization.py): linear and cosine reach 0 at max_steps;
# polynomial reaches lr_end (1e-7, i.e. ~0); the constants never decay. inverse_sqrt never ends,
# reduce_lr_on_plateau follows the eval loss and warmup_stable_decay decays only in a final
# phase of its own length: none of them is a schedule ending at max_steps.
HF_SCHEDULERS: dict[str, Scheduler] = {
    "linear": Scheduler(True),
    "cosine": Scheduler(True),
    "cosine_with_restarts": Scheduler(True),
    "polynomial": Scheduler(True),
    "cosine_with_min_lr": Scheduler(True),
    "cosine_warmup_with_min_lr": Scheduler(True),
    "constant": Scheduler(False),
    "constant_with_warmup": Scheduler(False),
    "inverse_sqrt": Scheduler(None),
    "reduce_lr_on_plateau": Scheduler(None),
    "warmup_stable_decay": Scheduler(None),
}
# keys of the sequence length a trainer packs or truncates to (run_clm's block_size, TRL's
# max_seq_length / max_length, LLaMA-Factory's cutoff_len, tokenizer's model_max_length)
SEQUENCE_KEYS = ("block_size", "max_seq_length", "max_length", "cutoff_len", "model_max_length")
# an HF file naming pretrained weights fine-tunes them
PRETRAINED_KEYS = ("model_name_or_path",)
# precision flags, in the order the Trainer checks them, and the dtype each one trains in
HF_PRECISION = (("fp16", "float16"), ("bf16", "bfloat16"))
HF_FULL_PRECISION = "float32"


def config_kind(path: str, values: dict[str, Any]) -> str | None:
    """Whose keys the config at `path` uses. A .py config is nanoGPT's (train.py exec()s it);
    a data file is TrainingArguments' if it has one of its own fields, nanoGPT's if most of
    its keys are train.py's, else nobody's we know."""
    if not path.lower().endswith((".yaml", ".yml", ".json", ".toml")):
        return NANOGPT
    keys = [k for k in values if not k.startswith("_")]
    if HF_ONLY_FIELDS & set(keys):
        return HF
    known = sum(1 for k in keys if k in NANOGPT_DEFAULTS)
    return NANOGPT if keys and known * 2 >= len(keys) else None


def schema_defaults(kind: str | None) -> dict[str, Any]:
    """The canonical values a config of this kind starts from: train.py's defaults, or
    TrainingArguments' mapped; nothing for keys we do not know."""
    if kind == NANOGPT:
        return dict(NANOGPT_DEFAULTS)
    if kind == HF:
        mapped, _ = from_hf(HF_DEFAULTS)
        return {key: m.value for key, m in mapped.items()}
    return {}


def unknown_nanogpt_keys(keys) -> list[str]:
    """The keys train.py does not have. Its configurator exec()s a config file, so such a key
    is silently ignored (a typo such as `learning_rte` changes nothing); names starting with an
    underscore are helpers, as train.py itself treats them (it collects only public names)."""
    return [k for k in keys if not k.startswith("_") and k not in NANOGPT_DEFAULTS]


@dataclass(frozen=True)
class Mapped:
    """A canonical value and the trainer's keys it was computed from (for its source)."""

    value: Any
    inputs: tuple[str, ...]


def from_hf(values: dict[str, Any], dataset_tokens: int | None = None) -> tuple[dict[str, Mapped], list[str]]:
    """TrainingArguments values (defaults already merged in) as canonical keys, and notes on
    what could not be mapped. `dataset_tokens` turns num_train_epochs into steps when the
    sequence length is known."""
    out: dict[str, Mapped] = {}
    notes: list[str] = []
    for canonical, name in HF_NAMES.items():
        if name in values and canonical not in ("max_iters", "warmup_iters", "eval_interval"):
            out[canonical] = Mapped(values[name], (name,))
    dtype = next((d for flag, d in HF_PRECISION if values.get(flag)), HF_FULL_PRECISION)
    out["dtype"] = Mapped(dtype, tuple(flag for flag, _ in HF_PRECISION))
    sequence = next((k for k in SEQUENCE_KEYS if _positive(values.get(k))), None)
    if sequence:
        out["block_size"] = Mapped(int(values[sequence]), (sequence,))

    steps = _steps(values, out, dataset_tokens, notes)
    if steps is not None:
        out["max_iters"] = steps
        _schedule(values, out, steps, notes)
        interval = values.get("eval_steps")
        if _positive(interval):  # a float below 1 is a ratio of the steps (transformers >= 4.31)
            value = math.ceil(interval * steps.value) if interval < 1 else int(interval)
            out["eval_interval"] = Mapped(value, ("eval_steps", *steps.inputs))
    return out, notes


def _steps(values, out, dataset_tokens, notes) -> Mapped | None:
    """max_steps, else num_train_epochs over the dataset at this batch, else unknown."""
    if _positive(values.get("max_steps")):
        return Mapped(int(values["max_steps"]), ("max_steps",))
    epochs = values.get("num_train_epochs")
    per_iter = _tokens_per_iter(out)
    if _positive(epochs) and dataset_tokens and per_iter:
        notes.append(
            f"max_steps comes from num_train_epochs={epochs:g} over {dataset_tokens:,} tokens at "
            f"{per_iter:,} tokens per step, assuming packed sequences on one GPU (padding and "
            "more GPUs change it)"
        )
        inputs = ("num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps")
        return Mapped(math.ceil(epochs * dataset_tokens / per_iter), inputs)
    notes.append(
        "the number of steps is unknown: max_steps is not set and num_train_epochs needs the "
        "dataset size (--dataset-tokens) and a sequence length (block_size or max_seq_length)"
    )
    return None


MAX_COUNT = 2**53  # a count beyond this is no setting (as resolve.config refuses it)


def _tokens_per_iter(out: dict[str, Mapped]) -> int | None:
    """Batch x accumulation x sequence length, when each is a whole number in range."""
    counts = [
        out[k].value if k in out else None
        for k in ("batch_size", "gradient_accumulation_steps", "block_size")
    ]
    if not all(_positive(c) and c < MAX_COUNT and float(c).is_integer() for c in counts):
        return None
    return int(counts[0]) * int(counts[1]) * int(counts[2])


def _schedule(values, out, steps: Mapped, notes) -> None:
    """The LR schedule in get_lr's terms: decay to the scheduler's end at max_steps, after the
    warmup (warmup_steps, else warmup_ratio x max_steps, as get_warmup_steps does)."""
    name = str(values.get("lr_scheduler_type", "linear")).lower().removeprefix("schedulertype.")
    scheduler = HF_SCHEDULERS.get(name)
    if scheduler is None or scheduler.decays is None:
        notes.append(f"lr_scheduler_type={name!r} is not a schedule ending at max_steps: not rebuilt")
        return
    warmup = values.get("warmup_steps")
    if _positive(warmup) and warmup >= 1:
        out["warmup_iters"] = Mapped(int(warmup), ("warmup_steps",))
    else:  # a warmup_steps below 1 is a ratio too (transformers >= 4.46)
        ratio = warmup if _positive(warmup) else values.get("warmup_ratio")
        ratio = ratio if _positive(ratio) else 0.0
        out["warmup_iters"] = Mapped(
            math.ceil(ratio * steps.value), ("warmup_steps", "warmup_ratio", *steps.inputs)
        )
    out["decay_lr"] = Mapped(scheduler.decays, ("lr_scheduler_type",))
    out["lr_decay_iters"] = Mapped(steps.value, steps.inputs)
    lr = out.get("learning_rate")
    kwargs = values.get("lr_scheduler_kwargs") or {}
    end = scheduler.end_fraction
    if isinstance(kwargs, dict) and name.endswith("with_min_lr"):
        if _positive(kwargs.get("min_lr")) and lr is not None and _positive(lr.value):
            end = float(kwargs["min_lr"]) / float(lr.value)
        elif _positive(kwargs.get("min_lr_rate")):
            end = float(kwargs["min_lr_rate"])
    if lr is not None and _positive(lr.value):  # a learning_rate that is no number is refused later
        out["min_lr"] = Mapped(float(lr.value) * end, ("learning_rate", "lr_scheduler_type"))


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# -- fixes in the config's own words -------------------------------------------------------------

HF_SCHEDULER_FOR_DECAY = {True: "cosine", False: "constant"}
HF_PRECISION_FLAG = {dtype: flag for flag, dtype in HF_PRECISION}


def own_settings(kind: str | None, values: dict[str, Any]) -> dict[str, Any]:
    """Canonical settings as the config's kind writes them (TrainingArguments' fields for an HF
    file). Keys its kind has no field for are kept under their canonical names: the reader
    then sees what to change, if not where."""
    if kind != HF:
        return dict(values)
    own: dict[str, Any] = {}
    for key, value in values.items():
        if key in HF_NAMES:
            own[HF_NAMES[key]] = value
        elif key == "decay_lr":
            own["lr_scheduler_type"] = HF_SCHEDULER_FOR_DECAY[bool(value)]
        elif key == "dtype" and (value in HF_PRECISION_FLAG or value == HF_FULL_PRECISION):
            own.update({flag: HF_PRECISION_FLAG.get(value) == flag for flag, _ in HF_PRECISION})
        elif key in ("lr_decay_iters", "min_lr") and "decay_lr" not in values:
            own[key] = value  # HF decays to max_steps and to 0: no field of its own
        elif key not in ("lr_decay_iters", "min_lr"):
            own[key] = value
    return own
