"""torchtitan stdout: the step/validate lines of components/metrics.py in each of their versions,
behind the launcher and logger prefixes, and the real pastes when shared/logs holds them."""

import math

from plateau_doctor.parsers import torchtitan

PREFIX = "[rank0]:[titan] 2025-06-16 22:30:50,322 - root - INFO - "
COLOUR = "\x1b[31m"


def test_the_2026_line_with_grad_norm_gives_loss_grad_norm_and_mfu():
    log = torchtitan.parse(
        [
            PREFIX + f"{COLOUR}step: 14  \x1b[32mloss:  3.24405  \x1b[33mgrad_norm:  0.8319  "
            "memory:  9.46GiB(64.99%)  tps: 7,282  tflops: 0.52  mfu: 0.17%\x1b[39m"
        ]
    )
    assert log.iters[["iter", "loss", "grad_norm", "mfu"]].values.tolist() == [[14, 3.24405, 0.8319, 0.17]]
    assert math.isnan(log.iters["lr"].iloc[0]) and not log.meta.lr_logged


def test_the_2024_wps_line_and_mfu_na_are_read():
    log = torchtitan.parse(
        [
            "step:  1  loss: 12.2345  memory: 14.83GiB(18.71%)  wps: 1,234  mfu: 3.21%",
            "step: 10  loss:  9.8765  grad_norm:  1.0000  memory:  9.46GiB(64.99%)  "
            "tps: 7,282  tflops: 0.52  mfu: N/A",
        ]
    )
    assert log.iters["iter"].tolist() == [1, 10]
    assert log.iters["mfu"].iloc[0] == 3.21 and math.isnan(log.iters["mfu"].iloc[1])


def test_validate_lines_are_evals_of_a_fixed_set():
    log = torchtitan.parse(
        [
            "step: 100  loss:  5.5  memory: 1.00GiB(1.00%)  tps: 1  mfu: 1.00%",
            PREFIX + "validate step: 100  loss: 5.1234  memory: 49.66GiB(52.28%)  tps: 12,345",
        ]
    )
    assert log.evals[["step", "val_loss"]].values.tolist() == [[100, 5.1234]]
    assert log.meta.eval_kind == "fixed"


def test_start_up_lines_give_params_max_steps_and_tokens_per_step():
    header = [
        "Model llama3 8B size: 8,030,261,248 total parameters",
        "Trainer is initialized with 65536 tokens per DP rank, 524288 tokens per train step, "
        "gradient accumulation steps 1, maximum context length 8192, total steps 1000 (warmup 200)",
    ]
    log = torchtitan.parse(header + ["step: 1  loss: 12.0  memory: 1.00GiB(1.00%)  tps: 1  mfu: 1.00%"])
    assert log.meta.n_params == 8_030_261_248
    assert log.meta.max_iters == 1000 and log.meta.tokens_per_iter == 524288


def test_older_start_up_line_gives_tokens_from_batch_and_sequence_and_a_resume():
    log = torchtitan.parse(
        [
            "Training starts at step 501, with local batch size 8, global batch size 64, "
            "sequence length 8192, total steps 1000 (warmup 200)",
            "step: 510  loss: 3.0  memory: 1.00GiB(1.00%)  wps: 1  mfu: 1.00%",
        ]
    )
    assert log.meta.tokens_per_iter == 64 * 8192 and log.meta.max_iters == 1000
    assert log.meta.init_from == "resume"


def test_the_same_step_printed_by_every_rank_is_one_row_and_ranks_give_the_world_size():
    line = "step: 4  loss:  7.62585  grad_norm: 26.6250  memory: 66.91GiB(37.51%)  tps: 10,050  mfu: 13.99%"
    log = torchtitan.parse(
        [f"[rank{r}]:[titan] 2026-02-24 19:46:17,508 - root - INFO - {line}" for r in range(8)]
    )
    assert log.iters["iter"].tolist() == [4]
    assert log.meta.world_size == 8


def test_real_pastes(named_real_log):
    log = named_real_log("real_61_torchtitan_pr3393_debugmodel_gradnorm_EXCERPT.log")
    assert log.format == "torchtitan"
    assert log.iters["iter"].tolist() == list(range(14, 22))  # grep -c 'step:' = 8
    assert log.iters["loss"].iloc[0] == 3.24405 and log.iters["grad_norm"].iloc[-1] == 0.6348
    log = named_real_log("real_62_torchtitan_pr1287_llama_8gpu_EXCERPT.log")
    assert log.iters["iter"].tolist() == [200, 210, 220, 230, 240, 250]
    assert log.iters["mfu"].iloc[0] == 34.29 and log.iters["grad_norm"].isna().all()
    log = named_real_log("real_63_torchtitan_pr2389_moe_allranks_EXCERPT.log")
    assert log.iters["iter"].tolist() == [4] and log.iters["loss"].tolist() == [7.62585]
