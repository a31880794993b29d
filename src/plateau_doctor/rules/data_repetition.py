"""PD202: the run has seen its training data many times over."""

from __future__ import annotations

from ..model import RuleInfo, Threshold
from .base import CERTAIN, LIKELY, TRAINS_NOTHING, Context, Skip, finding, fmt_tokens

RULE = RuleInfo(
    code="PD202",
    name="data-repetition",
    category="data_repetition",
    severity="warning",
    summary="Tokens seen exceed the training split many times over (epochs), and it shows.",
    what="Divides tokens seen (iterations x tokens per iteration) by the training split's size "
    "(--dataset-tokens, --data-dir's train.bin, or the stock size of a named nanoGPT dataset); "
    "where the log counts its own epochs (HF Trainer's 'epoch') and the size is unknown, "
    "reads that count. Past `warn_epochs` it is a warning when the train/val gap shows the "
    "model memorising the repeated text (an error past `error_epochs`), and a fact (info) "
    "while train ~= val: repetition then costs efficiency, not quality. Fine-tunes run "
    "several epochs by design and are held to `finetune_epochs` instead.",
    why="Up to about 4 epochs repeated data is nearly as good as new; beyond that each extra pass "
    "is worth less and less and the model starts to memorise.",
    fix="More data; or fewer iterations (max_iters for ~4 epochs); or more regularisation.",
    example="WARNING PD202 32.6 epochs over a 1M-token dataset",
    reference="Muennighoff et al. 2023, Scaling Data-Constrained Language Models.",
    thresholds=(
        Threshold(
            "warn_epochs",
            4.0,
            "epochs",
            "Muennighoff et al.: up to ~4 epochs repeated data is nearly as valuable as new data",
        ),
        Threshold(
            "error_epochs",
            40.0,
            "epochs",
            "Muennighoff et al.: towards ~40 epochs extra "
            "passes are worth almost nothing: the compute is wasted",
        ),
        Threshold(
            "finetune_epochs",
            5.0,
            "epochs",
            "fine-tunes usually run 2-5 epochs (LLaMA-Factory, FastChat, HF defaults of 3)",
        ),
    ),
    weight=0.7,
    log_free=True,
)


def check(ctx: Context, limits) -> list:
    f, a = ctx.facts, ctx.analyses
    if ctx.trains_nothing:
        return [Skip(RULE.code, TRAINS_NOTHING)]
    if f.planned:
        return _plan(ctx, limits)
    if f.epochs is None:
        why = (
            "dataset size unknown (pass --dataset-tokens or --data-dir)"
            if f.tokens_seen
            else "tokens seen unknown"
        )
        return [Skip(RULE.code, why)]
    finetune = a.finetune[0] is True
    limit = limits.finetune_epochs if finetune else limits.warn_epochs
    if f.epochs <= limit:
        return []
    gap = a.gap
    memorising = gap is not None and gap.memorising
    if finetune:
        severity = "info"
    elif memorising:
        severity = "error" if f.epochs > limits.error_epochs else "warning"
    else:
        severity = "warning" if f.epochs > limits.error_epochs and gap is None else "info"
    if f.dataset_tokens and f.tokens_per_iter:
        iters_for_limit = int(limit * f.dataset_tokens / f.tokens_per_iter)
        title = f"{f.epochs:.1f} epochs over a {fmt_tokens(f.dataset_tokens)}-token dataset"
        how = (
            f"{fmt_tokens(f.tokens_seen)} tokens seen over a training split of "
            f"{fmt_tokens(f.dataset_tokens)} tokens ({f.sources.get('dataset_tokens')}) is "
            f"{f.epochs:.1f} passes"
        )
    else:  # the log counts its epochs itself (HF Trainer): steps are proportional to them
        iters_for_limit = int(limit * (f.last_iter or 0) / f.epochs)
        title = f"{f.epochs:.1f} epochs over the training data"
        how = f"The log counts {f.epochs:.1f} passes over its training data ({f.sources.get('epochs')})"
    if finetune:
        message = (
            how + f"; fine-tunes usually run 2-{limits.finetune_epochs:.0f} epochs. Pick the "
            "checkpoint by its eval loss rather than the last one."
        )
    else:
        message = (
            how
            + f"; beyond ~{limits.warn_epochs:.0f} repeated data buys less and less"
            + _memorising_clause(gap, memorising)
        )
    return [
        finding(
            RULE,
            severity=severity,
            confidence=CERTAIN if memorising else LIKELY,
            title=title,
            message=message,
            evidence={
                "tokens_seen": f.tokens_seen,
                "dataset_tokens": f.dataset_tokens,
                "epochs": f.epochs,
                "tokens_per_iter": f.tokens_per_iter,
                "train_val_gap": gap.value if gap else None,
                "gap_threshold": gap.threshold if gap else None,
                "fine_tune": finetune or None,
            },
            fixes=_fixes(ctx, limit, iters_for_limit, finetune),
        )
    ]


