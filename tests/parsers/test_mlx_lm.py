"""MLX-LM fine-tuning stdout: the print() lines of tuner/trainer.py in each version and the rich
UI's rows of cli_ui.py."""

import math

from plateau_doctor.parsers import mlx_lm


def test_train_and_val_lines_with_lr_and_time():
    log = mlx_lm.parse(
        [
            "Starting training..., iters: 1000",
            "Iter 1: Val loss 2.936, Val took 5.265s",
            "Iter 10: Train loss 2.662, Learning Rate 1.000e-05, It/sec 0.500, Tokens/sec 161.374, "
            "Trained Tokens 3290, Peak mem 9.707 GB",
        ]
    )
    assert log.iters[["iter", "loss", "lr", "time_ms"]].values.tolist() == [[10, 2.662, 1e-05, 2000.0]]
    assert log.evals[["step", "val_loss"]].values.tolist() == [[1, 2.936]]
    assert log.meta.max_iters == 1000 and log.meta.lr_logged and log.meta.finetune is True
    assert log.meta.loss_kind == "window_mean" and log.meta.eval_kind is None


def test_the_2023_line_without_lr_and_the_checkpoint_lines():
    log = mlx_lm.parse(
        [
            "Iter 10: Train loss 3.608, It/sec 0.015, Tokens/sec 1.425",
            "Iter 100: Saved adapter weights to checkpoints/100_adapters.npz.",
        ]
    )
    assert log.iters["loss"].tolist() == [3.608] and math.isnan(log.iters["lr"].iloc[0])
    assert log.meta.checkpoints_saved == 1 and not log.meta.lr_logged


def test_the_2023_lora_py_has_a_constant_lr_by_design_and_trains_adapters():
    # lora.py of 2023 built a bare optim.Adam(learning_rate=...): no schedule, and saved adapters
    log = mlx_lm.parse(
        [
            "Iter 10: Train loss 3.608, It/sec 0.015, Tokens/sec 1.425",
            "Iter 100: Saved adapter weights to checkpoints/100_adapters.npz.",
        ]
    )
    assert log.meta.lr_by_design == "constant" and log.meta.trains_adapters is True


def test_a_log_that_prints_the_lr_or_uses_the_rich_ui_claims_no_schedule():
    printed = mlx_lm.parse(["Iter 10: Train loss 2.6, Learning Rate 1.000e-05, It/sec 0.5, Tokens/sec 1.0"])
    ui = mlx_lm.parse(["  iter   train_loss     tok/s     tokens", "    10    2.662 ▼    161    3.3k"])
    assert printed.meta.lr_by_design is None and ui.meta.lr_by_design is None


def test_the_trainable_share_tells_an_adapter_run_from_a_full_fine_tune():
    lora = mlx_lm.parse(["Trainable parameters: 0.041% (1.311M/3212.750M)"])
    full = mlx_lm.parse(["Trainable parameters: 100.000% (3212.750M/3212.750M)"])
    assert lora.meta.trains_adapters is True and full.meta.trains_adapters is False


def test_trainable_parameters_line_gives_the_model_size_and_nodes_the_world_size():
    log = mlx_lm.parse(
        [
            "Trainable parameters: 0.041% (1.311M/3212.750M)",
            "Node 0 of 4",
            "Iter 10: Train loss 2.0, It/sec 1.0, Tokens/sec 1.0",
        ]
    )
    assert log.meta.n_params == 3212.750e6 and log.meta.world_size == 4


def test_an_iter_line_glued_behind_a_tqdm_bar_is_read():
    log = mlx_lm.parse(
        [
            "  1%|▊         | 10/1000 [00:32<53:42,  3.25s/it, Loss=3.4376]Iter 20: Train loss 3.142, "
            "Learning Rate 1.000e-04, It/sec 0.283, Tokens/sec 302.828, Trained Tokens 20518"
        ]
    )
    assert log.iters[["iter", "loss"]].values.tolist() == [[20, 3.142]]


def test_the_rich_ui_rows():
    log = mlx_lm.parse(
        [
            "│  batch · iters   4 · 1,000  │",
            "  iter   train_loss     tok/s     tokens",
            "    10    2.662 ▼    161    3.3k",
            "    20    2.701 ▲    4,560    6.6k",
            "   200    val 1.234    5.27s",
            "  save  0000200_adapters.safetensors",
        ]
    )
    assert log.iters[["iter", "loss"]].values.tolist() == [[10, 2.662], [20, 2.701]]
    assert log.evals[["step", "val_loss"]].values.tolist() == [[200, 1.234]]
    assert log.meta.max_iters == 1000 and log.meta.checkpoints_saved == 1


def test_real_pastes(named_real_log):
    log = named_real_log("real_64_mlx_examples_issue557_mixtral_lora_EXCERPT.log")
    assert log.format == "mlx_lm"
    assert log.iters["iter"].tolist() == list(range(10, 101, 10))
    assert log.evals["val_loss"].tolist() == [2.48] and log.meta.max_iters == 3000
    log = named_real_log("real_65_mlx_lm_issue18_gemma_lora_valevery5_EXCERPT.log")
    assert log.evals["step"].tolist() == [1, 5, 10, 15, 20] and log.iters["iter"].tolist() == [5, 10, 15, 20]
    assert log.meta.n_params == 9241.706e6 and log.meta.checkpoints_saved == 3
    log = named_real_log("real_67_mlx_vlm_pr261_tqdm_glued_EXCERPT.log")
    assert log.iters["iter"].tolist() == [10, 20] and log.meta.max_iters == 1000
