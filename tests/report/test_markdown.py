"""Markdown step summary: headings, tables that survive odd cell contents, number formatting."""

from __future__ import annotations

import re

from plateau_doctor.model import RunFacts
from plateau_doctor.report.markdown import render

VERSION = "0.1.0"


def _md(reports, rules) -> str:
    return render(reports, rules, VERSION)


def _table_after(text: str, heading: str) -> list[str]:
    """The table rows (header and separator excluded) of the first table after `heading`."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows[2:]


def _cells(row: str) -> list[str]:
    """Split a table row on unescaped pipes."""
    inner = row.strip()[1:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def test_markdown_heading_names_the_log(mixed_report, rules):
    lines = _md([mixed_report], rules).splitlines()
    assert "## plateau-doctor: `logs/shakespeare_char.log`" in lines


def test_markdown_verdict_is_a_paragraph(mixed_report, rules):
    blocks = _md([mixed_report], rules).split("\n\n")
    assert "The run overfits: stop at step 2250 or add data." in blocks


def test_markdown_findings_table_has_one_row_per_finding_in_order(mixed_report, rules):
    text = _md([mixed_report], rules)
    assert "| severity | code | category | finding | confidence |" in text
    rows = _table_after(text, "### Findings")
    assert [_cells(row)[:3] for row in rows] == [
        ["error", "PD201", "overfitting"],
        ["warning", "PD301", "data_repetition"],
        ["info", "PD901", "still_improving"],
    ]
    assert _cells(rows[0])[3:] == ["Validation loss rises while train loss falls", "93%"]


def test_markdown_raised_findings_get_evidence_and_fixes_sections(mixed_report, rules):
    text = _md([mixed_report], rules)
    assert "#### PD201 (error): Validation loss rises while train loss falls" in text
    assert "#### PD301 (warning): Dataset repeated 81.6 times" in text
    assert "- `best_val_loss` = 1.4697" in text
    assert "- stop at step 2250 (max\\_iters=2250)" in text
    assert "Log line 412." in text


def test_markdown_info_findings_get_no_section(mixed_report, rules):
    assert "#### PD901" not in _md([mixed_report], rules)


def test_markdown_key_facts_are_formatted_for_reading(mixed_report, rules):
    text = _md([mixed_report], rules)
    facts = {_cells(row)[0]: _cells(row)[1] for row in _table_after(text, "### Key facts")}
    assert len(facts) == len(RunFacts.CONTRACT_KEYS)
    assert facts["tokens per iteration"] == "16,384"
    assert facts["tokens seen"] == "81,920,000 (81.9M)"
    assert facts["dataset tokens"] == "1,003,854 (1.00M)"
    assert facts["parameters"] == "10,650,000 (10.7M)"
    assert facts["best val loss"] == "1.4697"
    assert facts["last train loss"] == "0.6160"
    assert facts["learning rate at last iteration"] == "1.00e-04"
    assert facts["best val step"] == "2,250"
    assert facts["epochs"] == "81.60"


def test_markdown_key_facts_skip_unknown_values(second_report, rules):
    text = _md([second_report], rules)
    facts = {_cells(row)[0] for row in _table_after(text, "### Key facts")}
    assert facts == {"last iteration", "best val loss"}


def test_markdown_billions_get_a_b_suffix(new_report, rules):
    report = new_report([], run=RunFacts(tokens_seen=9_200_000_000))
    assert "| tokens seen | 9,200,000,000 (9.20B) |" in _md([report], rules)


def test_markdown_empty_report_says_no_findings_and_has_no_table(empty_report, rules):
    text = _md([empty_report], rules)
    assert "No findings." in text
    assert "| severity |" not in text
    assert "### Key facts" not in text


def test_markdown_pipes_in_cells_are_escaped(new_report, new_finding, rules):
    finding = new_finding("PD101", "warning", title="loss | val loss\nratio")
    text = _md([new_report([finding])], rules)
    rows = _table_after(text, "### Findings")
    assert len(rows) == 1
    cells = _cells(rows[0])
    assert len(cells) == 5
    assert cells[3] == "loss \\| val loss ratio"


def test_markdown_html_like_text_is_escaped_but_code_spans_are_kept(new_report, new_finding, rules):
    finding = new_finding("PD101", "error", message="read <stdin>; set `max_iters=2250`")
    text = _md([new_report([finding])], rules)
    assert "read \\<stdin\\>; set `max_iters=2250`" in text


def test_markdown_stdin_path_in_heading_is_a_code_span(second_report, rules):
    assert "## plateau-doctor: `<stdin>`" in _md([second_report], rules)


def test_markdown_several_logs_start_with_a_ranking_table(multi_reports, new_report, rules):
    healthy = new_report([], path="good.log", run=RunFacts(best_val_loss=1.1))
    text = _md([healthy, *multi_reports], rules)
    assert text.startswith("## plateau-doctor: 3 logs\n")
    rows = _table_after(text, "## plateau-doctor: 3 logs")
    cells = [_cells(row) for row in rows]
    assert [[c[0], c[2], c[3], c[4]] for c in cells] == [
        ["`logs/shakespeare_char.log`", "error", "2", "1.4697"],
        ["`<stdin>`", "warning", "1", "1.2000"],
        ["`good.log`", "none", "0", "1.1000"],
    ]
    assert cells[2][1] == "healthy"  # the verdict column: the top finding's category


def test_markdown_single_log_has_no_ranking_table(mixed_report, rules):
    assert "worst severity" not in _md([mixed_report], rules)


def test_markdown_output_is_deterministic(multi_reports, rules):
    assert _md(multi_reports, rules) == _md(multi_reports, rules)
