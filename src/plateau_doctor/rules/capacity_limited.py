"""PD203: the model is small for the tokens it has seen and the curve is flattening."""

from __future__ import annotations

from dataclasses import replace

from ..domain.memory import (
    ALLOCATOR_OVERHEAD,
    CUDA_CONTEXT_GIB,
    Device,
    GPTShape,
    UnknownDevice,
    fit_on_device,
    parse_device,
    training_memory,
)
from ..domain.scale import chinchilla_loss, nanogpt_param_count
from ..model import RuleInfo, Threshold
from .base import DOUBT, LIKELY, POSSIBLE, STRONG, TRAINS_NOTHING, Context, Skip, finding, fmt_tokens

RULE = RuleInfo(
    code="PD203",
    name="capacity-limited",
    category="capacity_limited",
    severity="warning",
    summary="Tokens per parameter far above ~20 with a flattening curve and train ~= val.",
    what="Compares tokens seen per parameter with Chinchilla's compute-optimal ~20 (a byte or "
    "character token counts as a quarter of a BPE token), checks that train ~= val (not "
    "memorising) and that the recent improvement is small, and, for BPE vocabularies, "
    "reports Chinchilla's L(N, D) with which term dominates. Judged before the LR has "
    "annealed, the flattening is partly the schedule's, so the finding is less sure. "
    "Fine-tunes are not judged: the ratio is a pretraining one.",
    why="Past a few hundred tokens per parameter a model is near what its size allows: more "
    "steps buy little, a bigger model buys a lot.",
    fix="A bigger model (n_layer / n_embd) for the same tokens; fewer tokens per parameter.",
    example="WARNING PD203 Model is small for its data: 187 tokens per parameter",
    reference="Hoffmann et al. 2022 (Chinchilla): ~20 tokens/parameter; L = E + A/N^a + B/D^b.",
    thresholds=(
        Threshold(
            "warn_tokens_per_param",
            100.0,
            "BPE tokens per parameter",
            "5x Chinchilla's compute-optimal 20: the model-size term of the loss dominates the data term",
        ),
        Threshold(
            "error_tokens_per_param",
            1000.0,
            "BPE tokens per parameter",
            "50x past compute-optimal with a flat curve: the steps are buying nothing",
        ),
        Threshold(
            "max_relative_gain",
            0.03,
            "fraction of the loss",
            "a recent fall under 3% of the loss is a flattening curve",
        ),
        Threshold(
            "byte_token_worth",
            0.25,
            "BPE tokens",
            "a BPE token of English text averages "
            "about 4 bytes: a byte or character token carries a quarter of it",
        ),
        Threshold(
            "chinchilla_tokens_per_param",
            20.0,
            "tokens per parameter",
            "Hoffmann et al. 2022: compute-optimal training",
        ),
        Threshold(
            "chinchilla_agreement",
            0.15,
            "fraction of the loss",
            "a bigger model's expected effect is quoted from L(N, D) only when the law puts this "
            "run within 15% of its own loss: fitted on other data and sizes, it is otherwise "
            "describing a different run (a tiny model's law loss is several times its real one)",
        ),
    ),
    explained_by=("lr_too_high", "divergence", "init_loss", "overfitting"),
    weight=1.0,
    log_free=True,
)


