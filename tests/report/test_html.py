"""The HTML report: self-contained, escaped, verdict first, findings with evidence and fixes, a
picture of the curve with or without matplotlib, and a real browser renders it."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from importlib.util import find_spec
from pathlib import Path

import pytest

from plateau_doctor.model import Finding
from plateau_doctor.report.html import render

ROOT = Path(__file__).resolve().parents[2]
OVERFIT_LOG = str(ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log")
TINY_LOG = str(ROOT / "examples" / "logs" / "h200_shakespeare_char_tiny_model.log")
VERSION = "0.1.0"
CHROMIUM = "/usr/bin/chromium"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
SVG_LEAVES = {"path", "circle", "rect", "polyline", "line", "use", "stop", "ellipse", "polygon"}

needs_matplotlib = pytest.mark.skipif(
    find_spec("matplotlib") is None, reason="matplotlib not installed (pip install 'plateau-doctor[plot]')"
)


class TagBalance(HTMLParser):
    """Records every element that is closed out of order or never closed."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> while open: {self.stack[-3:]}")
        else:
            self.stack.pop()


def balance(page: str) -> TagBalance:
    checker = TagBalance()
    checker.feed(page)
    checker.close()
    return checker


@pytest.fixture(scope="module")
def exams():
    from plateau_doctor.api import examine

    return [examine(OVERFIT_LOG), examine(TINY_LOG)]


def test_page_is_one_self_contained_well_formed_document(mixed_report, rules):
    page = render([mixed_report], rules, VERSION)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<style>" in page
    for fetch in ("<script", "<link", "src=", "@import", "url(", 'href="http', "<iframe"):
        assert fetch not in page, fetch
    checker = balance(page)
    assert checker.errors == [] and checker.stack == []


def test_verdict_comes_first_coloured_by_the_worst_raised_severity(mixed_report, rules):
    page = render([mixed_report], rules, VERSION)
    verdict = re.search(r'<div class="verdict sev-error" id="verdict-1">(.*?)</div>', page, re.S)
    assert verdict and "stop at step 2250" in verdict.group(1)
    assert "Verdict: error: 2 raised findings" in verdict.group(1)
    assert page.index('id="verdict-1"') < page.index('id="findings-1"')


def test_healthy_run_has_a_neutral_verdict_and_says_there_are_no_findings(empty_report, rules):
    page = render([empty_report], rules, VERSION)
    assert '<div class="verdict" id="verdict-1"><strong>Verdict: no raised findings' in page
    assert "<p>No findings.</p>" in page and "<svg" not in page  # no val series: no picture


def test_raised_findings_show_evidence_and_fixes_and_info_ones_fold_away(mixed_report, rules):
    page = render([mixed_report], rules, VERSION)
    pd201 = re.search(
        r'<article class="finding sev-error" id="r1-f1" data-code="PD201">(.*?)</article>', page, re.S
    ).group(1)
    assert "confidence 93%" in pd201 and "log line 412" in pd201
    assert '<code>best_val_loss</code></th><td class="num">1.47' in pd201
    assert "<li>stop at step 2250 (max_iters=2250)</li>" in pd201
    info_at = page.index('data-code="PD901"')
    assert page.rfind("<details>", 0, info_at) > page.index('data-code="PD301"')


def test_text_from_logs_and_rules_is_escaped(new_finding, new_report, rules):
    finding = new_finding(
        "PD999",
        "warning",
        title="<script>alert(1)</script>",
        message="a & b",
        evidence={"<k>": "<v>"},
        fixes=["x < y"],
    )
    page = render([new_report([finding], path="runs/a&b<1>.log")], rules, VERSION)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "runs/a&amp;b&lt;1&gt;.log" in page and "&lt;k&gt;" in page and "x &lt; y" in page
    assert balance(page).errors == []


def test_backtick_spans_in_fixes_become_code(new_finding, new_report, rules):
    finding = new_finding("PD201", "error", fixes=["set `max_iters=1750` and `lr_decay_iters=1750`"])
    page = render([new_report([finding])], rules, VERSION)
    assert "<li>set <code>max_iters=1750</code> and <code>lr_decay_iters=1750</code></li>" in page


def test_run_facts_table_lists_the_known_facts_with_their_sources(mixed_report, rules):
    mixed_report.run.sources = {"dataset_tokens": "nanoGPT's prepare.py"}
    page = render([mixed_report], rules, VERSION)
    facts = re.search(r'<table class="facts">(.*?)</table>', page, re.S).group(1)
    assert '<th>tokens per iteration</th><td class="num">16,384</td>' in facts
    assert (
        '<th>dataset tokens</th><td class="num">1,003,854</td>'
        '<td class="source">nanoGPT&#x27;s prepare.py</td>' in facts
    )


