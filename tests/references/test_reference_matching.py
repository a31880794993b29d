"""Which reference a run follows, from what its facts and config say, on real logs; anything
unknown or different is a refusal that says why, never a guess."""

from __future__ import annotations

import dataclasses

from plateau_doctor.model import RunFacts
from plateau_doctor.reference_runs import REFERENCES, choose, match
from plateau_doctor.rules.reference_curve import RULE

# What a header-less log cannot say, stated the way a user would with --set: GPT-2 small at
# llm.c's batch (8 x 64 sequences of 1024 tokens) on FineWeb-10B.
GPT2_FINEWEB = {
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "vocab_size": 50257,
    "block_size": 1024,
    "batch_size": 64,
    "gradient_accumulation_steps": 8,
    "dataset": "fineweb10B",
}
# real_03's run (SOURCES.md: its wandb config.yaml): config/train_gpt2.py with a 10k-iteration
# cosine and warmup 100; the log itself starts at `step 0` with no header.
REAL_03_SETTINGS = {
    "max_iters": 10000,
    "lr_decay_iters": 10000,
    "warmup_iters": 100,
    "eval_interval": 100,
    "log_interval": 10,
}


TOLERANCES = {t.name: t.default for t in RULE.thresholds}


def _choose(run, references=REFERENCES):
    return choose(
        run.facts,
        run.config,
        references,
        param_tolerance=TOLERANCES["param_tolerance"],
        batch_tolerance=TOLERANCES["batch_tolerance"],
        tie=TOLERANCES["tie_distance"],
    )


def test_the_stock_shakespeare_char_runs_match_its_reference(real_log, examined):
    for name in ("h200_shakespeare_char_healthy_2k.log", "h200_shakespeare_char_overfit_default.log"):
        choice = _choose(examined(real_log("examples", name)))
        assert choice.match is not None, (name, choice.why_none)
        assert choice.match.reference.key == "nanogpt-shakespeare-char"
        assert choice.match.closeness["dataset"].startswith("'shakespeare_char'")
        assert choice.match.distance < 0.01 and not choice.match.caveats


def test_byte_level_pycode_runs_and_the_seed_case_match_nothing(real_log, examined):
    for name, why in (
        ("h200_pycode_healthy.log", "vocabulary 256"),
        ("h200_pycode_ddp2.log", "vocabulary 256"),
        ("h200_pycode_lr_high.log", "vocabulary 256"),
        ("seed_fineweb_4070.log", "40.56M parameters"),
    ):
        choice = _choose(examined(real_log("examples", name)))
        assert choice.match is None and why in choice.why_none, (name, choice.why_none)


def test_another_model_size_or_batch_on_shakespeare_is_another_recipe(real_log, examined):
    tiny = _choose(examined(real_log("examples", "h200_shakespeare_char_tiny_model.log")))
    assert tiny.match is None and "14,464 parameters" in tiny.why_none
    small_batch = _choose(examined(real_log("examples", "h200_shakespeare_char_noisy_eval.log")))
    assert small_batch.match is None and "2,048 tokens per iteration" in small_batch.why_none


def test_a_fine_tune_never_matches_even_on_the_recipes_data(real_log, examined):
    # nanoGPT issue 210: init_from='gpt2' (124M, GPT-2 vocabulary), the shape of the OWT recipe
    run = examined(
        real_log("shared", "real_09_nanogpt_issue210_finetune_gpt2_nan_iter1_EXCERPT.log"),
        overrides={"dataset": "openwebtext"},
    )
    assert run.facts.mode == "finetune"
    for ref in REFERENCES:
        m = match(
            run.facts,
            run.config,
            ref,
            param_tolerance=TOLERANCES["param_tolerance"],
            batch_tolerance=TOLERANCES["batch_tolerance"],
        )
        assert not m.matched and "fine-tune" in m.why_not


def test_real_03_with_its_config_matches_nanogpts_openwebtext_recipe(real_log, examined):
    run = examined(
        real_log("shared", "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log"), overrides=REAL_03_SETTINGS
    )
    choice = _choose(run)
    assert choice.match.reference.key == "nanogpt-gpt2-124m-owt"
    assert "train.py's default" in choice.match.closeness["dataset"]  # OWT is never named
    assert choice.match.caveats  # and that is said


def test_a_header_less_log_without_a_config_matches_nothing(real_log, examined):
    choice = _choose(examined(real_log("shared", "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log")))
    assert choice.match is None and "unknown" in choice.why_none


def test_real_40_with_llmcs_recipe_stated_matches_llmc_not_the_speedrun(real_log, examined):
    run = examined(real_log("shared", "real_40_llmc_gpt2_124M_8xH100_main.log"), overrides=GPT2_FINEWEB)
    choice = _choose(run)
    assert choice.match.reference.key == "llmc-gpt2-124m-fineweb10b"
    speedrun = next(m for m in choice.candidates if m.reference.key.startswith("modded"))
    assert not speedrun.matched and "max_iters" in speedrun.why_not


def test_the_speedrun_record_matches_by_its_step_count_before_llmc(real_log, examined):
    run = examined(real_log("shared", "real_30_modded_nanogpt_2024-10-10_Muon.log"), overrides=GPT2_FINEWEB)
    choice = _choose(run)
    assert choice.match.reference.key == "modded-nanogpt-124m-muon-2024-10-10"
    assert choice.match.exact_matched == 1
    assert any(m.matched and m.reference.key.startswith("llmc") for m in choice.candidates)


def test_the_dataset_must_be_named_and_be_the_recipes(real_log, examined):
    nameless = {k: v for k, v in GPT2_FINEWEB.items() if k != "dataset"}
    run = examined(real_log("shared", "real_40_llmc_gpt2_124M_8xH100_main.log"), overrides=nameless)
    assert "--set dataset=NAME" in _choose(run).why_none
    edu = examined(
        real_log("shared", "real_40_llmc_gpt2_124M_8xH100_main.log"),
        overrides={**GPT2_FINEWEB, "dataset": "fineweb_edu"},
    )
    assert _choose(edu).match is None


def test_two_references_the_facts_cannot_tell_apart_are_a_refusal(real_log, examined):
    run = examined(real_log("examples", "h200_shakespeare_char_healthy_2k.log"))
    ref = next(r for r in REFERENCES if r.key == "nanogpt-shakespeare-char")
    twin = dataclasses.replace(ref, key="twin")
    choice = _choose(run, (ref, twin))
    assert choice.match is None and "equally well" in choice.why_none


def test_match_is_pure_over_facts_and_config(real_log, examined):
    run = examined(real_log("examples", "h200_shakespeare_char_healthy_2k.log"))
    ref = next(r for r in REFERENCES if r.key == "nanogpt-shakespeare-char")
    facts = dataclasses.replace(run.facts)
    first = match(facts, run.config, ref, param_tolerance=1.1, batch_tolerance=1.25)
    assert facts == run.facts and first == match(
        facts, run.config, ref, param_tolerance=1.1, batch_tolerance=1.25
    )
    unknown_vocab = match(
        RunFacts(**{**dataclasses.asdict(facts), "vocab_size": None}),
        run.config,
        ref,
        param_tolerance=1.1,
        batch_tolerance=1.25,
    )
    assert not unknown_vocab.matched and "vocabulary size is unknown" in unknown_vocab.why_not
