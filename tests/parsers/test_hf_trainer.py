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
    lines = [
        "{'loss': nan, 'grad_norm': nan, 'learning_rate': 1e-05, 'epoch': 0.5}",
        "{'loss': 1.5, 'grad_norm': tensor(2.3000, device='cuda:0'), 'learning_rate': 1e-05, 'epoch': 1.0}",
    ]
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
    "best_metric": None,
    "epoch": 1.0,
    "global_step": 30,
    "max_steps": 30,
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
    assert hf_trainer.sniff(STDOUT) == 4  # 3 loss + 1 eval; not the summary
    assert hf_trainer.sniff(json.dumps(STATE, indent=2).splitlines()) == 4
    assert hf_trainer.sniff(['{"loss": 2.7, "step": 10}', "iter 10: loss 3.1, time 67.89ms"]) == 0


def test_broken_trainer_state_json_gives_an_empty_table_with_a_note():
    log = hf_trainer.parse(json.dumps(STATE, indent=2).splitlines()[:8])
    assert log.iters.empty and "not valid JSON" in log.meta.notes[0]


def test_trainer_state_read_whole_gives_the_line_path_notes(tmp_path):
    """parse_source decodes the file with its final newline; an error's position must still be the
    one the line path (lines joined, no final newline) reports."""
    from plateau_doctor.read import open_log

    whole = json.dumps(STATE, indent=2)
    for text in (whole, whole[: len(whole) // 2], whole + "\n}", "{" + "[" * 100_000):
        for ending in ("", "\n", "\n\n"):
            path = tmp_path / "trainer_state.json"
            path.write_text(text + ending)
            from_file = hf_trainer.parse_source(open_log(str(path)))
            from_lines = hf_trainer.parse(path.read_text().splitlines())
            assert from_file.meta.notes == from_lines.meta.notes, (text[:40], ending)
            assert from_file.iters.equals(from_lines.iters)
            assert from_file.meta.n_lines == from_lines.meta.n_lines


def test_a_state_of_many_blocks_with_bad_bytes_reads_as_its_decoded_lines(tmp_path):
    """Read whole, the state is decoded once from the blocks' bytes and its lines counted per
    block: the same text and line count as decoding it line by line, across block boundaries,
    with invalid UTF-8, multibyte characters and CRLF endings."""
    from plateau_doctor.read import open_log

    history = [{"loss": 2.0 + i / 1e5, "step": i + 1, "note": "é—" * (i % 7)} for i in range(30_000)]
    text = json.dumps({**STATE, "log_history": history}, indent=2, ensure_ascii=False)
    raw = text.replace('"note": "é', '"note": "\udcff', 5).encode("utf-8", "surrogateescape")
    for ending in (b"", b"\r\n"):
        path = tmp_path / "trainer_state.json"
        path.write_bytes(raw.replace(b"\n", b"\r\n") + ending if ending else raw)
        from_file = hf_trainer.parse_source(open_log(str(path)))
        from_lines = hf_trainer.parse(path.read_bytes().decode("utf-8", "replace").splitlines())
        assert len(from_file.iters) == 30_000
        assert from_file.iters.equals(from_lines.iters)
        assert from_file.meta.n_lines == from_lines.meta.n_lines
        assert from_file.meta.notes == from_lines.meta.notes


def test_real_stdout_logs_parse_every_dict(real_log):
    expected = {  # file: (loss dicts, eval dicts) as counted with grep
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


# -- which number is the optimizer step (real lines from /tmp/wild logs nobody here had seen) ----

# 18_hf_trainer_custom1B_moe_cosmopedia_leak.log: a callback prints the step in the dict itself.
STEP_KEYED = """\
{'loss': 9.4475, 'grad_norm': 2.4889872074127197, 'learning_rate': 9e-06, 'epoch': 0.09, 'step': 900}
{'loss': 9.0639, 'grad_norm': 2.387298822402954, 'learning_rate': 1e-05, 'epoch': 0.1, 'step': 1000}
{'eval_loss': 8.766225814819336, 'eval_runtime': 9.3526, 'eval_samples_per_second': 10.692, 'eval_steps_per_second': 1.39, 'epoch': 0.1, 'step': 1000}
{'loss': 8.6255, 'grad_norm': 2.4463725090026855, 'learning_rate': 1.1000000000000001e-05, 'epoch': 0.11, 'step': 1100}
{'train_runtime': 8754.1218, 'train_samples_per_second': 36.554, 'train_steps_per_second': 1.142, 'train_loss': 2.159679998397827, 'epoch': 1.0, 'step': 10000}
""".splitlines()

# 06_hf_trainer_indot5_lora_stringvals.log (Colab): 204 steps, logging_steps 10, eval every epoch
# (34 steps). The bars sit on lines of their own, *after* the dicts they belong with; the eval
# bar (/9) runs between the training bar's last count and the eval dict.
EPOCH_ONE = """\
Loading weights: 100% 284/284 [00:00<00:00, 1161.23it/s, Materializing param=shared.weight]
{'loss': '19.85', 'grad_norm': '0.05444', 'learning_rate': '8.571e-05', 'epoch': '0.2941'}
{'loss': '19.85', 'grad_norm': '0.07396', 'learning_rate': '0.000181', 'epoch': '0.5882'}
{'loss': '19.84', 'grad_norm': '0.1131', 'learning_rate': '0.0001913', 'epoch': '0.8824'}
 17% 34/204 [01:03<05:30,  1.94s/it]
  0% 0/9 [00:00<?, ?it/s]
 22% 2/9 [00:00<00:01,  4.08it/s]
 89% 8/9 [00:03<00:00,  2.44it/s]

{'eval_loss': '9.86', 'eval_runtime': '4.061', 'eval_samples_per_second': '8.372', 'eval_steps_per_second': '2.216', 'epoch': '1'}
 17% 34/204 [01:07<05:30,  1.94s/it]
100% 9/9 [00:03<00:00,  2.54it/s]
{'loss': '19.79', 'grad_norm': '0.09695', 'learning_rate': '0.0001803', 'epoch': '1.176'}
{'loss': '19.71', 'grad_norm': '0.1703', 'learning_rate': '0.0001694', 'epoch': '1.471'}
{'loss': '19.59', 'grad_norm': '0.2434', 'learning_rate': '0.0001585', 'epoch': '1.765'}
 33% 68/204 [02:17<04:28,  1.97s/it]
  0% 0/9 [00:00<?, ?it/s]
 89% 8/9 [00:03<00:00,  2.36it/s]

{'eval_loss': '9.623', 'eval_runtime': '3.761', 'eval_samples_per_second': '9.039', 'eval_steps_per_second': '2.393', 'epoch': '2'}
 33% 68/204 [02:21<04:28,  1.97s/it]
100% 9/9 [00:03<00:00,  2.47it/s]
""".splitlines()
# Its last lines: the last train window is at step 200, the run goes on to 204.
LAST_EPOCH = """\
{'loss': '18.29', 'grad_norm': '1.057', 'learning_rate': '2.732e-05', 'epoch': '5.294'}
{'loss': '18.21', 'grad_norm': '1.3', 'learning_rate': '1.639e-05', 'epoch': '5.588'}
{'loss': '18.3', 'grad_norm': '1.131', 'learning_rate': '5.464e-06', 'epoch': '5.882'}
100% 204/204 [07:06<00:00,  1.99s/it]
{'train_runtime': '431.1', 'train_samples_per_second': '3.785', 'train_steps_per_second': '0.473', 'train_loss': '18.97', 'epoch': '6'}
100% 204/204 [07:11<00:00,  2.11s/it]
""".splitlines()


def _dict_06(loss: str, epoch: str) -> str:
    return f"{{'loss': '{loss}', 'grad_norm': '0.05444', 'learning_rate': '8.571e-05', 'epoch': '{epoch}'}}"


def test_step_key_in_the_dict_is_the_iteration():
    log = hf_trainer.parse(STEP_KEYED)
    assert log.iters["iter"].tolist() == [900, 1000, 1100]
    assert log.iters["loss"].tolist() == [9.4475, 9.0639, 8.6255]
    assert any("from the dicts' 'step'" in note for note in log.meta.notes)
    assert not any("logging-window index" in note for note in log.meta.notes)


def test_step_key_in_an_eval_dict_is_its_step_the_same_as_the_train_dict_of_that_step():
    log = hf_trainer.parse(STEP_KEYED)
    assert log.evals[["step", "val_loss"]].values.tolist() == [[1000, 8.766225814819336]]


def test_global_step_key_is_read_when_there_is_no_step_key():
    lines = [line.replace("'step'", "'global_step'") for line in STEP_KEYED]
    assert hf_trainer.parse(lines).iters["iter"].tolist() == [900, 1000, 1100]


def test_quoted_step_values_of_new_transformers_are_steps():
    lines = [
        "{'loss': '9.4475', 'epoch': '0.09', 'step': '900'}",
        "{'loss': '9.0639', 'epoch': '0.1', 'step': '1000'}",
    ]
    assert hf_trainer.parse(lines).iters["iter"].tolist() == [900, 1000]


def test_malformed_step_values_fall_back_to_the_window_index_without_crashing():
    big = "9" * 400
    for bad in ("'abc'", "-5", "2.5", "True", "nan", "1e300", big, "[1]", "None", str(2**53)):
        lines = [f"{{'loss': 2.0, 'step': {bad}}}", f"{{'loss': 1.9, 'step': {bad}}}"]
        log = hf_trainer.parse(lines)
        assert log.iters["iter"].tolist() == [1, 2], bad
        assert any("logging-window index" in note for note in log.meta.notes), bad


def test_progress_bar_beside_the_dict_gives_its_step():
    # a terminal capture: each dict is printed right after the bar at its step, `\r` pieces before
    lines = [
        "  4%|▍         | 9/204 [00:17<05:50,  1.94s/it]\r  5%|▍         | 10/204 [00:19<05:50,  1.94s/it]"
        + _dict_06("19.85", "0.2941"),
        " 10%|▉         | 20/204 [00:38<05:30,  1.94s/it]" + _dict_06("19.85", "0.5882"),
        " 15%|█▍        | 30/204 [00:58<05:30,  1.94s/it]" + _dict_06("19.84", "0.8824"),
    ]
    log = hf_trainer.parse(lines)
    assert log.iters["iter"].tolist() == [10, 20, 30]
    assert log.meta.max_iters == 204  # the training bar's total is max_steps
    assert any("read off the progress bar" in note for note in log.meta.notes)


def test_eval_takes_the_training_bar_count_before_it_not_the_eval_bar():
    log = hf_trainer.parse(EPOCH_ONE)
    assert log.evals["step"].tolist() == [34, 68]  # not 8 (the /9 eval bar) nor 284 (weights)


def test_train_dicts_without_a_bar_beside_them_take_their_step_from_the_epoch():
    # logging_steps 10: the bar `34/204` on its own line before the dict of step 40 is stale, and
    # the one after the dicts of steps 10, 20, 30 is later than all three
    log = hf_trainer.parse(EPOCH_ONE)
    assert log.iters["iter"].tolist() == [10, 20, 30, 40, 50, 60]
    assert any("interpolated from the epoch" in note for note in log.meta.notes)


def test_eval_logged_at_the_step_of_a_train_dict_gets_that_step():
    lines = [
        " 20%|██        | 10/50 [00:17<01:06,  1.67s/it]{'loss': 0.6957, 'grad_norm': 1.97, 'learning_rate': 9e-06, 'epoch': 1.0}",
        "  0%|          | 0/3 [00:00<?, ?it/s]",
        " 67%|██████▋   | 2/3 [00:00<00:00,  4.26it/s]",
        " 20%|██        | 10/50 [00:18<01:06,  1.67s/it]",
        "100%|██████████| 3/3 [00:00<00:00,  4.15it/s]",
        "{'eval_loss': 0.6807359457015991, 'eval_runtime': 0.7, 'epoch': 1.0}",
        " 40%|████      | 20/50 [00:35<00:50,  1.67s/it]{'loss': 0.61, 'grad_norm': 1.5, 'learning_rate': 8e-06, 'epoch': 2.0}",
        "{'eval_loss': 0.6, 'eval_runtime': 0.7, 'epoch': 2.0}",
    ]
    log = hf_trainer.parse(lines)
    assert log.iters["iter"].tolist() == [10, 20]
    assert log.evals["step"].tolist() == [10, 20]


def test_total_optimization_steps_is_max_iters_when_iters_are_steps():
    header = "[INFO|trainer.py:2136] 2025-05-02 22:42:34,741 >>   Total optimization steps = 204"
    log = hf_trainer.parse([header, *EPOCH_ONE])
    assert log.meta.max_iters == 204 and log.iters["iter"].tolist()[-1] == 60


def test_total_optimization_steps_is_not_max_iters_when_iters_are_window_indices():
    # a window index compared with a step count would read as a run stopped at 1%
    header = "1: [INFO|trainer.py:2136] 2025-05-02 22:42:34,741 >>   Total optimization steps = 1,136"
    log = hf_trainer.parse([header, *STDOUT[1:]])
    assert log.iters["iter"].tolist() == [1, 2, 3]
    assert log.meta.max_iters is None
    assert any("planned 1,136 optimization steps" in note for note in log.meta.notes)


def test_training_bar_end_past_the_last_logged_window_is_noted():
    log = hf_trainer.parse([*EPOCH_ONE[:4], *LAST_EPOCH])
    assert log.iters["iter"].tolist() == [10, 20, 30, 180, 190, 200]
    assert any(
        "training reached step 204" in note and "last logged row is at step 200" in note
        for note in log.meta.notes
    )


def test_logging_steps_times_the_window_index_when_nothing_else_gives_the_step():
    args = (
        "Training/evaluation parameters TrainingArguments(logging_dir=runs, logging_first_step=False, "
        "logging_nan_inf_filter=True, logging_steps=10, logging_strategy=steps, max_steps=-1,"
    )
    dicts = [line for line in EPOCH_ONE if line.startswith("{")]
    assert hf_trainer.parse([args, *dicts]).iters["iter"].tolist()[:3] == [10, 20, 30]


def test_logging_steps_is_no_period_when_the_first_step_is_logged_too():
    args = "TrainingArguments(logging_first_step=True, logging_steps=10, logging_strategy=steps)"
    lines = [args, *(line for line in STDOUT if "'loss'" in line)]
    assert hf_trainer.parse(lines).iters["iter"].tolist() == [1, 2, 3]


def test_bar_counts_that_disagree_with_the_epochs_are_not_read_as_steps():
    # stdout buffered in a file: a burst of dicts flushed beside whatever the bar had reached
    lines = [
        " 52%|█████▏    | 106/204 [03:40<03:22,  1.99s/it]" + _dict_06("19.85", "0.2941"),
        _dict_06("19.85", "0.5882"),
        _dict_06("19.84", "0.8824"),
        " 98%|█████████▊| 200/204 [07:00<00:08,  1.99s/it]" + _dict_06("19.79", "1.176"),
        _dict_06("19.71", "1.471"),
    ]
    log = hf_trainer.parse(lines)
    assert log.iters["iter"].tolist() == [1, 2, 3, 4, 5]
    assert any("disagree with the logged epochs" in note for note in log.meta.notes)
    assert log.meta.max_iters is None


def test_a_bar_count_repeated_beside_the_next_dict_is_stale_and_not_its_step():
    lines = [
        " 5%|▍         | 10/204 [00:19<05:50,  1.94s/it]" + _dict_06("19.85", "0.2941"),
        " 5%|▍         | 10/204 [00:19<05:50,  1.94s/it]" + _dict_06("19.85", "0.5882"),
        " 15%|█▍        | 30/204 [00:58<05:30,  1.94s/it]" + _dict_06("19.84", "0.8824"),
    ]
    assert hf_trainer.parse(lines).iters["iter"].tolist() == [10, 20, 30]


def test_dicts_without_a_step_or_an_epoch_between_known_steps_give_window_indices():
    lines = [" 5%|▍         | 10/204 [00:19<05:50,  1.94s/it]{'loss': 2.0, 'epoch': 0.2941}", "{'loss': 1.9}"]
    log = hf_trainer.parse(lines)
    assert log.iters["iter"].tolist() == [1, 2]
    assert any("logging-window index" in note for note in log.meta.notes)


def test_corrupt_bars_do_not_crash_and_are_not_steps():
    big = "9" * 30
    lines = [
        f" 5%|▍ | {big}/{big} [00:19<05:50,  1.94s/it]" + _dict_06("19.85", "0.2941"),
        " 5%|▍ | 300/204 [00:19<05:50,  1.94s/it]" + _dict_06("19.85", "0.5882"),
        " 5%|▍ | 10/0 [00:19<05:50,  1.94s/it]" + _dict_06("19.85", "1e308"),
    ]
    log = hf_trainer.parse(lines)
    assert log.iters["iter"].tolist() == [1, 2, 3]


# trainer_state.json of 10_mubashir_gpt2_pseudocode: logging every 100 steps, max_steps 626
FINISHED_STATE = {
    "epoch": 2.0,
    "eval_steps": 500,
    "global_step": 626,
    "log_history": [
        {
            "epoch": 1.5984,
            "grad_norm": 4.557896137237549,
            "learning_rate": 1.0143769968051119e-05,
            "loss": 0.6338,
            "step": 500,
        },
        {"epoch": 1.5984, "eval_loss": 1.039638638496399, "eval_runtime": 7.2572, "step": 500},
        {
            "epoch": 1.9184,
            "grad_norm": 5.645384311676025,
            "learning_rate": 2.1565495207667733e-06,
            "loss": 0.6168,
            "step": 600,
        },
    ],
    "logging_steps": 100,
    "max_steps": 626,
    "num_train_epochs": 2,
    "stateful_callbacks": {"TrainerControl": {"args": {"should_save": True, "should_training_stop": True}}},
}


def test_trainer_state_notes_that_training_reached_max_steps_past_the_last_logged_row():
    log = hf_trainer.parse(json.dumps(FINISHED_STATE, indent=2).splitlines())
    assert log.iters["iter"].tolist() == [500, 600] and log.meta.max_iters == 626
    assert any(
        "reached max_steps (626): the run finished" in note and "step 600" in note for note in log.meta.notes
    )


def test_trainer_state_stopped_early_by_its_own_decision_is_noted():
    state = {**FINISHED_STATE, "global_step": 610}
    notes = hf_trainer.parse(json.dumps(state).splitlines()).meta.notes
    assert any("stopped at step 610 by its own decision" in note for note in notes)


def test_trainer_state_whose_last_row_is_the_global_step_needs_no_note():
    notes = hf_trainer.parse(json.dumps(STATE).splitlines()).meta.notes
    assert not any("reached" in note for note in notes)


def test_trainer_state_with_a_malformed_global_step_does_not_crash():
    for bad in ("x", -1, 1e300, True, None, [626]):
        state = {**FINISHED_STATE, "global_step": bad, "stateful_callbacks": bad}
        log = hf_trainer.parse(json.dumps(state).splitlines())
        assert log.iters["iter"].tolist() == [500, 600]


def test_a_trainer_logging_once_per_epoch_is_indexed_by_epoch_so_no_eval_is_lost():
    # a real Gemma LoRA log: the epoch-4 train dict is missing; by window count the epoch-3 and
    # epoch-4 evals would share a step and the first would be dropped
    lines = """\
{'loss': 1.9444, 'grad_norm': 0.5543580651283264, 'learning_rate': 0.00023402777777777777, 'epoch': 1.0}
{'eval_loss': 1.467583179473877, 'eval_runtime': 13.4158, 'eval_samples_per_second': 14.386, 'eval_steps_per_second': 1.863, 'epoch': 1.0}
{'loss': 0.553, 'grad_norm': 0.20275253057479858, 'learning_rate': 0.00020069444444444445, 'epoch': 3.0}
{'eval_loss': 0.5021805167198181, 'eval_runtime': 15.2557, 'eval_samples_per_second': 12.651, 'eval_steps_per_second': 1.639, 'epoch': 3.0}
{'eval_loss': 0.475649893283844, 'eval_runtime': 15.152, 'eval_samples_per_second': 12.738, 'eval_steps_per_second': 1.65, 'epoch': 4.0}
{'loss': 0.4596, 'grad_norm': 0.21350014209747314, 'learning_rate': 0.0001673611111111111, 'epoch': 5.0}
""".splitlines()
    log = hf_trainer.parse(lines)
    assert log.evals["step"].tolist() == [1, 3, 4]
    assert log.iters["iter"].tolist() == [1, 3, 5]
    assert any("once per epoch: iter is the epoch" in note for note in log.meta.notes)


def test_fractional_epochs_keep_the_window_index():
    lines = [
        "{'loss': 2.0, 'learning_rate': 1e-4, 'epoch': 0.5}",
        "{'loss': 1.9, 'learning_rate': 1e-4, 'epoch': 1.0}",
    ]
    assert hf_trainer.parse(lines).iters["iter"].tolist() == [1, 2]
