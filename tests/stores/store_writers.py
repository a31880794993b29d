"""Write tracker stores with the trackers' own client libraries, replaying a real training log.

A labelled log from examples/logs (nanoGPT stdout) is parsed into its curve and config, then
logged through tensorboardX / torch.utils.tensorboard, mlflow, trackio, wandb and transformers'
TrainerState as the training script would have logged it. Reading the store back must give the
same curve, and the same diagnosis as the log. trackio and wandb read their directory from the
environment at import, so they write in a subprocess. Also run by make_fixtures.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "logs"
OVERFIT_LOG = EXAMPLES / "h200_shakespeare_char_overfit_default.log"  # labelled: top overfitting


@dataclass
class Curve:
    """A run as a tracker sees it: train loss by step, evals, the config dict."""

    iters: list[tuple[int, float, float]] = field(default_factory=list)  # step, loss, lr (nan: none)
    evals: list[tuple[int, float, float]] = field(default_factory=list)  # step, train, val
    config: dict = field(default_factory=dict)


def curve_from_log(path: Path = OVERFIT_LOG) -> Curve:
    """The log's curve and the config its run used (what nanoGPT passes to wandb.init)."""
    from plateau_doctor.api import parse
    from plateau_doctor.resolve.config import resolve_config

    parsed = parse(str(path))
    it = parsed.iter_table
    ev = parsed.eval_table
    resolved = resolve_config(parsed)
    config = {key: value.value for key, value in resolved.values.items()}
    return Curve(
        iters=list(zip(it["iter"].tolist(), it["loss"].tolist(), it["lr"].tolist(), strict=False)),
        evals=list(
            zip(ev["step"].tolist(), ev["train_loss"].tolist(), ev["val_loss"].tolist(), strict=False)
        ),
        config=config,
    )


# -- TensorBoard ----------------------------------------------------------------------------------
def write_tensorboard(writer_class, logdir: Path, curve: Curve) -> None:
    """HF TensorBoardCallback's tags: train/loss, eval/loss, train/learning_rate; the args as text."""
    writer = writer_class(str(logdir))
    writer.add_text("args", json.dumps(curve.config))
    for step, loss, lr in curve.iters:
        writer.add_scalar("train/loss", loss, step)
        if lr == lr:
            writer.add_scalar("train/learning_rate", lr, step)
    for step, _, val in curve.evals:
        writer.add_scalar("eval/loss", val, step)
    writer.close()


# -- MLflow ---------------------------------------------------------------------------------------
def write_mlflow(
    tracking_uri: str, curve: Curve, experiment: str = "shakespeare", runs: tuple[str, ...] = ("overfit",)
) -> None:
    """Runs logged with MlflowClient.log_batch (a training loop's log_metrics), nanoGPT's W&B keys."""
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # mlruns/ is in maintenance mode in MLflow 3
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = client.create_experiment(experiment)
    for name in runs:
        run = client.create_run(experiment_id, run_name=name)
        run_id = run.info.run_id
        params = [Param(k, str(v)) for k, v in curve.config.items()]
        for at in range(0, len(params), 100):
            client.log_batch(run_id, params=params[at : at + 100])
        stamp = 1_700_000_000_000
        metrics = []
        for step, loss, _lr in curve.iters:
            metrics.append(Metric("train/loss", loss, stamp + step, step))
        for step, _train, val in curve.evals:
            metrics.append(Metric("val/loss", val, stamp + step, step))
        metrics.sort(key=lambda m: (m.timestamp, m.key))
        for at in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[at : at + 1000])
        client.set_terminated(run_id)


# -- trackio --------------------------------------------------------------------------------------
TRACKIO_SCRIPT = """
import json, sys, trackio
curve = json.load(open(sys.argv[1]))
for name in curve["runs"]:
    trackio.init(project=curve["project"], name=name, config=curve["config"])
    for step, loss, lr in curve["iters"]:
        trackio.log({"train_loss": loss}, step=step)
    for step, train, val in curve["evals"]:
        trackio.log({"val_loss": val}, step=step)
    trackio.finish()
"""


