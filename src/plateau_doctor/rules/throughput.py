"""PD701: time spent evaluating, and model FLOPs utilisation, from real measurements."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import LIKELY, WEAK, Context, Skip, finding

RULE = RuleInfo(
    code="PD701",
    name="throughput",
    category="throughput",
    severity="warning",
    summary="Evals take a large share of wall time, or MFU is low (real measurements only).",
    what="Uses the per-iteration times the log prints: iterations right after an eval include the "
    "eval, so their excess over the median iteration is eval time. MFU is read only where the "
    "log measured it (nanoGPT's -100% and llm.c's -100% placeholders are ignored); nanoGPT's "
    "MFU is against an A100's 312 TFLOPS whatever the GPU.",
    why="Time spent on evals or idle GPUs is time not spent training.",
    fix="Evaluate less often (eval_interval) or on fewer batches once the noise allows; check "
    "data loading and compile for low MFU.",
    example="INFO PD701 Evals take 24% of wall time",
    thresholds=(
        Threshold(
            "eval_share_warn",
            0.5,
            "of wall time",
            "evals taking half the time halve the training a budget buys",
        ),
        Threshold("eval_share_info", 0.2, "of wall time", "a fifth of the time on evals is worth knowing"),
        Threshold("low_mfu", 5.0, "percent", "under 5% of peak FLOPs the GPU mostly waits"),
        Threshold("min_timed", 20, "iterations", "a median time needs this many timed iterations"),
        Threshold("min_normal", 10, "iterations", "and this many that are not right after an eval"),
    ),
    weight=0.2,
)


def check(ctx: Context, limits) -> list:
    timing = ctx.analyses.timing
    if (
        timing is None
        or timing.n_timed < limits.min_timed
        or ctx.parsed.eval_table.empty
        or timing.n_normal < limits.min_normal
    ):
        return [Skip(RULE.code, "too few timed iterations")]
    median, eval_excess = timing.median_iter_ms, timing.eval_excess_ms
    train_time = median * (timing.last_iter - timing.first_iter + 1)
    share = eval_excess / (eval_excess + train_time) if train_time > 0 else 0.0
    mfu_med = timing.median_mfu_percent
    evidence = {
        "median_iter_ms": median,
        "eval_time_share": share,
        "evals": timing.evals_timed,
        "median_mfu_percent": mfu_med,
        "log_interval": timing.log_interval,
    }
    if share >= limits.eval_share_info:
        return [
            finding(
                RULE,
                severity="warning" if share >= limits.eval_share_warn else "info",
                confidence=LIKELY,
                title=f"Evals take {share:.0%} of wall time",
                message=(
                    f"Iterations right after an eval take {eval_excess / max(1, timing.evals_timed) / 1000:.1f}s "
                    f"longer than the median {median:.0f}ms iteration; over the run that is "
                    f"{share:.0%} of the time."
                ),
                evidence=evidence,
                fixes=["raise eval_interval, or lower eval_iters as far as the eval noise allows"],
            )
        ]
    on_gpu = ctx.facts.device not in ("cpu", "mps")  # MFU is against an A100: meaningless elsewhere
    if mfu_med is not None and mfu_med < limits.low_mfu and on_gpu:
        return [
            finding(
                RULE,
                severity="info",
                confidence=WEAK,
                title=f"Low MFU: {mfu_med:.1f}% (against an A100's peak)",
                message=(
                    "nanoGPT measures MFU against 312 TFLOPS whatever the hardware, so a small GPU "
                    "reads low by design; on an A100/H100 this would mean the GPU waits."
                ),
                evidence=evidence,
                fixes=_mfu_fixes(ctx),
            )
        ]
    return []


def _mfu_fixes(ctx: Context) -> list[str]:
    """What to try for a GPU that waits, leaving out what the run already does."""
    config, known = ctx.config, ctx.analyses.config_known
    fixes = ["check data loading (workers, pinned memory)"]
    if not (known and config.get("compile") is True):
        fixes.append(ctx.setting(compile=True) + " (PyTorch 2 on a GPU that supports it)")
    fixes.append("a larger micro-batch (batch_size) if memory allows, with fewer accumulation steps")
    return fixes