def _fixes(ctx: Context, limit: float, iters_for_limit: int, finetune: bool) -> list[str]:
    f = ctx.facts
    stalled = ctx.analyses.trend is not None and ctx.analyses.trend.verdict != "improving"
    if finetune:
        fixes = [f"train about {limit:.0f} epochs and keep the checkpoint with the best eval loss"]
    else:
        fixes = [f"more training data (x{f.epochs / limit:.0f} to stay within {limit:.0f} epochs)"]
    # Cutting the run short is advice only once the loss has stopped improving, and only if it
    # keeps a fair share of the training.
    if stalled and f.last_iter and iters_for_limit >= f.last_iter / 4 and not finetune:
        stop = (
            ctx.setting(max_iters=iters_for_limit, lr_decay_iters=iters_for_limit)
            if ctx.nanogpt_flags
            else f"stop at step {iters_for_limit:,}, with the LR schedule ending there"
        )
        fixes.append(f"{stop} ({limit:.0f} epochs at this batch size)")
    return fixes


def _memorising_clause(gap, memorising: bool) -> str:
    """What the train/val gap says about memorising, from what the log actually has."""
    if memorising:
        return (
            f", and the train/val gap of {gap.value:.3f} (above {gap.threshold:.3f}, what noise "
            "and split differences explain) shows the model memorising it."
        )
    if gap is None:
        return "; the log has no val loss to show whether the model memorises it."
    if gap.val_below_train:
        return (
            f"; train sits {-gap.value:.3f} above val: no memorising (the val split is easier, "
            "or train is measured differently), so the repetition costs efficiency, not quality."
        )
    return (
        f". Train ~= val (gap {gap.value:+.3f}): no memorising yet, so the repetition costs "
        "efficiency, not quality."
    )


def _plan(ctx: Context, limits) -> list:
    """A plan's epochs: max_iters x tokens per iteration over the dataset (or the epochs the
    config sets). Nothing can show memorising yet, so past `warn_epochs` it is a fact (info),
    and a warning only past `error_epochs`, where extra passes are worth almost nothing."""
    f, a = ctx.facts, ctx.analyses
    if f.epochs is None:
        why = (
            "dataset size unknown (pass --dataset-tokens or --data-dir)"
            if f.tokens_seen
            else "tokens planned unknown"
        )
        return [Skip(RULE.code, why)]
    finetune = a.finetune[0] is True
    limit = limits.finetune_epochs if finetune else limits.warn_epochs
    if f.epochs <= limit:
        return []
    severity = "warning" if f.epochs > limits.error_epochs and not finetune else "info"
    if f.dataset_tokens and f.tokens_per_iter:
        title = f"{f.epochs:.0f} planned epochs over a {fmt_tokens(f.dataset_tokens)}-token dataset"
        how = (
            f"max_iters={f.max_iters:,} x {f.tokens_per_iter:,} tokens per iteration plans "
            f"{fmt_tokens(f.tokens_seen)} tokens over a training split of {fmt_tokens(f.dataset_tokens)} "
            f"tokens ({f.sources.get('dataset_tokens')}): {f.epochs:.1f} passes"
        )
    else:
        title = f"{f.epochs:g} planned epochs over the training data"
        how = f"The config plans {f.epochs:g} passes over its training data ({f.sources.get('epochs')})"
    if finetune:
        message = (
            how + f"; fine-tunes usually run 2-{limits.finetune_epochs:.0f} epochs. Keep the checkpoint "
            "with the best eval loss rather than the last one."
        )
    else:
        message = (
            how + f"; beyond ~{limits.warn_epochs:.0f} repeated data buys less and less, and towards "
            f"~{limits.error_epochs:.0f} extra passes are worth almost nothing and the model starts "
            "to memorise: watch val, which only the run can show."
        )
    fixes = (
        [f"train about {limit:.0f} epochs and keep the checkpoint with the best eval loss"]
        if finetune
        else [f"more training data (x{f.epochs / limit:.0f} to stay within {limit:.0f} epochs)"]
    )
    if severity == "warning" and f.dataset_tokens and f.tokens_per_iter:
        useful = int(limits.error_epochs * f.dataset_tokens / f.tokens_per_iter)
        stop = (
            ctx.setting(max_iters=useful, lr_decay_iters=useful)
            if ctx.nanogpt_flags
            else f"stop at step {useful:,}, with the LR schedule ending there"
        )
        fixes.append(f"{stop} ({limits.error_epochs:.0f} epochs: past them extra passes buy almost nothing)")
    if ctx.nanogpt_flags and ctx.config.get("always_save_checkpoint") and not finetune:
        fixes.append(
            ctx.setting(always_save_checkpoint=False) + " keeps the checkpoint with the best val loss, "
            "not the last, if the model memorises"
        )
    return [
        finding(
            RULE,
            severity=severity,
            confidence=LIKELY,
            title=title,
            message=message,
            evidence={
                "tokens_planned": f.tokens_seen,
                "dataset_tokens": f.dataset_tokens,
                "epochs_planned": f.epochs,
                "tokens_per_iter": f.tokens_per_iter,
                "max_iters": f.max_iters,
                "fine_tune": finetune or None,
            },
            fixes=fixes,
        )
    ]