def write_trackio(
    directory: Path, curve: Curve, project: str = "shakespeare", runs: tuple[str, ...] = ("overfit",)
) -> Path:
    """The project's database, written by trackio in a subprocess (TRACKIO_DIR is read at import)."""
    spec = directory / "curve.json"
    spec.write_text(
        json.dumps(
            {
                "project": project,
                "runs": list(runs),
                "config": curve.config,
                "iters": curve.iters,
                "evals": curve.evals,
            }
        )
    )
    env = {**os.environ, "TRACKIO_DIR": str(directory), "HF_HUB_OFFLINE": "1"}
    subprocess.run(
        [sys.executable, "-c", TRACKIO_SCRIPT, str(spec)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    spec.unlink()
    return directory / f"{project}.db"


# -- W&B ------------------------------------------------------------------------------------------
WANDB_SCRIPT = """
import json, sys, wandb
from wandb.sdk.lib import config_util
log_path, config = sys.argv[1], json.load(open(sys.argv[2]))
run = wandb.init(project="shakespeare", config=config)
with open(log_path) as log:
    for line in log:
        print(line, end="")          # the training script's stdout, captured to files/output.log
files = run.dir
run.finish()
# an offline run writes config.yaml only when synced: write it with wandb's own writer
config_util.save_config_file_from_dict(files + "/config.yaml",
                                       {k: {"desc": None, "value": v} for k, v in config.items()})
print("RUN_DIR=" + files, file=sys.stderr)
"""


def write_wandb(directory: Path, log: Path, curve: Curve) -> Path:
    """An offline W&B run whose stdout is the log; returns the run directory."""
    spec = directory / "config.json"
    spec.write_text(json.dumps(curve.config))
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(directory), "WANDB_SILENT": "true"}
    done = subprocess.run(
        [sys.executable, "-c", WANDB_SCRIPT, str(log), str(spec)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    spec.unlink()
    files = next(line for line in done.stderr.splitlines() if line.startswith("RUN_DIR="))[8:]
    return Path(files).parent


# -- HF Trainer output directory ------------------------------------------------------------------
def write_hf_output(
    directory: Path, curve: Curve, logging_steps: int = 10, checkpoints: tuple[int, ...] = (2500, 5000)
) -> Path:
    """trainer_state.json by transformers' TrainerState in each checkpoint-<step>/ (what the
    Trainer saves there), config.json by a GPT2Config, weights' header by safetensors."""
    import numpy as np
    from safetensors.numpy import save_file
    from transformers import GPT2Config
    from transformers.trainer_callback import TrainerState

    model = GPT2Config(
        vocab_size=65, n_positions=256, n_embd=384, n_layer=6, n_head=6, bos_token_id=0, eos_token_id=0
    )  # a character vocabulary has no GPT-2 token 50256
    for last in checkpoints:
        state = TrainerState(
            max_steps=curve.iters[-1][0], logging_steps=logging_steps, num_train_epochs=1, global_step=last
        )
        for step, loss, lr in curve.iters:
            if 0 < step <= last:
                state.log_history.append(
                    {
                        "loss": loss,
                        "learning_rate": lr if lr == lr else 1e-3,
                        "epoch": step / curve.iters[-1][0],
                        "step": step,
                    }
                )
        for step, _, val in curve.evals:
            if 0 < step <= last:
                state.log_history.append({"eval_loss": val, "epoch": step / curve.iters[-1][0], "step": step})
        state.log_history.sort(key=lambda entry: entry["step"])
        checkpoint = directory / f"checkpoint-{last}"
        checkpoint.mkdir(parents=True)
        state.save_to_json(str(checkpoint / "trainer_state.json"))
        model.to_json_file(str(checkpoint / "config.json"))
        save_file(
            {
                "wte": np.zeros((65, 384), np.float32),
                "wpe": np.zeros((256, 384), np.float32),
                "h.0.attn.c_attn.weight": np.zeros((384, 1152), np.float32),
            },
            str(checkpoint / "model.safetensors"),
        )
    return directory
