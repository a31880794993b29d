import json

from prescribe_support import OVERFIT_CONFIG, OVERFIT_LOG, configurator_values

from plateau_doctor.api import diagnose
from plateau_doctor.prescribe.changes import ConfigChange, changes_from_findings
from plateau_doctor.prescribe.fix import correct_config, overrides_line, summary, unified_diff


def overfit_changes():
    report = diagnose(str(OVERFIT_LOG), str(OVERFIT_CONFIG), dataset_tokens="1003854")
    return changes_from_findings(report.findings)


def test_fix_of_the_overfitting_run_stops_it_where_val_was_best():
    changes, skipped = overfit_changes()
    result = correct_config(str(OVERFIT_CONFIG), OVERFIT_CONFIG.read_text(), changes, skipped)
    values = configurator_values(result.corrected)
    assert values["max_iters"] == values["lr_decay_iters"] < 5000
    assert result.schema == "nanogpt" and result.changed
    assert all("PD201" in line for line in summary(result) if "iters" in line)


def test_diff_shows_the_changed_lines_only():
    changes, _ = overfit_changes()
    result = correct_config(str(OVERFIT_CONFIG), OVERFIT_CONFIG.read_text(), changes)
    diff = unified_diff(result, "new.py")
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert "-max_iters = 5000" in removed and len(removed) == len(result.applied)


def test_overrides_line_is_what_train_py_reads():
    changes, _ = overfit_changes()
    line = overrides_line(changes, "config/train_shakespeare_char.py")
    assert line.startswith("python train.py config/train_shakespeare_char.py --max_iters=")
    assert "--dropout=0.3" in line


def test_values_nanogpt_would_refuse_are_skipped_and_said_so():
    changes = [
        ConfigChange("max_iters", 10.5, "PD1", "r", True),
        ConfigChange("max_iter", 10, "PD1", "r", True),
    ]
    result = correct_config("c.py", "max_iters = 5000\n", changes)
    assert not result.changed
    assert [s.change.key for s in result.skipped] == ["max_iters", "max_iter"]
    assert "did you mean max_iters" in result.skipped[1].why


def test_hf_training_arguments_json_is_corrected_under_its_names():
    text = json.dumps({"output_dir": "out", "max_steps": 5000, "learning_rate": 5e-5})
    changes = [
        ConfigChange("max_iters", 1750, "PD201", "stop", True),
        ConfigChange("lr_decay_iters", 1750, "PD201", "stop", True),
    ]
    result = correct_config("args.json", text, changes)
    assert result.schema == "hf_training_arguments"
    assert json.loads(result.corrected)["max_steps"] == 1750
    assert result.skipped[0].change.key == "lr_decay_iters"
