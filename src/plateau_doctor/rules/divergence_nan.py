"""PD101: the loss became NaN or infinite."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, finding, fmt_lr

INFO = RuleInfo(
    code="PD101", name="non-finite-loss", category="divergence", severity="error",
    summary="The training or eval loss became NaN or infinite.",
    what="Looks for `nan`/`inf` in the iteration losses and the eval estimates, and where they start.",
    why="Once the loss is NaN every later update is garbage: the run is over, whatever it prints after.",
    fix="Restart from the last finite checkpoint with a lower learning rate, warmup and gradient "
        "clipping; with float16 use bfloat16 (or float32) since fp16 overflows; a NaN at the very "
        "first update points to numerics or data, not the schedule.",
    reference="Deep Learning Tuning Playbook: instability fixes in order: warmup, clipping, optimizer, LR.",
)


def check(ctx: Context, thresholds: dict) -> list:
    a = ctx.analyses
    nf = a.non_finite
    if nf is None and a.eval_non_finite_step is None:
        return []
    first = nf.first_iter if nf else a.eval_non_finite_step
    line = None
    if nf is not None:
        line = int(ctx.parsed.iter_table["line"][nf.first_index])
    lr = ctx.config.get("learning_rate") if a.config_known else None
    fixes = []
    if a.config_known and ctx.config.get("dtype") == "float16":
        fixes.append("--dtype=bfloat16 (float16 overflows; bfloat16 has float32's range)")
    if lr:
        fixes.append(f"--learning_rate={fmt_lr(float(lr) / 2)} (half of {fmt_lr(float(lr))})")
    if a.config_known and not float(ctx.config.get("grad_clip") or 0):
        fixes.append("--grad_clip=1.0 (clipping is off)")
    if a.config_known and int(ctx.config.get("warmup_iters") or 0) == 0:
        fixes.append("--warmup_iters=<about 1-5% of max_iters>")
    # With log_interval > 1 the first update is logged at iteration log_interval, not 1.
    iters = ctx.parsed.iter_table["iter"]
    later = iters[iters > iters.min()] if len(iters) > 1 else iters[:0]
    first_logged_update = int(later.min()) if len(later) else 1
    if first is not None and first <= max(1, first_logged_update):
        message = (f"The loss is NaN from iteration {first}, the first update the log shows. That is numerics "
                   "(fp16 overflow, a bad kernel or compile path) or bad input data, not the "
                   "learning-rate schedule.")
        fixes.insert(0, "check the first batch for bad tokens and try --compile=False to rule out the compiled path")
    elif _stable_before(a, first):
        message = (f"The loss turns non-finite at iteration {first} and the run never recovers from it. "
                   "It was not climbing before (no excursion of the smoothed loss): a NaN out of a "
                   "stable run is numerics (fp16 overflow in the loss scaler, a bad batch) more "
                   "often than a learning rate that is too high.")
        if not (a.config_known and ctx.config.get("dtype") in ("bfloat16", "float32")):
            fixes.insert(0, "--dtype=bfloat16 if the GPU has it, else --dtype=float32 (V100s and "
                            "older have no bfloat16); float16 is the usual cause of a sudden NaN")
        fixes.insert(1, f"check the batches just before iteration {first} for bad tokens")
    else:
        message = f"The loss turns non-finite at iteration {first} and the run never recovers from it."
    return [finding(
        INFO, confidence=0.99, title=f"Loss is NaN/inf from iteration {first}", message=message,
        evidence={
            "first_non_finite_iter": first,
            "non_finite_iter_losses": nf.count if nf else 0,
            "iter_losses": nf.total if nf else len(ctx.parsed.iter_table),
            "recovered": nf.recovered if nf else False,
            "first_non_finite_eval_step": a.eval_non_finite_step,
        },
        fixes=fixes or ["lower the learning rate, add warmup and gradient clipping"],
        line=line, weight=1.2,
    )]


def _stable_before(a, first: int | None) -> bool:
    """Enough finite iteration losses before the NaN, and no explosion that started before it."""
    if first is None or len(a.iter_loss) < 5:
        return False
    before = int((a.iter_loss.steps < first).sum())
    climbing = a.explosion is not None and a.explosion.start_iter < first
    return before >= 5 and not climbing
