"""Plots of examined runs as bytes: PNG or SVG (plot_bytes), or SVG text for the HTML report
(plot_svg), and what the `plot` command checks about its output. No examination here and no
report: plotting.py runs the command, report/html.py embeds the pictures."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api import Examination

FORMATS = {".png": "png", ".svg": "svg", ".html": "html", ".htm": "html"}
ALIGNS = ("iter", "tokens")
MISSING = "plotting needs matplotlib: pip install 'plateau-doctor[plot]'"


class PlotError(Exception):
    """Why a plot cannot be made; str() is one line for the user."""


def output_format(output: str) -> str:
    ext = os.path.splitext(output)[1].lower()
    if ext not in FORMATS:
        raise PlotError(f"{output}: --output must end in .png, .svg or .html")
    return FORMATS[ext]


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(MISSING) from None


def plot_bytes(
    exams: list[Examination],
    fmt: str,
    *,
    log_x: bool = False,
    align: str = "iter",
    salt: str = "plateau-doctor",
) -> bytes:
    """The plot of one or several examined logs as PNG or SVG bytes."""
    from .annotations import picture, run_labels
    from .figure import render

    labels = run_labels([e.report.path for e in exams])
    pictures = [picture(e, label) for e, label in zip(exams, labels, strict=True)]
    if not any(len(p.raw) or len(p.val) or len(p.train_eval) for p in pictures):
        raise PlotError(f"{exams[0].report.path}: no finite losses to plot")
    if align == "tokens":
        unknown = [p.label for p in pictures if not p.tokens_per_iter]
        if unknown:
            raise PlotError(
                f"{unknown[0]}: tokens per iteration unknown, cannot align by tokens "
                "(pass --config, or use --align iter)"
            )
    return render(pictures, fmt, log_x=log_x, align=align, salt=salt)


def plot_svg(exams: list[Examination], *, log_x: bool = False, align: str = "iter") -> str | None:
    """The plot as SVG text for the HTML report, or None without matplotlib or without data
    (the report then draws its dependency-free val line). One salt for every plot: the HTML
    report prefixes each plot's ids, so `diagnose --format html` (drawn in a worker) and `plot
    --output x.html` give the same bytes."""
    try:
        require_matplotlib()
        return plot_bytes(exams, "svg", log_x=log_x, align=align).decode("utf-8")
    except PlotError:
        return None