def check(ctx: Context, limits) -> list:
    f, a = ctx.facts, ctx.analyses
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    if f.tokens_per_param is None:
        return [Skip(RULE.code, "parameter count or tokens seen unknown")]
    if a.finetune[0] is True:
        return [
            Skip(RULE.code, f"a fine-tune ({a.finetune[1]}): tokens per parameter is a pretraining measure")
        ]
    effective = f.tokens_per_param * limits.byte_token_worth if a.byte_level else f.tokens_per_param
    if effective < limits.warn_tokens_per_param:
        return []
    if f.planned:
        return [_plan(ctx, limits, effective)]
    vt = a.trend
    if vt is None:
        return [Skip(RULE.code, "too few evals for a trend")]
    if a.gap is not None and a.gap.memorising:
        return [Skip(RULE.code, "val clearly above train: memorising, not capacity-bound")]
    level = vt.end_value
    relative_gain = (-vt.change / level) if level > 0 else 0.0
    flattening = vt.verdict != "improving" or relative_gain < limits.max_relative_gain
    if not flattening:
        return [Skip(RULE.code, "still improving quickly")]
    optimal = limits.chinchilla_tokens_per_param
    evidence = {
        "n_params": f.n_params,
        "tokens_seen": f.tokens_seen,
        "tokens_per_param": f.tokens_per_param,
        "chinchilla_optimal_tokens_per_param": optimal,
        "train_val_gap": a.gap.value if a.gap else None,
        "recent_change": vt.change,
        "recent_window_steps": f"{vt.start_step}-{vt.end_step}",
        "relative_gain_recent": relative_gain,
        "trend_rests_on": a.trend_rests_on,
    }
    message = (
        f"{fmt_tokens(f.tokens_seen)} tokens on {fmt_tokens(f.n_params)} parameters is "
        f"{f.tokens_per_param:.0f} tokens per parameter, {f.tokens_per_param / optimal:.0f}x "
        f"Chinchilla's ~{optimal:.0f}; {a.trend_rests_on} moved {vt.change:+.3f} over steps "
        f"{vt.start_step:,}-{vt.end_step:,}"
        + (" with train ~= val" if a.gap is not None else "")
        + ". The model's size, not the data, is the likely limit."
    )
    if a.chinchilla_terms:
        e, model_term, data_term = a.chinchilla_terms
        evidence.update(
            {
                "chinchilla_loss": a.chinchilla_loss,
                "chinchilla_model_term": model_term,
                "chinchilla_data_term": data_term,
            }
        )
        if model_term > data_term:
            message += (
                f" Chinchilla's formula puts L(N, D) near {a.chinchilla_loss:.2f} with the "
                f"model-size term ({model_term:.2f}) above the data term ({data_term:.2f}) "
                "(other data and tokenizer: only roughly comparable)."
            )
    if a.byte_level:
        evidence["bpe_equivalent_tokens_per_param"] = effective
        message += (
            f" At {f.vocab_size} symbols a token is a character or byte, worth about a quarter "
            f"of a BPE token: ~{effective:.0f} BPE-equivalent tokens per parameter."
        )
    confidence = STRONG if effective >= limits.error_tokens_per_param else LIKELY
    mid = _mid_schedule(a)
    if mid:
        confidence -= DOUBT
        message += " " + mid
        evidence["lr_now_over_min"] = a.schedule.lr_now_over_min
    # an overtrained model that still improves is a choice (inference-optimal training), not an error
    severity = (
        "error"
        if effective >= limits.error_tokens_per_param
        and not mid
        and relative_gain < limits.max_relative_gain / 2
        else "warning"
    )
    return [
        finding(
            RULE,
            severity=severity,
            confidence=confidence,
            title=f"Model is small for its data: {f.tokens_per_param:.0f} tokens per parameter",
            message=message,
            evidence=evidence,
            fixes=_fixes(ctx, a.byte_level, limits, observed_loss=level),
        )
    ]


def _plan(ctx: Context, limits, effective: float):
    """A plan past `warn_tokens_per_param`: a fact (info) at hundreds of tokens per parameter,
    a warning at `error_tokens_per_param` (thousands), where the model's size caps the loss
    whatever the data. No curve yet: nothing shows the flattening, so it is a prediction."""
    f, a = ctx.facts, ctx.analyses
    optimal = limits.chinchilla_tokens_per_param
    capped = effective >= limits.error_tokens_per_param
    evidence = {
        "n_params": f.n_params,
        "tokens_planned": f.tokens_seen,
        "tokens_per_param": f.tokens_per_param,
        "chinchilla_optimal_tokens_per_param": optimal,
    }
    message = (
        f"{fmt_tokens(f.tokens_seen)} planned tokens on {fmt_tokens(f.n_params)} parameters is "
        f"{f.tokens_per_param:.0f} tokens per parameter, {f.tokens_per_param / optimal:.0f}x "
        f"Chinchilla's compute-optimal ~{optimal:.0f}"
    )
    if a.byte_level:
        evidence["bpe_equivalent_tokens_per_param"] = effective
        message += (
            f" (~{effective:.0f} BPE-equivalent: at {f.vocab_size} symbols a token is a character or byte)"
        )
    message += (
        ": long before the end the model's size, not the data, will limit the loss, and the same "
        "compute would train a bigger model further."
        if capped
        else ": past compute-optimal, so part of the compute buys little; fine when a small "
        "model is the point (cheap to run)."
    )
    if a.chinchilla_terms:
        e, model_term, data_term = a.chinchilla_terms
        evidence.update(
            {
                "chinchilla_loss": a.chinchilla_loss,
                "chinchilla_model_term": model_term,
                "chinchilla_data_term": data_term,
            }
        )
        message += (
            f" Chinchilla's L(N, D) at the end is ~{a.chinchilla_loss:.2f}, its model-size term "
            f"({model_term:.2f}) {'above' if model_term > data_term else 'below'} the data term "
            f"({data_term:.2f}) (other data and tokenizer: only roughly comparable)."
        )
    return finding(
        RULE,
        severity="warning" if capped else "info",
        confidence=LIKELY if capped else POSSIBLE,
        title=f"Model is small for its planned data: {f.tokens_per_param:.0f} tokens per parameter",
        message=message,
        evidence=evidence,
        fixes=_fixes(ctx, a.byte_level, limits),
    )


