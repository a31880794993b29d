"""plateau-doctor in a Lightning Trainer.

    from plateau_doctor.integrations.lightning import PlateauDoctorCallback
    trainer = L.Trainer(..., callbacks=[PlateauDoctorCallback()])            # never stops the run
    trainer = L.Trainer(..., callbacks=[PlateauDoctorCallback(stop_on="error")])

What it reads: the train loss your LightningModule logs (`self.log("train_loss", ...)`; the first
of TRAIN_KEYS found in `trainer.callback_metrics`, or `train_key=`), at the optimizer step, every
`log_every_n_steps` steps as Lightning's loggers do; the LR of the first optimizer; a logged
gradient norm if there is one; the val loss after each validation (VAL_KEYS or `val_key=`); and the
settings the rules read from the trainer and optimizer (clipping, accumulation, precision, max
steps, the LR, betas, weight decay) and from `hparams` (batch_size, block_size, dropout, warmup).
Each logged train loss is one step's batch (loss_kind "micro_batch"); the val set is the same at
every validation (eval_kind "fixed").

At every validation (not the sanity check) it prints one line: the verdict's first sentence and the
top finding. At the end of fit (or when fit fails) it writes report.json and report.html into
`trainer.log_dir` (the logger's version directory, else default_root_dir).

`stop_on="error"` sets `trainer.should_stop` when a divergence is an error, or when overfitting beyond
noise is and a ModelCheckpoint has saved a checkpoint to fall back to; the decision is reduced
across processes as Lightning's EarlyStopping does.
"""

from __future__ import annotations

import math
from typing import Any, TextIO

try:
    import lightning.pytorch as pl
except ImportError:
    try:
        import pytorch_lightning as pl
    except ImportError as exc:  # an optional extra: say what to install
        raise ImportError(
            "plateau_doctor.integrations.lightning needs Lightning: pip install 'plateau-doctor[lightning]'"
        ) from exc

from .recorder import TrainingRecorder, count_parameters, guarded, number

NAME = "lightning_callback"
TRAITS = {"eval_kind": "fixed", "loss_kind": "micro_batch"}
TRAIN_KEYS = ("train_loss_step", "train_loss", "train/loss", "training_loss", "loss")
VAL_KEYS = ("val_loss", "val/loss", "valid_loss", "validation_loss", "eval_loss", "val_loss_epoch")
GRAD_NORM_KEYS = ("grad_norm", "train/grad_norm", "grad_2.0_norm_total")
# hparams whose meaning is nanoGPT's config key of this name (the keys the rules read); the model's
# shape is left out: the parameter count is read off the module itself.
HPARAM_KEYS = {
    "batch_size": "batch_size",
    "block_size": "block_size",
    "dropout": "dropout",
    "warmup_iters": "warmup_iters",
    "warmup_steps": "warmup_iters",
}
PRECISION_DTYPES = {"bf16": "bfloat16", "16": "float16", "32": "float32", "64": "float64"}


