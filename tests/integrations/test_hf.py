"""The transformers Trainer callback on real tiny runs: a 1-layer GPT-2 (n_embd 32, vocab 64) trained
on the CPU for a few dozen steps with an eval every 10."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest
from tiny_runs import SEQ, VOCAB, import_or_skip, lr_jump, markov_tokens

import_or_skip("torch", "transformers", "accelerate")

import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerState, TrainingArguments  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from plateau_doctor.integrations.hf import PlateauDoctorCallback, fallback_checkpoint  # noqa: E402

MAX_STEPS = 50
EVAL_EVERY = 10
JUMP_AT = 20  # the step from which the diverging runs' LR is 10,000 times higher
JUMP = 1e4


class Tokens(torch.utils.data.Dataset):
    def __init__(self, rows: int, seed: int) -> None:
        self.tokens = markov_tokens(rows, seed)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.tokens[i], "labels": self.tokens[i]}


def train(output_dir, callback: PlateauDoctorCallback, jump: float | None = None) -> Trainer:
    """A tiny GPT-2 trained for MAX_STEPS (fewer if stopped), evaluated every EVAL_EVERY steps, no
    gradient clipping; with `jump`, the LR is multiplied by it from JUMP_AT on."""
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=1, n_head=2, n_embd=32, vocab_size=VOCAB, n_positions=SEQ, bos_token_id=0, eos_token_id=0
    )
    model = GPT2LMHeadModel(config)
    args = TrainingArguments(
        output_dir=str(output_dir),
        max_steps=MAX_STEPS,
        per_device_train_batch_size=16,
        learning_rate=3e-3,
        max_grad_norm=0.0,
        eval_strategy="steps",
        eval_steps=EVAL_EVERY,
        logging_steps=5,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_jump(JUMP_AT if jump else None, jump or 1.0))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Tokens(MAX_STEPS * 16, seed=1),
        eval_dataset=Tokens(128, seed=2),
        optimizers=(optimizer, schedule),
        callbacks=[callback],
    )
    trainer.train()
    return trainer


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_a_healthy_run_goes_to_its_end_and_leaves_both_reports_in_output_dir_only(tmp_path, monkeypatch):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = io.StringIO()
    trainer = train(tmp_path / "run", PlateauDoctorCallback(stop_on="error", out=out))

    assert trainer.state.global_step == MAX_STEPS
    printed = lines(out)
    assert len(printed) == MAX_STEPS // EVAL_EVERY + 1  # one per eval, one at the end
    assert printed[0].startswith("plateau-doctor step 10: Val ")
    assert not any("stopping" in line for line in printed)
    assert sorted(os.listdir(tmp_path / "run")) == ["report.html", "report.json"]  # nothing half-written
    assert os.listdir(elsewhere) == []
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["source"]["format"] == "hf_trainer_callback"
    assert report["run"]["last_iter"] == MAX_STEPS and report["run"]["max_iters"] == MAX_STEPS
    assert report["run"]["last_val_loss"] < 2.5  # it learned: ln(64) = 4.16 at init
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert report["verdict"].split(".")[0] in html


def test_stop_on_error_stops_a_diverging_run_and_the_report_says_divergence(tmp_path):
    out = io.StringIO()
    trainer = train(tmp_path / "run", PlateauDoctorCallback(stop_on="error", out=out), jump=JUMP)

    assert JUMP_AT < trainer.state.global_step < MAX_STEPS
    stop = [line for line in lines(out) if "stopping training" in line]
    assert len(stop) == 1 and "divergence PD10" in stop[0]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    diverged = [
        f
        for f in report["findings"]
        if f["category"] == "divergence" and "error" in (f["severity"], f.get("severity_as_found"))
    ]
    assert diverged
    assert any("ended early by design: plateau-doctor's callback" in note for note in report["notes"])


def test_by_default_the_callback_never_stops_even_a_diverging_run(tmp_path):
    out = io.StringIO()
    trainer = train(tmp_path / "run", PlateauDoctorCallback(out=out), jump=JUMP)

    assert trainer.state.global_step == MAX_STEPS
    assert not any("stopping" in line for line in lines(out))
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert any(f["category"] == "divergence" for f in report["findings"])


def test_a_callback_that_fails_logs_it_once_and_training_goes_on(tmp_path, caplog):
    closed = io.StringIO()
    closed.close()  # every line the callback prints fails
    with caplog.at_level(logging.WARNING, logger="plateau_doctor"):
        trainer = train(tmp_path / "run", PlateauDoctorCallback(stop_on="error", out=closed))

    assert trainer.state.global_step == MAX_STEPS
    failures = [r for r in caplog.records if "callback's" in r.getMessage()]
    assert len(failures) == 1 and "training goes on" in failures[0].getMessage()


def test_a_bad_setting_is_refused_when_the_callback_is_made_naming_it():
    with pytest.raises(ValueError, match="did you mean 'error'"):
        PlateauDoctorCallback(stop_on="erorr")
    with pytest.raises(ValueError, match="unknown key 'blok_size'; did you mean 'block_size'"):
        PlateauDoctorCallback(config={"blok_size": 1024})


def test_overfitting_has_a_checkpoint_to_fall_back_to_only_where_the_trainer_saves_one(tmp_path):
    state = TrainerState()
    no_saving = TrainingArguments(output_dir=str(tmp_path), save_strategy="no", report_to=[], use_cpu=True)
    saving = TrainingArguments(output_dir=str(tmp_path), save_strategy="steps", report_to=[], use_cpu=True)
    assert fallback_checkpoint(no_saving, state) is None
    assert fallback_checkpoint(saving, state) is None  # nothing saved yet
    (tmp_path / "checkpoint-10").mkdir()
    (tmp_path / "checkpoint-20").mkdir()
    assert fallback_checkpoint(saving, state) == str(tmp_path / "checkpoint-20")
    assert fallback_checkpoint(no_saving, state) is None
    state.best_model_checkpoint = str(tmp_path / "checkpoint-10")
    assert fallback_checkpoint(no_saving, state) == str(tmp_path / "checkpoint-10")
