"""PD101: the loss became NaN or infinite."""

from __future__ import annotations

from ..model import RuleInfo
from .base import CERTAIN, Context, finding, fmt_lr

RULE = RuleInfo(
    code="PD101",
    name="non-finite-loss",
    category="divergence",
    severity="error",
    summary="The training or eval loss became NaN or infinite.",
    what="Looks for `nan`/`inf` in the iteration losses and the eval estimates, where they start, "
    "and whether the loss was climbing before (an instability) or stable (numerics).",
    why="Once the loss is NaN every later update is garbage: the run is over, whatever it prints after.",
    fix="Restart from the last finite checkpoint. A NaN out of a stable run is numerics: bfloat16 "
    "(or float32) instead of float16, a bad batch. A NaN after a climb is instability: a lower "
    "learning rate, warmup and gradient clipping. A NaN at the very first update points to "
    "numerics or data, not the schedule.",
    example="ERROR PD101 Loss is NaN/inf from iteration 1",
    reference="Deep Learning Tuning Playbook: instability fixes in order: warmup, clipping, optimizer, LR.",
    weight=1.2,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    nf = a.non_finite
    if nf is None and a.eval_non_finite_step is None:
        return []
    first = nf.first_iter if nf else a.eval_non_finite_step
    line = int(ctx.parsed.iter_table["line"][nf.first_index]) if nf is not None else None
    dtype = ctx.config.get("dtype") if a.config_known else None
    # With log_interval > 1 the first update is logged at iteration log_interval, not 1.
    iters = ctx.parsed.iter_table["iter"]
    later = iters[iters > iters.min()] if len(iters) > 1 else iters[:0]
    first_logged_update = int(later.min()) if len(later) else 1
    fixes: list[str] = []
    if first is not None and first <= max(1, first_logged_update):
        message = (
            f"The loss is NaN from iteration {first}, the first update the log shows. That is "
            "numerics (fp16 overflow, a bad kernel or compile path) or bad input data, not the "
            "learning-rate schedule."
        )
        fixes.append(
            "check the first batch for bad tokens"
            + (
                f" and try {ctx.setting(compile=False)} to rule out the compiled path"
                if ctx.config.get("compile") is not False and ctx.nanogpt_flags
                else ""
            )
        )
        fixes += _dtype_fix(ctx, dtype)
    elif a.non_finite_onset in ("stable", None):
        message = (
            f"The loss turns non-finite at iteration {first} and the run never recovers from it. "
            "It was not climbing before (no excursion of the smoothed loss): a NaN out of a "
            "stable run is numerics (fp16 overflow in the loss scaler, a bad batch) more "
            "often than a learning rate that is too high."
        )
        fixes += _dtype_fix(ctx, dtype)
        fixes.append(f"check the batches just before iteration {first} for bad tokens")
        fixes += _instability_fixes(ctx)  # if numerics are ruled out, the usual remedies
    elif a.non_finite_onset == "early":
        message = (
            f"The loss turns non-finite at iteration {first}, too early in the log to tell "
            "an instability from numerics, and the run never recovers from it."
        )
        fixes += _dtype_fix(ctx, dtype) + _instability_fixes(ctx)
    else:
        message = (
            f"The loss climbed and then turned non-finite at iteration {first}; the run never "
            "recovers from it: an instability, which a lower learning rate, warmup and "
            "gradient clipping address."
        )
        fixes += _instability_fixes(ctx)
    return [
        finding(
            RULE,
            confidence=CERTAIN,
            title=f"Loss is NaN/inf from iteration {first}",
            message=message,
            evidence={
                "first_non_finite_iter": first,
                "non_finite_iter_losses": nf.count if nf else 0,
                "iter_losses": nf.total if nf else len(ctx.parsed.iter_table),
                "recovered": nf.recovered if nf else False,
                "first_non_finite_eval_step": a.eval_non_finite_step,
                "dtype": ctx.config.get("dtype") if a.config_known else None,
            },
            fixes=fixes
            or [
                "restart from the last finite checkpoint with a lower learning rate, warmup "
                "and gradient clipping"
            ],
            line=line,
        )
    ]


def _dtype_fix(ctx: Context, dtype) -> list[str]:
    if dtype in ("bfloat16", "float32"):
        return []  # already off float16: the dtype is not the suspect
    return [
        f"{ctx.setting(dtype='bfloat16')} if the GPU has it, else {ctx.setting(dtype='float32')} "
        "(V100s and older have no bfloat16); float16 overflows and is the usual cause of a "
        "sudden NaN" + ("" if dtype == "float16" else " (the log does not say which dtype ran)")
    ]


def _instability_fixes(ctx: Context) -> list[str]:
    a = ctx.analyses
    fixes = []
    lr = a.peak_lr
    if lr:
        fixes.append(f"{ctx.setting(learning_rate=lr / 2)} (half of {fmt_lr(lr)})")
    if a.config_known and not float(ctx.config.get("grad_clip") or 0):
        fixes.append(f"{ctx.setting(grad_clip=1.0)} (clipping is off)")
    if a.config_known and int(ctx.config.get("warmup_iters") or 0) == 0:
        fixes.append("a warmup of about 1-5% of the run (warmup_iters is 0)")
    return fixes