def _mid_schedule(a) -> str:
    """A caveat when the run is judged before its LR has annealed: the flattening may be the
    schedule's, and the anneal still ahead will lower the loss."""
    s = a.schedule
    if a.lr_state != "annealing" or s is None:
        return ""
    left = (
        f"{s.lr_now_over_min:.1f}x min_lr"
        if s.lr_now_over_min is not None
        else f"{s.lr_now_over_peak:.0%} of its peak"
    )
    return (
        f"The LR is still {left}, so part of the flattening is the schedule's and the anneal "
        "ahead will lower the loss: judge the size after it."
    )


def _fixes(ctx: Context, byte_level: bool, limits, observed_loss: float | None = None) -> list[str]:
    f = ctx.facts
    # Repeated tokens count up to ~4 epochs (Muennighoff et al.)
    usable = f.tokens_seen if not f.dataset_tokens else min(f.tokens_seen, REPEAT_LIMIT * f.dataset_tokens)
    per_param = limits.chinchilla_tokens_per_param / (limits.byte_token_worth if byte_level else 1)
    target = usable / per_param
    fixes = [
        f"size the model to the data: ~{per_param:.0f} tokens per parameter of "
        f"{fmt_tokens(usable)} usable tokens is ~{fmt_tokens(target)} parameters"
        + (" (unique data counted up to 4 epochs)" if f.dataset_tokens else "")
    ]
    bigger = _bigger_model(ctx, target, limits, observed_loss)
    if bigger:
        fixes.insert(0, bigger)
    return fixes


REPEAT_LIMIT = 4  # epochs of repeated data that count as new (Muennighoff et al. 2023)


