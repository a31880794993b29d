import math

from plateau_doctor.parsers import modded_nanogpt

# 2024-10 record format: a train loss on every step; train_time resets after step 10.
WITH_LOSS = """\
====================================================================================================
step:0/20 val_loss:10.9264 train_time:285ms step_avg:nanms
step:1/20 train_loss:10.9184 train_time:74701ms step_avg:nanms
step:2/20 train_loss:8.6834 train_time:75965ms step_avg:nanms
step:10/20 train_loss:6.7231 train_time:77676ms step_avg:nanms
step:11/20 train_loss:6.6933 train_time:214ms step_avg:nanms
step:12/20 train_loss:6.6519 train_time:428ms step_avg:nanms
step:13/20 train_loss:6.5125 train_time:641ms step_avg:213.66ms
step:20/20 train_loss:6.2872 train_time:2134ms step_avg:213.39ms
step:20/20 val_loss:6.1000 train_time:2136ms step_avg:213.60ms
""".splitlines()

# Current format: step lines carry only times.
VAL_ONLY = """\
Compiling model and warming up kernels (~7 minutes on first execution)
Resetting Model
step:0/1390 val_loss:10.8296 train_time:0ms step_avg:0.04ms
step:1/1390 train_time:90ms step_avg:90.29ms
step:2/1390 train_time:124ms step_avg:61.94ms
step:250/1390 val_loss:4.0000 train_time:9000ms step_avg:36.00ms
peak memory allocated: 30908 MiB reserved: 46472 MiB
""".splitlines()


def test_train_lines_become_iters_and_val_lines_evals():
    log = modded_nanogpt.parse(WITH_LOSS)
    assert log.format == "modded_nanogpt"
    assert log.iters["iter"].tolist() == [1, 2, 10, 11, 12, 13, 20]
    assert log.iters["loss"].iloc[0] == 10.9184
    assert log.evals["step"].tolist() == [0, 20]
    assert log.evals["val_loss"].tolist() == [10.9264, 6.1]
    assert log.evals["train_loss"].isna().all()
    assert log.meta.max_iters == 20
    assert log.meta.loss_kind == "micro_batch"


def test_times_before_the_train_time_reset_are_ignored_and_none_negative():
    times = modded_nanogpt.parse(WITH_LOSS).iters["time_ms"].tolist()
    assert all(math.isnan(t) for t in times[:4])  # compile-time steps and the reset step
    assert times[4:6] == [214.0, 213.0]
    assert times[6] == (2134 - 641) / 7  # a gap of 7 steps is averaged
    assert "reset" in " ".join(modded_nanogpt.parse(WITH_LOSS).meta.notes)


def test_val_only_log_has_no_iter_rows_and_says_why():
    log = modded_nanogpt.parse(VAL_ONLY)
    assert log.iters.empty
    assert log.evals["val_loss"].tolist() == [10.8296, 4.0]
    assert any("no train loss" in note for note in log.meta.notes)


def test_sniff_counts_step_lines_but_not_the_echoed_script_source():
    source = [
        "print0(f'step:{step}/{args.num_iterations} val_loss:{val_loss:.4f}')",
        "step 250: train loss 1.97, val loss 2.07",
        "iter 10: loss 3.1, time 67.89ms",
    ]
    assert modded_nanogpt.sniff(source) == 0
    assert modded_nanogpt.sniff(WITH_LOSS) == 9


def test_a_second_run_from_step_0_in_the_same_file_is_reported_on_its_own():
    # two runs pasted one after the other are not one curve: the report is about the last
    log = modded_nanogpt.parse(WITH_LOSS + WITH_LOSS[1:4])
    assert log.iters["iter"].tolist() == [1, 2] and set(log.iters["segment"]) == {1}
    assert log.meta.n_segments == 1
    assert any("2 runs that start from step 0" in note for note in log.meta.notes)


def test_real_2024_record_parses_every_step_and_eval(real_log):
    log = real_log("real_30_modded_nanogpt_2024-10-10_Muon.log")
    assert log.format == "modded_nanogpt"
    assert len(log.iters) == 6200  # grep -c 'train_loss:'
    assert len(log.evals) == 51  # grep -c 'val_loss:'
    assert log.evals["val_loss"].iloc[0] == 10.9264
    assert log.evals["val_loss"].iloc[-1] == 3.2785
    assert log.meta.max_iters == 6200
    times = log.iters["time_ms"].dropna()
    assert (times > 0).all() and len(times) == 6200 - 11
    assert 200 < times.median() < 230


def test_real_val_only_records_give_evals_only(real_log):
    medium = real_log("real_31_modded_nanogpt_2025-01-18_medium_valonly.log")
    assert (len(medium.iters), len(medium.evals)) == (0, 61)
    assert medium.evals["val_loss"].iloc[-1] == 2.9166
    assert medium.meta.max_iters == 7500
    baseline = real_log("real_32_modded_nanogpt_2026-07-17_baseline_valonly.log")
    assert baseline.evals["step"].tolist() == [0, 250, 500, 750, 1000, 1250, 1390]
    assert baseline.evals["val_loss"].iloc[-1] == 3.2821
