"""PD701: time spent evaluating, and model FLOPs utilisation, from real measurements."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding

INFO = RuleInfo(
    code="PD701", name="throughput", category="throughput", severity="info",
    summary="Evals take a large share of wall time, or MFU is low (real measurements only).",
    what="Uses the per-iteration times the log prints: iterations right after an eval include the "
         "eval, so their excess over the median iteration is eval time. MFU is read only where the "
         "log measured it (nanoGPT's -100% and llm.c's -100% placeholders are ignored); nanoGPT's "
         "MFU is against an A100's 312 TFLOPS whatever the GPU.",
    why="Time spent on evals or idle GPUs is time not spent training.",
    fix="Evaluate less often (eval_interval) or on fewer batches once the noise allows; check "
        "data loading and compile for low MFU.",
    thresholds={"eval_share_warn": 0.5, "eval_share_info": 0.2, "low_mfu": 5.0},
)


def check(ctx: Context, thresholds: dict) -> list:
    timing = ctx.analyses.timing
    if timing is None or timing.n_timed < 20 or ctx.parsed.eval_table.empty or timing.n_normal < 10:
        return [Skip(INFO.code, "too few timed iterations")]
    median, eval_excess = timing.median_iter_ms, timing.eval_excess_ms
    train_time = median * (timing.last_iter - timing.first_iter + 1)
    share = eval_excess / (eval_excess + train_time) if train_time > 0 else 0.0
    mfu_med = timing.median_mfu_percent
    evidence = {"median_iter_ms": median, "eval_time_share": share, "evals": timing.evals_timed,
                "median_mfu_percent": mfu_med, "log_interval": timing.log_interval}
    if share >= thresholds["eval_share_info"]:
        return [finding(
            INFO, severity="warning" if share >= thresholds["eval_share_warn"] else "info", confidence=0.7,
            title=f"Evals take {share:.0%} of wall time",
            message=(f"Iterations right after an eval take {eval_excess / max(1, timing.evals_timed) / 1000:.1f}s "
                     f"longer than the median {median:.0f}ms iteration; over the run that is "
                     f"{share:.0%} of the time."),
            evidence=evidence,
            fixes=["raise eval_interval, or lower eval_iters as far as the eval noise allows"], weight=0.2,
        )]
    if mfu_med is not None and mfu_med < thresholds["low_mfu"]:
        return [finding(
            INFO, severity="info", confidence=0.4,
            title=f"Low MFU: {mfu_med:.1f}% (against an A100's peak)",
            message=("nanoGPT measures MFU against 312 TFLOPS whatever the hardware, so a small GPU "
                     "reads low by design; on an A100/H100 this would mean the GPU waits."),
            evidence=evidence, fixes=["check data loading, compile=True, and a larger micro-batch"],
            weight=0.1,
        )]
    return []
