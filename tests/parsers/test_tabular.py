import math

import pytest

from plateau_doctor.parsers import csv_table, jsonl_table
from plateau_doctor.parsers.tabular import auto_columns, parse_columns_option, parse_with_columns

WANDB_CSV = """\
_step,_runtime,train/loss,val/loss,lr
0,1.5,10.98,10.99,0.0
100,60.2,4.51,,0.0006
200,120.9,3.90,3.95,0.0006
300,181.0,nan,,0.0006
""".splitlines()


def test_wandb_history_csv_maps_step_train_val_and_lr():
    log = csv_table.parse(WANDB_CSV)
    assert log.format == "csv"
    assert log.iters["iter"].tolist() == [0, 100, 200, 300]
    assert log.iters["lr"].tolist() == [0.0, 0.0006, 0.0006, 0.0006]
    assert log.evals[["step", "val_loss"]].values.tolist() == [[0, 10.99], [200, 3.95]]
    assert log.meta.lr_logged


def test_a_row_with_train_and_val_is_an_eval_with_its_train_estimate():
    evals = csv_table.parse(WANDB_CSV).evals
    assert evals["train_loss"].tolist() == [10.98, 3.90]


def test_a_literal_nan_loss_is_kept_but_an_empty_cell_is_missing():
    log = csv_table.parse(WANDB_CSV)
    assert math.isnan(log.iters["loss"].iloc[-1])
    assert 100 not in log.evals["step"].tolist()


def test_tensorboard_export_reads_value_as_train_loss():
    log = csv_table.parse(["Wall time,Step,Value", "1700000000.1,0,10.9", "1700000010.2,10,7.5"])
    assert log.iters[["iter", "loss"]].values.tolist() == [[0, 10.9], [10, 7.5]]


def test_lightning_metrics_csv_with_blank_cells_splits_train_and_val_rows():
    log = csv_table.parse(["epoch,step,train_loss,val_loss", "0,49,2.5,", "0,49,,2.4", "1,99,2.1,"])
    assert log.iters["iter"].tolist() == [49, 99]
    assert log.evals[["step", "train_loss", "val_loss"]].values.tolist()[0][::2] == [49, 2.4]


def test_wandb_chart_export_ignores_min_max_bands():
    header = ["Step", "run-7 - train/loss", "run-7 - train/loss__MIN", "run-7 - train/loss__MAX"]
    assert auto_columns(header) == {"step": "Step", "train": "run-7 - train/loss"}


def test_tab_and_semicolon_separators_are_accepted():
    assert csv_table.parse(["step\tloss", "1\t2.5"]).iters["loss"].tolist() == [2.5]
    assert csv_table.parse(["step;loss", "1;2.5"]).iters["loss"].tolist() == [2.5]


def test_without_a_step_column_the_row_index_is_the_step():
    log = csv_table.parse(["loss,val_loss", "3.0,3.1", "2.0,2.2"])
    assert log.iters["iter"].tolist() == [0, 1]
    assert any("row index" in note for note in log.meta.notes)


def test_csv_sniff_needs_a_loss_header_first_and_numeric_rows():
    assert csv_table.sniff(WANDB_CSV) == 4
    assert csv_table.sniff(["step,accuracy", "1,0.5"]) == 0
    assert csv_table.sniff(["iter 0: loss 4.2, time 10ms", "step,loss", "1,2.0"]) == 0
    assert csv_table.sniff(["step,loss", "a,b"]) == 0


def test_csv_without_a_recognised_loss_column_is_a_clear_error():
    with pytest.raises(ValueError, match="--columns"):
        csv_table.parse(["step,accuracy", "1,0.5"])


def test_explicit_columns_override_the_automatic_mapping():
    lines = ["it,objective,heldout", "5,2.0,2.5", "10,1.5,2.4"]
    log = parse_with_columns(lines, {"step": "it", "train": "objective", "val": "heldout"})
    assert log.iters[["iter", "loss"]].values.tolist() == [[5, 2.0], [10, 1.5]]
    assert log.evals["val_loss"].tolist() == [2.5, 2.4]
    with pytest.raises(ValueError, match="'nope'"):
        parse_with_columns(lines, {"train": "nope"})


