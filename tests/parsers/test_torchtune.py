"""torchtune: metric-logger lines (DiskLogger / StdoutLogger), validation lines and the tqdm
description `epoch|step|Loss: x`."""

import math

from plateau_doctor.parsers import torchtune

BAR = "1|{step}|Loss: {loss}:  {pct}%|██▌       | {n}/101 [06:45<17:27, 13.96s/it]"


def test_metric_logger_lines_give_loss_lr_grad_norm_and_val_loss():
    log = torchtune.parse(
        [
            "Step 1 | loss:2.085338592529297 lr:2e-05 tokens_per_second_per_gpu:57.83 grad_norm:1.5 ",
            "Step 2 | loss:1.8718312978744507 lr:2e-05 tokens_per_second_per_gpu:405.04 ",
            "Step 2 | val_loss:1.95 ",
        ]
    )
    assert log.iters[["iter", "loss", "lr"]].values.tolist() == [
        [1, 2.085338592529297, 2e-05],
        [2, 1.8718312978744507, 2e-05],
    ]
    assert log.iters["grad_norm"].iloc[0] == 1.5 and math.isnan(log.iters["grad_norm"].iloc[1])
    assert log.evals[["step", "val_loss"]].values.tolist() == [[2, 1.95]]
    assert log.meta.finetune is True and log.meta.eval_kind == "fixed"


def test_validation_loss_logger_line_belongs_to_the_latest_step():
    log = torchtune.parse(
        ["Step 50 | loss:1.2 lr:2e-05 ", "INFO:torchtune.utils._logging:Validation loss: 1.2345"]
    )
    assert log.evals[["step", "val_loss"]].values.tolist() == [[50, 1.2345]]


def test_tqdm_rows_are_used_without_logger_lines_and_give_epochs_and_max_iters():
    lines = [
        "epochs: 3",
        "max_steps_per_epoch: null",
        "[trainer0|0]:" + BAR.format(step=25, loss=1.2621808052062988, pct=26, n=26),
        "[trainer0|0]:" + BAR.format(step=26, loss=1.2436443567276, pct=26, n=26) + "[trainer0|0]:",
        "[trainer0|0]:" + BAR.format(step=26, loss=1.2436443567276, pct=27, n=27),
    ]
    log = torchtune.parse(lines)
    assert log.iters[["iter", "loss"]].values.tolist() == [[25, 1.2621808052062988], [26, 1.2436443567276]]
    assert math.isclose(log.meta.epochs, 27 / 101) and log.meta.max_iters == 3 * 101


def test_with_logger_lines_the_tqdm_copy_of_each_step_is_not_tabled_twice():
    log = torchtune.parse([BAR.format(step=1, loss=2.0, pct=1, n=1), "Step 1 | loss:2.0 lr:1e-05 "])
    assert len(log.iters) == 1 and log.meta.lr_logged


def test_real_pastes(named_real_log):
    log = named_real_log("real_68_torchtune_pr1358_codellama_full_EXCERPT.log")
    assert log.format == "torchtune"
    assert log.iters["iter"].tolist() == list(range(1, 13))
    assert log.iters["loss"].iloc[-1] == 1.1174635887145996
    log = named_real_log("real_69_torchtune_pr2620_multinode_lora_tqdm_EXCERPT.log")
    assert log.iters["iter"].tolist() == list(range(25, 32))  # 13 bar states of steps 25-31
    assert math.isclose(log.meta.epochs, 32 / 101)
