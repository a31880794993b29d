import math

import pytest

from plateau_doctor.domain.scale import (
    CHINCHILLA,
    GPT3_LR_BY_SIZE,
    chinchilla_loss,
    chinchilla_terms,
    epochs,
    expected_init_loss,
    nanogpt_param_count,
    parse_token_count,
    reference_lr,
    tokens_per_param,
)


@pytest.mark.parametrize(
    "vocab, n_layer, n_embd, block, bias, printed",
    [
        (65, 6, 384, 256, False, 10_646_784),  # shakespeare_char
        (50304, 12, 768, 1024, False, 123_587_328),  # scratch GPT-2 124M
        (50257, 12, 768, 1024, True, 123_653_376),  # pretrained gpt2 (issue #210)
        (139, 6, 384, 256, False, 10_675_200),  # mitos char
    ],
)
def test_nanogpt_param_count_matches_printed_counts(vocab, n_layer, n_embd, block, bias, printed):
    count = nanogpt_param_count(n_layer, n_layer, n_embd, vocab, block, bias)
    assert count.printed_style == printed
    assert count.total == printed + block * n_embd


def test_nanogpt_param_count_decayed_plus_non_decayed_is_the_total():
    # real_07 prints decayed 10,740,096 + non-decayed 4,992 for shakespeare_char.
    assert nanogpt_param_count(6, 6, 384, 65, 256, False).total == 10_740_096 + 4_992


def test_nanogpt_param_count_of_the_seed_model_is_about_40m_not_125m():
    count = nanogpt_param_count(12, 12, 384, 50304, 1024, False)
    assert count.printed_style == pytest.approx(40.6e6, rel=0.01)


def test_nanogpt_param_count_ignores_block_size_in_printed_count():
    a = nanogpt_param_count(6, 6, 384, 65, 256, False)
    b = nanogpt_param_count(6, 6, 384, 65, 1024, False)
    assert a.printed_style == b.printed_style and b.total - a.total == 768 * 384


def test_chinchilla_loss_of_the_seed_run_is_about_3_45():
    assert chinchilla_loss(40e6, 7.6e9) == pytest.approx(3.45, abs=0.01)


def test_chinchilla_terms_sum_to_the_loss_and_say_which_term_dominates():
    e, model_term, data_term = chinchilla_terms(40e6, 7.6e9)
    assert e == CHINCHILLA["E"]
    assert e + model_term + data_term == pytest.approx(chinchilla_loss(40e6, 7.6e9))
    assert model_term > data_term  # 190 tokens/param: the model is the limit


def test_tokens_per_param_epochs_and_init_loss():
    assert tokens_per_param(7.6e9, 40e6) == pytest.approx(190)
    assert epochs(7.6e9, 1e9) == pytest.approx(7.6)
    assert expected_init_loss(65) == pytest.approx(4.17, abs=0.01)
    assert expected_init_loss(50304) == pytest.approx(10.83, abs=0.01)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1003854", 1_003_854),
        ("1,003,854", 1_003_854),
        ("9.2M", 9_200_000),
        ("9B", 9 * 10**9),
        ("15T", 15 * 10**12),
        ("300k", 300_000),
        ("300K", 300_000),
        ("1e9", 10**9),
        (" 2.5 b ", 2_500_000_000),
        ("1_000", 1000),
        (".5M", 500_000),
        ("7G", 7 * 10**9),
    ],
)
def test_parse_token_count_accepts_common_spellings(text, expected):
    assert parse_token_count(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "9.2X", "1,00", "-5M", "0", "1e", "M", "nan"])
def test_parse_token_count_rejects_other_text_with_a_clear_message(text):
    with pytest.raises(ValueError, match="token count"):
        parse_token_count(text)


def test_reference_lr_matches_gpt3_table_at_its_points():
    for n_params, lr in GPT3_LR_BY_SIZE:
        assert reference_lr(n_params) == pytest.approx(lr)


def test_reference_lr_interpolates_in_log_log():
    geometric_mid = math.sqrt(125e6 * 350e6)
    assert reference_lr(geometric_mid) == pytest.approx(math.sqrt(6e-4 * 3e-4))


def test_reference_lr_grows_for_small_models_and_is_capped():
    assert reference_lr(40e6) > 1e-3  # the seed's 1e-3 is not aggressive at 40M
    assert reference_lr(40e6) < 2e-3
    assert reference_lr(10.7e6) == 2e-3
    assert reference_lr(1e6) == 2e-3
    assert reference_lr(1e12) == pytest.approx(0.6e-4)
