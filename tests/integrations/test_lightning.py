"""The Lightning callback on real tiny runs: an embedding and a linear head (a bigram model) trained
on the CPU for a few dozen steps, validated every 10, logging every 5 steps."""

from __future__ import annotations

import io
import json
import os

from tiny_runs import VOCAB, import_or_skip, lr_jump, markov_tokens

import_or_skip("torch", "lightning")

import lightning.pytorch as L  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402

from plateau_doctor.integrations.lightning import PlateauDoctorCallback  # noqa: E402

MAX_STEPS = 60
VAL_EVERY = 10
JUMP_AT = 20
JUMP = 1e4


class Bigram(L.LightningModule):
    def __init__(self, lr: float = 1e-2, jump: float | None = None, batch_size: int = 16) -> None:
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
        jump = self.hparams.jump
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lr_jump(JUMP_AT if jump else None, jump or 1.0)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def fit(root, callback: PlateauDoctorCallback, jump: float | None = None) -> L.Trainer:
    torch.manual_seed(0)

    def loader(rows: int, seed: int):
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(markov_tokens(rows, seed)), batch_size=16
        )

    trainer = L.Trainer(
        max_steps=MAX_STEPS,
        val_check_interval=VAL_EVERY,
        log_every_n_steps=5,
        default_root_dir=str(root),
        logger=CSVLogger(str(root)),
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        callbacks=[callback],
    )
    trainer.fit(Bigram(jump=jump), loader(MAX_STEPS * 16, 1), loader(128, 2))
    return trainer


def test_a_healthy_run_goes_to_its_end_and_leaves_both_reports_in_the_log_dir(tmp_path):
    out = io.StringIO()
    trainer = fit(tmp_path, PlateauDoctorCallback(stop_on="error", out=out))

    assert trainer.global_step == MAX_STEPS
    printed = out.getvalue().splitlines()
    assert len(printed) == MAX_STEPS // VAL_EVERY + 1
    assert printed[0].startswith("plateau-doctor step 10: Val ")
    assert not any("stopping" in line for line in printed)
    assert {"report.json", "report.html"} <= set(os.listdir(trainer.log_dir))  # the logger's version dir
    assert trainer.log_dir != str(tmp_path)
    report = json.loads((tmp_path / trainer.log_dir / "report.json").read_text())
    assert report["source"]["format"] == "lightning_callback"
    assert report["run"]["last_iter"] == MAX_STEPS and report["run"]["max_iters"] == MAX_STEPS
    assert report["run"]["last_val_loss"] < 2.5  # it learned: ln(64) = 4.16 at init
    assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_stop_on_error_stops_a_diverging_run_and_the_report_says_divergence(tmp_path):
    out = io.StringIO()
    trainer = fit(tmp_path, PlateauDoctorCallback(stop_on="error", out=out), jump=JUMP)

    assert JUMP_AT < trainer.global_step < MAX_STEPS
    stop = [line for line in out.getvalue().splitlines() if "stopping training" in line]
    assert len(stop) == 1 and "divergence PD10" in stop[0]
    report = json.loads((tmp_path / trainer.log_dir / "report.json").read_text())
    assert any(
        f["category"] == "divergence" and "error" in (f["severity"], f.get("severity_as_found"))
        for f in report["findings"]
    )


def test_by_default_the_callback_never_stops_even_a_diverging_run(tmp_path):
    out = io.StringIO()
    trainer = fit(tmp_path, PlateauDoctorCallback(out=out), jump=JUMP)

    assert trainer.global_step == MAX_STEPS
    assert not any("stopping" in line for line in out.getvalue().splitlines())


def test_a_loss_logged_under_another_name_is_noted_in_the_report_not_raised(tmp_path):
    trainer = fit(tmp_path, PlateauDoctorCallback(val_key="valid/nll", out=io.StringIO()))

    assert trainer.global_step == MAX_STEPS
    report = json.loads((tmp_path / trainer.log_dir / "report.json").read_text())
    assert any(note.startswith("no val loss among the logged metrics") for note in report["notes"])
