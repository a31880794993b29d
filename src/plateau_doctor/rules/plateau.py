"""PD502: the loss is flat within noise and no earlier rule found why."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding

# Categories that explain a flat curve; if one is raised the plateau is not 'unexplained'.
CAUSES = {"overfitting", "data_repetition", "lr_too_high", "lr_too_low", "lr_schedule",
          "capacity_limited", "divergence", "init_loss"}

INFO = RuleInfo(
    code="PD502", name="plateau", category="plateau", severity="warning",
    summary="Val is flat within noise over the recent evals and no specific cause was found.",
    what="Runs after the cause-specific rules: when the recent val trend is flat (slope within two "
         "standard errors of zero, noise included) and none of them was raised, reports the "
         "plateau with its numbers.",
    why="A plateau without a cause is where a person has to look: the config or the data may "
        "hold what the log cannot show.",
    fix="Check the data pipeline and the config; try a lower LR with a fresh anneal, or a bigger model.",
    reference="PyTorch ReduceLROnPlateau / Keras EarlyStopping, with noise instead of a fixed min_delta.",
)


def check(ctx: Context, thresholds: dict) -> list:
    vt = ctx.analyses.val_trend
    if vt is None:
        return [Skip(INFO.code, "fewer than 4 val evals")]
    if vt.verdict != "flat":
        return []
    explained = CAUSES & ctx.raised_categories()
    if explained:
        return []
    noise = ctx.analyses.eval_noise
    return [finding(
        INFO, confidence=0.5,
        title=f"Plateau: val flat within noise over steps {vt.start_step:,}-{vt.end_step:,}",
        message=(f"Val changed {vt.change:+.4f} over steps {vt.start_step:,}-{vt.end_step:,} "
                 f"(slope {vt.slope_per_1k:+.4f} +/- {vt.slope_stderr_per_1k:.4f} per 1k steps), "
                 "flat within noise; no specific cause was found in the log and config."),
        evidence={"val_slope_per_1k": vt.slope_per_1k, "slope_stderr_per_1k": vt.slope_stderr_per_1k,
                  "window": f"{vt.start_step}-{vt.end_step}", "val_change_recent": vt.change,
                  "eval_noise": noise, "last_val_loss": ctx.facts.last_val_loss},
        fixes=[INFO.fix], weight=0.4,
    )]
