"""PD402: iteration losses far outside the per-batch spread."""

from __future__ import annotations

from ..analyse.spikes import GROSS_MIN_RATIO, MIN_HISTORY, SIGMA_FLOOR, SPIKE_WINDOW, spike_impact
from ..model import RuleInfo, Threshold
from .base import LIKELY, POSSIBLE, Context, Skip, finding

RULE = RuleInfo(
    code="PD402",
    name="loss-spikes",
    category="loss_spikes",
    severity="warning",
    summary="Iteration losses many sigmas above their local baseline.",
    what="Scores each iteration loss against the median of the preceding window, in units of the "
    "per-batch sigma (robust z); z above the threshold is a spike. A log of 10 losses or fewer "
    "has no such baseline: there only a loss twice the median of the others and twice the "
    "threshold above their spread counts. One spike is one unlucky "
    "micro-batch; repeated or huge ones are instability. Where the log prints the gradient "
    "norm, the norm at the worst spike is shown next to its median.",
    why="Spikes that repeat are the early sign of an LR too high for the batch, fp16 overflow or "
    "bad data; each one can undo progress.",
    fix="Lower the LR or lengthen warmup, keep grad_clip=1.0, check the batches at the spike "
    "iterations for bad data.",
    reference="OLMo-core flags loss > mean + 6 std of the last 128; llm-foundry and Megatron-LM "
    "have similar detectors.",
    example="WARNING PD402 14 loss spike(s); worst 6.221 at iteration 6,600 (41 sigma)",
    thresholds=(
        Threshold(
            "z",
            6.0,
            "per-batch sigmas",
            "OLMo-core's detector: 6 standard deviations above the recent median",
        ),
        Threshold(
            "warn_damaging",
            2,
            "spikes",
            "two spikes after which the loss stayed higher are instability, not bad luck",
        ),
        Threshold(
            "warn_clustered",
            2,
            "spikes",
            "two bursts of spikes (llm-foundry counts 4+ consecutive high losses as one) are a pattern",
        ),
        Threshold(
            "warn_rate",
            0.02,
            "of iteration losses",
            "more than 2% of the losses spiking is a noisy, unstable run",
        ),
        Threshold(
            "min_points",
            5,
            "iteration losses",
            "fewer cannot separate a spike from the trend; up to 10, only a loss twice the median "
            "of the others counts (analyse/spikes.py)",
        ),
    ),
    explained_by=("lr_too_high", "divergence"),
    weight=0.9,
)