def test_parse_columns_option_reads_role_column_pairs():
    assert parse_columns_option("step=_step,train=train/loss, val=val/loss,lr=lr") == {
        "step": "_step",
        "train": "train/loss",
        "val": "val/loss",
        "lr": "lr",
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("step=_step,train", "ROLE=COLUMN"),
        ("speed=tok/s,train=loss", "unknown role"),
        ("train=a,train=b", "twice"),
        ("step=_step", "loss column"),
        ("train=", "ROLE=COLUMN"),
    ],
)
def test_parse_columns_option_rejects_bad_input_clearly(text, message):
    with pytest.raises(ValueError, match=message):
        parse_columns_option(text)


JSONL = """\
{"_step": 0, "train/loss": 10.9, "lr": 0.0}
{"_step": 0, "val/loss": 10.95}
not json
{"_step": 10, "train/loss": 7.5, "lr": 6e-05, "train/mfu": 40.1}
{"_step": 20, "train/loss": NaN, "lr": 6e-05}
""".splitlines()


def test_jsonl_rows_map_like_csv_columns():
    log = jsonl_table.parse(JSONL)
    assert log.format == "jsonl"
    assert log.iters["iter"].tolist() == [0, 10, 20]
    assert math.isnan(log.iters["loss"].iloc[-1])
    assert log.iters["mfu"].iloc[1] == 40.1
    assert log.evals[["step", "val_loss"]].values.tolist() == [[0, 10.95]]
    assert log.meta.n_lines == 5


def test_jsonl_nested_objects_are_flattened():
    log = jsonl_table.parse(['{"step": 1, "train": {"loss": 2.0}, "val": {"loss": 2.2}}'])
    assert log.iters["loss"].tolist() == [2.0] and log.evals["val_loss"].tolist() == [2.2]


def test_jsonl_sniff_counts_objects_with_a_loss_key_only():
    assert jsonl_table.sniff(JSONL) == 4
    assert (
        jsonl_table.sniff(['{"step": 1, "accuracy": 0.5}', "{'loss': 2.7, 'epoch': 0.1}"]) == 0
    )  # HF's Python repr is not JSON


def test_parse_with_columns_reads_json_lines_too():
    log = parse_with_columns(['{"n": 1, "obj": 2.0}', '{"n": 2, "obj": 1.0}'], {"step": "n", "train": "obj"})
    assert log.format == "jsonl" and log.iters["loss"].tolist() == [2.0, 1.0]


def test_rows_whose_step_is_not_a_whole_number_are_skipped():
    log = csv_table.parse(["step,loss", "inf,2.0", "1,3.0", "1.5,4.0", "x,5.0"])
    assert log.iters[["iter", "loss"]].values.tolist() == [[1, 3.0]]


# -- issue 15: header aliases, model-card tables, MLflow's long export, LLaMA-Factory -----------

MODEL_CARD = """---
license: apache-2.0
---
# distilbert-finetuned

### Training results

| Training Loss | Epoch | Step | Validation Loss | Accuracy |
|:-------------:|:-----:|:----:|:---------------:|:--------:|
| No log        | 1.0   | 50   | 0.4123          | 0.81     |
| 0.4512        | 2.0   | 100  | 0.3561          | 0.85     |
| 0.2210        | 3.0   | 150  | 0.3902          | 0.85     |

### Framework versions
- Transformers 4.40.0
""".splitlines()


def test_a_model_card_training_results_table_is_read_with_no_log_cells_missing():
    log = csv_table.parse(MODEL_CARD)
    assert log.iters[["iter", "loss"]].values.tolist() == [[100, 0.4512], [150, 0.2210]]
    assert log.evals[["step", "val_loss"]].values.tolist() == [[50, 0.4123], [100, 0.3561], [150, 0.3902]]
    assert log.meta.epochs == 3.0
    assert csv_table.sniff(MODEL_CARD) == 3


