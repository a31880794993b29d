import math

import pytest

from plateau_doctor.parsers import llmc_mainlog, llmc_stdout

STDOUT = """\
+-----------------------+----------------------------------------------------+
| Parameter             | Value                                              |
+-----------------------+----------------------------------------------------+
| total batch size      | 524288                                             |
| learning rate (LR)    | 6.000000e-04                                       |
| weight init method    | d12                                                |
| vocab_size V          | 50257                                              |
| num_parameters        | 124475904                                          |
| num_processes         | 8                                                  |
+-----------------------+----------------------------------------------------+
val loss 11.009200
step    1/19560 | loss 11.009100 (+nanz)| norm 15.3700 (+nanz)| lr 8.57e-07 | 3056.36 ms | 42.6% bf16 MFU | 343080 tok/s
step    2/19560 | loss 10.959800 (+0.19z)| norm 15.2400 (-1.21z)| lr 1.71e-06 | 2747.19 ms | -100.0% bf16 MFU | 381690 tok/s
val loss 10.800000
evaluating HellaSwag: 0/10042\revaluating HellaSwag: 10/10042\rHellaSwag: 2500/10042 = 0.248954
generating:
---
step 99/100 | loss 0.1 | norm 1.0 | lr 1e-3 | 1 ms
val loss 0.01
---
step    3/19560 | loss 10.855600 (+0.10z)| norm 14.8400 (+0.01z)| lr 2.57e-06 | 2753.25 ms | 47.3% bf16 MFU | 381259 tok/s
Writing checkpoint at step 3
""".splitlines()


def test_stdout_step_lines_map_loss_norm_lr_time_and_mfu():
    log = llmc_stdout.parse(STDOUT)
    assert log.format == "llmc_stdout"
    assert log.iters["iter"].tolist() == [1, 2, 3]  # 1-based, as printed
    first = log.iters.iloc[0]
    assert (first["loss"], first["grad_norm"], first["lr"], first["time_ms"], first["mfu"]) == (
        11.0091,
        15.37,
        8.57e-07,
        3056.36,
        42.6,
    )
    assert log.meta.lr_logged and log.meta.max_iters == 19560


def test_stdout_mfu_placeholder_becomes_nan_with_a_note():
    log = llmc_stdout.parse(STDOUT)
    assert math.isnan(log.iters["mfu"].iloc[1])
    assert any("-100%" in note for note in log.meta.notes)


def test_stdout_val_loss_belongs_to_the_last_printed_step():
    log = llmc_stdout.parse(STDOUT)
    assert log.evals["step"].tolist() == [0, 2]
    assert log.evals["val_loss"].tolist() == [11.0092, 10.8]


def test_stdout_val_loss_after_a_zero_based_cpu_step_counts_updates_done():
    log = llmc_stdout.parse(
        [
            "val loss 5.3",
            "step 0: train loss 5.356082 (took 1452.121000 ms)",
            "step 1: train loss 4.9 (took 1400.0 ms)",
            "val loss 4.8",
        ]
    )
    assert log.evals["step"].tolist() == [0, 2]


def test_stdout_generated_text_is_not_read_as_log_lines():
    log = llmc_stdout.parse(STDOUT)
    assert 99 not in log.iters["iter"].tolist()
    assert 0.01 not in log.evals["val_loss"].tolist()


def test_stdout_start_up_table_gives_run_facts():
    meta = llmc_stdout.parse(STDOUT).meta
    assert meta.n_params == 124475904
    assert meta.tokens_per_iter == 524288
    assert meta.world_size == 8
    assert meta.vocab_size == 50257
    assert meta.init_from == "d12"
    assert meta.checkpoints_saved == 1


def test_stdout_allocation_lines_give_run_facts():
    meta = llmc_stdout.parse(
        [
            "num_parameters: 1557686400 => bytes: 3115372800",
            "batch_size B=16 * seq_len T=1024 * num_processes=8 and total_batch_size=1048576",
        ]
    ).meta
    assert (meta.n_params, meta.world_size, meta.tokens_per_iter) == (1557686400, 8, 1048576)


@pytest.mark.parametrize(
    "line, loss, time_ms",
    [
        (
            "step    1/74: train loss 4.367631 norm 5.1234 lr 1.00e-04 (80.64 ms, 50795 tok/s)",
            4.367631,
            80.64,
        ),
        ("step 0: train loss 5.356082 (took 1452.121000 ms)", 5.356082, 1452.121),
    ],
)
def test_stdout_older_step_line_forms_parse(line, loss, time_ms):
    row = llmc_stdout.parse([line]).iters.iloc[0]
    assert (row["loss"], row["time_ms"]) == (loss, time_ms)


def test_stdout_output_starting_inside_a_generation_block_still_parses():
    log = llmc_stdout.parse(
        [
            "---",
            "step   60/74 | loss 3.208939 (+nanz)| norm 1.4800 (+nanz)| lr 3.00e-04 | 44.57 ms",
            "step   61/74 | loss 3.750491 (+nanz)| norm 2.1341 (+nanz)| lr 3.00e-04 | 44.58",  # cut off
        ]
    )
    assert log.iters["iter"].tolist() == [60, 61]
    assert math.isnan(log.iters["time_ms"].iloc[1])


