"""The text report: the plain look a pipe gets is what rich would draw at the same width, without
importing rich; the terminal look wraps and colours the same lines."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from plateau_doctor import api
from plateau_doctor.report.terminal import draw
from plateau_doctor.report.text import plain_line, render_one, report_lines

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "logs").glob("*.log"))


@pytest.mark.parametrize("log", EXAMPLES, ids=lambda p: p.name)
def test_plain_report_is_what_rich_draws_at_the_pipe_width(log):
    report = api.diagnose(str(log))
    assert render_one(report) == draw(report_lines(report), color=False, width=0)


def test_plain_report_shows_each_findings_category(mixed_report):
    text = render_one(mixed_report)
    assert (
        "1. ERROR PD201 [overfitting] Validation loss rises while train loss falls  (confidence 0.93)" in text
    )
    assert "2. WARNING PD301 [data_repetition] Dataset repeated 81.6 times" in text


def test_square_brackets_in_messages_are_printed_not_read_as_styles(mixed_report, error_finding):
    odd = dataclasses.replace(error_finding, message="val of [bold] run [/] at [red]")
    report = dataclasses.replace(mixed_report, findings=[odd])
    for text in (render_one(report), render_one(report, color=True, width=120)):
        assert "val of [bold] run [/] at [red]" in text


def test_control_characters_from_a_log_do_not_reach_the_output(mixed_report, error_finding):
    odd = dataclasses.replace(error_finding, message="bell\x07 and return\r here")
    report = dataclasses.replace(mixed_report, findings=[odd])
    assert "bell and return here" in render_one(report)


def test_a_title_too_long_for_the_rule_is_kept_whole(empty_report):
    report = dataclasses.replace(empty_report, path="runs/" + "x" * 120 + ".log")
    first = plain_line(report_lines(report)[0])
    assert first.startswith("─ runs/") and first.endswith(".log (nanogpt, 120 lines) ─")


def test_terminal_report_wraps_long_lines_under_their_indent(mixed_report):
    text = render_one(mixed_report, width=40)
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "   81,920,000 tokens seen" in text


def test_a_piped_text_report_does_not_import_rich():
    code = (
        "import sys; from plateau_doctor.cli import main; sys.argv = ['plateau-doctor', 'diagnose', "
        f"{str(EXAMPLES[0])!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('rich' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "False"
