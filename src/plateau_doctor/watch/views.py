"""What `watch` shows while it follows a run: one plain line per eval, or a rich live panel."""

from __future__ import annotations

import math
import os
from typing import Any, TextIO

from .live import Diagnosis, LiveLog, raised


class PlainView:
    """One line per eval: step, train, val and the findings raised at that point."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc) -> None:
        self.out.flush()

    def refresh(self, log: LiveLog, diagnosis: Diagnosis) -> None:
        pass

    def evals(self, rows: list[tuple[int, float, float]], diagnosis: Diagnosis) -> None:
        for n, (step, train, val) in enumerate(rows):
            # a value the log does not have (no train estimate at this eval) is left out, never "nan"
            line = f"step {step}: " + ", ".join(
                part for part in (_fmt("train", train, "{:.4f}"), _fmt("val", val, "{:.4f}")) if part
            )
            if n == len(rows) - 1:  # findings were computed with this eval as the latest
                line += " | " + _findings_summary(diagnosis)
            self.out.write(line + "\n")
        self.out.flush()


def _findings_summary(diagnosis: Diagnosis) -> str:
    if diagnosis.error:
        return f"diagnosis failed: {diagnosis.error}"
    found = raised(diagnosis.report)
    if not found:
        return "no findings"
    top = found[0]
    text = f"{top.code} {top.severity}: {top.title}"
    if len(found) > 1:
        text += "; also " + ", ".join(f"{f.code} {f.category}" for f in found[1:4])
    return text


class LiveView:
    """A rich.live panel redrawn as lines arrive: latest losses, sparklines, findings."""

    def __init__(self, out: TextIO, name: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.name = name
        self.console = Console(file=out)
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)
        self._log: LiveLog | None = None
        self._diagnosis: Diagnosis | None = None
        self._last_eval: tuple[int, float, float] | None = None
        self._loss_spark = ""

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def refresh(self, log: LiveLog, diagnosis: Diagnosis) -> None:
        self._log, self._diagnosis = log, diagnosis
        self.live.update(self._render())

    def evals(self, rows: list[tuple[int, float, float]], diagnosis: Diagnosis) -> None:
        self._last_eval = rows[-1]
        self._diagnosis = diagnosis

    def iter_losses(self, losses: list[float]) -> None:
        from ..report.text import sparkline

        self._loss_spark = sparkline(losses)

    def _render(self):
        from rich.console import Group
        from rich.markup import escape
        from rich.table import Table

        from ..report.text import STYLE, sparkline

        log, diagnosis = self._log, self._diagnosis
        title = f"[bold]plateau-doctor watch[/] {escape(self.name)}"
        if log is not None:
            title += f"  ({log.format or 'detecting format'}, {log.n_lines:,} lines)"
        table = Table(show_header=False, box=None, padding=(0, 2))
        latest = log.latest_iter() if log else None
        if latest:
            table.add_row(
                "iter",
                f"{int(latest['iter']):,}",
                _fmt("loss", latest.get("loss"), "{:.4f}"),
                _fmt("time", latest.get("time_ms"), "{:.2f}ms"),
                _fmt("mfu", latest.get("mfu"), "{:.2f}%"),
            )
        if self._last_eval:
            step, train, val = self._last_eval
            table.add_row("eval", f"{step:,}", _fmt("train", train, "{:.4f}"), _fmt("val", val, "{:.4f}"), "")
        parts: list[Any] = [title, table]
        report = diagnosis.report if diagnosis else None
        if report and len(report.val_series) >= 2:
            parts.append(
                f"val   {sparkline(report.val_series)}  "
                f"{report.val_series[0]:.4f} -> {report.val_series[-1]:.4f}"
            )
        if self._loss_spark:
            parts.append(f"loss  {self._loss_spark}")
        if diagnosis and diagnosis.error:
            parts.append(f"[red]diagnosis failed: {escape(diagnosis.error)}[/]")
        found = raised(report)
        if report is not None:
            parts.append("[bold]findings[/]" + ("" if found else ": none raised"))
        for f in found[:6]:
            parts.append(
                f"  [{STYLE[f.severity]}]{f.severity.upper()} {f.code}[/] [{f.category}] {escape(f.title)}"
            )
        if log is not None and log.waiting:
            parts.append(f"[dim]waiting for {escape(self.name)} to appear...[/]")
        elif not latest and not self._last_eval:
            parts.append("[dim]waiting for training lines...[/]")
        return Group(*parts)


def _fmt(label: str, value, template: str) -> str:
    """'label value', or '' where the value is missing or not finite (never 'nan')."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{label} {template.format(value)}"


def thin(values, points: int = 400) -> list[float]:
    """At most `points` evenly spaced values (a sparkline needs the shape, not a million rows)."""
    import numpy as np

    if len(values) <= points:
        return values.tolist()
    return values[np.linspace(0, len(values) - 1, points).astype(int)].tolist()


def is_tty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def width(out: TextIO) -> int:
    try:
        return max(60, min(os.get_terminal_size(out.fileno()).columns, 120))
    except (OSError, AttributeError, ValueError):
        return 100