def test_val_series_is_drawn_as_an_inline_svg_line_without_matplotlib(new_report, rules, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    report = new_report([], val_series=[4.28, 2.07, 1.71, 1.47, 1.49, 1.70])
    page = render([report], rules, VERSION)
    svg = re.search(r'<svg class="valline".*?</svg>', page, re.S).group(0)
    assert len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 6
    assert "best val 1.4700" in svg
    assert "first eval 4.2800 (off the top)" in svg  # the initial loss does not squash the line
    assert "plateau-doctor plot --output x.html" in page


def test_several_logs_get_a_summary_linking_each_report(multi_reports, rules):
    page = render(multi_reports, rules, VERSION)
    summary = re.search(r'<table class="summary" id="summary">(.*?)</table>', page, re.S).group(1)
    assert '<a href="#report-1">logs/shakespeare_char.log</a>' in summary
    assert '<a href="#report-2">&lt;stdin&gt;</a>' in summary
    assert 'id="report-1"' in page and 'id="report-2"' in page and 'id="verdict-2"' in page


def test_the_same_reports_give_the_same_bytes(multi_reports, rules):
    assert render(multi_reports, rules, VERSION) == render(multi_reports, rules, VERSION)


@needs_matplotlib
def test_examinations_embed_each_plot_and_the_overlay_with_unique_ids(exams, rules):
    page = render([e.report for e in exams], rules, VERSION, examinations=exams)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    for ident in ("plot-all", "plot-1", "plot-2"):
        figure = re.search(rf'<figure class="plot" id="{ident}"><svg (.*?)>', page)
        assert figure and "width=" not in figure.group(1)  # scales with the page
    assert "best val 1.4647 @ 1,750" in page and "overfitting: val +0.239 since best" in page
    checker = balance(page)
    assert checker.errors == []
    duplicated = {i for i in checker.ids if checker.ids.count(i) > 1}
    assert not duplicated  # two matplotlib SVGs in one page must not share element ids
    references = set(re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', page))
    dangling = {r for pair in references for r in pair if r and r not in checker.ids}
    assert not dangling  # clip paths and glyph uses still point at their renamed targets


def test_examinations_without_matplotlib_fall_back_to_the_val_line(exams, rules, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = render([exams[0].report], rules, VERSION, examinations=exams[:1])
    assert '<svg class="valline"' in page


# --- a real browser ---------------------------------------------------------------------------


def png_rows(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (still filtered) scanline bytes of a PNG: stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def chromium(args: list[str], page: Path, profile: Path) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args, page.as_uri()], capture_output=True, timeout=120)


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
    reason="headless Chromium not installed (apt-get install chromium)",
)
def test_report_renders_in_headless_chromium(exams, rules, tmp_path):
    embed = find_spec("matplotlib") is not None
    page = tmp_path / "report.html"
    page.write_text(render([exams[0].report], rules, VERSION, examinations=exams[:1] if embed else None))

    dom = chromium(["--dump-dom"], page, tmp_path / "profile-dom").stdout.decode()
    for element in ('id="verdict-1"', 'data-code="PD201"', 'id="plot-1"', "<svg", 'class="facts"'):
        assert element in dom, element
    assert dom.index('id="verdict-1"') < dom.index('id="plot-1"') < dom.index('data-code="PD201"')

    shot = tmp_path / "shot.png"
    chromium([f"--screenshot={shot}", "--window-size=1200,900"], page, tmp_path / "profile-shot")
    data = shot.read_bytes()
    width, height, rows = png_rows(data)
    assert (width, height) == (1200, 900)
    # A blank page decodes to a handful of byte values whatever the PNG filters; text, the
    # verdict panel and the plot give nearly all 256.
    assert len(set(rows)) > 64
    if find_spec("PIL") is not None:  # Pillow comes with matplotlib: also check what is drawn
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(data)).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 20)
        assert len(colours) > 100

        def near(target: tuple[int, int, int]) -> int:  # a little slack for colour management
            return sum(
                n for n, rgb in colours if max(abs(a - b) for a, b in zip(rgb, target, strict=True)) <= 6
            )

        assert near((0xD5, 0x5E, 0x00)) > 500  # the error verdict's border: the CSS was applied
        assert near((255, 255, 255)) < 0.95 * width * height


def test_finding_dataclass_is_what_the_renderer_reads():
    # Guards the fields the renderer relies on, so a model change fails here, not in a browser.
    fields = set(Finding.__dataclass_fields__)
    assert {
        "code",
        "category",
        "severity",
        "confidence",
        "title",
        "message",
        "evidence",
        "counter_evidence",
        "fixes",
        "line",
    } <= fields


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *args], capture_output=True, cwd=ROOT, timeout=300
    )


@needs_matplotlib
def test_diagnose_plot_and_compare_write_one_html_report_with_the_plot_in_it(tmp_path):
    diagnosed, plotted, compared = tmp_path / "d.html", tmp_path / "p.html", tmp_path / "c.html"
    assert cli("diagnose", OVERFIT_LOG, "--output", str(diagnosed)).returncode == 1
    assert cli("plot", OVERFIT_LOG, "--output", str(plotted)).returncode == 0
    assert diagnosed.read_bytes() == plotted.read_bytes()  # the same report, byte for byte
    page = diagnosed.read_text()
    assert 'aria-label="annotated loss curves"' in page and '<svg class="valline"' not in page
    cli("compare", TINY_LOG, OVERFIT_LOG, "--output", str(compared))
    page = compared.read_text()
    assert 'aria-label="annotated loss curves"' in page and "PD80" in page
    assert balance(page).errors == []


@needs_matplotlib
def test_a_multi_log_html_report_from_a_pool_has_every_plot_with_unique_ids(tmp_path):
    out = tmp_path / "runs.html"
    cli("diagnose", OVERFIT_LOG, TINY_LOG, "--jobs", "2", "--output", str(out))
    checker = balance(out.read_text())
    assert out.read_text().count('aria-label="annotated loss curves"') == 2
    assert len(checker.ids) == len(set(checker.ids)) and checker.errors == []
