"""An HF Trainer output directory: the newest checkpoint's trainer_state.json (written by
transformers' TrainerState), config.json and the safetensors header; training_args.bin unread."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest

from plateau_doctor.api import diagnose, parse
from plateau_doctor.read import InputError


def test_the_newest_checkpoints_state_is_read(hf_output_dir, curve):
    parsed = parse(str(hf_output_dir))
    assert parsed.format == "hf_trainer"
    assert parsed.iter_table["iter"].tolist()[-1] == 5000  # checkpoint-5000, not -2500
    assert parsed.eval_table["val_loss"].tolist() == [val for step, _, val in curve.evals if step > 0]
    assert "HF output directory: checkpoint-5000/trainer_state.json read (the newest)" in parsed.meta.notes


def test_the_model_config_and_weights_header_give_vocab_and_parameters(hf_output_dir):
    meta = parse(str(hf_output_dir)).meta
    assert meta.vocab_size == 65
    assert meta.n_params == 65 * 384 + 256 * 384 + 384 * 1152  # the tensors the writer saved


def test_a_replayed_overfitting_run_is_diagnosed_overfitting(hf_output_dir):
    raised = [f.category for f in diagnose(str(hf_output_dir)).findings if f.raised]
    assert raised[0] == "overfitting"  # labels.yaml: expect_top overfitting


def test_a_top_level_state_saved_at_the_end_wins_when_it_is_newer(hf_output_dir, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(hf_output_dir, copy)
    state = json.loads((copy / "checkpoint-5000" / "trainer_state.json").read_text())
    state["global_step"] = 5001
    state["log_history"].append({"loss": 0.5, "step": 5001})
    (copy / "trainer_state.json").write_text(json.dumps(state))
    parsed = parse(str(copy))
    assert parsed.iter_table["iter"].tolist()[-1] == 5001
    assert "HF output directory: trainer_state.json read (the newest)" in parsed.meta.notes


def test_training_args_bin_is_never_unpickled(hf_output_dir, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(hf_output_dir, copy)
    (copy / "checkpoint-5000" / "training_args.bin").write_bytes(pickle.dumps(_Bomb()))
    parse(str(copy))  # _Bomb.__reduce__ would raise if anything loaded it


def test_an_output_dir_without_any_trainer_state_is_an_input_error(tmp_path):
    (tmp_path / "checkpoint-10").mkdir()
    (tmp_path / "checkpoint-10" / "config.json").write_text("{}")
    with pytest.raises(InputError, match="without trainer_state.json"):
        parse(str(tmp_path))


class _Bomb:
    def __reduce__(self):
        return (_explode, ())


def _explode():
    raise AssertionError("training_args.bin was unpickled")
