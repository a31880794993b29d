import pytest

from plateau_doctor.domain.memory import (
    GIB,
    Device,
    GPTShape,
    UnknownDevice,
    fit_on_device,
    flops_per_token,
    parse_device,
    scaled_iteration_ms,
    training_memory,
)

GPT2_124M = GPTShape(12, 12, 768, 50304, 1024)
SEED = GPTShape(12, 12, 384, 50304, 1024, dropout=0.1)  # ../shared/seed/SEED.md


def test_model_state_is_sixteen_bytes_per_parameter():
    estimate = training_memory(GPT2_124M, 12)
    assert estimate.n_params == 124_373_760  # nanoGPT prints 123.59M without wpe
    assert estimate.model_state == 16 * estimate.n_params


def test_block_activations_follow_korthikanti_with_flash_attention():
    # 34 s b h bytes per layer with dropout (32 of 16-bit tensors, 2 of dropout masks)
    shape = GPTShape(1, 12, 768, 50304, 1024, dropout=0.1)
    estimate = training_memory(shape, 2)
    assert estimate.activations == 34 * 1024 * 2 * 768


def test_attention_without_flash_keeps_the_s_squared_terms():
    shape = GPTShape(1, 12, 768, 50304, 1024, dropout=0.1)
    flash = training_memory(shape, 1).activations
    slow = training_memory(shape, 1, flash_attention=False).activations
    assert slow - flash == 5 * 12 * 1024 * 1024  # Korthikanti et al.: 5 a s^2 b


def test_float32_doubles_the_activation_tensors_and_drops_autocast_copies():
    bf16 = training_memory(GPT2_124M, 4)
    fp32 = training_memory(GPT2_124M, 4, dtype="float32")
    assert fp32.activations == 2 * bf16.activations
    assert fp32.autocast_copies == 0 and fp32.model_state == bf16.model_state


def test_nanogpt_124m_at_batch_12_fits_the_a100_40gb_its_readme_trains_on():
    # nanoGPT README / config/train_gpt2.py: batch_size 12, block 1024, 8x A100 40GB
    fit = fit_on_device(GPT2_124M, 12, 40, parse_device("A100 40GB"))
    assert fit.fits and fit.headroom_gib > 20


def test_nanogpt_124m_at_batch_12_fits_a_24gb_card():
    assert fit_on_device(GPT2_124M, 12, 40, parse_device("RTX 3090")).fits


def test_the_seed_runs_micro_batch_fits_the_4070_it_ran_on():
    # SEED.md: batch_size 16, block 1024, float16, compile=True on an RTX 4070 12 GB: it ran
    fit = fit_on_device(SEED, 16, 32, parse_device("RTX 4070 12GB"), dtype="float16")
    assert fit.fits


def test_a_run_that_does_not_fit_gets_a_batch_that_keeps_the_tokens_per_iteration():
    fit = fit_on_device(GPT2_124M, 12, 40, parse_device("RTX 3070"))
    assert not fit.fits
    assert fit.micro_batch * fit.gradient_accumulation_steps == 12 * 40
    assert fit.micro_batch < 12
    assert fit.estimate_at_fit.total_gib * 1.1 <= Device("RTX 3070", 8).usable_gib
    assert f"micro-batch {fit.micro_batch} x accumulation {fit.gradient_accumulation_steps}" in fit.reason


def test_a_model_too_big_for_the_card_at_any_batch_says_so():
    xl = GPTShape(48, 25, 1600, 50304, 1024)  # GPT-2 XL: 25 GB of AdamW state alone
    fit = fit_on_device(xl, 1, 32, parse_device("RTX 4070"))
    assert not fit.fits and fit.micro_batch is None
    assert "does not fit even at micro-batch 1" in fit.reason


def test_parse_device_reads_names_and_sizes():
    assert parse_device("RTX 4070 12GB") == Device("RTX 4070", 12.0)
    assert parse_device("NVIDIA H100 80GB HBM3").memory_gib == 80
    assert parse_device("GeForce RTX 4090").memory_gib == 24
    assert parse_device("h200").memory_gib == 141
    assert parse_device("T4").memory_gib == 16
    assert parse_device("A10").name == "A10" and parse_device("A100 80GB").name == "A100"
    assert parse_device("some card 20GB") == Device("some card", 20.0)


def test_parse_device_assumes_the_smaller_size_of_an_ambiguous_name_and_says_so():
    a100 = parse_device("A100")
    assert a100.memory_gib == 40 and "80" in a100.note
    assert parse_device("V100").memory_gib == 16


def test_apple_silicon_shares_its_memory_and_needs_the_size():
    m2 = parse_device("Apple M2 Max 32GB")
    assert m2.unified and "shares" in m2.note
    assert m2.usable_gib == pytest.approx(24.0)
    with pytest.raises(UnknownDevice, match="shares its memory"):
        parse_device("M3 Pro")


def test_parse_device_refuses_an_unknown_name_without_a_size():
    with pytest.raises(UnknownDevice, match="add the size"):
        parse_device("Voodoo 5")


def test_iteration_time_scales_with_flops_per_token():
    wider = GPTShape(12, 12, 512, 50304, 1024)
    assert scaled_iteration_ms(1000.0, SEED, SEED) == pytest.approx(1000.0)
    assert scaled_iteration_ms(1000.0, SEED, wider) == pytest.approx(
        1000.0 * flops_per_token(wider) / flops_per_token(SEED)
    )
    assert scaled_iteration_ms(1000.0, SEED, wider) > 1000.0


def test_estimate_totals_its_parts():
    e = training_memory(SEED, 16, dtype="float16")
    assert e.total == e.model_state + e.autocast_copies + e.activations + e.output_layer
    assert e.total_gib == pytest.approx(e.total / GIB)


def test_a_huge_micro_batch_is_not_searched_one_divisor_at_a_time():
    # batch_size 2**40 once meant iterating 2**40 candidates; the search starts where memory allows
    import time

    from plateau_doctor.domain.memory import GPTShape, fit_on_device, parse_device

    started = time.perf_counter()
    fit = fit_on_device(GPTShape(12, 12, 768, 50304, 1024), 2**40, 1, parse_device("T4"))
    assert time.perf_counter() - started < 5
    # the largest power of two that fits 15.2 GiB (16 needs ~12.4, 32 would need ~23)
    assert not fit.fits and fit.micro_batch == 16 and fit.gradient_accumulation_steps == 2**36
