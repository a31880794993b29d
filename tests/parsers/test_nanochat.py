"""No real nanochat log exists; the snippets follow the f-strings of scripts/base_train.py
(SOURCES.md section D) and its chat_sft / fork variants."""

import math

from plateau_doctor.parsers import nanochat

BASE_TRAIN = """\
Vocab size: 65,536
Parameter counts:
total                   : 560,988,160
Total batch size 524,288 => gradient accumulation steps: 8
Step 00000 | Validation bpb: 3.123456
step 00000/21400 (0.00%) | loss: 11.090355 | lrm: 1.00 | dt: 23456.78ms | tok/sec: 22,351 | bf16_mfu: 1.23 | epoch: 1 pq: 0 rg: 0 | total time: 0.00m
step 00011/21400 (0.05%) | loss: 9.123456 | lrm: 0.50 | dt: 480.12ms | tok/sec: 1,091,999 | bf16_mfu: 45.67 | epoch: 1 pq: 0 rg: 3 | total time: 0.01m | eta: 171.2m
Step 00250 | Validation bpb: 0.912345
Step 02000 | CORE metric: 0.2100
[rank 0] GC summary: 1.00ms across 2 events
[rank 1] GC summary: 1.20ms across 3 events
""".splitlines()


def test_train_lines_map_ema_loss_time_and_mfu():
    log = nanochat.parse(BASE_TRAIN)
    assert log.format == "nanochat"
    assert log.iters["iter"].tolist() == [0, 11]
    assert log.iters["loss"].tolist() == [11.090355, 9.123456]
    assert log.iters["time_ms"].tolist() == [23456.78, 480.12]
    assert log.iters["mfu"].tolist() == [1.23, 45.67]
    assert log.meta.loss_kind == "ema"
    assert log.meta.max_iters == 21400


def test_lrm_is_a_multiplier_so_lr_stays_unknown():
    log = nanochat.parse(BASE_TRAIN)
    assert log.iters["lr"].isna().all() and not log.meta.lr_logged
    assert any("lrm" in note for note in log.meta.notes)


def test_validation_bpb_becomes_an_eval_in_bpb():
    log = nanochat.parse(BASE_TRAIN)
    assert log.evals["step"].tolist() == [0, 250]
    assert log.evals["val_loss"].tolist() == [3.123456, 0.912345]
    assert log.meta.val_metric == "bpb"


def test_header_lines_give_params_vocab_batch_and_ranks():
    meta = nanochat.parse(BASE_TRAIN).meta
    assert meta.n_params == 560988160
    assert meta.vocab_size == 65536
    assert meta.tokens_per_iter == 524288
    assert meta.world_size == 2


def test_core_metric_is_not_tabled():
    log = nanochat.parse(BASE_TRAIN)
    assert 2000 not in log.evals["step"].tolist()
    assert any("CORE" in note for note in log.meta.notes)


def test_sft_line_without_total_and_plain_mfu_parses():
    line = "step 00010 (1.23%) | loss: 2.345678 | lrm: 1.00 | dt: 300.00ms | tok/sec: 9,999 | mfu: 12.50 | total time: 0.10m"
    log = nanochat.parse([line])
    assert log.iters[["iter", "loss", "mfu"]].values.tolist() == [[10, 2.345678, 12.5]]
    assert log.meta.max_iters is None


def test_train_bpb_printed_beside_validation_goes_to_train_loss():
    log = nanochat.parse(["Step 00500 | Train bpb: 0.901234 | Validation bpb: 0.912345"])
    assert log.evals[["step", "train_loss", "val_loss"]].values.tolist() == [[500, 0.901234, 0.912345]]
    assert math.isnan(nanochat.parse(BASE_TRAIN).evals["train_loss"].iloc[0])


def test_sniff_counts_train_and_validation_lines_only():
    assert nanochat.sniff(BASE_TRAIN) == 4
    assert (
        nanochat.sniff(
            [
                "step   61/74 | loss 3.208939 (+nanz)| norm 1.4800 (+nanz)| lr 3.00e-04 | 44.57 ms",
                "step 250: train loss 1.9747, val loss 2.0779",
            ]
        )
        == 0
    )