def _bigger_model(ctx: Context, target_params: float, limits, observed_loss: float | None) -> str | None:
    """A bigger model towards the compute-optimal size, in the run's own config keys: twice the
    layers and the width (~8x the block parameters) when the target is that far, else twice the
    width (~4x), else 1.5x the width (~2.25x); heads of 64 dimensions where the width allows.
    It must train where this run trained: the memory this run's model needed at its batch is
    known to fit, so a bigger one gets the micro-batch that keeps within it."""
    shape = _shape(ctx)
    if shape is None or not ctx.facts.n_params:
        return None
    growth = target_params / ctx.facts.n_params
    if growth >= DEEPER_AND_WIDER:
        layers, width, how = 2 * shape.n_layer, 2 * shape.n_embd, "~8x"
    elif growth >= WIDER:
        layers, width, how = shape.n_layer, 2 * shape.n_embd, "~4x"
    else:
        heads_now = max(1, shape.n_head)
        layers, width, how = shape.n_layer, (shape.n_embd * 3 // 2) // heads_now * heads_now, "~2.25x"
        if width <= shape.n_embd:
            return None
    heads = width // HEAD_DIM if width % HEAD_DIM == 0 and width >= HEAD_DIM else max(1, shape.n_head)
    if width % heads:
        heads = shape.n_head
    bigger = replace(shape, n_layer=layers, n_embd=width, n_head=heads)
    change = (
        {"n_layer": layers, "n_embd": width, "n_head": heads}
        if layers != shape.n_layer
        else {"n_embd": width, "n_head": heads}
    )
    advice = f"{ctx.setting(**change)} ({how} the block parameters, towards ~{fmt_tokens(target_params)})"
    effect = _expected_effect(ctx, bigger, limits, observed_loss)
    return advice + effect + _memory_clause(ctx, shape, bigger)


def _expected_effect(ctx: Context, bigger: GPTShape, limits, observed_loss: float | None) -> str:
    """What the bigger model should buy at the same tokens, by Chinchilla's L(N, D): only for
    BPE vocabularies (its constants are a 32k BPE tokenizer's) and only where the law's loss for
    this run is close to the run's own (`chinchilla_agreement`); rough even then. A plan has no
    loss yet to check the law against, so it gets no number."""
    a, f = ctx.analyses, ctx.facts
    if not a.chinchilla_loss or not f.n_params or not f.tokens_seen or not observed_loss:
        return ""
    if abs(a.chinchilla_loss - observed_loss) > limits.chinchilla_agreement * observed_loss:
        return ""
    bigger_params = nanogpt_param_count(
        bigger.n_layer, bigger.n_head, bigger.n_embd, bigger.vocab_size, bigger.block_size, bigger.bias
    ).printed_style  # counted as this run's n_params is, so the two sizes compare
    effect = chinchilla_loss(bigger_params, f.tokens_seen) - chinchilla_loss(f.n_params, f.tokens_seen)
    return f"; expected effect {effect:+.2f} at the same tokens (Chinchilla L(N, D), rough)"


def _shape(ctx: Context) -> GPTShape | None:
    config = ctx.config
    if not ctx.analyses.config_known or not ctx.facts.vocab_size:
        return None
    try:
        return GPTShape(
            int(config.get("n_layer")),
            int(config.get("n_head")),
            int(config.get("n_embd")),
            int(ctx.facts.vocab_size),
            int(config.get("block_size")),
            bool(config.get("bias")),
            float(config.get("dropout") or 0.0),
        )
    except (TypeError, ValueError):
        return None


def _memory_clause(ctx: Context, shape: GPTShape, bigger: GPTShape) -> str:
    """Whether the bigger model trains where this one did (or, for a plan, on the GPU it names),
    and the batch split that makes it."""
    config = ctx.config
    try:
        batch, accumulation = int(config.get("batch_size")), int(config.get("gradient_accumulation_steps"))
    except (TypeError, ValueError):
        return "; check it fits your GPU at this batch"
    dtype = str(config.get("dtype") or "bfloat16")
    here = training_memory(shape, batch, dtype).total_gib * ALLOCATOR_OVERHEAD
    named = _named_device(ctx)
    # else a device with exactly the memory this run needed: what it ran on had at least that much
    room = named or Device("this run's GPU", here + CUDA_CONTEXT_GIB)
    where = f"the {named.name} ({named.usable_gib:.1f} GiB usable)" if named else "the same GPU"
    fit = fit_on_device(bigger, batch, accumulation, room, dtype)
    needed = fit.estimate.total_gib * ALLOCATOR_OVERHEAD
    if needed < SMALL_GIB:
        return ""  # a model this small fits anywhere a GPU run does
    if fit.fits:
        if named:
            return f"; it needs ~{needed:.1f} GiB at batch_size {batch}, which fits {where}"
        return f"; it needs ~{needed:.1f} GiB at batch_size {batch}, no more than {_this(ctx)} model {'needs' if ctx.facts.planned else 'did'}"
    against = "" if named else f" against ~{here:.1f} GiB for {_this(ctx)} model"
    if fit.micro_batch:
        return (
            f"; it needs ~{needed:.1f} GiB at batch_size {batch}{against}, so to train on {where} use "
            f"{ctx.setting(batch_size=fit.micro_batch, gradient_accumulation_steps=fit.gradient_accumulation_steps)} "
            "(the same tokens per iteration)"
        )
    if named:
        return (
            f"; it needs ~{needed:.1f} GiB at batch_size {batch} and does not fit {where} even at "
            "batch_size 1 (activation checkpointing or a smaller step up)"
        )
    return (
        f"; it needs ~{needed:.1f} GiB at batch_size {batch} and more than {_this(ctx)} model needed "
        "even at batch_size 1: it may not fit on the same GPU (activation checkpointing or a "
        "smaller step up)"
    )


def _named_device(ctx: Context) -> Device | None:
    """The GPU a plan names (--gpu, or its config's comments)."""
    if not ctx.facts.planned or not ctx.facts.gpu:
        return None
    try:
        return parse_device(ctx.facts.gpu)
    except UnknownDevice:
        return None


def _this(ctx: Context) -> str:
    return "the planned" if ctx.facts.planned else "this run's"


# How far the compute-optimal size is from this model decides the step suggested.
DEEPER_AND_WIDER, WIDER = 8, 4
SMALL_GIB = 1  # below a GiB of training memory a model fits any GPU: no batch advice
HEAD_DIM = 64  # GPT-2's head size: a wider model gets more heads of 64, not wider heads
