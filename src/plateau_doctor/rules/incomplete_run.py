"""PD104: the log ends before max_iters."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding

INFO = RuleInfo(
    code="PD104", name="incomplete-run", category="incomplete_run", severity="info",
    summary="The log stops before max_iters: the run is still going, crashed or was stopped.",
    what="Compares the last iteration in the log with the configured (or printed) max_iters.",
    why="Judging a run before it ends judges it before its LR schedule has annealed; the loss "
        "usually drops further in the cosine tail.",
    fix="Let the run finish, or resume it; if it crashed, the last lines of the log say why.",
)


def check(ctx: Context, thresholds: dict) -> list:
    f = ctx.facts
    if f.max_iters is None or f.last_iter is None:
        return [Skip(INFO.code, "max_iters unknown")]
    if f.last_iter >= f.max_iters:
        return []
    if ctx.parsed.meta.stopped_by_design:
        return [Skip(INFO.code, f"the run ended early by design: {ctx.parsed.meta.stopped_by_design}")]
    done = f.last_iter / f.max_iters if f.max_iters else 0.0
    return [finding(
        INFO, confidence=0.95,
        title=f"Run stopped at iteration {f.last_iter:,} of {f.max_iters:,} ({done:.0%})",
        message=(f"The log ends at iteration {f.last_iter:,}, {f.max_iters - f.last_iter:,} "
                 "iterations before max_iters."),
        evidence={"last_iter": f.last_iter, "max_iters": f.max_iters, "fraction_done": done},
        fixes=["let it finish (or resume with --init_from=resume) before judging the final loss"],
        weight=0.3,
    )]
