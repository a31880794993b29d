"""Whose keys a config uses, and HF TrainingArguments' keys mapped onto the canonical ones."""

from __future__ import annotations

import pytest

from plateau_doctor.resolve.schemas import (
    HF,
    HF_DEFAULTS,
    NANOGPT,
    config_kind,
    from_hf,
    own_settings,
    schema_defaults,
    unknown_nanogpt_keys,
)


def mapped(values: dict, dataset_tokens: int | None = None) -> dict:
    out, _ = from_hf({**HF_DEFAULTS, **values}, dataset_tokens)
    return {key: m.value for key, m in out.items()}


def test_a_python_config_is_nanogpts_and_a_data_file_is_told_by_its_keys():
    assert config_kind("config/train_gpt2.py", {"anything": 1}) == NANOGPT
    assert config_kind("args.json", {"output_dir": "out", "learning_rate": 1e-4}) == HF
    assert config_kind("run.yaml", {"learning_rate": 1e-4, "max_iters": 10, "_wandb": {}}) == NANOGPT
    assert config_kind("other.yaml", {"lr": 1e-4, "steps": 10, "max_iters": 3}) is None


def test_unknown_nanogpt_keys_skip_underscore_helpers():
    assert unknown_nanogpt_keys(["learning_rate", "learning_rte", "_gpus"]) == ["learning_rte"]


def test_hf_renames_precision_and_clipping_map_onto_canonical_keys():
    values = mapped({"max_steps": 1000, "fp16": True, "max_grad_norm": 0.0, "per_device_train_batch_size": 4})
    assert values["dtype"] == "float16" and values["grad_clip"] == 0.0 and values["batch_size"] == 4
    assert values["max_iters"] == values["lr_decay_iters"] == 1000
    assert mapped({"max_steps": 10, "bf16": True})["dtype"] == "bfloat16"
    assert mapped({"max_steps": 10})["dtype"] == "float32"


@pytest.mark.parametrize(
    ("scheduler", "decays", "min_lr"),
    [
        ("linear", True, 0.0),
        ("cosine", True, 0.0),
        ("constant", False, 0.0),
        ("constant_with_warmup", False, 0.0),
    ],
)
def test_hf_schedulers_decay_to_zero_at_max_steps_or_not_at_all(scheduler, decays, min_lr):
    values = mapped({"max_steps": 1000, "lr_scheduler_type": scheduler, "learning_rate": 2e-4})
    assert (values["decay_lr"], values["min_lr"], values["lr_decay_iters"]) == (decays, min_lr, 1000)


def test_a_cosine_with_min_lr_ends_at_its_rate_and_an_unbounded_schedule_is_not_rebuilt():
    values = mapped(
        {
            "max_steps": 100,
            "lr_scheduler_type": "cosine_with_min_lr",
            "lr_scheduler_kwargs": {"min_lr_rate": 0.1},
        }
    )
    assert values["min_lr"] == pytest.approx(5e-6)
    out, notes = from_hf({**HF_DEFAULTS, "max_steps": 100, "lr_scheduler_type": "inverse_sqrt"})
    assert "decay_lr" not in out and "inverse_sqrt" in notes[0]


def test_hf_warmup_is_steps_or_a_ratio_of_the_steps():
    assert mapped({"max_steps": 1000, "warmup_steps": 50})["warmup_iters"] == 50
    assert mapped({"max_steps": 1000, "warmup_ratio": 0.03})["warmup_iters"] == 30
    assert mapped({"max_steps": 1000, "warmup_steps": 0.1})["warmup_iters"] == 100  # transformers >= 4.46


def test_hf_epochs_become_steps_only_with_a_dataset_size_and_a_sequence_length():
    assert "max_iters" not in mapped({"num_train_epochs": 2})
    assert "max_iters" not in mapped({"num_train_epochs": 2}, dataset_tokens=1_000_000)
    values = mapped({"num_train_epochs": 2, "max_seq_length": 512}, dataset_tokens=1_000_000)
    assert values["max_iters"] == 489  # ceil(2 x 1,000,000 / (8 x 1 x 512))
    assert mapped({"num_train_epochs": 2, "max_steps": 7, "block_size": 512}, 1_000_000)["max_iters"] == 7


def test_hf_defaults_are_transformers_defaults_in_canonical_keys():
    defaults = schema_defaults(HF)
    assert defaults["learning_rate"] == 5e-5 and defaults["grad_clip"] == 1.0 and defaults["batch_size"] == 8
    assert "max_iters" not in defaults  # max_steps=-1: the epochs decide
    assert schema_defaults(NANOGPT)["lr_decay_iters"] == 600000 and schema_defaults(None) == {}


def test_fixes_are_written_in_the_configs_own_keys():
    assert own_settings(HF, {"max_iters": 100, "grad_clip": 1.0}) == {"max_steps": 100, "max_grad_norm": 1.0}
    assert own_settings(HF, {"decay_lr": True, "lr_decay_iters": 100, "min_lr": 1e-5}) == {
        "lr_scheduler_type": "cosine"
    }
    assert own_settings(HF, {"dtype": "bfloat16"}) == {"fp16": False, "bf16": True}
    assert own_settings(NANOGPT, {"max_iters": 100}) == {"max_iters": 100}


def test_values_of_the_wrong_type_map_to_nothing_instead_of_failing():
    values = mapped(
        {
            "max_steps": 100,
            "warmup_ratio": "x",
            "learning_rate": "fast",
            "lr_scheduler_type": 5,
            "eval_steps": {},
        }
    )
    assert values["max_iters"] == 100 and "min_lr" not in values and "eval_interval" not in values
    huge = mapped({"num_train_epochs": 2, "gradient_accumulation_steps": 1e300, "block_size": 512}, 10**6)
    assert "max_iters" not in huge  # no overflow: an absurd accumulation gives no step count
