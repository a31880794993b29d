"""The paragraph that leads every report: where the run stands, the one cause that best explains
it, what contributes, what was ruled out and with which numbers, what finishing should reach,
and the first fix. Built from the ranked, folded findings the differential diagnosis produced."""

from __future__ import annotations

from ..model import Finding, Report

MAX_CONTRIBUTING = 2  # more than two "also"s and the verdict stops being one


def write_verdict(report: Report, analyses=None) -> str:
    run = report.run
    raised = [f for f in report.findings if f.raised]
    parts = [_where(report)]
    if raised:
        top = raised[0]
        category = top.category.replace("_", " ")
        named = top.title.lower().startswith(category)  # "Overfitting: ..." names it already
        parts.append(
            f"Verdict: {_lower(top.title)}." if named else f"Verdict ({category}): {_lower(top.title)}."
        )
        folded = [f for f in report.findings if top.code in f.explained_by and f.severity_as_found]
        if folded:
            parts.append("It explains: " + "; ".join(_lower(f.title) for f in folded) + ".")
        others = raised[1 : 1 + MAX_CONTRIBUTING]
        if others:
            parts.append("Also: " + "; ".join(_lower(f.title) for f in others) + ".")
    else:
        parts.append("Nothing to act on: no finding above info.")
    ruled_out = [f for f in report.findings if f.ruled_out]
    if ruled_out:
        parts.append("Ruled out: " + "; ".join(_ruled_out_clause(f) for f in ruled_out) + ".")
    if run.forecast:
        fc = run.forecast
        parts.append(
            f"Forecast at iteration {fc['iter']:,}: val ~{fc['val_loss']:.3f} "
            f"({fc['low']:.3f}-{fc['high']:.3f})."
        )
    if raised and raised[0].fixes:
        parts.append(f"First fix: {_lower(raised[0].fixes[0]).rstrip('.')}.")
    return " ".join(p for p in parts if p)


def _where(report: Report) -> str:
    run = report.run
    if run.last_val_loss is not None:
        step = _last_eval_step(report)
        where = f"Val {run.last_val_loss:.4f}" + (f" at step {step:,}" if step is not None else "")
        if run.best_val_loss is not None and run.best_val_step is not None and run.best_val_step != step:
            where += f" (best {run.best_val_loss:.4f} at {run.best_val_step:,})"
        return where + "."
    if run.last_train_loss is not None and run.last_iter is not None:
        return f"Train loss {run.last_train_loss:.4f} at iteration {run.last_iter:,} (the log has no evals)."
    return ""


def _last_eval_step(report: Report) -> int | None:
    """The step of the last eval, not the last iteration: the number quoted is that eval's."""
    return report.run.last_val_step


def _ruled_out_clause(f: Finding) -> str:
    title = f.title
    return _lower(title[4:] if title.startswith("Not ") else title)


def _lower(text: str) -> str:
    """Lower-case the first letter unless it starts an acronym or a code (LR, PD201)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]
