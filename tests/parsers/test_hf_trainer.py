import json
import math

from plateau_doctor.parsers import hf_trainer

STDOUT = """\
[INFO|trainer.py:2137] 2025-05-02 22:42:34,742 >>   Number of trainable parameters = 3,920,390
{'loss': 2.708, 'grad_norm': 2.5152652263641357, 'learning_rate': 4.647887323943662e-05, 'epoch': 0.07}
{'loss': 2.6, 'grad_norm': 2.0, 'learning_rate': 4.5e-05, 'epoch': 0.14}
{'eval_loss': 2.55, 'eval_runtime': 42.26, 'eval_samples_per_second': 23.661, 'epoch': 0.14}
{'loss': 2.5, 'grad_norm': 72192.0, 'learning_rate': 0.0, 'epoch': 0.21}
{'train_runtime': 12657.8585, 'train_samples_per_second': 3.555, 'train_loss': 2.6027, 'epoch': 0.21}
""".splitlines()


def test_loss_dicts_become_iters_indexed_by_logging_window():
    log = hf_trainer.parse(STDOUT)
    assert log.format == "hf_trainer"
    assert log.iters["iter"].tolist() == [1, 2, 3]
    assert log.iters["loss"].tolist() == [2.708, 2.6, 2.5]
    assert log.iters["lr"].tolist() == [4.647887323943662e-05, 4.5e-05, 0.0]
    assert log.iters["grad_norm"].iloc[2] == 72192.0
    assert log.meta.loss_kind == "window_mean" and log.meta.lr_logged


def test_eval_dict_takes_the_number_of_windows_logged_before_it():
    log = hf_trainer.parse(STDOUT)
    assert log.evals[["step", "val_loss"]].values.tolist() == [[2, 2.55]]
    assert log.evals["train_loss"].isna().all()


def test_run_summary_is_not_a_train_row_but_a_note():
    log = hf_trainer.parse(STDOUT)
    assert len(log.iters) == 3
    assert any("2.6027" in note for note in log.meta.notes)
    assert any("epoch 0.21" in note for note in log.meta.notes)


def test_header_gives_trainable_parameters():
    assert hf_trainer.parse(STDOUT).meta.n_params == 3920390


def test_quoted_string_values_of_new_transformers_parse():
    line = "{'loss': '2.708', 'grad_norm': '2.515', 'learning_rate': '4.648e-05', 'epoch': '0.07'}"
    row = hf_trainer.parse([line]).iters.iloc[0]
    assert (row["loss"], row["grad_norm"], row["lr"]) == (2.708, 2.515, 4.648e-05)


def test_nan_and_tensor_values_are_read_without_eval():
    lines = ["{'loss': nan, 'grad_norm': nan, 'learning_rate': 1e-05, 'epoch': 0.5}",
             "{'loss': 1.5, 'grad_norm': tensor(2.3000, device='cuda:0'), 'learning_rate': 1e-05, 'epoch': 1.0}"]
    log = hf_trainer.parse(lines)
    assert math.isnan(log.iters["loss"].iloc[0])
    assert log.iters["grad_norm"].iloc[1] == 2.3 and log.iters["lr"].iloc[1] == 1e-05


def test_dicts_glued_to_tqdm_bars_and_rank_prefixes_are_found():
    lines = [
        "0: {'loss': 3.0288, 'grad_norm': 1.44, 'learning_rate': 4.9e-05, 'epoch': 0.01}",
        "  2%|▏         | 18/1136 [00:08<08:31,  2.19it/s]\r  3%|▎  | 35/1136 [00:16<08:18]{'loss': 2.8485, 'grad_norm': 3.38, 'learning_rate': 4.8e-05, 'epoch': 0.03}    ",
        "1: ip-10-1-40-172:48007:48141 [0] NCCL INFO Connected binomial trees",
    ]
    log = hf_trainer.parse(lines)
    assert log.iters["loss"].tolist() == [3.0288, 2.8485]
    assert log.meta.world_size == 2


