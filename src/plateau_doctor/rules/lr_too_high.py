"""PD301: the learning rate is too high for the model, and the loss shows it."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import (
    DOUBT,
    LIKELY,
    POSSIBLE,
    STRONG,
    TRAINS_NOTHING,
    WEAK,
    Context,
    Skip,
    finding,
    fmt_count,
    fmt_lr,
)

RULE = RuleInfo(
    code="PD301",
    name="learning-rate-too-high",
    category="lr_too_high",
    severity="error",
    summary="A learning rate far above the reference for the model's size, with instability or a "
    "loss stuck high that the LR explains.",
    what="Compares the peak LR (configured, or logged) with GPT-3's table for the model's size "
    "(for a fine-tune, with fine-tuning practice), then looks for the symptoms: a loss that "
    "flattened far from where it was heading with train ~= val (not memorising) and few "
    "tokens per parameter (not capacity), spikes, an explosion or a NaN after a climb, no "
    "warmup, no gradient clipping, or a logged LR that keeps growing. A peak LR in the usual "
    "range rules it out.",
    why="Too large a step makes the optimiser bounce around the valley floor instead of descending "
    "into it: the loss stalls high, or blows up.",
    fix="Lower learning_rate towards the reference (and min_lr to a tenth of it), add a warmup, "
    "keep gradient clipping at 1.0.",
    example="ERROR PD301 Learning rate 1.00e-2 is 10x the reference for this model size",
    reference="Brown et al. 2020 (GPT-3) Table 2.1 peak LRs by size; nanoGPT uses 1e-3 at 10.7M; "
    "LoRA 1e-4 to 3e-4, full fine-tunes 1e-5 to 5e-5 (HF, LLaMA-Factory defaults).",
    thresholds=(
        Threshold(
            "ratio_warn",
            3.0,
            "x reference",
            "an LR 3x the size's usual peak is unusual enough to look for its symptoms",
        ),
        Threshold("ratio_error", 4.0, "x reference", "with symptoms, 4x the usual peak is the likely cause"),
        Threshold(
            "usual_low",
            0.3,
            "x reference",
            "below 0.3x the reference the LR is PD302's question, not this rule's",
        ),
        Threshold(
            "unstable_share",
            0.5,
            "x reference",
            "in a run that went unstable an LR from half the reference up cannot be cleared: "
            "lowering it is the first fix for the instability itself",
        ),
        Threshold(
            "stuck_fraction_of_init",
            0.4,
            "of the initial loss",
            "a healthy LM run ends "
            "well under 40% of ln(V); stuck above it with train ~= val is a loss held high",
        ),
        Threshold(
            "not_capacity_tokens_per_param",
            100.0,
            "tokens per parameter",
            "below 100 the model is not capacity-bound, so a high loss is not its size's doing",
        ),
        Threshold(
            "unknown_size_lr_floor",
            1.2e-4,
            "learning rate",
            "GPT-3 used 1.2e-4 up to 6.7B parameters: below it no model size makes a growing LR too high",
        ),
        Threshold(
            "full_finetune_lr",
            5e-5,
            "learning rate",
            "the top of the usual full fine-tune range (1e-5 to 5e-5)",
        ),
        Threshold("lora_lr", 3e-4, "learning rate", "the top of the usual LoRA range (1e-4 to 3e-4)"),
        Threshold("min_spikes", 3, "spikes", "one or two spikes are bad batches; three are a pattern"),
    ),
    weight=1.0,
    log_free=True,
)


def check(ctx: Context, limits) -> list:
    a, f = ctx.analyses, ctx.facts
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    logged = a.logged_lr
    # An LR that keeps doubling is a cause only once it is large.
    floor = a.reference_lr if a.reference_lr is not None else limits.unknown_size_lr_floor
    if logged and logged.doublings >= 2 and logged.peak >= floor:
        return [_growing_lr(ctx, limits)]
    reference, basis = _reference(ctx, limits)
    if a.peak_lr is None or reference is None:
        return [Skip(RULE.code, "learning rate or model size unknown")]
    ratio = a.peak_lr / reference
    instability = _instability(a, limits)
    if ratio < limits.ratio_warn:
        if ratio < limits.usual_low:
            return []  # PD302's side of the range
        if ratio >= limits.unstable_share and instability:
            return [_contributor(ctx, reference, basis, ratio, instability)]
        return [
            finding(
                RULE,
                severity="info",
                confidence=LIKELY,
                ruled_out=True,
                title=f"Not a learning rate too high: {fmt_lr(a.peak_lr)} is {ratio:.2f}x {basis}",
                message=(
                    f"The peak LR is {ratio:.2f}x the reference {fmt_lr(reference)} ({basis}; smaller "
                    "models take larger LRs): not aggressive"
                    + (" for the model's size." if f.planned else ", so it does not explain the loss.")
                ),
                evidence={},
                counter_evidence={
                    "peak_lr": a.peak_lr,
                    "reference_lr": reference,
                    "ratio_to_reference": ratio,
                    "n_params": f.n_params,
                },
            )
        ]
    if f.planned:
        return [_plan(ctx, limits, reference, basis, ratio)]
    symptoms: dict[str, object] = dict(instability)
    counter: dict[str, object] = {}
    # "stuck": the loss is still a large fraction of where it started although train ~= val and
    # the model has few tokens per parameter, so neither memorising nor capacity explains it
    start = _fresh_model_loss(ctx)
    if start and f.last_val_loss:
        remaining = f.last_val_loss / start
        not_memorising = a.gap is None or not (a.gap.memorising or a.gap.val_below_train)
        not_capacity = f.tokens_per_param is None or f.tokens_per_param < limits.not_capacity_tokens_per_param
        if remaining > limits.stuck_fraction_of_init and not_memorising and not_capacity:
            symptoms["stuck_at_fraction_of_initial_loss"] = remaining
        if not not_capacity:
            counter["tokens_per_param"] = f.tokens_per_param
        if not not_memorising:
            counter["train_val_gap"] = a.gap.value
    if a.config_known:
        if int(ctx.config.get("warmup_iters") or 0) == 0:
            symptoms["no_warmup"] = True
        if not float(ctx.config.get("grad_clip") or 0):
            symptoms["no_grad_clip"] = True
    evidence = {
        "peak_lr": a.peak_lr,
        "reference_lr": reference,
        "reference": basis,
        "ratio_to_reference": ratio,
        "n_params": f.n_params,
        "last_val_loss": f.last_val_loss,
        "last_train_loss": f.last_train_loss,
        "initial_loss": a.init_loss,
        "tokens_per_param": f.tokens_per_param,
        **symptoms,
    }
    strong = {"diverged", "spikes", "stuck_at_fraction_of_initial_loss"} & symptoms.keys()
    if strong and ratio >= limits.ratio_error:
        severity, confidence = (
            "error",
            STRONG if len(strong) > 1 or "no_warmup" in symptoms else LIKELY + DOUBT / 2,
        )
    elif strong:
        severity, confidence = "warning", POSSIBLE + DOUBT
    else:
        severity, confidence = "info", WEAK
    what = ", ".join(_describe(k, v) for k, v in symptoms.items()) or "no symptom in the loss yet"
    return [
        finding(
            RULE,
            severity=severity,
            confidence=confidence - DOUBT * bool(counter),
            title=f"Learning rate {fmt_lr(a.peak_lr)} is {ratio:.0f}x the reference for this model",
            message=(
                f"The peak LR {fmt_lr(a.peak_lr)} is {ratio:.1f}x the reference {fmt_lr(reference)} "
                f"({basis}); symptoms: {what}."
            ),
            evidence=evidence,
            counter_evidence=counter,
            fixes=_fixes(ctx, reference),
        )
    ]


def _instability(a, limits) -> dict[str, object]:
    """The loss's signs of an LR too high: a divergence that did not recover, repeated spikes."""
    signs: dict[str, object] = {}
    if (a.non_finite and a.non_finite_onset == "climb") or (a.explosion and not a.explosion.recovered):
        signs["diverged"] = True
    if len(a.spikes) >= limits.min_spikes:
        signs["spikes"] = len(a.spikes)
    return signs


