"""plateau-doctor in a HuggingFace transformers Trainer.

    from plateau_doctor.integrations.hf import PlateauDoctorCallback
    trainer = Trainer(..., callbacks=[PlateauDoctorCallback()])            # never stops the run
    trainer = Trainer(..., callbacks=[PlateauDoctorCallback(stop_on="error")])

What it reads: each train logs dict (`loss`, the mean over the logging window; `learning_rate`;
`grad_norm`; `epoch`) at `state.global_step`, each evaluation's `eval_loss`, and from the
TrainingArguments and the model the settings the rules read (learning rate, warmup, max steps,
clipping, batch, accumulation, dtype; the parameter count and vocabulary). At every evaluation it
prints one line: the verdict's first sentence and the top finding. At the end of training it
writes report.json and report.html into `args.output_dir`.

`stop_on="error"` sets `control.should_training_stop` when a divergence is an error, or when
overfitting beyond noise is and there is a checkpoint to fall back to (`state.best_model_checkpoint`,
or a checkpoint-N already saved in output_dir by a save_strategy other than "no").

Every process of a distributed run reads the same (already gathered) metrics and so decides the
same way; only the main process prints and writes.
"""

from __future__ import annotations

import os
import re
from typing import Any, TextIO

try:
    from transformers import TrainerCallback
except ImportError as exc:  # an optional extra: say what to install
    raise ImportError(
        "plateau_doctor.integrations.hf needs transformers (and accelerate, which its Trainer "
        "uses): pip install 'plateau-doctor[hf]'"
    ) from exc

from .recorder import TrainingRecorder, count_parameters, guarded, number

NAME = "hf_trainer_callback"
# As the hf_trainer format: Trainer.evaluate() runs over the whole eval_dataset every time, and the
# logged loss is the mean over the logging window.
TRAITS = {"eval_kind": "fixed", "loss_kind": "window_mean"}
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


class PlateauDoctorCallback(TrainerCallback):
    """Diagnoses the run at every evaluation; see the module docstring.

    stop_on: None (default: never stops the run) or "error".
    config: settings the Trainer cannot tell, in nanoGPT's config keys (e.g. {"block_size": 1024});
        an unknown key is a ValueError with a did-you-mean.
    dataset_tokens: the training set's size in tokens ("9.2M" or an int), for epochs and repetition.
    out: where the lines go (default: stdout).
    """

    def __init__(
        self,
        stop_on: str | None = None,
        *,
        config: dict[str, Any] | None = None,
        dataset_tokens: str | int | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.recorder = TrainingRecorder(
            NAME, TRAITS, stop_on=stop_on, config=config, dataset_tokens=dataset_tokens, out=out
        )

    @guarded
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        recorder = self.recorder
        recorder.start(str(args.output_dir or "<trainer>"), training_arguments_config(args, state))
        meta = recorder.meta
        meta.max_iters = state.max_steps if state.max_steps and state.max_steps > 0 else None
        meta.n_params = count_parameters(model)
        vocab = getattr(getattr(model, "config", None), "vocab_size", None)
        meta.vocab_size = vocab if isinstance(vocab, int) and vocab > 0 else None
        if args.world_size > 1:
            meta.world_size = args.world_size
        meta.notes.append("read from a transformers Trainer callback: rows have no log line (line 0)")

    @guarded
    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:  # eval dicts come to on_evaluate; the run summary is not a window
            return
        meta = self.recorder.meta
        self.recorder.train_row(
            state.global_step, logs["loss"], logs.get("learning_rate"), logs.get("grad_norm")
        )
        epoch = number(logs.get("epoch"))
        if epoch > 0:
            meta.epochs = epoch
        tokens = number(getattr(state, "num_input_tokens_seen", None))
        if tokens > 0 and state.global_step > 0:  # include_num_input_tokens_seen=True counts them
            meta.tokens_per_iter = round(tokens / state.global_step)

    @guarded
    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        recorder = self.recorder
        recorder.eval_row(state.global_step, eval_loss(metrics or {}))
        if not (state.is_world_process_zero or recorder.stop_on):
            return  # only the main process prints; every process decides a stop alike
        judgement = recorder.judge(state.global_step, fallback_checkpoint(args, state))
        if judgement.stop:
            control.should_training_stop = True
        if state.is_world_process_zero:
            recorder.say(judgement.line)

    @guarded
    def on_train_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        recorder = self.recorder
        recorder.meta.last_step = state.global_step or None
        if recorder.stopped:
            recorder.meta.stopped_by_design = f"plateau-doctor's callback: {recorder.stopped}"
        recorder.say(recorder.finish(state.global_step, args.output_dir))


def eval_loss(metrics: dict[str, Any]) -> float:
    """`eval_loss`, or with several eval datasets (eval_<name>_loss) the first in name order."""
    if "eval_loss" in metrics:
        return number(metrics["eval_loss"])
    named = sorted(k for k in metrics if k.startswith("eval_") and k.endswith("_loss"))
    return number(metrics[named[0]]) if named else float("nan")


def training_arguments_config(args, state) -> dict[str, Any]:
    """The TrainingArguments in the config keys the rules read (nanoGPT's names, as
    prescribe/data_config.py maps them the other way). Only settings that mean the same thing:
    HF's LR schedules are not nanoGPT's cosine, so lr_decay_iters / min_lr / decay_lr are left out."""
    config: dict[str, Any] = {
        "learning_rate": float(args.learning_rate),
        "weight_decay": float(args.weight_decay),
        "beta1": float(args.adam_beta1),
        "beta2": float(args.adam_beta2),
        "grad_clip": float(args.max_grad_norm or 0.0),  # None or 0: no clipping
        "batch_size": int(args.per_device_train_batch_size),
        # nanoGPT's gradient_accumulation_steps is the whole run's (train.py divides it by the ranks)
        "gradient_accumulation_steps": int(args.gradient_accumulation_steps) * max(1, int(args.world_size)),
        "dtype": "bfloat16" if args.bf16 else "float16" if args.fp16 else "float32",
    }
    max_steps = int(state.max_steps or 0)
    if max_steps > 0:
        config["max_iters"] = max_steps
        config["warmup_iters"] = int(args.get_warmup_steps(max_steps))
    if _strategy(args.eval_strategy) == "steps" and state.eval_steps:
        config["eval_interval"] = int(state.eval_steps)
    return config


def fallback_checkpoint(args, state) -> str | None:
    """The checkpoint a stopped run can go back to: the best one the Trainer tracks, else the
    latest checkpoint-N saved so far in output_dir; None when there is none (save_strategy "no",
    or nothing saved yet)."""
    if state.best_model_checkpoint:
        return str(state.best_model_checkpoint)
    if _strategy(args.save_strategy) == "no" or not args.output_dir or not os.path.isdir(args.output_dir):
        return None
    saved = [
        (int(m.group(1)), name) for name in os.listdir(args.output_dir) if (m := CHECKPOINT_RE.match(name))
    ]
    return os.path.join(args.output_dir, max(saved)[1]) if saved else None


def _strategy(value: Any) -> str:
    """An IntervalStrategy / SaveStrategy enum or its string, as the string."""
    return str(getattr(value, "value", value))
