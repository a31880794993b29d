"""PD202: the run has seen its training data many times over."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding, fmt_tokens, train_val_gap

INFO = RuleInfo(
    code="PD202", name="data-repetition", category="data_repetition", severity="warning",
    summary="Tokens seen exceed the training split many times over (epochs).",
    what="Divides tokens seen (iterations x tokens per iteration) by the training split's size "
         "(--dataset-tokens, --data-dir's train.bin, or the stock size of a named nanoGPT dataset); "
         "where the log counts its own epochs (HF Trainer's 'epoch') and the size is unknown, "
         "reads that count.",
    why="Up to about 4 epochs repeated data is nearly as good as new; beyond that each extra pass "
        "is worth less and less and the model starts to memorise.",
    fix="More data; or fewer iterations (max_iters for ~4 epochs); or more regularisation.",
    reference="Muennighoff et al. 2023, Scaling Data-Constrained Language Models.",
    thresholds={"warn_epochs": 4.0, "error_epochs": 40.0},
)


def check(ctx: Context, thresholds: dict) -> list:
    f = ctx.facts
    if f.epochs is None:
        why = "dataset size unknown (pass --dataset-tokens or --data-dir)" if f.tokens_seen else \
              "tokens seen unknown"
        return [Skip(INFO.code, why)]
    if f.epochs <= thresholds["warn_epochs"]:
        return []
    # Repetition hurts through memorising; while train ~= val it is waste, not damage.
    gap = train_val_gap(ctx)
    noise = ctx.analyses.eval_noise or 0.0
    memorising = "overfitting" in ctx.raised_categories() or (gap is not None and gap > max(0.05, 4 * noise))
    severity = "error" if f.epochs > thresholds["error_epochs"] and memorising else "warning"
    if f.dataset_tokens and f.tokens_per_iter:
        iters_for_4 = int(thresholds["warn_epochs"] * f.dataset_tokens / f.tokens_per_iter)
        title = f"{f.epochs:.1f} epochs over a {fmt_tokens(f.dataset_tokens)}-token dataset"
        how = (f"{fmt_tokens(f.tokens_seen)} tokens seen over a training split of "
               f"{fmt_tokens(f.dataset_tokens)} tokens ({f.sources.get('dataset_tokens')}) is "
               f"{f.epochs:.1f} passes")
    else:      # the log counts its epochs itself (HF Trainer): steps are proportional to them
        iters_for_4 = int(thresholds["warn_epochs"] * (f.last_iter or 0) / f.epochs)
        title = f"{f.epochs:.1f} epochs over the training data"
        how = f"The log counts {f.epochs:.1f} passes over its training data ({f.sources.get('epochs')})"
    return [finding(
        INFO, severity=severity, confidence=0.9,
        title=title,
        message=(how + f"; beyond ~{thresholds['warn_epochs']:.0f} repeated data buys less and less"
                 + _memorising_clause(gap, memorising, noise)),
        evidence={"tokens_seen": f.tokens_seen, "dataset_tokens": f.dataset_tokens,
                  "epochs": f.epochs, "tokens_per_iter": f.tokens_per_iter, "train_val_gap": gap},
        fixes=_fixes(ctx, thresholds["warn_epochs"], iters_for_4),
        weight=0.7,
    )]


def _fixes(ctx: Context, warn_epochs: float, iters_for_limit: int) -> list[str]:
    f = ctx.facts
    fixes = [f"more training data (x{f.epochs / warn_epochs:.0f} to stay within {warn_epochs:.0f} epochs)"]
    # Repetition past ~4 epochs gives diminishing returns, not harm: cutting the run short is
    # advice only once val has stopped improving, and only if it keeps a fair share of training.
    vt = ctx.analyses.val_trend
    stalled = "overfitting" in ctx.raised_categories() or (vt is not None and vt.verdict != "improving")
    if stalled and f.last_iter and iters_for_limit >= f.last_iter / 4:
        if ctx.parsed.format == "nanogpt":
            fixes.append(f"--max_iters={iters_for_limit} --lr_decay_iters={iters_for_limit} "
                         f"({warn_epochs:.0f} epochs at this batch size)")
        else:
            fixes.append(f"stop at step {iters_for_limit:,} ({warn_epochs:.0f} epochs), with the LR "
                         "schedule ending there")
    return fixes


def _memorising_clause(gap: float | None, memorising: bool, noise: float) -> str:
    """What the train/val gap says about memorising, from what the log actually has."""
    if memorising:
        return (f", and the train/val gap of {gap:.3f} shows the model memorising it." if gap is not None
                else "; the model is memorising it.")
    if gap is None:
        return "; the log has no val loss to show whether the model memorises it."
    if gap < -max(0.05, 4 * noise):
        return (f"; train sits {-gap:.3f} above val, which repetition does not explain (a train "
                "loss computed differently from val?).")
    return ", though train ~= val shows no memorising yet."
