"""The matplotlib drawing: RunPictures in, PNG or SVG bytes out.

matplotlib is imported inside the functions (it is an optional extra), and no pyplot is used: a
Figure with its own Agg canvas carries no global state, needs no display, and every style setting
lives in an rc_context that ends with the call.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from .annotations import RunPicture, loss_limits, stagger

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Okabe & Ito (2008), the colour-blind-safe palette.
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
RUN_COLOURS = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK)
LINE_STYLE = {  # vertical event lines: colour, dash pattern, width
    "warmup": ("#777777", ":", 1.2),
    "min_lr": ("#777777", ":", 1.2),
    "max_iters": (BLACK, "--", 1.0),
    "nan": (BLACK, "-.", 1.6),
    "explosion": (PURPLE, "--", 1.6),
}
SPAN_COLOUR = {"overfitting": VERMILLION, "plateau": ORANGE}
SIZE_IN, DPI = (12, 7), 100  # 1200 x 700 px
RASTER_POINTS = 2000
LABEL_PT = 9  # annotation text size
CHAR_PT = 0.56 * LABEL_PT  # rough average glyph width, to keep labels from colliding
STYLE = {
    "svg.fonttype": "none",  # SVG text stays <text>: searchable, and crisp in a browser
    "font.size": 11,
    "axes.titlesize": 13,
    "legend.fontsize": 10,
    "axes.spines.top": True,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "savefig.facecolor": "white",
}


def render(
    pictures: list[RunPicture],
    fmt: str,
    *,
    log_x: bool = False,
    align: str = "iter",
    salt: str = "plateau-doctor",
) -> bytes:
    """PNG or SVG bytes of the plot. `salt` seeds SVG element ids: the same input gives the same
    bytes, and two plots inlined in one HTML page need different salts so their ids differ."""
    import matplotlib

    style = dict(STYLE, **{"svg.hashsalt": salt})
    with matplotlib.rc_context(style):
        fig = draw(pictures, log_x=log_x, align=align)
        buffer = io.BytesIO()
        # No dates in the metadata, so the output is byte-for-byte reproducible.
        metadata = {"Date": None} if fmt == "svg" else {}
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
    return buffer.getvalue()


def draw(pictures: list[RunPicture], *, log_x: bool = False, align: str = "iter") -> Figure:
    """The annotated loss plot. With several runs each gets one colour and they share the axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if align == "tokens":
        pictures = [p.scaled(float(p.tokens_per_iter or 1)) for p in pictures]
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax_lr = ax.twinx()
    # The loss axes must paint over the LR axes, which twinx puts on top by default.
    ax.set_zorder(ax_lr.get_zorder() + 1)
    ax.patch.set_visible(False)

    single = len(pictures) == 1
    for i, pic in enumerate(pictures):
        colour = BLUE if single else RUN_COLOURS[i % len(RUN_COLOURS)]
        _curves(ax, pic, single, colour)
        _learning_rate(ax_lr, pic, single, colour)
        _marks(ax, pic, single, colour)
    _axes(ax, ax_lr, pictures, log_x, align)
    _best_val_labels(ax, pictures, log_x)
    _top_labels(fig, ax, pictures, single, log_x)
    _title(ax, pictures, align)
    if single:
        handles, labels = [], []
        for a in (ax, ax_lr):
            h, lab = a.get_legend_handles_labels()
            handles += h
            labels += lab
    else:
        handles, labels = _overlay_key(pictures)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(handles)), frameon=False)
    return fig


def _curves(ax: Axes, pic: RunPicture, single: bool, colour: str) -> None:
    """Iteration losses (faint dots, smoothed line) and the evals with their noise bands. In an
    overlay the legend is a key built separately, so nothing here is labelled."""
    if len(pic.raw):
        # Tens of thousands of dots would make an SVG of megabytes: past RASTER_POINTS they go in
        # as one embedded bitmap (text and lines stay vector).
        ax.scatter(
            pic.raw.x,
            pic.raw.y,
            s=5,
            color=SKY if single else colour,
            alpha=0.3 if single else 0.12,
            linewidths=0,
            zorder=1,
            rasterized=len(pic.raw) > RASTER_POINTS,
        )
        ax.plot(
            pic.smooth.x,
            pic.smooth.y,
            color=SKY if single else colour,
            lw=1.3,
            alpha=0.9 if single else 0.5,
            zorder=2,
            label="train loss per iteration (smoothed; dots raw)" if single else None,
        )
    for series, what, own, dash, half in (
        (pic.train_eval, "train loss (eval)", BLUE, "o--", pic.train_band_half_width),
        (pic.val, f"{pic.val_name} (eval)", VERMILLION, "o-", pic.band_half_width),
    ):
        if not len(series):
            continue
        c = own if single else colour
        ax.plot(
            series.x,
            series.y,
            "o-" if single else dash,
            color=c,
            lw=2,
            ms=4,
            zorder=4,
            label=what if single else None,
        )
        if half:
            band = f"±2 SE of one eval (±{half:.4f})" if single and own == VERMILLION else None
            ax.fill_between(
                series.x,
                series.y - half,
                series.y + half,
                color=c,
                alpha=0.2,
                linewidth=0,
                zorder=3,
                label=band,
            )


