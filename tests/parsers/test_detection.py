import json
from pathlib import Path

import pytest
import yaml

from plateau_doctor.parsers import detect, parse_lines

# Same place as conftest's fixture; needed here at collection time to parametrize.
SHARED_LOGS = Path(__file__).parents[2].parent / "shared" / "logs"


def _labelled_logs() -> list:
    labels = SHARED_LOGS / "labels.yaml"
    if not labels.is_file():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason="../shared/logs is not present"))]
    return [pytest.param(entry["file"], entry["format"], id=entry["file"])
            for entry in yaml.safe_load(labels.read_text())]


@pytest.mark.parametrize("name, expected", _labelled_logs())
def test_every_labelled_real_log_is_detected_as_its_format(real_log, name, expected):
    log = real_log(name)
    assert log.format == expected
    assert len(log.iters) + len(log.evals) > 0


SNIPPETS = {
    "nanogpt": ["step 0: train loss 10.9, val loss 10.9", "iter 0: loss 10.9, time 100.00ms, mfu -100.00%"],
    "modded_nanogpt": ["step:0/100 val_loss:10.9 train_time:0ms step_avg:nanms",
                       "step:1/100 train_loss:10.9 train_time:50ms step_avg:nanms"],
    "llmc_stdout": ["val loss 11.0",
                    "step    1/74 | loss 10.9 (+nanz)| norm 5.0 (+nanz)| lr 3.00e-04 | 44.57 ms | 40.0% bf16 MFU | 91886 tok/s"],
    "llmc_mainlog": ["s:0 tel:11.0", "s:0 trl:10.9 lr:0.000001 norm:15.37"],
    "nanochat": ["Step 00000 | Validation bpb: 3.1",
                 "step 00000/00100 (0.00%) | loss: 10.9 | lrm: 1.00 | dt: 100.00ms | tok/sec: 1,000 | bf16_mfu: 1.00 | epoch: 1 | total time: 0.00m"],
    "hf_trainer": ["{'loss': 2.708, 'grad_norm': 2.5, 'learning_rate': 4.6e-05, 'epoch': 0.07}",
                   "{'eval_loss': 2.6, 'eval_runtime': 4.2, 'epoch': 0.07}"],
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
    template = ["print0(f'step:{step}/{args.num_iterations} val_loss:{val_loss:.4f}')",
                'printf0("step %4d/%d | loss %7.6f (%+.2fz)| norm %6.4f (%+.2fz)| lr %.2e", ...)',
                "s:%d trl:%.4f lr:%.6f norm:%.2f"]
    assert detect(template + SNIPPETS["llmc_mainlog"]) == "llmc_mainlog"
    assert detect(template) is None
