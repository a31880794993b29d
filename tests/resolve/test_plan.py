"""A plan: the run a config describes, built like a log's run, with its facts at max_iters."""

from __future__ import annotations

import pytest

from plateau_doctor.resolve.files import ConfigError, named_gpu
from plateau_doctor.resolve.plan import build_plan, read_plan_config


def plan_of(tmp_path, text: str, name: str = "config.py", **kwargs):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return build_plan(read_plan_config(str(path)), **kwargs)


def test_a_plan_has_no_rows_and_its_facts_are_those_at_max_iters(tmp_path):
    plan = plan_of(
        tmp_path, "batch_size = 8\nblock_size = 256\ngradient_accumulation_steps = 2\nmax_iters = 1000\n"
    )
    assert len(plan.parsed.iter_table) == 0 and len(plan.parsed.eval_table) == 0
    assert plan.parsed.meta.config_schema == "nanogpt" and plan.parsed.meta.eval_kind == "resampled"
    f = plan.facts
    assert f.planned and f.last_iter == f.max_iters == 1000
    assert f.tokens_per_iter == 4096 and f.tokens_seen == 4_096_000
    assert f.sources["tokens_seen"] == "planned: max_iters x tokens per iteration"
    # train.py's defaults fill the rest: openwebtext, so its stock size gives the epochs
    assert f.dataset_tokens == 9_035_582_198 and f.epochs == 0.0005  # rounded to 4 places, as for logs
    # train.py's warmup_iters=2000 is longer than this run: it ends mid-warmup
    assert f.lr_at_last_iter == pytest.approx(6e-4 * 1001 / 2001)


def test_dataset_tokens_and_set_values_enter_the_plan(tmp_path):
    plan = plan_of(tmp_path, "max_iters = 100\n", overrides={"max_iters": 50}, dataset_tokens="1M")
    assert plan.facts.max_iters == 50 and plan.config.source("max_iters") == "--set"
    assert (
        plan.facts.dataset_tokens == 1_000_000 and plan.facts.sources["dataset_tokens"] == "--dataset-tokens"
    )


def test_eval_only_trains_nothing(tmp_path):
    plan = plan_of(tmp_path, "eval_only = True\ninit_from = 'gpt2'\n")
    assert plan.facts.max_iters == 0 and plan.facts.tokens_seen == 0
    assert any("eval_only=True" in note for note in plan.notes)


def test_the_gpu_comes_from_gpu_else_from_a_comment(tmp_path):
    text = "# trains on an RTX 4070 (12 GB)\nbatch_size = 8\n"
    assert plan_of(tmp_path, text).facts.gpu == "RTX 4070 12GB"
    assert plan_of(tmp_path, text, gpu="H100").facts.gpu == "H100"
    assert plan_of(tmp_path, "batch_size = 8\n").facts.gpu is None


def test_gpu_names_in_file_names_are_not_claims():
    assert named_gpu("# the config of logs/h200_run.log\n") is None
    assert named_gpu("# on 1 node of 8X A100 40GB\n") == "A100 40GB"


def test_an_hf_file_keeps_the_source_of_each_mapped_key(tmp_path):
    text = '{"output_dir": "o", "max_steps": 200, "warmup_ratio": 0.1, "model_name_or_path": "gpt2"}'
    plan = plan_of(tmp_path, text, name="args.json", overrides={"learning_rate": 1e-4})
    config = plan.config
    assert config.get("warmup_iters") == 20 and config.source("warmup_iters").startswith("config:")
    assert config.get("learning_rate") == 1e-4 and config.source("learning_rate") == "--set"
    assert config.get("grad_clip") == 1.0 and config.source("grad_clip") == "default"
    assert plan.parsed.meta.finetune is True and plan.parsed.meta.eval_kind == "fixed"


def test_an_unreadable_config_is_a_config_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid JSON"):
        read_plan_config(str(path))
