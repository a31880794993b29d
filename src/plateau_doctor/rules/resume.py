"""PD606: a run resumed from a checkpoint, and what the loss did across the resume."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import CERTAIN, LIKELY, Context, finding

RULE = RuleInfo(
    code="PD606",
    name="resume",
    category="config",
    severity="warning",
    summary="The run was resumed from a checkpoint; a loss that jumps at the resume beyond noise "
    "means the resumed run did not pick up where it stopped.",
    what="Finds each resume (the step count continues in a new segment of the log) and compares "
    "the iteration losses just before and just after it with their noise. A resume is a fact "
    "of the log, not a training event: spike and divergence detectors leave its jump alone. "
    "A jump beyond `z` standard errors is a warning.",
    why="A resume that restarts the optimizer state, the LR schedule or the data order shows as a "
    "jump in the loss that later steps must undo; read as a spike or a divergence it sends "
    "the diagnosis after the wrong cause.",
    fix="Resume with the optimizer state and the iteration counter from the checkpoint (nanoGPT's "
    "init_from='resume' does both), and the same data order and LR schedule.",
    example="WARNING PD606 The loss jumped +0.412 (9.1 sigma) at the resume at step 4,000",
    reference="transformers #33336, LLaMA-Factory #512.",
    thresholds=(
        Threshold(
            "z",
            3.0,
            "standard errors",
            "a jump beyond three standard errors of the difference of two medians is not batch noise",
        ),
    ),
    weight=0.5,
)


def check(ctx: Context, limits) -> list:
    resumes = ctx.analyses.resumes
    if not resumes:
        return []
    scored = [(r, r.jump / r.noise if r.noise > 0 else 0.0) for r in resumes]
    worst, z = max(scored, key=lambda item: item[1])
    jumped = worst.jump > 0 and z >= limits.z
    where = (
        f"at step {resumes[0].step:,}"
        if len(resumes) == 1
        else f"{len(resumes)} times (steps {', '.join(f'{r.step:,}' for r in resumes[:RESUMES_SHOWN])}"
        + (", ..." if len(resumes) > RESUMES_SHOWN else "")
        + ")"
    )
    if jumped:
        title = f"The loss jumped {worst.jump:+.3f} ({z:.1f} sigma) at the resume at step {worst.step:,}"
        message = (
            f"The log resumes {where}. At step {worst.step:,} (line {worst.line:,}) the median "
            f"loss of the iterations before was {worst.before:.4f}, after {worst.after:.4f}: "
            f"{z:.1f} standard errors higher. The resumed run did not pick up where it stopped "
            "(optimizer state, LR schedule or data order restarted?). This jump is the "
            "resume's, not a spike or a divergence."
        )
    else:
        title = f"Resumed {where}: the loss carried on"
        message = (
            f"The log resumes {where}; across each resume the loss moved within noise (largest "
            f"{worst.jump:+.4f}, {z:.1f} standard errors): the run picked up where it stopped."
        )
    return [
        finding(
            RULE,
            severity="warning" if jumped else "info",
            confidence=LIKELY if jumped else CERTAIN,
            title=title,
            message=message,
            evidence={
                "resumes": len(resumes),
                "steps": [r.step for r in resumes[:RESUMES_SHOWN]],
                "worst_step": worst.step,
                "loss_before": worst.before,
                "loss_after": worst.after,
                "jump": worst.jump,
                "noise_of_jump": worst.noise,
                "z": z,
            },
            fixes=[RULE.fix] if jumped else [],
            line=worst.line,
        )
    ]


RESUMES_SHOWN = 5
