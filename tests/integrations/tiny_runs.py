"""Tiny real training runs on the CPU for the callback tests, run in a process of their own:

    python tests/integrations/tiny_runs.py hf|lightning OUT_DIR     -> OUT_DIR/results.json

A separate process because torch, transformers and Lightning take ~1 GB and seconds to import: in
the test process they would weigh on every later test (and on the peak memory the hostile tests
measure of the processes it starts). Exit code 3, with the reason on stdout, when the library
cannot be imported: the tests then skip with that reason (never a mock).

The data is learnable: a Markov chain where each token is 5 x the previous + 3 mod the vocabulary,
one in five drawn at random, so the loss falls towards a floor of ~1.3 nats. The diverging runs
multiply the LR by JUMP from step JUMP_AT, the way a wrong LR on resume or a schedule bug sends a
run off, with no gradient clipping.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys

VOCAB = 64
SEQ = 32
NOISE = 0.2  # the share of tokens drawn at random: the floor of the loss
BATCH = 16
JUMP_AT = 20
JUMP = 1e4
SKIP = 3  # exit code: the library cannot be imported


def markov_tokens(rows: int, seed: int):
    import torch

    generator = torch.Generator().manual_seed(seed)
    tokens = torch.empty(rows, SEQ, dtype=torch.long)
    tokens[:, 0] = torch.randint(0, VOCAB, (rows,), generator=generator)
    for t in range(1, SEQ):
        following = (tokens[:, t - 1] * 5 + 3) % VOCAB
        drawn = torch.randint(0, VOCAB, (rows,), generator=generator)
        tokens[:, t] = torch.where(torch.rand(rows, generator=generator) < NOISE, drawn, following)
    return tokens


def lr_jump(jump: float | None):
    """A LambdaLR multiplier: 1, then `jump` from step JUMP_AT (never without a jump)."""

    def multiplier(step: int) -> float:
        return 1.0 if jump is None or step < JUMP_AT else jump

    return multiplier


class Warnings(logging.Handler):
    """The plateau_doctor logger's records, as the user's console would show them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def outcome(out: io.StringIO, step: int, directory: str, **more) -> dict:
    return {
        "lines": out.getvalue().splitlines() if not out.closed else [],
        "global_step": step,
        "dir": directory,
        "files": sorted(os.listdir(directory)) if os.path.isdir(directory) else [],
        **more,
    }


# -- transformers ---------------------------------------------------------------------------------
HF_MAX_STEPS = 50
HF_EVAL_EVERY = 10


