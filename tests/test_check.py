"""`check CONFIG`: a training plan judged before the run, on nanoGPT's own configs, the configs in
examples/configs and the classic slips, with the report formats and exit codes of diagnose.

nanoGPT's config/ files are not copied here: each test writes the values that matter, as the
file at karpathy/nanoGPT (commit 3adf61e) sets them, and says which file it stands for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import plateau_doctor
from plateau_doctor import check
from plateau_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIGS = ROOT / "examples" / "configs"
HF_FIXTURES = ROOT / "tests" / "resolve" / "fixtures"
SHAKESPEARE_TOKENS = 1_003_854  # data/shakespeare_char/prepare.py: "train has 1,003,854 tokens"

# config/train_shakespeare_char.py
TRAIN_SHAKESPEARE_CHAR = {
    "out_dir": "out-shakespeare-char",
    "eval_interval": 250,
    "eval_iters": 200,
    "log_interval": 10,
    "always_save_checkpoint": False,
    "wandb_log": False,
    "dataset": "shakespeare_char",
    "gradient_accumulation_steps": 1,
    "batch_size": 64,
    "block_size": 256,
    "n_layer": 6,
    "n_head": 6,
    "n_embd": 384,
    "dropout": 0.2,
    "learning_rate": 1e-3,
    "max_iters": 5000,
    "lr_decay_iters": 5000,
    "min_lr": 1e-4,
    "beta2": 0.99,
    "warmup_iters": 100,
}
# config/train_gpt2.py (its first comment names the hardware it was written for)
TRAIN_GPT2 = {
    "wandb_log": True,
    "wandb_project": "owt",
    "wandb_run_name": "gpt2-124M",
    "batch_size": 12,
    "block_size": 1024,
    "gradient_accumulation_steps": 40,  # `5 * 8` in the file
    "max_iters": 600000,
    "lr_decay_iters": 600000,
    "eval_interval": 1000,
    "eval_iters": 200,
    "log_interval": 10,
    "weight_decay": 1e-1,
}
TRAIN_GPT2_COMMENT = (
    "config for training GPT-2 (124M) down to very nice loss of ~2.85 on 1 node of 8X A100 40GB"
)
# config/finetune_shakespeare.py
FINETUNE_SHAKESPEARE = {
    "out_dir": "out-shakespeare",
    "eval_interval": 5,
    "eval_iters": 40,
    "wandb_log": False,
    "dataset": "shakespeare",
    "init_from": "gpt2-xl",
    "always_save_checkpoint": False,
    "batch_size": 1,
    "gradient_accumulation_steps": 32,
    "max_iters": 20,
    "learning_rate": 3e-5,
    "decay_lr": False,
}
# config/eval_gpt2.py (its comments: "n_layer=12, n_head=12, n_embd=768", "124M parameters")
EVAL_GPT2 = {"batch_size": 8, "eval_iters": 500, "eval_only": True, "wandb_log": False, "init_from": "gpt2"}


def write_config(
    tmp_path: Path, values: dict, comments: tuple[str, ...] = (), name: str = "config.py"
) -> str:
    lines = [f"# {c}" for c in comments] + [f"{key} = {value!r}" for key, value in values.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def raised(report) -> dict[str, str]:
    return {f.code: f.severity for f in report.findings if f.raised}


def one(report, code: str):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [f.title for f in report.findings]
    return found[0]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return done.value.code, out, err


# -- nanoGPT's stock configs -----------------------------------------------------------------------


def test_stock_shakespeare_char_plans_82_epochs_over_its_dataset(tmp_path):
    report = check(write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR), dataset_tokens=SHAKESPEARE_TOKENS)
    assert raised(report) == {"PD202": "warning"}
    f = one(report, "PD202")
    assert f.title == "82 planned epochs over a 1M-token dataset"
    assert f.evidence["epochs_planned"] == pytest.approx(81.61, abs=0.01)
    # 40 epochs at 16,384 tokens per iteration: where extra passes stop buying anything
    assert "--max_iters=2450 --lr_decay_iters=2450" in f.fixes[1]
    run = report.run
    assert (run.planned, run.last_iter, run.tokens_seen, run.n_params) == (True, 5000, 81_920_000, 10_646_784)
    assert report.verdict.startswith("Plan: 5,000 iterations of 16,384 tokens (81.9M tokens)")


def test_stock_shakespeare_char_uses_the_stock_dataset_size_when_none_is_given(tmp_path):
    report = check(write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR))
    assert report.run.dataset_tokens == SHAKESPEARE_TOKENS
    assert report.run.sources["dataset_tokens"] == "nanoGPT's prepare.py for 'shakespeare_char'"


def test_stock_train_gpt2_is_capacity_bound_and_fits_the_a100s_its_comment_names(tmp_path):
    report = check(write_config(tmp_path, TRAIN_GPT2, (TRAIN_GPT2_COMMENT,)))
    # 600,000 x 491,520 = 295B tokens on 124M parameters: 2,386 per parameter, 119x Chinchilla
    assert raised(report) == {"PD203": "warning"}
    assert one(report, "PD203").evidence["tokens_per_param"] == 2386
    # 33 passes over OpenWebText (train.py's default dataset, 9.04B tokens): a fact, not a fault
    assert one(report, "PD202").severity == "info"
    memory = one(report, "PD608")
    assert memory.severity == "info" and memory.title.startswith("Fits the A100")
    assert report.run.gpu == "A100 40GB" and report.run.sources["gpu"] == "a comment in the config"
    assert one(report, "PD301").ruled_out


def test_stock_train_gpt2_does_not_fit_a_12gb_card_at_batch_12_and_the_fix_keeps_its_tokens(tmp_path):
    report = check(write_config(tmp_path, TRAIN_GPT2, (TRAIN_GPT2_COMMENT,)), gpu="RTX 4070 12GB")
    memory = one(report, "PD608")
    assert memory.raised and memory.evidence["batch_size"] == 12
    fix = memory.fixes[0]
    assert fix.startswith("--batch_size=10 --gradient_accumulation_steps=48")
    assert 10 * 48 * 1024 == 491_520 and "the same 491,520 tokens per iteration" in fix


def test_stock_finetune_shakespeare_is_a_fine_tune_with_noisy_evals(tmp_path):
    path = write_config(tmp_path, FINETUNE_SHAKESPEARE)
    with open(path, "a", encoding="utf-8") as handle:  # the file's one computed value
        handle.write("import time\nwandb_run_name = 'ft-' + str(time.time())\n")
    report = check(path)
    assert report.run.mode == "finetune"
    # a constant LR is what fine-tunes do: a fact; 40 evals of one 1,024-token window: noisy
    assert one(report, "PD303").severity == "info"
    assert raised(report) == {"PD404": "warning"}
    assert any("not evaluated: wandb_run_name" in note for note in report.notes)


def test_stock_eval_gpt2_trains_nothing_and_raises_nothing(tmp_path):
    report = check(write_config(tmp_path, EVAL_GPT2, ("124M parameters",)))
    assert raised(report) == {}
    assert report.run.max_iters == 0 and report.run.lr_at_last_iter is None
    assert report.verdict.startswith("Plan: no training (evaluation only).")
    assert any("not checked: the plan trains nothing (eval_only=True)" in n for n in report.notes)


# -- the classic slips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "title"),
    [
        ({"max_iters": 3000, "lr_decay_iters": 600000}, "The run ends before the anneal"),
        ({"warmup_iters": 6000}, "Warmup (6,000 iterations) is longer than the run (max_iters=5,000)"),
        ({"min_lr": 1e-3}, "The learning rate never decays (min_lr=1.00e-3, learning_rate=1.00e-3)"),
        ({"decay_lr": False}, "The learning rate never decays (decay_lr=False)"),
    ],
)
def test_each_classic_schedule_slip_raises_its_finding(tmp_path, overrides, title):
    report = check(write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR), overrides=overrides)
    f = next(f for f in report.findings if f.code == "PD303" and f.raised)
    assert f.title.startswith(title)
    assert f.fixes


def test_a_sane_config_raises_nothing_above_info(tmp_path, capsys):
    # the 2,000-iteration shakespeare_char run of examples/configs: 33 epochs, a fact
    config = str(EXAMPLE_CONFIGS / "h200_shakespeare_char_healthy_2k.py")
    assert raised(check(config)) == {}
    code, out, _ = run_cli(["check", config, "--fail-on", "warning"], capsys)
    assert code == 0 and "Nothing to act on" in out


# -- the configs in examples/ ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("h200_shakespeare_char_overfit_default.py", {"PD202": "warning"}),
        ("h200_shakespeare_char_lr_high_1e-2.py", {"PD301": "warning"}),
        ("h200_shakespeare_char_lr_low_2e-5.py", {"PD302": "warning", "PD202": "warning"}),
        ("h200_shakespeare_char_noisy_eval.py", {"PD404": "warning", "PD609": "warning"}),
        ("h200_shakespeare_char_tiny_model.py", {"PD202": "warning"}),
        ("h200_pycode_lr_high.py", {"PD301": "warning"}),
        ("h200_pycode_healthy.py", {}),
        ("h200_pycode_ddp2.py", {}),
        ("seed_fineweb_4070.py", {"PD602": "warning"}),
    ],
)
def test_example_configs_get_what_their_runs_showed(name, expected):
    assert raised(check(str(EXAMPLE_CONFIGS / name))) == expected


def test_the_seed_config_fits_the_rtx_4070_it_ran_on_and_is_past_compute_optimal():
    report = check(str(EXAMPLE_CONFIGS / "seed_fineweb_4070.py"))
    assert one(report, "PD608").severity == "info"  # the run did train at batch 16 on that card
    assert one(report, "PD203").severity == "info"  # 259 tokens per parameter: hundreds, not thousands


# -- HF TrainingArguments (files written by transformers' TrainingArguments.to_json_string) --------


def test_hf_training_arguments_warmup_longer_than_max_steps_is_named_in_its_own_keys():
    report = check(str(HF_FIXTURES / "hf_warmup_longer_than_run.json"))
    assert report.format == "hf_training_arguments config"
    f = one(report, "PD303")
    assert f.title == "Warmup (2,000 iterations) is longer than the run (max_iters=1,000)"
    assert f.fixes == ["warmup_steps=100"]


def test_hf_fp16_without_clipping_and_a_constant_scheduler_are_flagged():
    report = check(str(HF_FIXTURES / "hf_fp16_unclipped_constant.json"))
    assert raised(report) == {"PD303": "warning", "PD105": "warning"}
    assert one(report, "PD303").title == "The learning rate never decays (lr_scheduler_type='constant')"
    assert one(report, "PD105").fixes == [
        "max_grad_norm=1.0",
        "fp16=False, bf16=True on a GPU that supports it",
    ]


def test_hf_epochs_become_steps_with_a_dataset_size_and_a_sequence_length():
    path = str(HF_FIXTURES / "hf_defaults.json")
    unknown = check(path)
    assert unknown.run.max_iters is None and unknown.run.epochs == 3.0
    assert unknown.verdict.startswith("Plan: the number of iterations is unknown.")
    known = check(path, dataset_tokens="10M", overrides={"max_seq_length": 1024})
    # 3 epochs x 10M tokens / (8 x 1 x 1024 tokens per step)
    assert known.run.max_iters == 3663 and known.run.tokens_per_iter == 8192


# -- strict input, formats, exit codes ------------------------------------------------------------


def test_an_unknown_key_in_a_nanogpt_config_is_refused_with_one_suggestion(tmp_path, capsys):
    path = write_config(tmp_path, {**TRAIN_SHAKESPEARE_CHAR, "learning_rte": 3e-4})
    code, out, err = run_cli(["check", path], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (
        f"plateau-doctor: {path}: unknown config key 'learning_rte' (nanoGPT's train.py has no such "
        "key: the run would ignore it); did you mean 'learning_rate'?"
    )


def test_helper_names_starting_with_an_underscore_are_not_config_keys(tmp_path):
    path = tmp_path / "config.py"
    path.write_text("_gpus = 8\ngradient_accumulation_steps = 5 * _gpus\n", encoding="utf-8")
    assert check(str(path)).run.tokens_per_iter == 40 * 12 * 1024


def test_an_unknown_set_key_is_refused(tmp_path, capsys):
    path = write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR)
    code, _, err = run_cli(["check", path, "--set", "max_iter=100"], capsys)
    assert code == 2 and "unknown config key 'max_iter'" in err and "did you mean 'max_iters'?" in err


def test_an_unknown_gpu_and_a_missing_config_exit_2_with_one_line(tmp_path, capsys):
    path = write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR)
    code, _, err = run_cli(["check", path, "--gpu", "Voodoo 5"], capsys)
    assert code == 2 and err.count("\n") == 1 and "Voodoo 5" in err
    code, _, err = run_cli(["check", str(tmp_path / "missing.py")], capsys)
    assert code == 2 and err.strip().endswith("missing.py: no such file")


def test_fail_on_select_ignore_and_json_work_as_in_diagnose(tmp_path, capsys):
    path = write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR)
    code, out, _ = run_cli(["check", path, "--format", "json", "--fail-on", "warning"], capsys)
    data = json.loads(out)
    assert code == 1 and data["findings"][0]["code"] == "PD202"
    assert data["run"]["planned"] is True and data["source"]["format"] == "nanogpt config"
    code, out, _ = run_cli(["check", path, "--fail-on", "warning", "--ignore", "PD202"], capsys)
    assert code == 0
    code, out, _ = run_cli(["check", path, "--select", "PD3", "--format", "sarif"], capsys)
    results = json.loads(out)["runs"][0]["results"]
    assert code == 0 and {r["ruleId"][:3] for r in results} == {"PD3"}
    assert {r["level"] for r in results} == {"note"}  # the LR ruled out; nothing raised


def test_check_is_a_top_level_function():
    assert callable(plateau_doctor.check) and "check" in plateau_doctor.__all__


def test_yaml_and_json_configs_with_nanogpts_keys_are_nanogpt_plans(tmp_path, capsys):
    yaml_path = tmp_path / "run.yaml"
    yaml_path.write_text(
        "dataset: shakespeare_char\nmax_iters: 3000\nlr_decay_iters: 600000\n", encoding="utf-8"
    )
    report = check(str(yaml_path))
    assert report.format == "nanogpt config" and raised(report)["PD303"] == "warning"
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps({"dataset": "shakespeare_char", "max_itres": 3000}), encoding="utf-8")
    code, _, err = run_cli(["check", str(json_path)], capsys)
    assert code == 2 and "unknown config key 'max_itres'" in err and "did you mean 'max_iters'?" in err


def test_data_dir_gives_the_planned_epochs_from_train_bin(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.bin").write_bytes(b"\0" * 2 * 500_000)  # uint16 tokens: 500k of them
    report = check(write_config(tmp_path, TRAIN_SHAKESPEARE_CHAR), data_dir=str(data))
    assert report.run.dataset_tokens == 500_000
    assert one(report, "PD202").title == "164 planned epochs over a 500k-token dataset"
