"""PD104: the log ends before max_iters."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import CERTAIN, LIKELY, Context, Skip, finding

RULE = RuleInfo(
    code="PD104",
    name="incomplete-run",
    category="incomplete_run",
    severity="warning",
    summary="The log stops before max_iters: the run is still going, crashed or was stopped.",
    what="Compares the last iteration in the log with the configured (or printed) max_iters. A run "
    "that ends before `warn_fraction_done` of it, with nothing in the log to explain why "
    "(no NaN, no stop by design, not an excerpt), is a warning: that is compute planned "
    "and never spent, or a crash to look into.",
    why="Judging a run before it ends judges it before its LR schedule has annealed; the loss "
    "usually drops further in the cosine tail. A run that died early without saying why is a "
    "job to restart.",
    fix="Let the run finish, or resume it; if it crashed, the last lines of the log say why.",
    example="WARNING PD104 Run stopped at iteration 10 of 20,000 (0%)",
    thresholds=(
        Threshold(
            "warn_fraction_done",
            0.5,
            "fraction of max_iters",
            "a run that stopped before half its planned steps did not do what it was "
            "configured for; later than that it is usually judged early on purpose",
        ),
    ),
    explained_by=("divergence",),
    weight=0.3,
)


def check(ctx: Context, limits) -> list:
    f, meta = ctx.facts, ctx.parsed.meta
    if f.max_iters is None or f.last_iter is None:
        return [Skip(RULE.code, "max_iters unknown")]
    if f.last_iter >= f.max_iters:
        return []
    if meta.stopped_by_design:
        return [Skip(RULE.code, f"the run ended early by design: {meta.stopped_by_design}")]
    done = f.last_iter / f.max_iters if f.max_iters else 0.0
    early = done < limits.warn_fraction_done and not meta.excerpt
    message = (
        f"The log ends at iteration {f.last_iter:,}, {f.max_iters - f.last_iter:,} "
        "iterations before max_iters"
    )
    if meta.excerpt:
        message += "; it is an excerpt of a longer log, so where the run really stopped is not shown."
    elif early:
        message += (
            f": {1 - done:.0%} of the planned run is missing and nothing in the log says why "
            "(no loss went non-finite, no early stop): still running, killed, or crashed outside the log."
        )
    else:
        message += "."
    return [
        finding(
            RULE,
            severity="warning" if early else "info",
            confidence=CERTAIN if not meta.excerpt else LIKELY,
            title=f"Run stopped at iteration {f.last_iter:,} of {f.max_iters:,} ({done:.0%})",
            message=message,
            evidence={
                "last_iter": f.last_iter,
                "max_iters": f.max_iters,
                "fraction_done": done,
                "excerpt": meta.excerpt,
            },
            fixes=[
                "let it finish (or resume it from its last checkpoint) before judging the final loss",
                "if it crashed, read the end of the job's stderr: the log stops without a reason",
            ]
            if early
            else ["let it finish (or resume it) before judging the final loss"],
        )
    ]
