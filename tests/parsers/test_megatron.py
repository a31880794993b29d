"""Megatron-LM stdout: training_log()'s `key: value |` lines, the validation block, the argument
dump, and the windows where the loss went NaN or every iteration was skipped."""

import math

from plateau_doctor.parsers import megatron


def iteration(
    it: int,
    total: int = 5000,
    loss: str | None = "lm loss: 9.729805E+00",
    skipped: int = 0,
    nans: int = 0,
    norm: str = "5.703",
    stamp: str = "",
) -> str:
    loss_cell = f" {loss} |" if loss else ""
    return (
        f"{stamp} iteration {it:8d}/{total:8d} | consumed samples: {it * 8:12d} | elapsed time per "
        f"iteration (ms): 296.8 | learning rate: 3.937E-06 | global batch size:     8 |{loss_cell} "
        f"loss scale: 131072.0 | grad norm: {norm} | number of skipped iterations: {skipped:3d} | "
        f"number of nan iterations: {nans:3d} |"
    )


def test_an_iteration_line_gives_loss_lr_time_grad_norm_and_max_iters():
    log = megatron.parse([iteration(100, stamp="[2024-05-01 12:00:00.123456]")])
    row = log.iters.iloc[0]
    assert (row["iter"], row["loss"], row["lr"], row["time_ms"], row["grad_norm"]) == (
        100,
        9.729805,
        3.937e-06,
        296.8,
        5.703,
    )
    assert log.meta.max_iters == 5000 and log.meta.lr_logged
    assert log.meta.loss_kind == "window_mean"


def test_validation_lines_old_new_and_end_of_training_and_test_lines_skipped():
    log = megatron.parse(
        [
            iteration(1000),
            " validation loss at iteration 1000 | lm loss value: 6.439325E+00 | lm loss PPL: 6.259840E+02 | ",
            iteration(2000),
            " validation loss at iteration 2000 on validation set | lm loss value: 6.188880E+00 | lm loss PPL: 4.8E+02 | ",
            " validation loss at iteration 2000 on test set | lm loss value: 9.0E+00 | lm loss PPL: 8.1E+03 | ",
            " validation loss at the end of training for val data | lm loss value: 6.100000E+00 | lm loss PPL: 4.4E+02 | ",
            " validation loss at the end of training for test data | lm loss value: 8.4E+00 | lm loss PPL: 4.5E+03 | ",
        ]
    )
    assert log.evals[["step", "val_loss"]].values.tolist() == [[1000, 6.439325], [2000, 6.1]]


def test_a_window_whose_loss_went_nan_is_a_nan_row_and_counts_are_summed():
    # training_log leaves the loss out when its window mean is NaN (`if avg >= 0.0`)
    log = megatron.parse([iteration(10, skipped=3), iteration(20, loss=None, nans=2, norm="nan")])
    assert log.iters["iter"].tolist() == [10, 20]
    assert math.isnan(log.iters["loss"].iloc[1]) and math.isnan(log.iters["grad_norm"].iloc[1])
    assert (log.meta.skipped_iters, log.meta.nan_iters) == (3, 2)


def test_a_window_of_skipped_iterations_only_prints_a_loss_never_measured():
    log = megatron.parse([iteration(10, loss="lm loss: 0.000000E+00", skipped=10), iteration(20)])
    assert log.iters["iter"].tolist() == [20]
    assert any("only skipped iterations" in note for note in log.meta.notes)


def test_a_line_without_loss_and_without_nan_iterations_is_not_a_row():
    assert megatron.parse([iteration(10, loss=None)]).iters.empty


def test_the_argument_dump_gives_world_size_tokens_and_fixed_evals_with_full_validation():
    dump = [
        "------------------------ arguments ------------------------",
        "  full_validation ................................. True",
        "  global_batch_size ............................... 512",
        "  seq_length ...................................... 2048",
        "  train_iters ..................................... 250000",
        "  world_size ...................................... 64",
        "-------------------- end of arguments ---------------------",
    ]
    log = megatron.parse(dump + [iteration(100, total=250000)])
    assert (log.meta.world_size, log.meta.tokens_per_iter) == (64, 512 * 2048)
    assert log.meta.eval_kind == "fixed"
    assert megatron.parse([iteration(100)]).meta.eval_kind == "resampled"


def test_neox_and_deepspeed_variants():
    neox = (
        " samples/sec: 51.234 | iteration       10/      50 | elapsed time per iteration (ms): 19987.6 |"
        " learning rate: 1.234E-04 | approx flops per GPU: 150.3TFLOPS | lm_loss: 7.123456E+00 |"
        " number of skipped iterations:   0 | number of nan iterations:   0 |"
    )
    ds = (
        " iteration        2/   95367 | consumed samples:         4096 | consumed tokens:      8388608 |"
        " elapsed time per iteration (s): 769.99 | learning rate: 3.787E-06 | global batch size:  2048 |"
        " lm loss: 6.384045E+01 | loss scale: 4096.0 | grad norm: 15906.210 | num zeros: 0.0 |"
        " number of skipped iterations:   0 | number of nan iterations:   0 | samples per second: 2.660 |"
    )
    log = megatron.parse(
        [neox, " validation results at iteration 10 | lm_loss value: 6.9E+00 | lm_loss_ppl value: 1.0E+03 |"]
    )
    assert log.iters[["iter", "loss"]].values.tolist() == [[10, 7.123456]]
    assert log.evals["val_loss"].tolist() == [6.9]
    log = megatron.parse([ds])
    assert log.iters["time_ms"].iloc[0] == 769990.0 and log.iters["grad_norm"].iloc[0] == 15906.21


def test_exit_interval_is_a_stop_by_design():
    log = megatron.parse(
        [iteration(100), "[exiting program at iteration 100] datetime: 2024-05-01 12:00:00 "]
    )
    assert log.meta.stopped_by_design == "exiting program at iteration 100"


def test_real_345m_run_on_a_toy_corpus(named_real_log):
    log = named_real_log("real_60_megatron_gpt345m_tinydata_overfit_EXCERPT.log")
    assert log.format == "megatron"
    assert len(log.iters) == 13  # grep -c ' iteration .*/'
    assert log.iters["loss"].iloc[-1] == 0.1350079
    # five `validation loss at iteration` lines; the end-of-training val replaces step 5000's
    assert log.evals["step"].tolist() == [1000, 2000, 3000, 4000, 5000]
    assert log.evals["val_loss"].iloc[-1] == 8.165035
    assert (log.meta.max_iters, log.meta.world_size, log.meta.tokens_per_iter) == (5000, 4, 8 * 1024)
    assert (log.meta.skipped_iters, log.meta.nan_iters, log.meta.vocab_size) == (16, 0, 50304)
    # 40000 consumed samples over a train index of 40286 samples in 89 epochs
    assert math.isclose(log.meta.epochs, 40000 * 89 / 40286)