@pytest.mark.parametrize(
    "header, role",
    [
        ("Training Loss", "train"),
        ("Validation Loss", "val"),
        ("train/loss", "train"),
        ("eval/loss", "val"),
        ("val_loss", "val"),
        ("loss_step", "train"),
        ("Epoch", "epoch"),
        ("current_steps", "step"),
        ("total_steps", "total_steps"),
        ("my-run - train/loss", "train"),
    ],
)
def test_header_aliases(header, role):
    assert auto_columns([header])[role] == header


def test_lightning_loss_step_is_the_train_loss_not_loss_epoch():
    columns = auto_columns(["epoch", "step", "loss_step", "loss_epoch", "val_loss"])
    assert columns["train"] == "loss_step" and columns["val"] == "val_loss" and columns["epoch"] == "epoch"


def test_wandb_chart_export_of_a_run_with_min_max_bands():
    log = csv_table.parse(
        [
            '"Step","run-a - train/loss","run-a - train/loss__MIN","run-a - train/loss__MAX"',
            '"10","3.2","3.1","3.3"',
            '"20","2.9","2.8","3.0"',
        ]
    )
    assert log.iters[["iter", "loss"]].values.tolist() == [[10, 3.2], [20, 2.9]]


MLFLOW = """key,value,step,timestamp,run_id
loss,2.5,10,1700000000000,a1
loss,2.0,20,1700000001000,a1
eval_loss,2.2,20,1700000002000,a1
epoch,0.5,20,1700000002000,a1
learning_rate,1e-4,10,1700000000000,a1
loss,9.0,10,1700000000000,b2
""".splitlines()


def test_mlflow_long_export_is_pivoted_per_step_first_run_only():
    log = csv_table.parse(MLFLOW)
    assert log.iters[["iter", "loss", "lr"]].values.tolist()[0] == [10, 2.5, 1e-4]
    assert log.iters["iter"].tolist() == [10, 20]
    assert log.evals[["step", "train_loss", "val_loss"]].values.tolist() == [[20, 2.0, 2.2]]
    assert log.meta.epochs == 0.5
    assert any("1 rows of other runs" in note for note in log.meta.notes)
    assert csv_table.sniff(MLFLOW) == 4


def test_llama_factory_trainer_log_gives_epochs_and_max_iters():
    rows = [
        '{"current_steps": 10, "total_steps": 300, "loss": 1.2345, "lr": 4.9e-05, "epoch": 0.1, '
        '"percentage": 3.33, "elapsed_time": "0:00:10", "remaining_time": "0:04:50"}',
        '{"current_steps": 100, "total_steps": 300, "eval_loss": 1.1, "epoch": 1.0, "percentage": 33.33, '
        '"elapsed_time": "0:01:40", "remaining_time": "0:03:20"}',
    ]
    log = jsonl_table.parse(rows)
    assert log.iters[["iter", "loss", "lr"]].values.tolist() == [[10, 1.2345, 4.9e-05]]
    assert log.evals[["step", "val_loss"]].values.tolist() == [[100, 1.1]]
    assert (log.meta.epochs, log.meta.max_iters) == (1.0, 300)


def test_a_model_card_training_steps_hyperparameter_is_max_iters():
    log = csv_table.parse(["- training_steps: 5000", "", *MODEL_CARD[6:]])
    assert log.meta.max_iters == 5000


def test_real_tables(named_real_log):
    log = named_real_log("real_80_llamafactory_trainer_log_3epochs.jsonl")
    assert log.format == "jsonl"
    assert len(log.iters) == 18 and log.iters["loss"].iloc[0] == 5.7013  # 19 rows, the last has no loss
    assert (log.meta.epochs, log.meta.max_iters) == (3.0, 93)
    log = named_real_log("real_81_hf_modelcard_whisper_overfit_table.md")
    assert log.format == "csv" and log.meta.max_iters == 5000 and log.meta.epochs == 25.13
    assert log.evals["val_loss"].tolist() == [0.7324, 0.8486, 0.9033, 0.9351, 0.9468]
    log = named_real_log("real_83_hf_modelcard_tokencls_nolog_table.md")
    assert log.iters.empty and log.evals["step"].tolist() == [47, 94, 141]