def _learning_rate(ax_lr: Axes, pic: RunPicture, single: bool, colour: str) -> None:
    if pic.lr is None:
        return
    how = "rebuilt from config" if pic.lr_source == "rebuilt" else "as logged"
    ax_lr.plot(
        pic.lr.x,
        pic.lr.y,
        color=GREEN if single else colour,
        lw=1.3,
        ls="-" if single else ":",
        alpha=0.75,
        label=f"learning rate, {how} (right axis)" if single else None,
    )


def _marks(ax: Axes, pic: RunPicture, single: bool, colour: str) -> None:
    """Points and shaded spans that findings are about."""
    for span in pic.spans:
        ax.axvspan(
            span.start,
            span.end,
            color=SPAN_COLOUR[span.kind] if single else colour,
            alpha=0.10,
            linewidth=0,
            zorder=0,
        )
    spikes = [p for p in pic.points if p.kind == "spike"]
    if spikes:
        ax.scatter(
            [p.step for p in spikes],
            [p.value for p in spikes],
            marker="^",
            s=60,
            color=PURPLE if single else colour,
            edgecolors=BLACK,
            linewidths=0.6,
            zorder=6,
            label=f"loss spikes ({len(spikes)})" if single else None,
        )
        # Only the largest few get a word: a run with 40 spikes must stay readable.
        for p in sorted(spikes, key=lambda p: -p.weight)[:3]:
            ax.annotate(
                "spike",
                (p.step, p.value),
                xytext=(7, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=LABEL_PT,
                color=PURPLE,
                zorder=7,
            )
    for p in pic.points:
        if p.kind == "best_val":
            ax.plot(
                [p.step],
                [p.value],
                marker="*",
                ms=16,
                color=YELLOW if single else colour,
                mec=BLACK,
                mew=1.0,
                ls="none",
                zorder=7,
                label=p.label if single else None,
            )
    fc = pic.forecast
    if fc is not None:
        c = ORANGE if single else colour
        ax.plot(fc.curve.x, fc.curve.y, "--", color=c, lw=1.8, zorder=5, label=fc.label if single else None)
        ax.errorbar(
            [fc.target_step],
            [fc.predicted],
            yerr=[[fc.predicted - fc.low], [fc.high - fc.predicted]],
            fmt="D",
            color=c,
            ms=6,
            capsize=6,
            lw=1.8,
            zorder=6,
        )
        ax.annotate(
            "forecast",
            (fc.target_step, fc.high),
            xytext=(-4, 6),
            textcoords="offset points",
            ha="right",
            fontsize=LABEL_PT,
            color=c,
        )
    for line in pic.lines:
        c, dash, width = LINE_STYLE[line.kind]
        ax.axvline(
            line.step,
            color=c if single or line.kind in ("warmup", "min_lr") else colour,
            ls=dash,
            lw=width,
            zorder=2,
        )


def _best_val_labels(ax: Axes, pictures: list[RunPicture], log_x: bool) -> None:
    """'best val ...' above each star; drawn once the x range is known so that a label near the
    right edge can read leftwards instead of running off the axes."""
    for pic in pictures:
        for p in pic.points:
            if p.kind != "best_val":
                continue
            frac = _fraction(ax, p.step, log_x)
            ha = "right" if frac > 0.85 else "left" if frac < 0.15 else "center"
            text = p.label if len(pictures) == 1 else "best val"
            ax.annotate(
                text,
                (p.step, p.value),
                xytext=(0, 26),
                textcoords="offset points",
                ha=ha,
                fontsize=LABEL_PT,
                zorder=7,
                arrowprops={"arrowstyle": "-", "color": BLACK, "lw": 0.8},
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            )


def _overlay_key(pictures: list[RunPicture]) -> tuple[list, list[str]]:
    """With several runs: one colour per run, and one line style per kind of curve."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=RUN_COLOURS[i % len(RUN_COLOURS)], lw=3) for i in range(len(pictures))]
    labels = [p.label for p in pictures]
    grey = "#555555"
    key = [
        (Line2D([], [], color=grey, marker="o", ms=4, lw=2), "solid: val (eval)"),
        (Line2D([], [], color=grey, marker="o", ms=4, lw=2, ls="--"), "dashed: train (eval)"),
        (Line2D([], [], color=grey, lw=1.3, alpha=0.5), "thin: train per iteration, smoothed"),
        (Line2D([], [], color=grey, lw=1.3, ls=":"), "dotted: learning rate (right axis)"),
        (Line2D([], [], color=grey, marker="*", ms=12, mec=BLACK, ls="none"), "best val"),
    ]
    if any(p.kind == "spike" for pic in pictures for p in pic.points):
        key.append((Line2D([], [], color=grey, marker="^", ms=8, mec=BLACK, ls="none"), "loss spike"))
    if any(pic.forecast for pic in pictures):
        key.append((Line2D([], [], color=grey, marker="D", lw=1.8, ls="--"), "forecast to max_iters"))
    return handles + [h for h, _ in key], labels + [text for _, text in key]


def _fraction(ax: Axes, x: float, log_x: bool) -> float:
    """Where x sits across the axes, 0 (left) to 1 (right)."""
    lo, hi = ax.get_xlim()
    if log_x:
        x, lo, hi = (np.log10(max(v, 1e-12)) for v in (x, lo, hi))
    return (x - lo) / (hi - lo) if hi != lo else 0.0


def _axes(ax: Axes, ax_lr: Axes, pictures: list[RunPicture], log_x: bool, align: str) -> None:
    from matplotlib.ticker import FuncFormatter

    x_end = max(p.x_end for p in pictures) or 1.0
    if log_x:
        ax.set_xscale("log", nonpositive="mask")  # step 0 has no place on a log axis
        first = [
            float(s.x[s.x > 0][0]) for p in pictures for s in (p.raw, p.val) if len(s) and np.any(s.x > 0)
        ]
        ax.set_xlim(min(first or [1.0]) / 1.2, x_end * 1.1)
    else:
        ax.set_xlim(0, x_end * 1.01)
    limits = loss_limits(pictures, skip_early=not log_x)
    if limits:
        ax.set_ylim(*limits)
    ax.set_ylabel("loss")
    tokens = FuncFormatter(lambda v, _: _si(v))
    tpis = {p.tokens_per_iter for p in pictures}
    tpi = next(iter(tpis)) if len(tpis) == 1 else None
    if align == "tokens":
        ax.set_xlabel("tokens seen")
        ax.xaxis.set_major_formatter(tokens)
        if tpi:  # one run or runs with one batch size: iterations on top
            top = ax.secondary_xaxis("top", functions=(lambda t: t / tpi, lambda i: i * tpi))
            top.set_xlabel("iteration")
    else:
        ax.set_xlabel("iteration")
        if tpi:  # a tokens axis only makes sense when every run has the same batch in tokens
            top = ax.secondary_xaxis("top", functions=(lambda i: i * tpi, lambda t: t / tpi))
            top.set_xlabel("tokens seen")
            top.xaxis.set_major_formatter(tokens)
    lrs = [p.lr for p in pictures if p.lr is not None]
    if not lrs:
        ax_lr.set_yticks([])
        return
    ax_lr.set_ylabel("learning rate")
    peaks = [float(np.max(s.y)) for s in lrs if len(s) and np.max(s.y) > 0]
    if len(peaks) > 1 and max(peaks) / min(peaks) > 10:  # overlaid runs with very different LRs
        ax_lr.set_yscale("log")
    else:
        ax_lr.set_ylim(0, max(peaks or [1.0]) * 1.08)
        # Plain tick text (0.0006): matplotlib's "1e-3" offset label collides with the top axis.
        ax_lr.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax_lr.grid(False)


def _top_labels(fig: Figure, ax: Axes, pictures: list[RunPicture], single: bool, log_x: bool) -> None:
    """Event and span labels along the top edge, in rows so that they do not overprint. Runs that
    share an event (the same warmup in an overlay) share its label."""
    fig.draw_without_rendering()  # settle the layout: label widths are judged against the axes
    width_pt = ax.get_window_extent().width * 72 / fig.dpi
    labels: dict[tuple[float, str], str] = {}
    for i, pic in enumerate(pictures):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        for line in pic.lines:
            shared = (line.step, line.label) in labels
            labels[(line.step, line.label)] = (
                ("#555555" if shared else colour) if not single else LINE_STYLE[line.kind][0]
            )
        for span in pic.spans:
            labels[(span.start, span.label)] = SPAN_COLOUR[span.kind] if single else colour
    placed = []
    for (step, text), colour in labels.items():
        frac = _fraction(ax, step, log_x)
        if not 0 <= frac <= 1:
            continue
        size = (len(text) * CHAR_PT + 8) / width_pt
        right = frac + size > 1.0  # near the right edge the label reads leftwards from its line
        placed.append((text, colour, right, (frac - size, frac) if right else (frac, frac + size)))
    rows = stagger([p[3] for p in placed], rows=4)
    for (text, colour, right, (start, end)), row in zip(placed, rows, strict=True):
        ax.annotate(
            text,
            (end if right else start, 1.0),
            xycoords="axes fraction",
            xytext=(-4 if right else 4, -12 - 14 * row),
            textcoords="offset points",
            ha="right" if right else "left",
            fontsize=LABEL_PT,
            color=colour,
            zorder=8,
            annotation_clip=False,
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
        )


def _title(ax: Axes, pictures: list[RunPicture], align: str) -> None:
    if len(pictures) == 1:
        title = f"{pictures[0].label}: {pictures[0].headline}"
    else:
        by = "tokens seen" if align == "tokens" else "iteration"
        title = f"{len(pictures)} runs aligned by {by}: " + ", ".join(p.label for p in pictures)
    ax.set_title("\n".join(textwrap.wrap(title, 120)), loc="left")


def _si(value: float) -> str:
    """Tick text for token counts: 20M, 1.5B."""
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:g}{suffix}"
    return f"{value:g}"
