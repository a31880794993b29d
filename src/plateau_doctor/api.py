"""The Python API: the same functions the CLI calls.

>>> from plateau_doctor import diagnose
>>> report = diagnose("examples/logs/h200_shakespeare_char_tiny_model.log")
>>> [f.category for f in report.findings if f.raised][:1]
['capacity_limited']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import ParsedLog, Report, ResolvedConfig, RunFacts
from .read import open_log

if TYPE_CHECKING:
    from .analyse import Analyses
    from .analyse.live import LiveMemo


def parse(path: str | None, log_format: str = "auto", columns: dict[str, str] | None = None) -> ParsedLog:
    """Read and parse one log (a path, a .gz path, or None/'-' for stdin) into its loss table; a
    tracker store (stores/: TensorBoard, MLflow, trackio, W&B, HF output dir) is read as one run.
    `columns` maps loss-table roles to CSV/JSONL column names (step=_step,train=train/loss,...)."""
    from .parsers import UnknownFormat, parse_source
    from .parsers.tabular import parse_with_columns
    from .read import InputError
    from .stores import is_store

    if is_store(path, log_format):  # a directory, a tracker's database or event file, a URL
        from .stores import read_store

        return read_store(path, log_format, columns)
    source = open_log(path)
    try:
        if columns:
            return parse_with_columns(source.lines, columns)
        return parse_source(source, log_format)
    except (UnknownFormat, ValueError) as exc:  # name the file, as every input error does
        raise InputError(source.name, str(exc)) from None


def split_runs(
    path: str | None, parsed: ParsedLog, log_format: str = "auto", columns: dict[str, str] | None = None
) -> list[ParsedLog]:
    """The runs of a parsed log: [parsed] for one run; for a file of several runs from scratch
    (meta.runs), the file parsed again into one loss table per run (parsers.parse_runs). stdin
    cannot be read twice: it stays on its last run, and its note says so."""
    if len(parsed.meta.runs) < 2 or columns or path in (None, "", "-"):
        return [parsed]
    from .parsers import parse_runs

    source = open_log(path)
    try:
        return parse_runs(source, log_format)
    finally:
        source.close()


def diagnose_runs(path: str | None = None, config: str | None = None, **options: Any) -> list[Report]:
    """`diagnose` of each run in a file that holds several runs from scratch (seeds run one after
    another, restarts at step 0), in file order, each report saying which run it is
    (`run_in_file`); a one-run log gives [diagnose(path, ...)]. `diagnose` alone reports the
    last run of such a file. Takes diagnose's options."""
    parsed = parse(path, options.get("log_format", "auto"), options.get("columns"))
    runs = split_runs(path, parsed, options.get("log_format", "auto"), options.get("columns"))
    return [diagnose(path, config, **{**options, "parsed": run}) for run in runs]


@dataclass
class Examination:
    """Everything the pipeline computed for one log: what plots and `watch` draw on."""

    parsed: ParsedLog
    config: ResolvedConfig
    facts: RunFacts
    analyses: Analyses
    report: Report


def diagnose(
    path: str | None = None,
    config: str | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    data_dir: str | None = None,
    log_format: str = "auto",
    settings=None,
    parsed: ParsedLog | None = None,
    columns: dict[str, str] | None = None,
) -> Report:
    """Diagnose one log: parse, resolve the config, analyse, run the rules, rank the findings.

    `config` is a nanoGPT .py / .yaml / .json / .toml file (read, never executed); `overrides`
    are --set values; `dataset_tokens` the training split's size ('9.2M', 1003854) or `data_dir`
    a nanoGPT data directory. `parsed` skips reading when the caller already has the loss table.
    """
    examination = examine(
        path,
        config,
        overrides=overrides,
        dataset_tokens=dataset_tokens,
        data_dir=data_dir,
        log_format=log_format,
        settings=settings,
        parsed=parsed,
        columns=columns,
    )
    # kept for the notebook (loss_table(), the plot); the CLI's reports, made by examine() in
    # worker processes, do not carry it back
    examination.report.examination = examination
    return examination.report


