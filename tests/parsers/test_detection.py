import json
import os
from pathlib import Path

import pytest
import yaml

from plateau_doctor.parsers import detect, parse_lines
from plateau_doctor.read import open_log

# Same places as conftest's fixtures; needed here at collection time to parametrize.
SHARED_LOGS = Path(
    os.environ.get("PLATEAU_DOCTOR_SHARED_LOGS") or Path(__file__).parents[2].parent / "shared" / "logs"
)
FORMAT_LOGS = Path(__file__).parents[1] / "data" / "formats"


def _labelled_logs() -> list:
    params = []
    for folder in (SHARED_LOGS, FORMAT_LOGS):
        labels = folder / "labels.yaml"
        if labels.is_file():
            params += [
                pytest.param(folder / entry["file"], entry["format"], id=entry["file"])
                for entry in yaml.safe_load(labels.read_text())
            ]
    return params


@pytest.mark.parametrize("path, expected", _labelled_logs())
def test_every_labelled_real_log_is_detected_as_its_format(path, expected):
    log = parse_lines(open_log(str(path)).lines)
    assert log.format == expected
    assert len(log.iters) + len(log.evals) > 0


SNIPPETS = {
    "nanogpt": ["step 0: train loss 10.9, val loss 10.9", "iter 0: loss 10.9, time 100.00ms, mfu -100.00%"],
    "modded_nanogpt": [
        "step:0/100 val_loss:10.9 train_time:0ms step_avg:nanms",
        "step:1/100 train_loss:10.9 train_time:50ms step_avg:nanms",
    ],
    "llmc_stdout": [
        "val loss 11.0",
        "step    1/74 | loss 10.9 (+nanz)| norm 5.0 (+nanz)| lr 3.00e-04 | 44.57 ms | 40.0% bf16 MFU | 91886 tok/s",
    ],
    "llmc_mainlog": ["s:0 tel:11.0", "s:0 trl:10.9 lr:0.000001 norm:15.37"],
    "nanochat": [
        "Step 00000 | Validation bpb: 3.1",
        "step 00000/00100 (0.00%) | loss: 10.9 | lrm: 1.00 | dt: 100.00ms | tok/sec: 1,000 | bf16_mfu: 1.00 | epoch: 1 | total time: 0.00m",
    ],
    "hf_trainer": [
        "{'loss': 2.708, 'grad_norm': 2.5, 'learning_rate': 4.6e-05, 'epoch': 0.07}",
        "{'eval_loss': 2.6, 'eval_runtime': 4.2, 'epoch': 0.07}",
    ],
    # the new trainers' lines as their f-strings print them, behind the prefixes their launchers add
    "torchtitan": [
        "[rank0]:[titan] 2025-06-16 22:30:50,322 - root - INFO - step: 10  loss:  9.1234  "
        "memory: 49.66GiB(52.28%)  tps: 5,856  tflops: 339.16  mfu: 34.29%",
        "[titan] 2025-07-01 10:00:00,000 - root - INFO - validate step: 10  loss:  9.0000  "
        "memory: 49.66GiB(52.28%)  tps: 12,345",
    ],
    "megatron": [
        " [2024-05-01 12:00:00.123456] iteration       10/     500 | consumed samples:          80 | "
        "elapsed time per iteration (ms): 296.8 | learning rate: 3.937E-06 | global batch size:     8 | "
        "lm loss: 9.729805E+00 | loss scale: 1.0 | grad norm: 5.703 | number of skipped iterations:   0 | "
        "number of nan iterations:   0 |",
        " validation loss at iteration 10 | lm loss value: 9.5E+00 | lm loss PPL: 1.3E+04 | ",
    ],
    "mlx_lm": [
        "Iter 1: Val loss 2.936, Val took 5.265s",
        "Iter 10: Train loss 2.662, Learning Rate 1.000e-05, It/sec 0.490, Tokens/sec 161.374, "
        "Trained Tokens 3290, Peak mem 9.707 GB",
    ],
    "torchtune": [
        "Step 1 | loss:2.0853 lr:2e-05 tokens_per_second_per_gpu:57.83 ",
        "1|2|Loss: 1.8718:   2%|▏         | 2/101 [00:05<04:07,  2.50s/it]",
    ],
    "litgpt": [
        "Epoch 1 | iter 1 step 0 | loss train: 3.724, val: n/a | iter time: 45.73 ms",
        "iter 100: val loss 3.5000, val time: 1234.56 ms",
    ],
    "csv": ["_step,train/loss,val/loss", "0,10.9,10.9", "10,7.5,"],
    "jsonl": ['{"_step": 0, "train/loss": 10.9}', '{"_step": 10, "train/loss": 7.5}'],
}


