"""A Report in a notebook (HTML), in a REPL (text) and as pandas DataFrames, on real example logs."""

from __future__ import annotations

import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest

from plateau_doctor import diagnose
from plateau_doctor.api import examine
from plateau_doctor.export import LONG_COLUMNS
from plateau_doctor.report.notebook import FINDING_COLUMNS, SCOPE
from plateau_doctor.report.text import render_one

ROOT = Path(__file__).resolve().parents[2]
OVERFIT = str(ROOT / "examples/logs/h200_shakespeare_char_overfit_default.log")
OVERFIT_CONFIG = str(ROOT / "examples/configs/h200_shakespeare_char_overfit_default.py")


@pytest.fixture(scope="module")
def report():
    return diagnose(OVERFIT, OVERFIT_CONFIG)


def test_in_a_notebook_a_report_is_the_html_report_of_its_verdict_and_findings(report):
    html = report._repr_html_()
    assert html.startswith(f'<div class="{SCOPE}">') and html.endswith("</div>")
    assert escape(report.verdict.split(". ")[0]) in html
    for finding in report.findings:
        assert f'data-code="{finding.code}"' in html
    # a cell, not a page, and nothing fetched
    for absent in ("<html", "<body", "<head>", "<script", "<link", "@import", 'src="http', "url(http"):
        assert absent not in html


def test_the_notebook_styles_touch_only_the_report_never_the_rest_of_the_notebook(report):
    css = re.search(r"<style>(.*?)</style>", report._repr_html_(), re.S).group(1)
    selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{", css) for s in rule.split(",")]
    assert selectors and all(s == f".{SCOPE}" or s.startswith(f".{SCOPE} ") for s in selectors)


def test_the_inline_plot_has_ids_of_its_own_so_two_reports_on_one_page_do_not_clash(report):
    pytest.importorskip("matplotlib")
    first, second = report._repr_html_(), report._repr_html_()
    assert 'aria-label="annotated loss curves"' in first
    ids = [set(re.findall(r'\sid="(pd[0-9a-f]{8}-[^"]*)"', page)) for page in (first, second)]
    assert ids[0] and not ids[0] & ids[1]


def test_a_report_without_its_examination_draws_the_val_line_instead(report):
    kept_apart = examine(OVERFIT).report  # what the CLI's workers return: no loss table attached
    assert kept_apart.examination is None
    assert 'class="valline"' in kept_apart._repr_html_()


def test_in_a_repl_the_repr_is_a_few_lines_naming_the_log_the_verdict_and_the_raised_findings(report):
    text = repr(report)
    lines = text.splitlines()
    assert lines[0] == f"<plateau-doctor Report {OVERFIT} (nanogpt, 579 lines)"
    assert lines[1].strip() == report.verdict.split(". ")[0] + "."
    raised = [f for f in report.findings if f.raised]
    assert [line.split()[1] for line in lines[2 : 2 + len(raised)]] == [f.code for f in raised]
    assert text.endswith("print(report) for the full report>")
    assert len(lines) <= 10 and "RunFacts(" not in text  # not a dataclass dump


def test_print_gives_the_full_text_report(report):
    assert str(report) == render_one(report)


def test_the_findings_are_a_dataframe_one_row_each_in_the_reports_order(report):
    frame = report.findings_frame()
    assert list(frame.columns) == FINDING_COLUMNS
    assert list(frame["code"]) == [f.code for f in report.findings]
    assert frame.loc[0, "code"] == "PD201" and bool(frame.loc[0, "raised"])
    assert frame.loc[0, "evidence"]["best_val_step"] == 1750


def test_the_loss_table_is_a_dataframe_of_iteration_and_eval_rows(report):
    table = report.loss_table()
    assert list(table.columns) == LONG_COLUMNS
    parsed = report.examination.parsed
    assert (table["kind"] == "iter").sum() == len(parsed.iter_table)
    assert (table["kind"] == "eval").sum() == len(parsed.eval_table) == 21
    assert table["step"].is_monotonic_increasing
    assert table.loc[table["kind"] == "eval", "val_loss"].min() == pytest.approx(1.4647, abs=1e-4)


def test_a_report_without_its_loss_table_says_where_to_get_one():
    with pytest.raises(ValueError, match="plateau_doctor.parse"):
        examine(OVERFIT).report.loss_table()


def test_diagnose_repr_and_print_never_import_pandas_the_dataframes_do():
    # pandas takes longer to import than a small log takes to diagnose
    code = (
        "import sys, plateau_doctor\n"
        f"r = plateau_doctor.diagnose({OVERFIT!r})\n"
        "repr(r); str(r)\n"
        "print('pandas' in sys.modules)\n"
        "r.findings_frame()\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["False", "True"]