def test_stdout_sniff_ignores_nanogpt_and_nanochat_step_lines():
    assert (
        llmc_stdout.sniff(
            [
                "step 250: train loss 1.9747, val loss 2.0779",
                "step 00004/21400 (0.02%) | loss: 10.421875 | lrm: 1.00 | dt: 1234.56ms",
            ]
        )
        == 0
    )
    assert llmc_stdout.sniff(STDOUT[10:13]) == 3


MAINLOG = """\
s:0 tel:11.0092
s:0 trl:11.0091 lr:0.000001 norm:15.37
s:1 trl:10.9598 lr:0.000002 norm:15.24
s:2 trl:10.8556 lr:0.000000 norm:14.84
s:2 eval:0.2945
s:2 tel:10.7000
""".splitlines()


def test_mainlog_lines_map_to_iters_and_evals_zero_based():
    log = llmc_mainlog.parse(MAINLOG)
    assert log.format == "llmc_mainlog"
    assert log.iters["iter"].tolist() == [0, 1, 2]
    assert log.iters["loss"].tolist() == [11.0091, 10.9598, 10.8556]
    assert log.iters["grad_norm"].tolist() == [15.37, 15.24, 14.84]
    assert log.evals["step"].tolist() == [0, 2]
    assert log.evals["val_loss"].tolist() == [11.0092, 10.7]
    assert log.meta.lr_logged


def test_mainlog_notes_lr_underflow_and_skips_hellaswag():
    notes = " ".join(llmc_mainlog.parse(MAINLOG).meta.notes)
    assert "6 decimals" in notes and "HellaSwag" in notes


def test_mainlog_old_format_has_no_lr():
    log = llmc_mainlog.parse(["s:0 tel:10.968871", "s:0 trl:10.965596", "s:1 trl:10.814037"])
    assert log.iters["loss"].tolist() == [10.965596, 10.814037]
    assert log.iters["lr"].isna().all() and not log.meta.lr_logged


def test_mainlog_resumed_run_repeats_steps_and_the_later_rows_win():
    first = [f"s:{s} trl:{11 - s / 10:.4f} lr:0.000001 norm:1.00" for s in range(6)]
    resumed = first + ["s:3 trl:9.0000 lr:0.000002 norm:1.00", "s:4 trl:8.0000 lr:0.000003 norm:1.00"]
    log = llmc_mainlog.parse(resumed)
    assert log.meta.n_segments == 2
    assert log.iters["loss"].tolist() == [11.0, 10.9, 10.8, 9.0, 8.0, 10.5]


def test_mainlog_a_second_run_from_step_0_replaces_the_first():
    log = llmc_mainlog.parse(
        MAINLOG + ["s:0 trl:9.0000 lr:0.000002 norm:1.00", "s:1 trl:8.0000 lr:0.000003 norm:1.00"]
    )
    assert log.iters["loss"].tolist() == [9.0, 8.0] and log.evals.empty


def test_mainlog_sniff_counts_only_train_and_val_lines():
    assert llmc_mainlog.sniff(MAINLOG) == 5
    assert llmc_mainlog.sniff(["iter 10: loss 3.1, time 67.89ms", "s: tel"]) == 0


def test_real_mainlogs_parse_every_line(real_log):
    new = real_log("real_40_llmc_gpt2_124M_8xH100_main.log")
    assert new.format == "llmc_mainlog"
    assert (len(new.iters), len(new.evals)) == (19560, 80)  # grep -c ' trl:' / ' tel:'
    assert new.evals["val_loss"].iloc[0] == 11.0092 and new.evals["val_loss"].iloc[-1] == 3.2722
    assert new.iters["grad_norm"].iloc[0] == 15.37 and new.meta.lr_logged
    old = real_log("real_41_llmc_oldformat_adamw_baseline_main.log")
    assert (len(old.iters), len(old.evals)) == (9536, 76)
    assert old.evals["val_loss"].iloc[-1] == 3.275959 and not old.meta.lr_logged


def test_real_stdout_excerpts_parse(real_log):
    blackwell = real_log("real_42_llmc_issue796_blackwell_stdout_EXCERPT.log")
    assert blackwell.format == "llmc_stdout"
    assert blackwell.iters["iter"].tolist() == list(range(61, 73))
    assert blackwell.iters["mfu"].isna().all()  # -100.0% placeholder
    assert blackwell.meta.max_iters == 74
    big = real_log("real_43_llmc_gpt2_1558M_8xH100_startup_EXCERPT.log")
    assert len(big.iters) == 10 and big.iters["loss"].iloc[-1] == 9.072879
    assert big.evals[["step", "val_loss"]].values.tolist() == [[0, 11.12939]]
    assert (big.meta.n_params, big.meta.tokens_per_iter, big.meta.world_size) == (1557686400, 1048576, 8)
    assert big.iters["mfu"].iloc[1] == 47.4