def examine(
    path: str | None = None,
    config: str | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    data_dir: str | None = None,
    log_format: str = "auto",
    settings=None,
    parsed: ParsedLog | None = None,
    columns: dict[str, str] | None = None,
    live: LiveMemo | None = None,
) -> Examination:
    """`diagnose`, keeping the intermediate results (loss table, config, facts, analyses).
    `live`: one per growing log, handed to each of its diagnoses (watch), which then read only
    the rows added since the one before (analyse/live.py); the result is the same. The tables
    must be snapshots of one growing table (LossTableBuilder's): rows are added, or rewritten
    into new memory, never changed in place."""
    from .analyse import Analyses
    from .analyse.thresholds import analysis_limits
    from .report.verdict import write_verdict
    from .resolve.config import resolve_config
    from .resolve.facts import compute_facts, dataset_size
    from .rules import Context, run_rules

    if parsed is None:
        parsed = parse(path, log_format, columns)
    resolved = resolve_config(parsed, config, overrides)
    dataset = dataset_size(dataset_tokens, data_dir, resolved, resolved.is_known(), parsed.meta.vocab_size)
    facts = compute_facts(parsed, resolved, dataset)
    overrides_of_analyses = settings.thresholds.get("ANALYSES") if settings is not None else None
    analyses = Analyses(parsed, resolved, facts, analysis_limits(overrides_of_analyses), live)
    fill_analysed_facts(facts, analyses)
    outcome = run_rules(Context(parsed, resolved, facts, analyses), settings)
    notes = list(parsed.meta.notes)
    if dataset and dataset.note:
        notes.append(dataset.note)
    if analyses.eval_noise_method:
        notes.append(f"noise of one eval: {analyses.eval_noise:.2g}, from {analyses.eval_noise_method}")
    if facts.mode == "finetune":
        notes.append(
            f"read as a fine-tune ({analyses.finetune[1]}): pretraining references "
            "(Chinchilla sizes, the 4-epoch rule) are not applied"
        )
    notes += analyses.notes
    notes += [f"{s.code} not checked: {s.reason}" for s in outcome.skipped]
    if not resolved.is_known() and resolved.schema is not None:
        notes.insert(
            0,
            "the log carries no config (no echoed config file or overrides) and none was "
            "given with --config: config-based checks were skipped",
        )
    if resolved.unknown:
        notes.append("config keys set by code that was not evaluated: " + ", ".join(resolved.unknown))
    report = Report(
        path="<stdin>" if path in (None, "", "-") else str(path),
        format=parsed.format,
        lines=parsed.meta.n_lines,
        segments=parsed.meta.n_segments,
        run=facts,
        findings=outcome.findings,
        notes=notes,
        rules_checked=outcome.checked,
        val_series=[float(v) for v in analyses.val.values],
        run_in_file=parsed.meta.run_in_file,
    )
    report.verdict = write_verdict(report, analyses)
    return Examination(parsed, resolved, facts, analyses, report)


def check(
    config: str,
    *,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    data_dir: str | None = None,
    gpu: str | None = None,
    settings=None,
) -> Report:
    """Judge a training plan before it runs: the config alone (nanoGPT .py, YAML, JSON, TOML,
    or an HF TrainingArguments file), taken to max_iters, by every rule that can judge a plan
    (the LR schedule, planned epochs and tokens per parameter, the LR for the model's size, the
    eval error eval_iters will give, memory against `gpu`, fp16 without clipping, the batch).

    `overrides` are --set values in the config's own keys; `gpu` a GPU like 'A100 40GB'."""
    return examine_plan(
        config,
        overrides=overrides,
        dataset_tokens=dataset_tokens,
        data_dir=data_dir,
        gpu=gpu,
        settings=settings,
    ).report


