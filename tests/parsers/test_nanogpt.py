"""The nanoGPT parser: every line kind of NANOGPT_FORMAT.md on made-up snippets, the real logs with
exact counts, and the vectorised block path checked against the careful line path.

Every snippet goes through both paths (`both()`), which must give identical tables."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plateau_doctor.model import ParsedLog
from plateau_doctor.parsers import detect, nanogpt, parse_lines
from plateau_doctor.read import LogText, open_log

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "logs"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "logs"


def careful(text: str) -> ParsedLog:
    return nanogpt.parse(LogText("t", io.BytesIO(text.encode())).lines)


def fast(text: str, block: int = 1 << 20) -> ParsedLog:
    return nanogpt.parse_blocks(LogText("t", io.BytesIO(text.encode())).blocks(block))


def assert_same(a: ParsedLog, b: ParsedLog) -> None:
    pd.testing.assert_frame_equal(a.iters, b.iters, check_exact=True)
    pd.testing.assert_frame_equal(a.evals, b.evals, check_exact=True)
    assert a.meta == b.meta


def both(text: str) -> ParsedLog:
    """Parse with the careful line path and the block path (whole and in tiny blocks)."""
    reference = careful(text)
    for block in (1 << 20, 7):
        assert_same(reference, fast(text, block))
    return reference


def it(n: int, loss: str = "2.0000", time: str = "50.00", mfu: str = "10.00") -> str:
    return f"iter {n}: loss {loss}, time {time}ms, mfu {mfu}%"


# -- header lines -------------------------------------------------------------------------------

ECHO = """Overriding config with config/train_shakespeare_char.py:
# train a miniature character-level shakespeare model
out_dir = 'out-shakespeare-char'
eval_interval = 250 # keep frequent because we'll overfit
# iter 0: loss 9.0 in a comment is not a metric
max_iters = 5000

