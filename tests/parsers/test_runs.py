"""parse_runs: a file holding several runs from scratch is split into one ParsedLog per run; a
resume stays one run; parse_source keeps reporting the last run as before."""

import io
from pathlib import Path

import pandas as pd
import pytest

from plateau_doctor.parsers import parse_runs, parse_source
from plateau_doctor.read import LogText, open_log

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "logs"
FIRST = EXAMPLES / "h200_shakespeare_char_lr_low_2e-5.log"
SECOND = EXAMPLES / "h200_shakespeare_char_healthy_2k.log"


def text(data: str) -> LogText:
    return LogText("t", io.BytesIO(data.encode()))


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    """Two real runs appended to one file, as `python train.py ... | tee -a run.log` twice does."""
    path = tmp_path / "two.log"
    path.write_bytes(FIRST.read_bytes() + SECOND.read_bytes())
    return path


def test_two_runs_appended_to_one_file_give_two_complete_runs(two_runs):
    first_lines = len(FIRST.read_text().splitlines())
    runs = parse_runs(open_log(str(two_runs)))
    assert len(runs) == 2
    alone = [parse_source(open_log(str(path))) for path in (FIRST, SECOND)]
    for run, reference in zip(runs, alone, strict=False):
        pd.testing.assert_frame_equal(run.iters.drop(columns="line"), reference.iters.drop(columns="line"))
        pd.testing.assert_frame_equal(run.evals.drop(columns="line"), reference.evals.drop(columns="line"))
        assert run.meta.tokens_per_iter == reference.meta.tokens_per_iter
        assert run.meta.overrides == reference.meta.overrides  # each run keeps its own header
    assert runs[1].iters["line"].min() == alone[1].iters["line"].min() + first_lines  # the file's numbers
    # run 1 ends at its last data line; the lines after it (run 2's start-up output) open run 2
    end = parse_source(open_log(str(two_runs))).meta.runs[0][1]
    total = len(two_runs.read_text().splitlines())
    assert runs[0].meta.run_in_file == f"run 1 of 2, lines 1-{end:,}"
    assert runs[1].meta.run_in_file == f"run 2 of 2, lines {end + 1:,}-{total:,}"


def test_parse_source_still_reports_the_last_run_with_its_note(two_runs):
    parsed = parse_source(open_log(str(two_runs)))
    assert len(parsed.iters) == len(parse_source(open_log(str(SECOND))).iters)
    assert any("2 runs that start from step 0" in note for note in parsed.meta.notes)


def test_a_one_run_log_is_one_run_with_the_parse_source_table():
    [run] = parse_runs(open_log(str(SECOND)))
    reference = parse_source(open_log(str(SECOND)))
    pd.testing.assert_frame_equal(run.iters, reference.iters)
    assert run.meta.run_in_file is None


def test_a_resume_that_repeats_a_few_steps_stays_one_run():
    log = (
        "".join(f"iter {i}: loss {3 - i / 100:.4f}, time 10.00ms, mfu 1.00%\n" for i in range(0, 30))
        + "Resuming training from out\n"
        + "".join(f"iter {i}: loss {3 - i / 100:.4f}, time 10.00ms, mfu 1.00%\n" for i in range(20, 40))
    )
    [run] = parse_runs(text(log))
    assert run.meta.n_segments == 2 and run.iters["iter"].tolist() == list(range(40))


def test_a_restart_at_the_first_logged_step_is_a_new_run_for_a_trainer_logging_every_100():
    def line(it: int, loss: float) -> str:
        return (
            f" iteration {it:8d}/     300 | consumed samples: {it * 8:12d} | lm loss: {loss:.6E} |"
            " number of skipped iterations:   0 | number of nan iterations:   0 |\n"
        )

    log = "".join(line(i, 9 - i / 100) for i in (100, 200, 300)) + "".join(
        line(i, 8 - i / 100) for i in (100, 200)
    )
    runs = parse_runs(text(log))
    assert [r.iters["iter"].tolist() for r in runs] == [[100, 200, 300], [100, 200]]
    assert [r.format for r in runs] == ["megatron", "megatron"]


def test_a_table_is_not_cut_into_line_ranges():
    runs = parse_runs(text("step,loss\n0,3\n10,2\n0,3.1\n10,2.1\n"))
    assert len(runs) == 1