def _contributor(ctx: Context, reference: float, basis: str, ratio: float, instability: dict):
    """Near or above the reference but short of ratio_warn, in a run that went unstable: the LR
    cannot be ruled out, nor named the cause on its own."""
    a = ctx.analyses
    what = ", ".join(_describe(k, v) for k, v in instability.items())
    return finding(
        RULE,
        severity="info",
        confidence=WEAK,
        title=f"Learning rate {fmt_lr(a.peak_lr)} is {ratio:.2f}x {basis}, in a run that went unstable",
        message=(
            f"The peak LR {fmt_lr(a.peak_lr)} is {ratio:.2f}x {basis} ({fmt_lr(reference)}): "
            + ("above it" if ratio > 1 else "not below it by much")
            + f", though not far enough to be the cause on its own, and the loss shows {what}. "
            "It may have contributed: a lower LR is the first thing to try if the instability repeats."
        ),
        evidence={
            "peak_lr": a.peak_lr,
            "reference_lr": reference,
            "ratio_to_reference": ratio,
            **instability,
        },
        fixes=_fixes(ctx, reference),
    )


def _plan(ctx: Context, limits, reference: float, basis: str, ratio: float):
    """A plan's LR above `ratio_warn` x the reference. Before the run there are no symptoms to
    see, only the LR and what the config does about instability (warmup, clipping, fp16). At
    `ratio_error` and beyond, where a run that shows symptoms is called LR-caused, the plan is a
    warning (a config change is cheap before the run, a diverged run is not); below it, a fact.
    Never an error: nothing has gone wrong yet."""
    a, f = ctx.analyses, ctx.facts
    risks = _config_risks(ctx)
    far = ratio >= limits.ratio_error
    confidence = (POSSIBLE if far else WEAK) + DOUBT / 2 * min(len(risks), 2)
    said = ", ".join(_describe(k, v) for k, v in risks.items())
    return finding(
        RULE,
        severity="warning" if far else "info",
        confidence=confidence,
        title=f"Learning rate {fmt_lr(a.peak_lr)} is {ratio:.0f}x the reference for this model",
        message=(
            f"The planned peak LR {fmt_lr(a.peak_lr)} is {ratio:.1f}x the reference {fmt_lr(reference)} "
            f"({basis}). Runs this far above it often spike, diverge or stall high; only the run can "
            "show whether this one does" + (f", and the config adds to the risk: {said}." if said else ".")
        ),
        evidence={
            "peak_lr": a.peak_lr,
            "reference_lr": reference,
            "reference": basis,
            "ratio_to_reference": ratio,
            "n_params": f.n_params,
            **risks,
        },
        fixes=_fixes(ctx, reference),
    )