class PlateauDoctorCallback(pl.Callback):
    """Diagnoses the run at every validation; see the module docstring.

    stop_on: None (default: never stops the run) or "error".
    train_key / val_key: the names your module logs its losses under, where they are not the usual ones.
    config: settings the trainer cannot tell, in nanoGPT's config keys (e.g. {"block_size": 1024}).
    dataset_tokens: the training set's size in tokens ("9.2M" or an int).
    out: where the lines go (default: stdout).
    """

    def __init__(
        self,
        stop_on: str | None = None,
        *,
        train_key: str | None = None,
        val_key: str | None = None,
        config: dict[str, Any] | None = None,
        dataset_tokens: str | int | None = None,
        out: TextIO | None = None,
    ) -> None:
        super().__init__()
        self.recorder = TrainingRecorder(
            NAME, TRAITS, stop_on=stop_on, config=config, dataset_tokens=dataset_tokens, out=out
        )
        self.train_keys = (train_key,) if train_key else TRAIN_KEYS
        self.val_keys = (val_key,) if val_key else VAL_KEYS
        self._last_step = -1
        self._missing: set[str] = set()  # metrics not found, said once each

    @guarded
    def on_train_start(self, trainer, pl_module):
        recorder = self.recorder
        recorder.start(str(trainer.log_dir or trainer.default_root_dir), lightning_config(trainer, pl_module))
        meta = recorder.meta
        meta.max_iters = planned_steps(trainer)
        meta.n_params = count_parameters(pl_module)
        if trainer.world_size > 1:
            meta.world_size = trainer.world_size
        meta.notes.append(
            f"read from a Lightning callback every {trainer.log_every_n_steps} steps: rows have no log line (line 0)"
        )
        self._last_step = -1
        self._missing = set()

    @guarded
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if step == self._last_step or step % max(1, trainer.log_every_n_steps):
            return  # accumulating, or between Lightning's logging steps
        self._last_step = step
        metrics = trainer.callback_metrics
        loss = self._metric(metrics, self.train_keys, "train loss")
        if loss is None and outputs is not None:  # nothing logged: the loss training_step returned
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        grad_norm = next((metrics[k] for k in GRAD_NORM_KEYS if k in metrics), None)
        self.recorder.train_row(step, number(loss), first_lr(trainer), number(grad_norm))
        batches = trainer.num_training_batches
        if isinstance(batches, int) and batches > 0:
            self.recorder.meta.epochs = trainer.current_epoch + (batch_idx + 1) / batches

    @guarded
    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking or trainer.state.fn != "fit":  # not trainer.validate()
            return
        recorder = self.recorder
        step = trainer.global_step
        recorder.eval_row(step, number(self._metric(trainer.callback_metrics, self.val_keys, "val loss")))
        judgement = recorder.judge(step, fallback_checkpoint(trainer))
        if trainer.strategy.reduce_boolean_decision(bool(judgement.stop), all=False):
            trainer.should_stop = True
        if trainer.is_global_zero:
            recorder.say(judgement.line)

    @guarded
    def on_train_end(self, trainer, pl_module):
        self._finish(trainer)

    @guarded
    def on_exception(self, trainer, pl_module, exception):
        self.recorder.meta.notes.append(f"fit ended with {type(exception).__name__}: {exception}")
        self._finish(trainer)

    def _finish(self, trainer) -> None:
        if not trainer.is_global_zero or not self.recorder.records:
            return
        recorder = self.recorder
        recorder.meta.last_step = trainer.global_step or None
        if recorder.stopped:
            recorder.meta.stopped_by_design = f"plateau-doctor's callback: {recorder.stopped}"
        recorder.say(recorder.finish(trainer.global_step, trainer.log_dir or trainer.default_root_dir))

    def _metric(self, metrics, keys: tuple[str, ...], what: str):
        """The first of `keys` the module logged; a missing one is said once, with what was logged."""
        for key in keys:
            if key in metrics:
                return metrics[key]
        if what not in self._missing:
            self._missing.add(what)
            logged = ", ".join(sorted(metrics)) or "nothing"
            self.recorder.meta.notes.append(
                f"no {what} among the logged metrics ({logged}); looked for {', '.join(keys)}"
            )
        return None


def lightning_config(trainer, module) -> dict[str, Any]:
    """The trainer's, optimizer's and hparams' settings in the config keys the rules read."""
    config: dict[str, Any] = {}
    hparams = getattr(module, "hparams", None) or {}
    for key, value in dict(hparams).items():
        if key in HPARAM_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            config[HPARAM_KEYS[key]] = value
    groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
    if groups:
        # the peak LR: schedulers keep the LR they started from as initial_lr
        config["learning_rate"] = max(float(g.get("initial_lr", g["lr"])) for g in groups)
        if "weight_decay" in groups[0]:
            config["weight_decay"] = float(groups[0]["weight_decay"])
        betas = groups[0].get("betas")
        if isinstance(betas, (tuple, list)) and len(betas) == 2:
            config["beta1"], config["beta2"] = float(betas[0]), float(betas[1])
    config["grad_clip"] = float(trainer.gradient_clip_val or 0.0)  # None or 0: no clipping
    # nanoGPT's gradient_accumulation_steps is the whole run's (train.py divides it by the ranks)
    config["gradient_accumulation_steps"] = int(trainer.accumulate_grad_batches) * max(1, trainer.world_size)
    max_steps = planned_steps(trainer)
    if max_steps:
        config["max_iters"] = max_steps
    precision = str(trainer.precision).split("-")[0]
    if precision in PRECISION_DTYPES:
        config["dtype"] = PRECISION_DTYPES[precision]
    return config


def planned_steps(trainer) -> int | None:
    """max_steps, else the optimizer steps max_epochs makes; None when unbounded."""
    if trainer.max_steps and trainer.max_steps > 0:
        return int(trainer.max_steps)
    estimated = trainer.estimated_stepping_batches
    return int(estimated) if isinstance(estimated, (int, float)) and math.isfinite(estimated) else None


def first_lr(trainer) -> float:
    """The current LR of the first optimizer's first parameter group."""
    groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
    return float(groups[0]["lr"]) if groups else float("nan")


def fallback_checkpoint(trainer) -> str | None:
    """The best (else the last) checkpoint a ModelCheckpoint has saved so far, or None."""
    for callback in trainer.checkpoint_callbacks:
        path = getattr(callback, "best_model_path", "") or getattr(callback, "last_model_path", "")
        if path:
            return str(path)
    return None