Overriding: max_iters = 2000
"""


def test_echoed_config_is_kept_as_text_and_never_read_as_metrics():
    log = both(ECHO + it(0) + "\n")
    assert log.meta.config_files == ["config/train_shakespeare_char.py"]
    [(name, text)] = log.meta.config_echo
    assert name == "config/train_shakespeare_char.py"
    assert text.startswith("# train a miniature") and text.endswith("max_iters = 5000")
    assert "# iter 0: loss 9.0" in text
    assert log.iters["iter"].tolist() == [0]  # the commented iter line is not a row
    assert log.meta.overrides == {"max_iters": "2000"}


def test_an_echo_ends_at_the_first_program_line_even_an_iter_line():
    log = both("Overriding config with a.py:\nx = 1\n" + it(5) + "\n")
    assert log.meta.config_echo == [("a.py", "x = 1")]
    assert log.iters["iter"].tolist() == [5]


def test_an_echo_still_open_at_the_end_of_the_log_is_kept():
    assert both("Overriding config with a.py:\nx = 1\n").meta.config_echo == [("a.py", "x = 1")]


def test_overriding_lines_last_one_wins():
    log = both(
        "Overriding: learning_rate = 0.001\nOverriding: device = cpu\n"
        "Overriding: learning_rate = 0.002\n" + it(0) + "\n"
    )
    assert log.meta.overrides == {"learning_rate": "0.002", "device": "cpu"}


@pytest.mark.parametrize(
    "line, field, value",
    [
        ("tokens per iteration will be: 16,384", "tokens_per_iter", 16_384),
        ("total number of tokens per iteration: 491520", "tokens_per_iter", 491_520),
        ("found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)", "vocab_size", 65),
        ("defaulting to vocab_size of GPT-2 to 50304 (50257 rounded up for efficiency)", "vocab_size", 50304),
        ("forcing vocab_size=50257, block_size=1024, bias=True", "vocab_size", 50257),
        ("vocab_size = 65 (from data/shakespeare_char/meta.pkl)", "vocab_size", 65),
        ("Initializing a new model from scratch", "init_from", "scratch"),
        ("Resuming training from out", "init_from", "resume"),
        ("Initializing from OpenAI GPT-2 weights: gpt2-medium", "init_from", "gpt2-medium"),
        ("number of parameters: 10.65M", "n_params", 10_650_000),
        ("num decayed parameter tensors: 26, with 10,740,096 parameters", "decayed_params", 10_740_096),
        ("num non-decayed parameter tensors: 13, with 4,992 parameters", "nodecayed_params", 4_992),
        ("using fused AdamW: True", "fused_adamw", True),
        ("using fused AdamW: False", "fused_adamw", False),
        ("compiling the model... (takes a ~minute)", "compiled", True),
    ],
)
def test_header_lines(line, field, value):
    meta = both(line + "\n" + it(0) + "\n").meta
    assert (
        getattr(meta, field) == pytest.approx(value)
        if isinstance(value, float)
        else getattr(meta, field) == value
    )


def test_overriding_dropout_rate_counts_as_an_override():
    assert both("overriding dropout rate to 0.1\n").meta.overrides == {"dropout": "0.1"}


def test_ddp_duplicate_headers_give_the_world_size():
    header = "tokens per iteration will be: 491,520\nnumber of parameters: 123.59M\n"
    log = both(header * 4 + "step 0: train loss 10.9, val loss 10.9\n" + it(0) + "\n")
    assert log.meta.world_size == 4
    assert log.meta.n_segments == 1
    assert both(header + it(0) + "\n").meta.world_size == 1


# -- iteration and eval lines -------------------------------------------------------------------


def test_current_iter_and_step_lines():
    log = both(
        "step 0: train loss 4.2874, val loss 4.2823\n"
        "iter 0: loss 4.2689, time 21053.25ms, mfu -100.00%\n"
        "iter 10: loss 3.1462, time 67.89ms, mfu 5.49%\n"
    )
    assert log.evals[["step", "train_loss", "val_loss"]].values.tolist() == [[0, 4.2874, 4.2823]]
    assert log.iters["iter"].tolist() == [0, 10]
    assert log.iters["loss"].tolist() == [4.2689, 3.1462]
    assert log.iters["time_ms"].tolist() == [21053.25, 67.89]
    assert math.isnan(log.iters["mfu"][0]) and log.iters["mfu"][1] == 5.49  # -100% is a placeholder
    assert log.iters["lr"].isna().all() and log.iters["grad_norm"].isna().all()
    assert log.iters["line"].tolist() == [2, 3] and log.evals["line"].tolist() == [1]
    assert not log.meta.lr_logged


def test_dtypes_and_columns_are_the_contract():
    log = both(it(0) + "\nstep 0: train loss 1.0, val loss 1.0\n")
    assert list(log.iters.dtypes.astype(str)) == [
        "int64",
        "float64",
        "float64",
        "float64",
        "float64",
        "float64",
        "int64",
        "int64",
    ]
    assert list(log.evals.dtypes.astype(str)) == ["int64", "float64", "float64", "bool", "int64", "int64"]


def test_old_iter_format_without_mfu():
    log = both("iter 1631: loss 4.0863, time 561.94ms\niter 1632: loss 3.7441, time 563.15ms\n")
    assert log.iters["loss"].tolist() == [4.0863, 3.7441]
    assert log.iters["time_ms"].tolist() == [561.94, 563.15]
    assert log.iters["mfu"].isna().all()


def test_fork_variant_with_lr_and_colons():
    log = both(
        "iter 0: loss 1.7004, time 69641.57ms, lr:0.0003 , mfu: -100.00%\n"
        "iter 5: loss 3.3399, time 18371.47ms, lr:0.0003 , mfu: 3.06%\n"
    )
    assert log.iters["lr"].tolist() == [0.0003, 0.0003]
    assert math.isnan(log.iters["mfu"][0]) and log.iters["mfu"][1] == 3.06
    assert log.iters["time_ms"].tolist() == [69641.57, 18371.47]
    assert log.meta.lr_logged


def test_standalone_lr_lines_hold_for_the_iterations_after_them():
    log = both(
        it(0)
        + "\nLINESEARCH!!!\nLINESEARCH LR: 0.001953125\n"
        + it(10)
        + "\n"
        + it(20)
        + "\nLINESEARCH LR: 1.52587890625e-05\n"
        + it(30)
        + "\nlr = 3e-4\n"
        + it(40)
        + "\n"
    )
    lr = log.iters["lr"].tolist()
    assert math.isnan(lr[0]) and lr[1:] == [0.001953125, 0.001953125, 1.52587890625e-05, 3e-4]
    assert log.meta.lr_logged


def test_nan_and_inf_losses():
    log = both(
        "iter 3010: loss nan, time 1019.95ms, mfu 14.12%\niter 3020: loss inf, time 5.00ms, mfu 1.00%\n"
        "step 3000: train loss nan, val loss nan\n"
    )
    assert math.isnan(log.iters["loss"][0]) and log.iters["loss"][1] == math.inf
    assert log.iters["time_ms"][0] == 1019.95
    assert log.evals["val_loss"].isna().all() and log.evals["train_loss"].isna().all()


def test_large_values_and_negative_mfu():
    log = both(
        "iter 12345678: loss 132.4437, time 242988.31ms, mfu -0.00%\n"
        "iter 12345679: loss 1234.5678, time 0.50ms, mfu 104.20%\n"
    )
    assert log.iters["iter"].tolist() == [12345678, 12345679]
    assert log.iters["loss"].tolist() == [132.4437, 1234.5678]
    assert log.iters["time_ms"].tolist() == [242988.31, 0.5]
    assert log.iters["mfu"].tolist()[1] == 104.2


# -- what real logs wrap around the lines -------------------------------------------------------


def test_ansi_codes_are_stripped():
    log = both(
        "\x1b[1;34mwandb\x1b[0m: Find logs at: \x1b[1;35mwandb/run/logs\x1b[0m\n"
        "\x1b[32miter 10: loss 2.5000, time 5.00ms, mfu 1.00%\x1b[0m\n"
    )
    assert log.iters["loss"].tolist() == [2.5] and log.iters["line"].tolist() == [2]


def test_carriage_return_progress_bars_and_crlf():
    bar = "Loading weights: 100%|\u2588\u2588\u2588\u2588| 5/5 [00:01<00:00]"
    log = both(f"{bar}\r{bar}\r{it(0)}\n{it(10)}\r\n{it(20)}\r\r\n")
    assert log.iters["iter"].tolist() == [0, 10, 20]
    assert log.iters["line"].tolist() == [1, 2, 3]


def test_warnings_and_wandb_lines_are_ignored():
    log = both(
        "/x/train.py:196: FutureWarning: `torch.cuda.amp.GradScaler(args...)` is deprecated.\n"
        "  scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))\n"
        "wandb: Tracking run with wandb version 0.16.0\n"
        "W0511 09:29:33.134000 85646 torch/_inductor/utils.py:1731] Not enough SMs\n"
        "GRADIENT IS NONE!!! at 0\n" + it(0) + "\n"
    )
    assert log.iters["iter"].tolist() == [0] and log.iters["line"].tolist() == [6]
    assert log.evals.empty


@pytest.mark.parametrize(
    "prefix",
    ["0: ", "[rank0]: ", "> ", "2024-05-01 12:00:00,123 - ", "2024-05-01T12:00:00Z ", "[12:00:01] ", "  "],
)
def test_launcher_prefixes_quotes_and_timestamps(prefix):
    log = both(f"{prefix}step 0: train loss 4.0, val loss 4.1\n{prefix}{it(0, '4.1000')}\n")
    assert log.iters["loss"].tolist() == [4.1] and log.evals["val_loss"].tolist() == [4.1]


def test_a_truncated_last_line_is_still_a_line():
    log = both(
        "step 0: train loss 4.1872, val loss 4.0326\n"
        "iter 0: loss 4.8131, time 36410.71ms, mfu -100.00%\niter 1: loss nan, time 13"
    )
    assert log.iters["iter"].tolist() == [0, 1] and math.isnan(log.iters["loss"][1])
    assert log.meta.n_lines == 3 and log.iters["line"].tolist() == [2, 3]


def test_blank_lines_and_an_empty_log():
    assert both("\n\n" + it(0) + "\n\n").iters["line"].tolist() == [3]
    empty = both("")
    assert empty.iters.empty and empty.evals.empty and empty.meta.n_lines == 0
    assert empty.meta.n_segments == 0


# -- runs, resumes and checkpoints --------------------------------------------------------------


def test_resumed_run_later_segment_wins():
    first = "".join(
        f"step {s}: train loss 3.{s:03d}, val loss 3.{s:03d}\n" + it(s, "3.0000") + "\n"
        for s in (0, 10, 20, 30)
    )
    second = "Resuming training from out\n" + "".join(
        f"step {s}: train loss 2.{s:03d}, val loss 2.{s:03d}\n" + it(s, "2.0000") + "\n" for s in (20, 30, 40)
    )
    log = both(first + second)
    assert log.meta.n_segments == 2
    assert log.evals["step"].tolist() == [0, 10, 20, 30, 40]
    assert log.evals["segment"].tolist() == [0, 0, 1, 1, 1]
    assert log.iters["iter"].tolist() == [0, 10, 20, 30, 40]
    assert log.iters["loss"].tolist() == [3.0, 3.0, 2.0, 2.0, 2.0]
    assert log.iters["line"].tolist() == [2, 4, 11, 13, 15]


def test_iterations_going_backwards_open_a_segment_without_a_header():
    log = both("".join(it(i) + "\n" for i in (0, 10, 20, 10, 20, 30)))
    assert log.meta.n_segments == 2
    assert log.iters["segment"].tolist() == [0, 1, 1, 1]
    assert log.iters["line"].tolist() == [1, 4, 5, 6]


def test_saving_checkpoint_marks_the_eval_before_it():
    log = both(
        "step 0: train loss 4.0, val loss 4.0\n" + it(0) + "\n"
        "step 10: train loss 3.0, val loss 3.0\nsaving checkpoint to out\n" + it(10) + "\n"
        "step 20: train loss 2.9, val loss 3.1\n" + it(20) + "\n"
        "saving checkpoint -> out/ckpt_000001.pt\n"
    )
    assert log.evals["checkpoint_saved"].tolist() == [False, True, False]
    assert log.meta.checkpoints_saved == 2  # the fork's save after an iter line counts too


# -- real logs ----------------------------------------------------------------------------------

# file: (iters, evals, lines, tokens/iter, printed params, vocab, world size, saves, last iter)
H200 = {
    "h200_pycode_ddp2.log": (301, 13, 446, 32_768, 10.72e6, 256, 2, 12, 3000),
    "h200_pycode_healthy.log": (401, 17, 490, 16_384, 10.72e6, 256, 1, 15, 4000),
    "h200_pycode_lr_high.log": (301, 13, 383, 16_384, 10.72e6, 256, 1, 9, 3000),
    "h200_shakespeare_char_healthy_2k.log": (201, 9, 270, 16_384, 10.65e6, 65, 1, 8, 2000),
    "h200_shakespeare_char_lr_high_1e-2.log": (201, 9, 273, 16_384, 10.65e6, 65, 1, 8, 2000),
    "h200_shakespeare_char_lr_low_2e-5.log": (301, 13, 380, 16_384, 10.65e6, 65, 1, 12, 3000),
    "h200_shakespeare_char_noisy_eval.log": (301, 31, 404, 2_048, 10.65e6, 65, 1, 17, 3000),
    "h200_shakespeare_char_overfit_default.log": (501, 21, 579, 16_384, 10.65e6, 65, 1, 7, 5000),
    "h200_shakespeare_char_tiny_model.log": (301, 13, 382, 16_384, 0.01e6, 65, 1, 12, 3000),
}


@pytest.mark.parametrize("name", sorted(H200))
def test_real_h200_logs_exact_counts(name):
    iters, evals, lines, tokens, params, vocab, world, saves, last = H200[name]
    log = nanogpt.parse_source(open_log(str(EXAMPLES / name)))
    meta = log.meta
    assert (len(log.iters), len(log.evals), meta.n_lines) == (iters, evals, lines)
    assert (meta.tokens_per_iter, meta.vocab_size, meta.world_size) == (tokens, vocab, world)
    assert meta.n_params == pytest.approx(params)
    assert meta.checkpoints_saved == saves == int(log.evals["checkpoint_saved"].sum())
    assert log.iters["iter"].iloc[-1] == last == log.evals["step"].iloc[-1]
    assert meta.init_from == "scratch" and meta.n_segments == 1
    assert meta.config_files == ["config/train_shakespeare_char.py"] and len(meta.config_echo) == 1
    assert log.iters["line"].iloc[-1] == lines  # the last line of each is an iter line
    assert np.isfinite(log.iters["loss"]).all() and np.isfinite(log.evals["val_loss"]).all()


def test_stock_shakespeare_run_first_eval_and_best_val():
    log = nanogpt.parse_source(open_log(str(EXAMPLES / "h200_shakespeare_char_overfit_default.log")))
    assert log.evals[["train_loss", "val_loss"]].iloc[0].tolist() == [4.2874, 4.2823]
    best = log.evals.loc[log.evals["val_loss"].idxmin()]
    assert (best["step"], best["val_loss"]) == (1750, 1.4647)


def _nanogpt_logs() -> list:
    paths = sorted(EXAMPLES.glob("*.log"))
    if SHARED.is_dir():
        paths += sorted(SHARED.glob("*.log"))
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in paths]


@pytest.mark.parametrize("path", _nanogpt_logs())
def test_block_path_equals_line_path_on_every_real_nanogpt_log(path):
    if detect(open_log(str(path)).head(5000)) != "nanogpt":
        pytest.skip("not a nanoGPT log")
    reference = nanogpt.parse(open_log(str(path)).lines)
    assert_same(reference, nanogpt.parse_source(open_log(str(path))))
    assert_same(reference, nanogpt.parse_blocks(open_log(str(path)).blocks(4096)))
    assert_same(reference, parse_lines(open_log(str(path)).lines))  # detection picks nanoGPT


def test_shared_real_logs_are_skipped_cleanly_when_absent():
    # documents the rule above: ../shared/logs is optional; the examples are always checked
    assert any(EXAMPLES.glob("h200_*.log"))


# -- the block path on made-up variations -------------------------------------------------------


def _number(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.08:
        return rng.choice(
            [
                "nan",
                "inf",
                "-inf",
                "-",
                ".",
                "1e-3",
                "1.2.3",
                "",
                "+1.0",
                "01.50",
                "-0.00",
                "0",
                "5.",
                ".5",
                "1,000.5",
                "\uff11.5",
                "12345678",
                "123456789",
            ]
        )
    digits = rng.randint(0, 6)
    value = rng.uniform(-200, 100_000) if rng.random() < 0.3 else rng.uniform(0, 20)
    return f"{value:.{digits}f}"


def _line(rng: random.Random) -> str:
    n = str(rng.randint(0, 10 ** rng.randint(1, 9))) if rng.random() < 0.95 else _number(rng)
    line = f"iter {n}: loss {_number(rng)}, time {_number(rng)}ms, mfu {_number(rng)}%"
    pick = rng.random()
    if pick < 0.5:
        return line
    if pick < 0.56:
        return f"iter {n}: loss {_number(rng)}, time {_number(rng)}ms"
    if pick < 0.62:
        return line + rng.choice([" ", "\r", "x", "%", "\t", "ms"])
    if pick < 0.68:
        return rng.choice(["0: ", "> ", "[rank0]: ", " ", "\x1b[1m"]) + line
    if pick < 0.74:
        return f"step {n}: train loss {_number(rng)}, val loss {_number(rng)}"
    if pick < 0.8:
        return rng.choice(
            [
                "saving checkpoint to out",
                "LINESEARCH LR: 0.001",
                "Overriding config with a.py:",
                "x = 1",
                "tokens per iteration will be: 1,000",
                "",
                "Resuming training from out",
                "number of parameters: 1.00M",
                "\xff\xfe broken bytes",
            ]
        )
    if pick < 0.9:
        chars = list(line)
        chars[rng.randrange(len(chars))] = chr(rng.randint(32, 126))
        return "".join(chars)
    return f"iter {n}: loss {_number(rng)}, time {_number(rng)}ms, lr:0.0003 , mfu: {_number(rng)}%"


def test_block_path_equals_line_path_on_random_variations():
    rng = random.Random(20260)
    for _ in range(150):
        text = "\n".join(_line(rng) for _ in range(rng.randint(1, 300)))
        text += "\n" if rng.random() < 0.7 else ""
        reference = careful(text)
        assert_same(reference, fast(text, rng.choice([1, 13, 200, 4096, 1 << 20])))


def test_strict_lines_really_take_the_block_path():
    from plateau_doctor.parsers.nanogpt_fast import scan_iter_lines

    text = (
        it(0, mfu="-100.00")
        + "\nstep 0: train loss 1.0, val loss 1.0\n"
        + "iter 1: loss 2.0000, time 5.00ms\n"
        + "0: "
        + it(2)
        + "\n"
        + it(3, "nan")
        + "\n"
    )
    [(buf, lo, hi)] = list(LogText("t", io.BytesIO(text.encode())).blocks())
    scan = scan_iter_lines(buf, lo, hi)
    assert scan.rows.tolist() == [0, 2]  # the prefixed and the nan line go the careful way
    assert scan.iters.tolist() == [0, 1]


def test_the_allocator_is_settled_once_before_the_first_big_block_and_never_for_a_small_log(monkeypatch):
    from plateau_doctor.parsers import nanogpt_fast

    calls = []
    monkeypatch.setattr(nanogpt_fast, "settle_allocator", lambda: calls.append(1))
    small = "".join(it(i) + "\n" for i in range(100))
    nanogpt.parse_source(LogText("t", io.BytesIO(small.encode())))
    assert calls == []
    big = "".join(it(i) + "\n" for i in range(24_000))  # ~4 blocks
    parsed = nanogpt.parse_source(LogText("t", io.BytesIO(big.encode())))
    assert calls == [1]
    assert len(parsed.iter_table) == 24_000


@pytest.mark.parametrize(
    "line, step, train, val",
    [
        ("step 250: train loss 1.9747, val loss 2.0779", 250, 1.9747, 2.0779),
        ("step          0 | train loss 3.7530 | val loss 7.0727", 0, 3.7530, 7.0727),
        ("step   250 | train loss 1.563 | val loss 1.579", 250, 1.563, 1.579),
        ("Ep 1 (Step 000150): Train loss 4.319, Val loss 4.003", 150, 4.319, 4.003),
        (
            " 11% 450/4230 [18:18<2:16:48,  2.17s/it]Ep 1 (Step 000450): Train loss 3.784, Val loss 3.516",
            450,
            3.784,
            3.516,
        ),
    ],
)
def test_eval_lines_of_nanogpt_and_the_tutorials_built_on_it(line, step, train, val):
    log = both(line + "\n" + line.replace(str(step), str(step + 1000), 1) + "\n")
    assert detect([line, line]) == "nanogpt"
    assert log.evals["step"].tolist()[0] == step
    assert (log.evals["train_loss"].iloc[0], log.evals["val_loss"].iloc[0]) == (train, val)


def test_llmc_step_lines_are_not_read_as_nanogpt_evals():
    assert nanogpt.EVAL_RE.match("step    1/74: train loss 4.367857 (acc 4.367857) (224.002 ms)") is None


def test_a_fork_that_prints_losses_in_bits_per_character_is_read_and_says_so():
    from plateau_doctor.parsers import parse_lines

    log = parse_lines(
        [
            "step 0: train loss 6.1854 BPC, val loss 6.1780 BPC",
            "iter 0: loss 6.1551 BPC, time 65940.03ms, mfu -100.00%",
            "iter 10: loss 4.6810 BPC, time 52.57ms, mfu 7.09%",
        ]
    )
    assert log.format == "nanogpt" and log.meta.loss_unit == "bits"
    assert list(log.evals["val_loss"]) == [6.178] and list(log.iters["loss"]) == [6.1551, 4.681]


def _gpt_py_log(last: int, suffix: str = "") -> str:
    return "".join(
        f"step {s}: train loss {4 - s / 2000:.4f}, val loss {4 - s / 2100:.4f}{suffix}\n"
        for s in [*range(0, last, 500), last]
    )


def test_the_gpt_py_loop_is_read_as_finished_at_a_constant_lr():
    # "Let's build GPT": evals at multiples of eval_interval and at max_iters - 1, AdamW, no schedule
    log = both(_gpt_py_log(4999))
    assert (log.meta.max_iters, log.meta.last_step, log.meta.lr_by_design) == (5000, 5000, "constant")
    assert any("gpt.py" in n for n in log.meta.notes)


def test_evals_at_multiples_only_or_with_an_lr_printed_are_not_the_gpt_py_loop():
    assert both(_gpt_py_log(5000)).meta.lr_by_design is None  # nanoGPT's train.py: multiples only
    assert both(_gpt_py_log(4999, ", lr 0.00340110")).meta.lr_by_design is None  # a scheduler's LR