def check(ctx: Context, limits) -> list:
    a = ctx.analyses
    if len(a.iter_loss) < limits.min_points:
        return [Skip(RULE.code, f"fewer than {limits.min_points:.0f} iteration losses")]
    spikes = [s for s in a.spikes if s.z >= limits.z]
    # Points inside an excursion of the smoothed loss are one event, PD102's, not many spikes:
    # each is scored against the level before the excursion.
    for event in (a.explosion,):
        if event is not None:
            margin = max(1, (event.end_iter - event.start_iter) // 2)
            spikes = [s for s in spikes if not event.start_iter - margin <= s.iter <= event.end_iter]
    # a resume's jump is PD606's, and so is what a baseline reaching back across it calls a spike
    spikes = [s for s in spikes if not a.near_resume(s.iter, SPIKE_WINDOW)]
    if not spikes:
        return []
    worst = max(spikes, key=lambda s: s.z)
    sigma = a.sigma.sigma if a.sigma else None
    # Spikes index the parsed table; the impact is judged on the same positions.
    impact = spike_impact(
        ctx.parsed.iter_table["loss"],
        spikes,
        sigma or max(SIGMA_FLOOR, abs(worst.loss - worst.baseline) / worst.z),
    )
    rate = len(spikes) / len(a.iter_loss)
    short = len(a.iter_loss) <= MIN_HISTORY
    raised = (
        impact.damaging >= limits.warn_damaging
        or impact.clustered >= limits.warn_clustered
        or rate >= limits.warn_rate
    )
    shown = sorted(spikes, key=lambda s: -s.z)[:5]
    line = int(ctx.parsed.iter_table["line"][worst.index])
    return [
        finding(
            RULE,
            severity="warning" if raised else "info",
            confidence=LIKELY if raised else POSSIBLE,
            title=(
                f"{len(spikes)} loss spike(s); worst {worst.loss:.3f} at iteration {worst.iter:,} "
                f"({worst.z:.0f} sigma)"
            ),
            message=(
                (
                    f"{len(spikes)} iteration losses sit at least {GROSS_MIN_RATIO:.0f}x the median "
                    f"of the other losses and more than {2 * limits.z:.0f} sigma above it (a log "
                    f"this short is judged for gross outliers only); the worst is"
                    if short
                    else f"{len(spikes)} iteration losses sit more than {limits.z:.0f} sigma above "
                    "the median of the iterations before them; the worst is"
                )
                + f" {worst.loss:.4f} against a "
                f"baseline of {worst.baseline:.4f} at iteration {worst.iter:,}. "
                + _what_followed(impact, raised, len(spikes), len(a.iter_loss))
            ),
            evidence={
                "spikes": len(spikes),
                "iter_losses": len(a.iter_loss),
                "spike_rate": rate,
                "isolated": impact.isolated,
                "damaging": impact.damaging,
                "clustered": impact.clustered,
                "worst_level_shift": impact.worst_shift,
                "per_batch_sigma": sigma,
                "worst_iter": worst.iter,
                "worst_loss": worst.loss,
                "worst_baseline": worst.baseline,
                "worst_z": worst.z,
                "spike_iters": [s.iter for s in shown],
                **_grad_norm_evidence(a, worst.iter),
            },
            fixes=_fixes(ctx, inspect_first=short) if raised else [],
            line=line,
        )
    ]


def _what_followed(impact, raised: bool, spikes: int, losses: int) -> str:
    if impact.damaging + impact.isolated + impact.clustered == 0 and raised:
        return (
            f"The log has {losses} losses, too few around the spike to tell whether the loss "
            f"stayed higher; {spikes} of {losses} is a rate no healthy run shows: look at the batch "
            "at that step, and watch whether it repeats."
        )
    if raised:
        return (
            f"{impact.damaging} left the loss higher and {impact.clustered} came in bursts: "
            "instability, not bad luck."
        )
    return "Each was followed by a return to the previous level: single unlucky micro-batches, harmless to the run."


def _grad_norm_evidence(a, worst_iter: int) -> dict:
    """The logged gradient norm at the worst spike against its median, where the log prints it."""
    if a.grad_norms is None:
        return {}
    at = a.grad_norms.at(worst_iter)
    return {"grad_norm_at_worst": at, "grad_norm_median": a.grad_norms.median} if at is not None else {}


def _fixes(ctx: Context, inspect_first: bool = False) -> list[str]:
    """Fixes for repeated spikes, leaving out what the config already does; the batch first where
    the log is too short to show a pattern."""
    a, config = ctx.analyses, ctx.config
    inspect = "inspect the batches at the spike iterations for corrupt or repeated data"
    fixes = [inspect] if inspect_first else []
    fixes.append(
        "lower learning_rate or lengthen warmup_iters"
        if ctx.nanogpt_flags
        else "lower the learning rate or lengthen the warmup"
    )
    clip = config.get("grad_clip") if a.config_known else None
    if not (isinstance(clip, (int, float)) and 0 < clip <= 1):
        fixes.append(ctx.setting(grad_clip=1.0) + ("" if clip is None else f" (now {clip})"))
    if a.config_known and config.get("dtype") == "float16":
        fixes.append(
            ctx.setting(dtype="bfloat16") + " if the GPU has it: float16 overflows in the loss scaler"
        )
    return fixes if inspect_first else [*fixes, inspect]