def examine_plan(
    config: str,
    *,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    data_dir: str | None = None,
    gpu: str | None = None,
    settings=None,
) -> Examination:
    """`check`, keeping the intermediate results (the empty loss table, config, facts, analyses)."""
    from .analyse import Analyses
    from .analyse.thresholds import analysis_limits
    from .domain.memory import UnknownDevice, parse_device
    from .report.verdict import write_verdict
    from .resolve.files import ConfigError
    from .resolve.plan import build_plan, read_plan_config
    from .rules import NEEDS_A_LOG, Context, run_rules
    from .settings import check_config_keys, check_set_keys

    if gpu:
        try:
            parse_device(gpu)
        except UnknownDevice as exc:
            raise ConfigError("--gpu", str(exc)) from None
    read = read_plan_config(config)
    check_config_keys(read.file, read.kind)
    check_set_keys(overrides or {}, read.kind)
    plan = build_plan(read, overrides, dataset_tokens, data_dir, gpu)
    parsed, resolved, facts = plan.parsed, plan.config, plan.facts
    overrides_of_analyses = settings.thresholds.get("ANALYSES") if settings is not None else None
    analyses = Analyses(parsed, resolved, facts, analysis_limits(overrides_of_analyses))
    facts.eval_kind, facts.mode = analyses.eval_kind, analyses.mode
    if facts.mode:
        facts.sources["mode"] = analyses.finetune[1]
    facts.forecast_refused = "a plan: there is no curve to forecast before the run"
    outcome = run_rules(Context(parsed, resolved, facts, analyses), settings)
    notes = list(plan.notes)
    if plan.dataset and plan.dataset.note:
        notes.append(plan.dataset.note)
    if facts.mode == "finetune":
        notes.append(
            f"read as a fine-tune ({analyses.finetune[1]}): pretraining references "
            "(Chinchilla sizes, the 4-epoch rule) are not applied"
        )
    notes += analyses.notes
    by_reason: dict[str, list[str]] = {}
    for skip in outcome.skipped:  # one line per reason: a plan skips many rules for one reason
        by_reason.setdefault(skip.reason, []).append(skip.code)
    notes += [
        f"{', '.join(codes)} not checked: {reason}"
        for reason, codes in by_reason.items()
        if reason != NEEDS_A_LOG
    ]
    if NEEDS_A_LOG in by_reason:
        notes.append("judged only from a log (diagnose, after the run): " + ", ".join(by_reason[NEEDS_A_LOG]))
    if resolved.unknown:
        notes.append("config keys set by code that was not evaluated: " + ", ".join(resolved.unknown))
    report = Report(
        path=str(config),
        format=parsed.format,
        lines=parsed.meta.n_lines,
        segments=1,
        run=facts,
        findings=outcome.findings,
        notes=notes,
        rules_checked=outcome.checked,
    )
    report.verdict = " ".join(p for p in (_plan_summary(facts), write_verdict(report, analyses)) if p)
    return Examination(parsed, resolved, facts, analyses, report)


def _plan_summary(facts: RunFacts) -> str:
    """Where a plan stands, as a log's verdict says where its run stands."""
    from .rules.base import fmt_count

    if facts.max_iters is None:
        return "Plan: the number of iterations is unknown."
    if facts.max_iters == 0:
        return "Plan: no training (evaluation only)."
    parts = [f"Plan: {facts.max_iters:,} iterations"]
    if facts.tokens_per_iter:
        parts.append(f"of {facts.tokens_per_iter:,} tokens ({fmt_count(facts.tokens_seen)} tokens)")
    if facts.n_params:
        parts.append(f"on {fmt_count(facts.n_params)} parameters")
    return " ".join(parts) + "."


def fill_analysed_facts(facts: RunFacts, analyses: Analyses) -> None:
    """The run facts that come out of the analyses: how the evals were measured, whether this
    is a fine-tune, and the forecast of the loss at max_iters."""
    from .analyse.anneal_forecast import CurveForecast

    facts.eval_kind = analyses.eval_kind
    facts.eval_noise = round(analyses.eval_noise, 5) if analyses.eval_noise is not None else None
    facts.eval_noise_method = analyses.eval_noise_method
    facts.mode = analyses.mode
    if facts.mode:
        facts.sources["mode"] = analyses.finetune[1]
    fc = analyses.curve_forecast
    if isinstance(fc, CurveForecast):
        facts.forecast = {
            "iter": fc.target_step,
            "val_loss": round(fc.predicted, 4),
            "low": round(fc.low, 4),
            "high": round(fc.high, 4),
            "method": fc.method,
            "fitted_on": analyses.forecast_fitted_on,
            "annealing": fc.annealing,
        }
    elif fc is not None:
        facts.forecast_refused = fc.reason
