"""Keep suggested model shapes on the user's device: a change that grows the model is checked
against the GPU's memory at the run's micro-batch; when it does not fit, the micro-batch and
gradient accumulation that keep the tokens per iteration and do fit are added to the changes;
when nothing fits, the shape change is demoted to a commented-out offer that says why."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.memory import Device, GPTShape, fit_on_device, scaled_iteration_ms
from .changes import ConfigChange

SHAPE_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout")


@dataclass(frozen=True)
class BudgetCheck:
    changes: list[ConfigChange]
    notes: list[str]


def fit_changes_to_device(
    changes: list[ConfigChange],
    config,
    vocab_size: int | None,
    device: Device,
    observed_iter_ms: float | None = None,
) -> BudgetCheck:
    """`changes` made to run on `device`. `config`: the run's resolved config (`.get`)."""
    shape_changes = [c for c in changes if c.key in SHAPE_KEYS or c.key == "batch_size"]
    if not any(c.key in SHAPE_KEYS[:4] for c in shape_changes):
        return BudgetCheck(changes, [])
    new = {c.key: c.value for c in shape_changes}
    try:
        old_shape = _shape(config.get, {}, vocab_size)
        new_shape = _shape(config.get, new, vocab_size)
        batch = int(new.get("batch_size", config.get("batch_size")))
        accumulation = int(config.get("gradient_accumulation_steps"))
    except (TypeError, ValueError):
        return BudgetCheck(
            changes,
            [
                "the model shape or batch is not known, so the suggested model "
                f"could not be checked against the {device.name}'s memory"
            ],
        )
    dtype = str(config.get("dtype") or "bfloat16")
    fit = fit_on_device(
        new_shape, batch, accumulation, device, dtype=dtype, compiled=bool(config.get("compile", True))
    )
    code = next(c.code for c in shape_changes if c.key in SHAPE_KEYS[:4])
    sure = all(c.confident for c in shape_changes if c.key in SHAPE_KEYS[:4])
    notes = [f"on the {device.name} ({device.memory_gib:g} GB): {fit.reason}"]
    if device.note:
        notes.append(device.note)
    if observed_iter_ms:
        notes.append(
            f"time per iteration of the suggested model: ~{scaled_iteration_ms(observed_iter_ms, old_shape, new_shape) / 1000:.2f} s "
            f"(now {observed_iter_ms / 1000:.2f} s; scaled by FLOPs per token, same tokens per iteration)"
        )
    if fit.fits:
        return BudgetCheck(changes, notes)
    if fit.micro_batch is not None:
        reason = (
            f"so the suggested model fits the {device.name}: micro-batch {fit.micro_batch} x "
            f"accumulation {fit.gradient_accumulation_steps} keeps the tokens per iteration"
        )
        added = [
            ConfigChange("batch_size", fit.micro_batch, code, reason, sure),
            ConfigChange("gradient_accumulation_steps", fit.gradient_accumulation_steps, code, reason, sure),
        ]
        kept = [c for c in changes if c.key not in ("batch_size", "gradient_accumulation_steps")]
        return BudgetCheck(kept + added, notes)
    demoted = [
        ConfigChange(
            c.key,
            c.value,
            c.code,
            f"not on this device: does not fit the {device.name} even at micro-batch 1; " + c.reason,
            False,
        )
        if c.key in SHAPE_KEYS[:4]
        else c
        for c in changes
    ]
    return BudgetCheck(demoted, notes)


def _shape(get, new: dict, vocab_size: int | None) -> GPTShape:
    def value(key):
        return new[key] if key in new else get(key)

    vocab = vocab_size or get("vocab_size") or 50304
    return GPTShape(
        int(value("n_layer")),
        int(value("n_head")),
        int(value("n_embd")),
        int(vocab),
        int(value("block_size")),
        bool(get("bias")),
        float(value("dropout") or 0.0),
    )