@pytest.mark.parametrize("fmt", SNIPPETS)
def test_each_format_snippet_is_detected_and_parsed_as_itself(fmt):
    log = parse_lines(SNIPPETS[fmt])
    assert log.format == fmt
    assert len(log.iters) >= 1


def test_trainer_state_json_is_hf_trainer_not_jsonl():
    state = {"log_history": [{"loss": 2.7, "step": 10}, {"eval_loss": 2.6, "step": 10}], "max_steps": 10}
    for text in (json.dumps(state, indent=2), json.dumps(state)):
        assert parse_lines(text.splitlines()).format == "hf_trainer"


def test_a_nanogpt_log_with_a_few_stray_lines_of_other_formats_stays_nanogpt():
    nanogpt = [f"iter {i}: loss {3 - i / 100:.4f}, time 50.00ms, mfu 20.00%" for i in range(20)]
    stray = SNIPPETS["hf_trainer"] + SNIPPETS["llmc_mainlog"] + SNIPPETS["modded_nanogpt"][:1]
    assert detect(stray + nanogpt) == "nanogpt"


def test_a_log_quoting_format_templates_is_not_fooled_by_them():
    template = [
        "print0(f'step:{step}/{args.num_iterations} val_loss:{val_loss:.4f}')",
        'printf0("step %4d/%d | loss %7.6f (%+.2fz)| norm %6.4f (%+.2fz)| lr %.2e", ...)',
        "s:%d trl:%.4f lr:%.6f norm:%.2f",
    ]
    assert detect(template + SNIPPETS["llmc_mainlog"]) == "llmc_mainlog"
    assert detect(template) is None


NEW_TRAINERS = ("torchtitan", "megatron", "mlx_lm", "torchtune", "litgpt")


@pytest.mark.parametrize("fmt", NEW_TRAINERS)
def test_no_other_format_claims_a_new_trainers_lines(fmt):
    from plateau_doctor.parsers.formats import FORMATS

    for other, module in FORMATS.items():
        if other != fmt:
            assert module.sniff(SNIPPETS[fmt]) == 0, f"{other} claims {fmt} lines"


@pytest.mark.parametrize("fmt", NEW_TRAINERS)
def test_a_new_trainer_claims_no_line_of_the_other_formats(fmt):
    from plateau_doctor.parsers.formats import FORMATS

    module = FORMATS[fmt]
    for other, lines in SNIPPETS.items():
        if other != fmt:
            assert module.sniff(lines) == 0, f"{fmt} claims {other} lines"


def test_a_new_trainer_claims_no_line_of_any_labelled_real_log(shared_logs):
    """Sniffed over the whole of every shared log, none of the new parsers finds a data line in
    a log of another format."""
    from plateau_doctor.parsers.formats import FORMATS
    from plateau_doctor.read import open_log

    for entry in yaml.safe_load((shared_logs / "labels.yaml").read_text()):
        lines = list(open_log(str(shared_logs / entry["file"])).lines)
        for fmt in NEW_TRAINERS:
            if fmt != entry["format"]:
                assert FORMATS[fmt].sniff(lines) == 0, f"{fmt} claims lines of {entry['file']}"
