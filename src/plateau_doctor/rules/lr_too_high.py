"""PD301: the learning rate is too high for the model, and the loss shows it."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding, fmt_lr, train_val_gap

INFO = RuleInfo(
    code="PD301", name="learning-rate-too-high", category="lr_too_high", severity="error",
    summary="A learning rate far above the reference for the model's size, with instability or a "
            "loss stuck high that the LR explains.",
    what="Compares the peak LR (configured, or logged) with GPT-3's table for the model's size, "
         "then looks for the symptoms: a loss that flattened far from where it was heading with "
         "train ~= val (not memorising) and few tokens per parameter (not capacity), spikes or an "
         "explosion, no warmup, no gradient clipping, or a logged LR that keeps growing.",
    why="Too large a step makes the optimiser bounce around the valley floor instead of descending "
        "into it: the loss stalls high, or blows up.",
    fix="Lower learning_rate towards the reference (and min_lr to a tenth of it), add a warmup, "
        "keep gradient clipping at 1.0.",
    reference="Brown et al. 2020 (GPT-3) Table 2.1 peak LRs by size; nanoGPT uses 1e-3 at 10.7M.",
    thresholds={"ratio_warn": 3.0, "ratio_error": 4.0, "usual_low": 0.3, "stuck_fraction_of_init": 0.4,
                "unknown_size_lr_floor": 1.2e-4},
)


def check(ctx: Context, thresholds: dict) -> list:
    a, f = ctx.analyses, ctx.facts
    logged = a.logged_lr
    # An LR that keeps doubling is a cause only once it is large: below GPT-3's smallest
    # reference (1.2e-4 was used up to 6.7B parameters) no model size makes it too high.
    floor = a.reference_lr if a.reference_lr is not None else thresholds["unknown_size_lr_floor"]
    if logged and logged.doublings >= 2 and logged.peak >= floor:
        return [_growing_lr(ctx)]
    if a.peak_lr is None or a.reference_lr is None:
        return [Skip(INFO.code, "learning rate or model size unknown")]
    ratio = a.peak_lr / a.reference_lr
    if ratio < thresholds["ratio_warn"]:
        if ratio < thresholds["usual_low"]:
            return []          # PD302's side of the range
        return [finding(
            INFO, severity="info", confidence=0.7,
            title=f"Learning rate {fmt_lr(a.peak_lr)} is in the usual range for {f.n_params / 1e6:.1f}M parameters",
            message=(f"The peak LR is {ratio:.2f}x the GPT-3-table reference {fmt_lr(a.reference_lr)} for "
                     "this size (smaller models take larger LRs): not aggressive."),
            evidence={"peak_lr": a.peak_lr, "reference_lr": a.reference_lr, "ratio_to_reference": ratio,
                      "n_params": f.n_params},
            weight=0.05,
        )]
    symptoms: dict[str, object] = {}
    counter: dict[str, object] = {}
    gap = train_val_gap(ctx)
    if a.non_finite or (a.explosion and not a.explosion.recovered):
        symptoms["diverged"] = True
    if len(a.spikes) >= 3:
        symptoms["spikes"] = len(a.spikes)
    # "stuck": the loss is still a large fraction of where it started although train ~= val and
    # the model has few tokens per parameter, so neither memorising nor capacity explains it
    start = _fresh_model_loss(ctx)
    if start and f.last_val_loss:
        remaining = f.last_val_loss / start
        not_memorising = gap is None or abs(gap) <= max(0.05, 4 * (a.eval_noise or 0))
        not_capacity = f.tokens_per_param is None or f.tokens_per_param < 100
        if remaining > thresholds["stuck_fraction_of_init"] and not_memorising and not_capacity:
            symptoms["stuck_at_fraction_of_initial_loss"] = remaining
        if not not_capacity:
            counter["tokens_per_param"] = f.tokens_per_param
        if not not_memorising:
            counter["train_val_gap"] = gap
    if a.config_known:
        if int(ctx.config.get("warmup_iters") or 0) == 0:
            symptoms["no_warmup"] = True
        if not float(ctx.config.get("grad_clip") or 0):
            symptoms["no_grad_clip"] = True
    evidence = {"peak_lr": a.peak_lr, "reference_lr": a.reference_lr, "ratio_to_reference": ratio,
                "n_params": f.n_params, "last_val_loss": f.last_val_loss, "last_train_loss": f.last_train_loss,
                "initial_loss": a.init_loss, "tokens_per_param": f.tokens_per_param, **symptoms}
    strong = {"diverged", "spikes", "stuck_at_fraction_of_initial_loss"} & symptoms.keys()
    if strong and ratio >= thresholds["ratio_error"]:
        severity, confidence = "error", 0.85 if len(strong) > 1 or "no_warmup" in symptoms else 0.75
    elif strong:
        severity, confidence = "warning", 0.6
    else:
        severity, confidence = "info", 0.4
    what = ", ".join(_describe(k, v) for k, v in symptoms.items()) or "no symptom in the loss yet"
    return [finding(
        INFO, severity=severity, confidence=confidence - 0.15 * bool(counter),
        title=f"Learning rate {fmt_lr(a.peak_lr)} is {ratio:.0f}x the reference for this model size",
        message=(f"The peak LR {fmt_lr(a.peak_lr)} is {ratio:.1f}x the GPT-3-table reference "
                 f"{fmt_lr(a.reference_lr)} for {f.n_params / 1e6:.1f}M parameters; symptoms: {what}."),
        evidence=evidence, counter_evidence=counter, fixes=_fixes(ctx, a.reference_lr),
        weight=1.0,
    )]


def _fresh_model_loss(ctx: Context) -> float | None:
    """The loss of an untrained model: ln(vocab) when known, else the first loss of a run from
    scratch. After a resume or a fine-tune the first loss is already trained, so it says nothing."""
    a = ctx.analyses
    if a.expected_init_loss:
        return a.expected_init_loss
    init_from = ctx.config.get("init_from") if a.config_known else ctx.parsed.meta.init_from
    if init_from in (None, "scratch") and a.init_loss:
        return a.init_loss
    return None


def _growing_lr(ctx: Context):
    a, f = ctx.analyses, ctx.facts
    logged = a.logged_lr
    rose = bool(a.val_explosion or a.explosion or len(a.spikes) >= 3 or
                (f.last_val_loss and f.best_val_loss and f.last_val_loss - f.best_val_loss > 0.05))
    return finding(
        INFO, severity="error" if rose else "warning", confidence=0.85 if rose else 0.5,
        title=f"Logged learning rate keeps growing ({logged.doublings} doublings, up to {fmt_lr(logged.peak)})",
        message=(f"The LR printed in the log grows from {fmt_lr(logged.first)} to {fmt_lr(logged.peak)} "
                 f"({logged.max_ratio_increase:.0f}x after warmup)"
                 + (f", and the loss got worse as it grew: val {f.best_val_loss:.3f} at its best, "
                    f"{f.last_val_loss:.3f} at the end, with {len(a.spikes)} spikes." if rose and
                    f.best_val_loss and f.last_val_loss else ".")),
        evidence={"lr_first": logged.first, "lr_peak": logged.peak, "lr_last": logged.last,
                  "doublings": logged.doublings, "growth_after_warmup": logged.max_ratio_increase,
                  "best_val_loss": f.best_val_loss, "best_val_step": f.best_val_step,
                  "last_val_loss": f.last_val_loss, "spikes": len(a.spikes)},
        fixes=[f"cap the learning rate near {fmt_lr(logged.first)}, the value before it started growing, "
               "and decay it instead of raising it"],
        weight=1.1,
    )


def _describe(key: str, value) -> str:
    return {
        "diverged": "the loss diverged",
        "spikes": f"{value} loss spikes",
        "stuck_at_fraction_of_initial_loss": f"val is still {value:.0%} of the initial loss with train ~= val",
        "no_warmup": "no warmup",
        "no_grad_clip": "no gradient clipping",
    }[key]


def _fixes(ctx: Context, reference: float) -> list[str]:
    fixes = [f"--learning_rate={fmt_lr(reference)} --min_lr={fmt_lr(reference / 10)}"]
    if ctx.analyses.config_known:
        if int(ctx.config.get("warmup_iters") or 0) == 0:
            max_iters = int(ctx.config.get("max_iters") or 0)
            fixes.append(f"--warmup_iters={max(100, max_iters // 50)}")
        if not float(ctx.config.get("grad_clip") or 0):
            fixes.append("--grad_clip=1.0")
    return fixes
