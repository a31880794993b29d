"""The one-paragraph verdict that leads every report."""
from __future__ import annotations

from ..model import Report


def write_verdict(report: Report, analyses=None) -> str:
    run = report.run
    raised = [f for f in report.findings if f.raised]
    where = ""
    if run.last_val_loss is not None:
        where = f"val {run.last_val_loss:.4f} at step {run.last_iter:,}"
        if run.best_val_loss is not None and run.best_val_step != run.last_iter:
            where += f" (best {run.best_val_loss:.4f} at {run.best_val_step:,})"
    elif run.last_train_loss is not None and run.last_iter is not None:
        where = f"train loss {run.last_train_loss:.4f} at iteration {run.last_iter:,}"
    if not raised:
        head = "No problem found"
        info = [f.title for f in report.findings if f.category in ("still_improving", "lr_schedule")]
        tail = f"; {info[0].lower()}" if info else ""
        return f"{head}: {where}{tail}." if where else f"{head}."
    first = raised[0]
    text = f"{first.title}." if not where else f"{where.capitalize()}. Most likely: {first.title[0].lower()}{first.title[1:]}."
    others = [f.title for f in raised[1:3]]
    if others:
        text += " Also: " + "; ".join(o[0].lower() + o[1:] for o in others) + "."
    if first.fixes:
        text += f" First fix: {first.fixes[0].rstrip('.')}."
    return text
