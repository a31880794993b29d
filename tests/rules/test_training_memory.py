"""PD608: training memory at the planned micro-batch against the GPU."""

from __future__ import annotations

from plateau_doctor import check

GPT2 = {
    "dataset": "openwebtext",
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "block_size": 1024,
    "dropout": 0.0,
}


def test_without_a_gpu_the_rule_says_why_it_did_not_check(kit):
    report = check(str(kit.config_file(GPT2)))
    assert kit.by_code(report, "PD608") == []
    assert any(n.startswith("PD608") and "no GPU given" in n for n in report.notes)


def test_a_model_that_fits_comfortably_is_a_fact_with_its_numbers(kit):
    f = kit.one(check(str(kit.config_file({**GPT2, "batch_size": 12})), gpu="H100"), "PD608")
    assert f.severity == "info" and f.title.startswith("Fits the H100: ~9.8 of 79.2 GiB")


def test_far_over_the_memory_is_an_error_with_a_split_that_keeps_the_tokens(kit):
    config = {**GPT2, "batch_size": 32, "gradient_accumulation_steps": 8}
    f = kit.one(check(str(kit.config_file(config)), gpu="RTX 4070 12GB"), "PD608")
    assert (f.category, f.severity) == ("config", "error")
    assert f.fixes[0].startswith("--batch_size=8 --gradient_accumulation_steps=32 ")  # 32 x 8 = 8 x 32
    assert "the same 262,144 tokens per iteration" in f.fixes[0]


def test_a_model_too_big_even_at_batch_one_says_so(kit):
    config = {**GPT2, "n_layer": 48, "n_embd": 1600, "n_head": 25, "batch_size": 4}
    f = kit.one(check(str(kit.config_file(config)), gpu="RTX 4070 12GB"), "PD608")
    assert f.severity == "error" and f.fixes[0].startswith("a smaller model or a GPU with more memory")


def test_a_cpu_run_is_not_judged_against_a_gpu(kit):
    report = check(str(kit.config_file({**GPT2, "device": "cpu"})), gpu="T4")
    assert any(n.startswith("PD608") and "trains on the CPU" in n for n in report.notes)
