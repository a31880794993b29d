"""LitGPT stdout: the train line in its three shapes, the val lines, the final evaluation and
the stop lines."""

from plateau_doctor.parsers import litgpt


def test_the_epoch_line_gives_iter_loss_time_and_epochs():
    log = litgpt.parse(
        [
            "Epoch 34 | iter 3050700 step 610140 | loss train: 2.846, val: 2.861 | "
            "iter time: 112.20 ms (step) remaining time: 0:01:54"
        ]
    )
    assert log.iters[["iter", "loss", "time_ms"]].values.tolist() == [[3050700, 2.846, 112.2]]
    assert log.meta.epochs == 34.0
    assert log.evals.empty  # `val:` repeats the latest eval: not an eval of its own


def test_the_older_iter_step_lines_and_val_lines():
    log = litgpt.parse(
        [
            "iter 77 step 39: loss 10.8259, iter time: 214.40ms (optimizer.step)",
            "iter 1760 | step 220: loss 1.5947, iter time: 263.85 ms (optimizer.step)",
            "iter 4800: val loss 1.7258, val time: 3778.02 ms",
            "step 5000: val loss 1.7000, val time: 3778.02ms",
        ]
    )
    assert log.iters[["iter", "loss", "time_ms"]].values.tolist() == [
        [77, 10.8259, 214.4],
        [1760, 1.5947, 263.85],
    ]
    assert log.evals[["step", "val_loss"]].values.tolist() == [[4800, 1.7258], [5000, 1.7]]


def test_final_evaluation_belongs_to_the_last_iter_and_stops_are_by_design():
    log = litgpt.parse(
        [
            "Epoch 3 | iter 300 step 300 | loss train: 0.900, val: 1.100 | iter time: 50.00 ms (step)",
            "Number of epochs 3 reached, stopping training...",
            "Final evaluation | val loss: 1.057 | val ppl: 2.878",
        ]
    )
    assert log.evals[["step", "val_loss"]].values.tolist() == [[300, 1.057]]
    assert log.meta.stopped_by_design == "Number of epochs 3 reached, stopping training..."


def test_frozen_parameters_mean_a_fine_tune():
    log = litgpt.parse(
        [
            "Number of trainable parameters: 4,194,304",
            "Number of non-trainable parameters: 1,100,048,384",
            "iter 1 step 0: loss 3.5551, iter time: 1069.53ms",
        ]
    )
    assert log.meta.n_params == 4_194_304 + 1_100_048_384 and log.meta.finetune is True


def test_real_pastes(named_real_log):
    log = named_real_log("real_70_litgpt_issue1110_lora_epochs_EXCERPT.log")
    assert log.format == "litgpt"
    assert log.iters["iter"].tolist() == [961, 962, 963, 964, 965] and log.meta.epochs == 5.0
    log = named_real_log("real_71_litgpt_issue689_loss_stuck_EXCERPT.log")
    assert log.iters["iter"].tolist() == list(range(76, 99)) and set(log.iters["loss"]) == {10.8259}
    log = named_real_log("real_72_litgpt_issue1042_pipe_format_EXCERPT.log")
    assert log.evals[["step", "val_loss"]].values.tolist() == [[4800, 1.7258]]
    assert log.iters["iter"].tolist() == [4810, 4820, 4830, 4840, 4850]
