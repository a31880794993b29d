"""What both callbacks share, without a trainer: real logs replayed row by row into the recorder
as a trainer's callback would feed them, judged at every eval."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from plateau_doctor.api import parse
from plateau_doctor.integrations.recorder import (
    TrainingRecorder,
    guarded,
    number,
    summary,
    write_reports,
)

ROOT = Path(__file__).resolve().parents[2]
OVERFIT = ROOT / "examples/logs/h200_shakespeare_char_overfit_default.log"
HEALTHY = ROOT / "examples/logs/h200_shakespeare_char_healthy_2k.log"
SHARED_LOGS = ROOT.parent / "shared" / "logs"


def replay(path: Path, stop_on: str | None = "error", checkpoint: str | None = None):
    """Feed a parsed log to a recorder in step order, judging at each eval as a callback does.
    Returns (the printed lines, the step it stopped at or None, the recorder)."""
    parsed = parse(str(path))
    traits = {"eval_kind": parsed.meta.eval_kind, "loss_kind": parsed.meta.loss_kind}
    recorder = TrainingRecorder("replay", traits, stop_on=stop_on, out=io.StringIO())
    recorder.start(str(path), {})
    recorder.meta.max_iters = parsed.meta.max_iters
    iters, evals = parsed.iter_table, parsed.eval_table
    lines, row = [], 0
    for k in range(len(evals)):
        step = int(evals["step"][k])
        while row < len(iters) and iters["iter"][row] <= step:
            recorder.train_row(int(iters["iter"][row]), iters["loss"][row], iters["lr"][row])
            row += 1
        recorder.eval_row(step, evals["val_loss"][k], evals["train_loss"][k])
        judgement = recorder.judge(step, checkpoint)
        lines.append(judgement.line)
        if judgement.stop:
            return lines, step, recorder
    return lines, None, recorder


def test_overfitting_beyond_noise_stops_the_run_when_a_checkpoint_is_there_to_fall_back_to():
    lines, stopped, _ = replay(OVERFIT, checkpoint="out/ckpt.pt")
    assert stopped is not None and stopped < 5000  # the log goes on to 5,000
    assert lines[-1].endswith("fall back to out/ckpt.pt")
    assert "stopping training (stop_on='error'): overfitting PD201" in lines[-1]


def test_overfitting_without_a_checkpoint_does_not_stop_the_run_and_says_why():
    lines, stopped, _ = replay(OVERFIT, checkpoint=None)
    assert stopped is None
    assert any(
        line.endswith("not stopping for PD201 overfitting: no checkpoint to fall back to") for line in lines
    )


def test_without_stop_on_nothing_is_stopped_or_held():
    lines, stopped, recorder = replay(OVERFIT, stop_on=None, checkpoint="out/ckpt.pt")
    assert stopped is None and recorder.stopped is None
    assert not any("stopping" in line for line in lines)


def test_a_real_diverged_hf_run_is_stopped_at_the_eval_after_its_loss_explodes():
    log = SHARED_LOGS / "real_51_hf_trainer_deberta_xxl_abnormal_diverged.log"
    if not log.is_file():
        pytest.skip("../shared/logs is not present (only in the project workspace)")
    lines, stopped, _ = replay(log)
    assert stopped is not None
    assert "divergence PD102: Loss exploded" in lines[-1]


def test_a_run_judged_mid_way_is_not_called_stopped_or_incomplete():
    # where the table ends mid-run says nothing about where the run stops (LogMeta.excerpt)
    lines, _, recorder = replay(HEALTHY)
    assert len(lines) > 3
    assert not any("PD104" in line or "stopped" in line for line in lines)
    assert not recorder.examine().parsed.meta.excerpt  # the final report is of a finished run


def test_the_final_reports_are_written_atomically_into_the_given_directory_only(tmp_path):
    _, _, recorder = replay(HEALTHY)
    paths = write_reports(recorder.examine(), str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]
    assert [Path(p).parent for p in paths] == [tmp_path / "out"] * 2
    assert write_reports(recorder.examine(), None) == []


def test_the_line_is_the_verdicts_first_sentence_and_the_top_finding():
    lines, _, recorder = replay(OVERFIT, stop_on=None)
    report = recorder.examine().report
    first, top = summary(report).split(" | ", 1)
    assert report.verdict.startswith(first) and first.endswith(".")
    raised = [f for f in report.findings if f.raised]
    assert top == f"{raised[0].code} {raised[0].severity}: {raised[0].title}"


class Hooks:
    def __init__(self) -> None:
        self.recorder = TrainingRecorder("x", {}, out=io.StringIO())

    @guarded
    def on_log(self, value):
        return 1 / value


def test_a_failing_hook_returns_nothing_and_is_logged_once(caplog):
    hooks = Hooks()
    with caplog.at_level(logging.WARNING, logger="plateau_doctor"):
        assert hooks.on_log(0) is None
        assert hooks.on_log(0) is None
        assert hooks.on_log(2) == 0.5
    assert len(caplog.records) == 1
    assert "on_log failed; training goes on" in caplog.records[0].getMessage()


def test_logged_metrics_read_as_floats_and_anything_else_as_nan():
    assert number("2.5") == 2.5 and number(3) == 3.0
    for bad in (None, True, "n/a", [1, 2]):
        assert number(bad) != number(bad)  # NaN


def test_a_bad_setting_is_refused_when_the_callback_is_made_naming_it():
    with pytest.raises(ValueError, match="stop_on must be None .* not 'erorr'; did you mean 'error'"):
        TrainingRecorder("x", {}, stop_on="erorr")
    with pytest.raises(ValueError, match="unknown key 'blok_size'; did you mean 'block_size'"):
        TrainingRecorder("x", {}, config={"blok_size": 1024})
    with pytest.raises(ValueError, match="block_size=-1: expected a whole number"):
        TrainingRecorder("x", {}, config={"block_size": -1})