def hf_train(output_dir: str, callback, jump: float | None = None):
    """A 1-layer GPT-2 (n_embd 32, vocab 64) trained for HF_MAX_STEPS (fewer if stopped),
    evaluated every HF_EVAL_EVERY steps, no gradient clipping."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    class Tokens(torch.utils.data.Dataset):
        def __init__(self, rows: int, seed: int) -> None:
            self.tokens = markov_tokens(rows, seed)

        def __len__(self) -> int:
            return len(self.tokens)

        def __getitem__(self, i: int) -> dict:
            return {"input_ids": self.tokens[i], "labels": self.tokens[i]}

    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=1, n_head=2, n_embd=32, vocab_size=VOCAB, n_positions=SEQ, bos_token_id=0, eos_token_id=0
    )
    model = GPT2LMHeadModel(config)
    args = TrainingArguments(
        output_dir=output_dir,
        max_steps=HF_MAX_STEPS,
        per_device_train_batch_size=BATCH,
        learning_rate=3e-3,
        max_grad_norm=0.0,
        eval_strategy="steps",
        eval_steps=HF_EVAL_EVERY,
        logging_steps=5,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        include_num_input_tokens_seen=True,  # the Trainer counts tokens: tokens per step follow
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_jump(jump))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Tokens(HF_MAX_STEPS * BATCH, seed=1),
        eval_dataset=Tokens(128, seed=2),
        optimizers=(optimizer, schedule),
        callbacks=[callback],
    )
    trainer.train()
    return trainer


def run_hf(root: str) -> dict:
    from transformers import TrainerState, TrainingArguments

    from plateau_doctor.integrations.hf import PlateauDoctorCallback, fallback_checkpoint

    results = {}
    # healthy, from another working directory: nothing may land there
    cwd = os.path.join(root, "healthy-cwd")
    os.makedirs(cwd)
    os.chdir(cwd)
    out = io.StringIO()
    run = os.path.join(root, "healthy")
    trainer = hf_train(run, PlateauDoctorCallback(stop_on="error", out=out))
    params = sum(p.numel() for p in trainer.model.parameters())
    results["healthy"] = outcome(
        out, trainer.state.global_step, run, cwd_files=os.listdir(cwd), n_params=params
    )
    os.chdir(root)
    for name, stop_on in (("diverging", "error"), ("diverging_default", None)):
        out = io.StringIO()
        run = os.path.join(root, name)
        trainer = hf_train(run, PlateauDoctorCallback(stop_on=stop_on, out=out), jump=JUMP)
        results[name] = outcome(out, trainer.state.global_step, run)
    # a callback whose every line fails (a closed stream): logged once, training goes on
    closed = io.StringIO()
    closed.close()
    handler = Warnings()
    logging.getLogger("plateau_doctor").addHandler(handler)
    run = os.path.join(root, "failing")
    trainer = hf_train(run, PlateauDoctorCallback(stop_on="error", out=closed))
    logging.getLogger("plateau_doctor").removeHandler(handler)
    results["failing"] = outcome(closed, trainer.state.global_step, run, warnings=handler.messages)
    # what a stopped run could fall back to
    place = os.path.join(root, "checkpoints")
    state = TrainerState()
    no_saving = TrainingArguments(output_dir=place, save_strategy="no", report_to=[], use_cpu=True)
    saving = TrainingArguments(output_dir=place, save_strategy="steps", report_to=[], use_cpu=True)
    seen = {"nothing saved": [fallback_checkpoint(no_saving, state), fallback_checkpoint(saving, state)]}
    os.makedirs(os.path.join(place, "checkpoint-10"))
    os.makedirs(os.path.join(place, "checkpoint-20"))
    seen["two saved"] = [fallback_checkpoint(no_saving, state), fallback_checkpoint(saving, state)]
    state.best_model_checkpoint = os.path.join(place, "checkpoint-10")
    seen["best tracked"] = [fallback_checkpoint(no_saving, state), fallback_checkpoint(saving, state)]
    results["checkpoints"] = {"dir": place, **seen}
    results["max_steps"] = HF_MAX_STEPS
    results["eval_every"] = HF_EVAL_EVERY
    return results


# -- Lightning ------------------------------------------------------------------------------------
PL_MAX_STEPS = 60
PL_VAL_EVERY = 10


def pl_fit(root: str, callback, jump: float | None = None):
    """An embedding and a linear head (a bigram model), validated every PL_VAL_EVERY steps,
    logging every 5, with a CSVLogger (whose version directory is trainer.log_dir)."""
    import lightning.pytorch as L
    import torch
    from lightning.pytorch.loggers import CSVLogger

    class Bigram(L.LightningModule):
        def __init__(self, lr: float = 1e-2, batch_size: int = BATCH) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.embed = torch.nn.Embedding(VOCAB, 32)
            self.head = torch.nn.Linear(32, VOCAB)

        def _loss(self, tokens):
            logits = self.head(self.embed(tokens[:, :-1]))
            return torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))

        def training_step(self, batch, index):
            loss = self._loss(batch[0])
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, index):
            self.log("val_loss", self._loss(batch[0]))

        def configure_optimizers(self):
            optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)
            schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_jump(jump))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def loader(rows: int, seed: int):
        dataset = torch.utils.data.TensorDataset(markov_tokens(rows, seed))
        return torch.utils.data.DataLoader(dataset, batch_size=BATCH)

    torch.manual_seed(0)
    trainer = L.Trainer(
        max_steps=PL_MAX_STEPS,
        val_check_interval=PL_VAL_EVERY,
        log_every_n_steps=5,
        default_root_dir=root,
        logger=CSVLogger(root),
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        callbacks=[callback],
    )
    trainer.fit(Bigram(), loader(PL_MAX_STEPS * BATCH, 1), loader(128, 2))
    return trainer


def run_lightning(root: str) -> dict:
    from plateau_doctor.integrations.lightning import PlateauDoctorCallback

    results = {}
    scenarios = (
        ("healthy", {"stop_on": "error"}, None),
        ("diverging", {"stop_on": "error"}, JUMP),
        ("diverging_default", {}, JUMP),
        ("other_val_key", {"val_key": "valid/nll"}, None),
    )
    for name, options, jump in scenarios:
        out = io.StringIO()
        trainer = pl_fit(os.path.join(root, name), PlateauDoctorCallback(out=out, **options), jump=jump)
        results[name] = outcome(out, trainer.global_step, trainer.log_dir, root=os.path.join(root, name))
    results["max_steps"] = PL_MAX_STEPS
    results["eval_every"] = PL_VAL_EVERY
    return results


def results_of(framework: str, root) -> dict:
    """Run this script for `framework` in a process of its own and return its results; skip the
    calling tests, with the reason, where the library cannot be imported."""
    import subprocess

    import pytest

    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([os.path.abspath(src), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, __file__, framework, str(root)], capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode == SKIP:
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, done.stderr[-4000:]
    with open(os.path.join(root, "results.json")) as handle:
        return json.load(handle)


LIBRARIES = {"hf": ("torch", "transformers", "accelerate"), "lightning": ("torch", "lightning")}
RUNS = {"hf": run_hf, "lightning": run_lightning}


def main(framework: str, root: str) -> int:
    import importlib

    for name in LIBRARIES[framework]:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            print(
                f"{name} cannot be imported ({exc}): pip install torch first (torch==2.13.0 here), "
                "then 'plateau-doctor[hf,lightning]'"
            )
            return SKIP
    results = RUNS[framework](os.path.abspath(root))
    with open(os.path.join(root, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
