"""PD203: the model is small for the tokens it has seen and the curve is flattening."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding, fmt_tokens, train_val_gap

INFO = RuleInfo(
    code="PD203", name="capacity-limited", category="capacity_limited", severity="warning",
    summary="Tokens per parameter far above ~20 with a flattening curve and train ~= val.",
    what="Compares tokens seen per parameter with Chinchilla's compute-optimal ~20, checks that "
         "train ~= val (not memorising) and that the recent improvement is small, and reports "
         "Chinchilla's L(N, D) with which term dominates.",
    why="Past a few hundred tokens per parameter a model is near what its size allows: more "
        "steps buy little, a bigger model buys a lot.",
    fix="A bigger model (n_layer / n_embd) for the same tokens; fewer tokens per parameter.",
    reference="Hoffmann et al. 2022 (Chinchilla): ~20 tokens/parameter; L = E + A/N^a + B/D^b.",
    thresholds={"warn_tokens_per_param": 100.0, "error_tokens_per_param": 1000.0,
                "max_relative_gain": 0.03},
)


def check(ctx: Context, thresholds: dict) -> list:
    f, a = ctx.facts, ctx.analyses
    if f.tokens_per_param is None:
        return [Skip(INFO.code, "parameter count or tokens seen unknown")]
    # Chinchilla's ~20 is for BPE tokens (about 4 bytes each); a character- or byte-level token
    # carries about a quarter as much, so its tokens per parameter count for a quarter.
    byte_level = f.vocab_size is not None and f.vocab_size <= 256
    effective = f.tokens_per_param / 4 if byte_level else f.tokens_per_param
    if effective < thresholds["warn_tokens_per_param"]:
        return []
    vt = a.val_trend
    if vt is None:
        return [Skip(INFO.code, "too few val evals for a trend")]
    noise = a.eval_noise or 0.0
    gap = train_val_gap(ctx)
    if gap is not None and gap > max(0.05, 4 * noise):
        return [Skip(INFO.code, "val clearly above train: memorising, not capacity-bound")]
    level = vt.end_value
    relative_gain = (-vt.change / level) if level > 0 else 0.0
    flattening = vt.verdict != "improving" or relative_gain < thresholds["max_relative_gain"]
    if not flattening:
        return [Skip(INFO.code, "still improving quickly")]
    evidence = {"n_params": f.n_params, "tokens_seen": f.tokens_seen,
                "tokens_per_param": f.tokens_per_param, "chinchilla_optimal_tokens_per_param": 20,
                "train_val_gap": gap, "val_change_recent": vt.change,
                "recent_window_steps": f"{vt.start_step}-{vt.end_step}",
                "relative_gain_recent": relative_gain}
    message = (f"{fmt_tokens(f.tokens_seen)} tokens on {fmt_tokens(f.n_params)} parameters is "
               f"{f.tokens_per_param:.0f} tokens per parameter, {f.tokens_per_param / 20:.0f}x "
               f"Chinchilla's ~20; val moved {vt.change:+.4f} over steps {vt.start_step:,}-"
               f"{vt.end_step:,} with train ~= val. The model's size, not the data, is the likely limit.")
    if a.chinchilla_terms and a.chinchilla_loss:
        e, model_term, data_term = a.chinchilla_terms
        evidence.update({"chinchilla_loss": a.chinchilla_loss, "chinchilla_model_term": model_term,
                         "chinchilla_data_term": data_term})
        if model_term > data_term:
            message += (f" Chinchilla's formula puts L(N, D) near {a.chinchilla_loss:.2f} with the "
                        f"model-size term ({model_term:.2f}) above the data term ({data_term:.2f}) "
                        "(different data and tokenizer, so only roughly comparable).")
    if byte_level:
        evidence["bpe_equivalent_tokens_per_param"] = effective
        message += (f" (At {f.vocab_size} symbols a token is a character or byte, worth about a quarter "
                    f"of a BPE token: ~{effective:.0f} BPE-equivalent tokens per parameter.)")
    # an overtrained model that still improves is a choice (inference-optimal training), not an error
    severity = ("error" if effective >= thresholds["error_tokens_per_param"]
                and relative_gain < thresholds["max_relative_gain"] / 2 else "warning")
    confidence = 0.85 if severity == "error" else 0.7
    bigger = _bigger_model(ctx)
    return [finding(
        INFO, severity=severity, confidence=confidence,
        title=f"Model is small for its data: {f.tokens_per_param:.0f} tokens per parameter",
        message=message, evidence=evidence,
        fixes=[bigger, _compute_optimal(f, byte_level)],
        weight=1.0,
    )]


def _bigger_model(ctx: Context) -> str:
    if not ctx.analyses.config_known:
        return "a bigger model"
    try:
        n_layer, n_embd = int(ctx.config.get("n_layer")), int(ctx.config.get("n_embd"))
        n_head = int(ctx.config.get("n_head"))
    except (TypeError, ValueError):
        return "a bigger model"
    return (f"--n_layer={n_layer * 2} --n_embd={n_embd * 2} --n_head={n_head * 2} "
            "(roughly 8x the non-embedding parameters; mind the data: see the next fix)")


def _compute_optimal(f, byte_level: bool) -> str:
    """The Chinchilla-sized model for the data there is: repeated tokens count up to ~4 epochs."""
    usable = f.tokens_seen if not f.dataset_tokens else min(f.tokens_seen, 4 * f.dataset_tokens)
    per_param = 80 if byte_level else 20
    return (f"size the model to the data: ~{per_param} tokens per parameter of "
            f"{fmt_tokens(usable)} usable tokens is ~{fmt_tokens(usable / per_param)} parameters"
            + (" (unique data counted up to 4 epochs)" if f.dataset_tokens else ""))
