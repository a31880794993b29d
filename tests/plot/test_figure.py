"""The drawn plot: real PNG/SVG files for a real log, annotation text in the SVG, overlays, and the
plot command's errors (matplotlib missing, bad output name)."""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ET
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from plateau_doctor.api import examine
from plateau_doctor.plot import PlotError
from plateau_doctor.plot.annotations import ForecastMark, Point, RunPicture, Series, Span, VLine
from plateau_doctor.plot.command import MISSING, plot_bytes
from plateau_doctor.plotting import run_plot

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "examples" / "logs"
OVERFIT_LOG = str(LOGS / "h200_shakespeare_char_overfit_default.log")
TINY_LOG = str(LOGS / "h200_shakespeare_char_tiny_model.log")

needs_matplotlib = pytest.mark.skipif(
    find_spec("matplotlib") is None, reason="matplotlib not installed (pip install 'plateau-doctor[plot]')"
)


def svg_texts(svg: bytes) -> list[str]:
    """Every piece of text in an SVG, joined per <text> element (tspans included)."""
    root = ET.fromstring(svg)
    return ["".join(el.itertext()).strip() for el in root.iter("{http://www.w3.org/2000/svg}text")]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def overfit_exam():
    return examine(OVERFIT_LOG)


@pytest.fixture(scope="module")
def overfit_svg(overfit_exam) -> bytes:
    return plot_bytes([overfit_exam], "svg")


def troubled_picture() -> RunPicture:
    """A run with every kind of trouble, built by hand so the drawing is tested on its own."""
    x = np.arange(0, 2001, 10, dtype=float)
    y = 1.5 + 2.5 * (1 + x / 50) ** -0.7
    ev = x[::10]
    return RunPicture(
        label="troubled.log",
        headline="Loss is NaN from iteration 1,800",
        val_name="val loss",
        tokens_per_iter=8192,
        raw=Series(x, y),
        smooth=Series(x, y),
        train_eval=Series(ev, y[::10] - 0.02),
        val=Series(ev, y[::10] + 0.03),
        band_half_width=0.01,
        train_band_half_width=0.01,
        lr=Series(x, np.full_like(x, 6e-4)),
        lr_source="logged",
        x_end=6000.0,
        points=[
            Point("best_val", 1700.0, 1.75, "best val 1.7500 @ 1,700"),
            Point("spike", 700.0, 3.4, "spike", weight=70.0),
        ],
        lines=[
            VLine("warmup", 100.0, "warmup ends (100)"),
            VLine("nan", 1800.0, "NaN loss from 1,800"),
            VLine("max_iters", 6000.0, "max_iters 6,000"),
        ],
        spans=[Span("plateau", 1200.0, 1700.0, "plateau: val flat within noise")],
        forecast=ForecastMark(
            Series(np.linspace(900, 6000, 30), np.linspace(1.8, 1.57, 30)),
            6000.0,
            1.57,
            1.55,
            1.59,
            "forecast at 6,000: 1.570 [1.550, 1.590]",
        ),
    )


@needs_matplotlib
def test_png_of_the_overfitting_run_is_a_valid_1200x700_image(tmp_path):
    out = tmp_path / "overfit.png"
    run_plot([OVERFIT_LOG], str(out))
    assert png_size(out.read_bytes()) == (1200, 700)


@needs_matplotlib
def test_svg_of_the_overfitting_run_carries_its_findings_as_text(overfit_svg):
    texts = svg_texts(overfit_svg)
    for expected in (
        "best val 1.4647 @ 1,750",
        "overfitting: val +0.239 since best",
        "warmup ends (100)",
        "LR reaches min_lr (5,000)",
        "tokens seen",
        "iteration",
        "learning rate",
        "val loss (eval)",
        "train loss (eval)",
    ):
        assert expected in texts, expected
    assert any(t.startswith("±2 SE of one eval") for t in texts)


@needs_matplotlib
def test_spikes_nan_onset_plateau_and_forecast_are_labelled():
    from plateau_doctor.plot.figure import render

    texts = svg_texts(render([troubled_picture()], "svg"))
    for expected in (
        "spike",
        "loss spikes (1)",
        "NaN loss from 1,800",
        "max_iters 6,000",
        "plateau: val flat within noise",
        "forecast",
        "forecast at 6,000: 1.570 [1.550, 1.590]",
        "learning rate, as logged (right axis)",
    ):
        assert expected in texts, expected


@needs_matplotlib
def test_several_logs_overlay_on_one_plot_with_a_key(overfit_exam):
    texts = svg_texts(plot_bytes([overfit_exam, examine(TINY_LOG)], "svg"))
    assert any(t.startswith("2 runs aligned by iteration") for t in texts)
    assert "h200_shakespeare_char_overfit_default.log" in texts
    assert "h200_shakespeare_char_tiny_model.log" in texts
    assert "solid: val (eval)" in texts and "best val" in texts


@needs_matplotlib
def test_aligning_by_tokens_puts_tokens_seen_on_the_x_axis(overfit_exam):
    texts = svg_texts(plot_bytes([overfit_exam], "svg", align="tokens"))
    assert "tokens seen" in texts and "iteration" in texts  # iterations move to the top axis
    assert "80M" in texts


@needs_matplotlib
def test_aligning_by_tokens_needs_tokens_per_iteration():
    exam = examine(OVERFIT_LOG)
    exam.facts.tokens_per_iter = None
    with pytest.raises(PlotError, match="tokens per iteration unknown"):
        plot_bytes([exam], "svg", align="tokens")


@needs_matplotlib
def test_log_scale_x_axis_gives_the_same_size_image(overfit_exam):
    assert png_size(plot_bytes([overfit_exam], "png", log_x=True)) == (1200, 700)


@needs_matplotlib
def test_the_same_log_gives_the_same_svg_bytes(overfit_exam, overfit_svg):
    assert plot_bytes([overfit_exam], "svg") == overfit_svg


@needs_matplotlib
def test_drawing_leaves_matplotlib_global_settings_alone(overfit_exam):
    import matplotlib

    from plateau_doctor.plot.figure import STYLE

    keys = [*STYLE, "svg.hashsalt"]
    before = {k: matplotlib.rcParams[k] for k in keys}
    plot_bytes([overfit_exam], "svg")
    assert {k: matplotlib.rcParams[k] for k in keys} == before
    assert "matplotlib.pyplot" not in sys.modules  # no pyplot: no global figure registry


@needs_matplotlib
def test_html_output_embeds_the_plot_as_inline_svg(tmp_path):
    out = tmp_path / "report.html"
    run_plot([OVERFIT_LOG], str(out))
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<?xml" not in page
    assert "best val 1.4647 @ 1,750" in page and 'id="plot-1"' in page


def test_missing_matplotlib_is_one_line_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    out = tmp_path / "x.png"
    with pytest.raises(PlotError) as info:
        run_plot([OVERFIT_LOG], str(out))
    assert str(info.value) == MISSING == "plotting needs matplotlib: pip install 'plateau-doctor[plot]'"
    assert not out.exists()


def test_output_must_be_png_svg_or_html(tmp_path):
    with pytest.raises(PlotError, match=r"\.png, \.svg or \.html"):
        run_plot([OVERFIT_LOG], str(tmp_path / "plot.jpg"))


def test_align_must_be_iter_or_tokens(tmp_path):
    with pytest.raises(PlotError, match="--align"):
        run_plot([OVERFIT_LOG], str(tmp_path / "plot.png"), align="time")