def _config_risks(ctx: Context) -> dict[str, object]:
    """What a config does that makes a high LR more likely to blow up."""
    risks: dict[str, object] = {}
    if ctx.analyses.config_known:
        if int(ctx.config.get("warmup_iters") or 0) == 0:
            risks["no_warmup"] = True
        if not float(ctx.config.get("grad_clip") or 0):
            risks["no_grad_clip"] = True
        if ctx.config.get("dtype") == "float16":
            risks["float16"] = True
    return risks


def _reference(ctx: Context, limits) -> tuple[float | None, str]:
    """The usual peak LR for this run: fine-tuning practice for a fine-tune, else GPT-3's table."""
    a = ctx.analyses
    finetune, _ = a.finetune
    if finetune:
        return (
            (limits.lora_lr, "the top of the usual LoRA range")
            if a.trains_adapters
            else (limits.full_finetune_lr, "the top of the usual full fine-tuning range")
        )
    if a.reference_lr is None:
        return None, ""
    return a.reference_lr, f"GPT-3's table, for {fmt_count(ctx.facts.n_params)} parameters"


def _fresh_model_loss(ctx: Context) -> float | None:
    """The loss of an untrained model: ln(vocab) when known, else the first loss of a run from
    scratch. After a resume or a fine-tune the first loss is already trained, so it says nothing."""
    a = ctx.analyses
    if a.expected_init_loss:
        return a.expected_init_loss
    if a.init_from in (None, "scratch") and a.finetune[0] is not True and a.init_loss:
        return a.init_loss
    return None


def _growing_lr(ctx: Context, limits):
    a, f = ctx.analyses, ctx.facts
    logged = a.logged_lr
    rose = bool(
        a.val_explosion
        or a.explosion
        or len(a.spikes) >= limits.min_spikes
        or (
            f.last_val_loss
            and f.best_val_loss
            and a.eval_noise is not None
            and f.last_val_loss - f.best_val_loss > 2 * a.eval_noise
        )
    )
    return finding(
        RULE,
        severity="error" if rose else "warning",
        confidence=STRONG if rose else POSSIBLE,
        title=f"Logged learning rate keeps growing ({logged.doublings} doublings, up to {fmt_lr(logged.peak)})",
        message=(
            f"The LR printed in the log grows from {fmt_lr(logged.first)} to {fmt_lr(logged.peak)} "
            f"({logged.max_ratio_increase:.0f}x after warmup)"
            + (
                f", and the loss got worse as it grew: val {f.best_val_loss:.3f} at its best, "
                f"{f.last_val_loss:.3f} at the end, with {len(a.spikes)} spikes."
                if rose and f.best_val_loss and f.last_val_loss
                else "."
            )
        ),
        evidence={
            "lr_first": logged.first,
            "lr_peak": logged.peak,
            "lr_last": logged.last,
            "doublings": logged.doublings,
            "growth_after_warmup": logged.max_ratio_increase,
            "best_val_loss": f.best_val_loss,
            "best_val_step": f.best_val_step,
            "last_val_loss": f.last_val_loss,
            "spikes": len(a.spikes),
        },
        fixes=[
            f"cap the learning rate near {fmt_lr(logged.first)}, the value before it started growing, "
            "and decay it instead of raising it"
        ],
    )


def _describe(key: str, value) -> str:
    return {
        "diverged": "the loss diverged",
        "spikes": f"{value} loss spikes",
        "stuck_at_fraction_of_initial_loss": f"val is still {value:.0%} of the initial loss with train ~= val",
        "no_warmup": "no warmup",
        "no_grad_clip": "no gradient clipping",
        "float16": "float16 (5 exponent bits)",
    }[key]


def _fixes(ctx: Context, reference: float) -> list[str]:
    fixes = [ctx.setting(learning_rate=reference, min_lr=reference / 10)]
    if ctx.analyses.config_known:
        if int(ctx.config.get("warmup_iters") or 0) == 0:
            max_iters = int(ctx.config.get("max_iters") or 0)
            fixes.append(ctx.setting(warmup_iters=max(WARMUP_MIN_ITERS, max_iters // WARMUP_SHARE)))
        if not float(ctx.config.get("grad_clip") or 0):
            fixes.append(ctx.setting(grad_clip=1.0))
    return fixes


WARMUP_MIN_ITERS, WARMUP_SHARE = 100, 50  # a warmup of 2% of the run, at least 100 iterations
