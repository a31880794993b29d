"""`plateau-doctor plot`: examine the logs as `diagnose` does, draw them, and write a PNG, an SVG,
or the HTML report (the same page as `diagnose --format html`, with the overlay of several runs).
The front end of the plot package, which only draws."""

from __future__ import annotations

from typing import Any

from .plot.command import ALIGNS, PlotError, output_format, plot_bytes, require_matplotlib


def run_plot(
    paths: list[str],
    output: str,
    config: str | None = None,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | None = None,
    log_format: str = "auto",
    log_x: bool = False,
    align: str = "iter",
    data_dir: str | None = None,
    settings: Any = None,
) -> None:
    """Examine each log and write `output`: one plot overlaying every log (.png/.svg), or an HTML
    report with each log's diagnosis and plot, plus the overlay when there are several (.html).
    `data_dir` and `settings` (RuleSettings) mean what they mean for `diagnose`."""
    from .output import write_atomically
    from .sweep import RunInputs, examine_log

    fmt = output_format(output)
    if align not in ALIGNS:
        raise PlotError(f"--align must be iter or tokens, not {align!r}")
    require_matplotlib()  # before the (slower) examination, so a missing extra fails fast
    inputs = RunInputs(
        config=config,
        overrides=overrides or {},
        dataset_tokens=dataset_tokens,
        data_dir=data_dir,
        log_format=log_format,
    )
    exams = [examine_log(path, inputs, settings) for path in paths or ["-"]]
    if fmt == "html":
        data = html_report(exams, log_x=log_x, align=align).encode("utf-8")
    else:
        data = plot_bytes(exams, fmt, log_x=log_x, align=align)
    write_atomically(output, data)


def html_report(exams: list, *, log_x: bool = False, align: str = "iter") -> str:
    from . import __version__
    from .report.html import render
    from .rules import all_rules

    return render(
        [e.report for e in exams], all_rules(), __version__, examinations=exams, log_x=log_x, align=align
    )