def test_the_same_dict_printed_by_two_ranks_counts_once():
    line = "{'loss': 2.708, 'grad_norm': 2.5, 'learning_rate': 4.6e-05, 'epoch': 0.07}"
    assert len(hf_trainer.parse(["0: " + line, "1: " + line]).iters) == 1


STATE = {
    "best_metric": None, "epoch": 1.0, "global_step": 30, "max_steps": 30,
    "log_history": [
        {"epoch": 0.33, "grad_norm": 1.5, "learning_rate": 4e-05, "loss": 2.9, "step": 10},
        {"epoch": 0.67, "grad_norm": 1.2, "learning_rate": 2e-05, "loss": 2.7, "step": 20},
        {"epoch": 0.67, "eval_loss": 2.65, "eval_runtime": 3.1, "step": 20},
        {"epoch": 1.0, "grad_norm": 1.1, "learning_rate": 0.0, "loss": 2.6, "step": 30},
        {"epoch": 1.0, "step": 30, "total_flos": 1e15, "train_loss": 2.73, "train_runtime": 99.0},
    ],
}


def test_trainer_state_json_uses_the_real_optimizer_steps():
    for text in (json.dumps(STATE, indent=2), json.dumps(STATE)):
        log = hf_trainer.parse(text.splitlines())
        assert log.iters["iter"].tolist() == [10, 20, 30]
        assert log.iters["loss"].tolist() == [2.9, 2.7, 2.6]
        assert log.evals[["step", "val_loss"]].values.tolist() == [[20, 2.65]]
        assert log.meta.max_iters == 30 and log.meta.lr_logged


def test_sniff_counts_loss_dicts_and_trainer_state_entries_only():
    assert hf_trainer.sniff(STDOUT) == 4                  # 3 loss + 1 eval; not the summary
    assert hf_trainer.sniff(json.dumps(STATE, indent=2).splitlines()) == 4
    assert hf_trainer.sniff(['{"loss": 2.7, "step": 10}', "iter 10: loss 3.1, time 67.89ms"]) == 0


def test_broken_trainer_state_json_gives_an_empty_table_with_a_note():
    log = hf_trainer.parse(json.dumps(STATE, indent=2).splitlines()[:8])
    assert log.iters.empty and "not valid JSON" in log.meta.notes[0]


def test_real_stdout_logs_parse_every_dict(real_log):
    expected = {   # file: (loss dicts, eval dicts) as counted with grep
        "real_50_hf_trainer_deberta_xxl_normal.log": (35, 9),
        "real_51_hf_trainer_deberta_xxl_abnormal_diverged.log": (23, 5),
        "real_52_hf_trainer_deberta_xl_semi_abnormal_diverged.log": (11, 1),
        "real_53_hf_trainer_esm2_fsdp_2node_rankprefix_EXCERPT.log": (9, 0),
    }
    for name, counts in expected.items():
        log = real_log(name)
        assert log.format == "hf_trainer", name
        assert (len(log.iters), len(log.evals)) == counts, name


def test_real_logs_keep_values_and_eval_positions(real_log):
    normal = real_log("real_50_hf_trainer_deberta_xxl_normal.log")
    assert normal.iters["loss"].iloc[0] == 5.9633
    assert normal.iters["grad_norm"].iloc[4] == 72192.0
    assert normal.evals["step"].iloc[0] == 11 and normal.evals["val_loss"].iloc[-1] == 1.3647524118423462
    diverged = real_log("real_52_hf_trainer_deberta_xl_semi_abnormal_diverged.log")
    assert diverged.iters["loss"].iloc[5:7].tolist() == [2.1093, 4.3886]
    fsdp = real_log("real_53_hf_trainer_esm2_fsdp_2node_rankprefix_EXCERPT.log")
    assert fsdp.meta.n_params == 3920390 and fsdp.meta.world_size == 2
    assert fsdp.iters["lr"].iloc[-1] == 0.0
