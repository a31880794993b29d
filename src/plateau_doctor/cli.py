"""The command line: arguments in, exit code out. All the work is in api.py and below.

Exit codes (CONTRACT.md): 0 ran and nothing at or above --fail-on; 1 ran and something is;
2 could not run, with one line on stderr naming the file and the problem (a traceback only with
--debug). numpy and pandas are imported only by commands that need them, so --version and
--help start fast.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Optional

import typer

from . import __version__
from .output import OutputError, refuse_overwriting_inputs, write_atomically
from .settings import ToolSettings, load_tool_settings
from .sweep import DiagnoseJob, deadline, diagnose_each

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Reads a language-model training log and its config and says why the loss "
                       "behaves as it does.")

FAIL_LEVELS = {"error": 2, "warning": 1, "info": 0, "never": 99}
SEVERITY_LEVEL = {"error": 2, "warning": 1, "info": 0}


class UsageError(Exception):
    """A bad argument: one line, exit 2."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"plateau-doctor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """plateau-doctor: why did the loss stop improving?"""


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@app.command()
def diagnose(
    logs: Optional[list[str]] = typer.Argument(None, help="Log paths (.gz too); '-' or nothing for stdin."),
    config: Optional[str] = typer.Option(None, "--config", help="nanoGPT .py config, .yaml, .json or .toml (read, never run)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE override, like nanoGPT's --key=value. Repeatable."),
    dataset_tokens: Optional[str] = typer.Option(None, "--dataset-tokens", help="Training split size in tokens: 1003854, 9.2M, 9B, 15T."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="nanoGPT data dir; train.bin's size gives the token count."),
    log_format: str = typer.Option("auto", "--log-format", help="auto, nanogpt, modded_nanogpt, llmc_stdout, llmc_mainlog, nanochat, hf_trainer, csv, jsonl."),
    fmt: Optional[str] = typer.Option(None, "--format", help="text, json, markdown, sarif, junit, github, html."),
    output: Optional[str] = typer.Option(None, "--output", help="Write the report to FILE (atomically) instead of stdout."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="error, warning, info or never (default error)."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Rule codes or categories to run, comma separated."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Rule codes or categories to skip, comma separated."),
    columns: Optional[str] = typer.Option(None, "--columns", help="CSV/JSONL column mapping: step=_step,train=train/loss,val=val/loss,lr=lr."),
    config_file: Optional[str] = typer.Option(None, "--config-file", help="A TOML file with [tool.plateau-doctor] settings (else the nearest pyproject.toml)."),
    jobs: int = typer.Option(0, "--jobs", help="Processes for several logs (0: one per core)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Give up after this many seconds (a FIFO or pipe that never closes)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Diagnose one or more training logs."""
    def work() -> int:
        tool = load_tool_settings(config_file)
        level = _fail_level(fail_on or tool.fail_on or "error")
        report_format = _check_format(fmt or tool.format or "text")
        refuse_overwriting_inputs(output, [*(logs or []), config])
        job = DiagnoseJob(config=config, overrides=_overrides(set_), dataset_tokens=dataset_tokens,
                          data_dir=data_dir, log_format=log_format, columns=_columns(columns),
                          settings=_rule_settings(tool, select, ignore))
        paths = logs or ["-"]
        if timeout is None:
            return _deliver(diagnose_each(paths, job, jobs), report_format, output, level)
        with deadline(timeout, paths):    # in this process: a pool's workers miss the alarm
            return _deliver(diagnose_each(paths, job, 1), report_format, output, level)

    raise typer.Exit(_guard(work, debug))


@app.command()
def compare(
    baseline: str = typer.Argument(..., help="The reference run's log."),
    candidate: str = typer.Argument(..., help="The run to judge against it."),
    baseline_config: Optional[str] = typer.Option(None, "--baseline-config", help="Config of the baseline run."),
    candidate_config: Optional[str] = typer.Option(None, "--candidate-config", help="Config of the candidate run."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE override for both runs."),
    dataset_tokens: Optional[str] = typer.Option(None, "--dataset-tokens"),
    log_format: str = typer.Option("auto", "--log-format"),
    fmt: Optional[str] = typer.Option(None, "--format", help="text, json, markdown, sarif, junit, github, html."),
    output: Optional[str] = typer.Option(None, "--output"),
    fail_on: Optional[str] = typer.Option(None, "--fail-on"),
    config_file: Optional[str] = typer.Option(None, "--config-file"),
    debug: bool = typer.Option(False, "--debug"),
) -> None:
    """Is the candidate run worse than the baseline beyond eval noise?"""
    def work() -> int:
        from .api import compare as run_compare

        tool = load_tool_settings(config_file)
        level = _fail_level(fail_on or tool.fail_on or "error")
        report_format = _check_format(fmt or tool.format or "text")
        refuse_overwriting_inputs(output, [baseline, candidate, baseline_config, candidate_config])
        report = run_compare(baseline, candidate, baseline_config=baseline_config,
                             candidate_config=candidate_config, overrides=_overrides(set_),
                             dataset_tokens=dataset_tokens, log_format=log_format,
                             thresholds=tool.thresholds)
        return _deliver([(0, report)], report_format, output, level)

    raise typer.Exit(_guard(work, debug))


@app.command("parse")
def parse_command(
    log: str = typer.Argument(..., help="Log path (.gz too) or '-' for stdin."),
    to: str = typer.Option("csv", "--to", help="csv, json or parquet."),
    output: Optional[str] = typer.Option(None, "--output", help="Write to FILE instead of stdout (parquet needs a file)."),
    log_format: str = typer.Option("auto", "--log-format"),
    debug: bool = typer.Option(False, "--debug"),
) -> None:
    """Export the loss table (iterations and evals) of a log."""
    def work() -> int:
        from .export import export_table

        if to not in ("csv", "json", "parquet"):
            raise UsageError(f"--to must be csv, json or parquet, not {to!r}")
        from .api import parse

        refuse_overwriting_inputs(output, [log])
        parsed = parse(log, log_format)
        data = export_table(parsed, to, output)
        if data is not None:
            _write(data, output)
        return 0

    raise typer.Exit(_guard(work, debug))


@app.command()
def watch(
    log: Optional[str] = typer.Argument(None, help="Log file to follow; '-' or nothing for stdin (a pipe)."),
    config: Optional[str] = typer.Option(None, "--config", help="nanoGPT .py config, .yaml, .json or .toml (read, never run)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE override, like nanoGPT's --key=value. Repeatable."),
    dataset_tokens: Optional[str] = typer.Option(None, "--dataset-tokens", help="Training split size in tokens: 1003854, 9.2M, 9B, 15T."),
    log_format: str = typer.Option("auto", "--log-format", help="auto, nanogpt, modded_nanogpt, llmc_stdout, llmc_mainlog, nanochat, hf_trainer, csv, jsonl."),
    once_per_eval: bool = typer.Option(False, "--once-per-eval", help="One plain line per eval instead of the live view (the default when stdout is not a terminal)."),
    poll: float = typer.Option(0.5, "--poll", help="Seconds between checks of a followed file."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop once the file has not grown for this many seconds (default: follow until Ctrl-C)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Follow a running job's log (like tail -f, or a pipe) and re-diagnose at every eval."""
    def work() -> int:
        if poll <= 0 or (timeout is not None and timeout < 0):
            raise UsageError("--poll must be > 0 and --timeout >= 0")
        from .watch import run_watch

        return run_watch(log, once_per_eval=once_per_eval, config=config, overrides=_overrides(set_),
                         dataset_tokens=dataset_tokens, log_format=log_format, poll_seconds=poll,
                         timeout=timeout)

    raise typer.Exit(_guard(work, debug))


@app.command("plot")
def plot_command(
    logs: Optional[list[str]] = typer.Argument(None, help="Log paths (.gz too); '-' or nothing for stdin. Several logs are overlaid on one plot."),
    output: str = typer.Option(..., "--output", help="FILE.png, FILE.svg, or FILE.html (the full report with the plot embedded)."),
    config: Optional[str] = typer.Option(None, "--config", help="nanoGPT .py config, .yaml, .json or .toml (read, never run)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE override, like nanoGPT's --key=value. Repeatable."),
    dataset_tokens: Optional[str] = typer.Option(None, "--dataset-tokens", help="Training split size in tokens: 1003854, 9.2M, 9B, 15T."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="nanoGPT data dir; train.bin's size gives the token count."),
    log_format: str = typer.Option("auto", "--log-format", help="auto, nanogpt, modded_nanogpt, llmc_stdout, llmc_mainlog, nanochat, hf_trainer, csv, jsonl."),
    log_x: bool = typer.Option(False, "--log-x", help="Logarithmic iteration (or token) axis."),
    align: str = typer.Option("iter", "--align", help="Overlay several logs by iteration (iter) or by tokens seen (tokens)."),
    config_file: Optional[str] = typer.Option(None, "--config-file", help="A TOML file with [tool.plateau-doctor] settings (else the nearest pyproject.toml)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Draw the loss curves with the diagnosis on them (needs: pip install 'plateau-doctor[plot]')."""
    def work() -> int:
        from .plot import PlotError, run_plot

        refuse_overwriting_inputs(output, [*(logs or []), config])
        settings = _rule_settings(load_tool_settings(config_file), None, None)
        try:
            run_plot(logs or ["-"], output, config=config, overrides=_overrides(set_),
                     dataset_tokens=dataset_tokens, log_format=log_format, log_x=log_x,
                     align=align, data_dir=data_dir, settings=settings)
        except PlotError as exc:
            raise UsageError(str(exc)) from None
        return 0

    raise typer.Exit(_guard(work, debug))


@app.command()
def rules(fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """List every rule: code, category, default severity, summary."""
    from .rules import all_rules

    infos = all_rules()
    if fmt == "json":
        import json

        typer.echo(json.dumps([{"code": i.code, "name": i.name, "category": i.category,
                                "severity": i.severity, "summary": i.summary} for i in infos], indent=2))
        return
    for i in infos:
        typer.echo(f"{i.code}  {i.severity:<7}  {i.category:<17} {i.name}: {i.summary}")


@app.command()
def explain(code: str = typer.Argument(..., help="A rule code (PD201) or name."),
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """What a rule checks, why it matters, its thresholds and how to fix what it finds."""
    from .rules import find_rule

    info = find_rule(code)
    if info is None:
        typer.echo(f"plateau-doctor: no rule {code!r} (see `plateau-doctor rules`)", err=True)
        raise typer.Exit(2)
    if fmt == "json":
        import dataclasses
        import json

        typer.echo(json.dumps(dataclasses.asdict(info), indent=2))
        return
    lines = [f"{info.code} {info.name} ({info.category}, default severity {info.severity})", "",
             info.summary, "", "What it checks: " + info.what, "", "Why it matters: " + info.why, "",
             "How to fix: " + info.fix]
    if info.thresholds:
        lines += ["", "Thresholds (override in [tool.plateau-doctor.thresholds." + info.code + "]):"]
        lines += [f"  {k} = {v}" for k, v in info.thresholds.items()]
    if info.reference:
        lines += ["", "Reference: " + info.reference]
    typer.echo("\n".join(lines))


# -- helpers ------------------------------------------------------------------------------------

def _exit_code(reports, level: int) -> int:
    worst = max((SEVERITY_LEVEL[f.severity] for r in reports for f in r.findings), default=-1)
    return 1 if worst >= level else 0


def _columns(text: str | None) -> dict | None:
    if not text:
        return None
    from .parsers.tabular import parse_columns_option

    try:
        return parse_columns_option(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _guard(work, debug: bool) -> int:
    """Run a command; turn every expected failure into one line on stderr and exit 2."""
    from .read import InputError
    from .resolve.files import ConfigError

    import warnings

    try:
        with warnings.catch_warnings():
            if not debug:
                # losses near the float limit overflow to inf on purpose; numpy's warnings
                # about it are noise on stderr, not findings
                warnings.simplefilter("ignore", RuntimeWarning)
            return work()
    except (InputError, ConfigError, UsageError, OutputError) as exc:
        return _fail(str(exc), debug)
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: never a traceback without --debug
        from .parsers import UnknownFormat

        if isinstance(exc, UnknownFormat):
            return _fail(str(exc), debug)
        if isinstance(exc, ValueError):
            return _fail(str(exc), debug)
        return _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", debug)


def _fail(message: str, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    typer.echo(f"plateau-doctor: {message}", err=True)
    return 2


def _silence_stdout() -> None:
    # Python flushes stdout at exit; once the reader is gone that would raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _fail_level(value: str) -> int:
    if value not in FAIL_LEVELS:
        raise UsageError(f"--fail-on must be error, warning, info or never, not {value!r}")
    return FAIL_LEVELS[value]


def _check_format(value: str) -> str:
    from .report import FORMATS

    if value not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def _overrides(items: list[str] | None) -> dict:
    from .resolve.config import parse_set_options

    try:
        return parse_set_options(items or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _rule_settings(tool: ToolSettings, select, ignore):
    from .rules import RuleSettings

    return RuleSettings(select=_split(select) or tool.select, ignore=_split(ignore) or tool.ignore,
                        thresholds=tool.thresholds, severities=tool.severities)


def _deliver(reports: Iterable, report_format: str, output: str | None, level: int) -> int:
    """Write the reports and return the exit code the findings call for, also when the reader of
    stdout has gone (`| head -1`): a closed pipe must not turn a failing run into a pass.

    Text on stdout streams: each report is printed as its log finishes, the summary at the end.
    Every other format is one document (a JSON array, a SARIF run) and waits for all."""
    from .report import text as text_report

    done: list = []           # (position of the log in the command line, report)
    stream = report_format == "text" and output is None
    try:
        for position, report in reports:
            done.append((position, report))
            if stream:
                _write(("\n" if len(done) > 1 else "") + text_report.render_one(report, *_look()), None)
        in_order = [report for _, report in sorted(done, key=lambda item: item[0])]
        if stream and len(done) > 1:
            _write("\n" + text_report.render_summary(in_order, *_look()), None)
        elif not stream:
            _emit(in_order, report_format, output)
    except BrokenPipeError:
        _silence_stdout()
        done.extend(reports)      # the reader went away; the exit code still needs every log
    return _exit_code([report for _, report in done], level)


def _look() -> tuple[bool, int]:
    """Colour and width of text on stdout."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ, _width()


def _emit(reports, report_format: str, output: str | None) -> None:
    from .report import renderer
    from .rules import all_rules

    module = renderer(report_format)
    if report_format == "text":
        color, width = _look() if output is None else (False, _width())
        text = module.render(reports, all_rules(), __version__, color=color, width=width)
    else:
        text = module.render(reports, all_rules(), __version__)
    _write(text, output)


def _width() -> int:
    try:
        return max(60, min(os.get_terminal_size().columns, 120))
    except OSError:
        return 100


def _write(data: str | bytes, output: str | None) -> None:
    if output is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    try:
        write_atomically(output, data)
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)


# -- prescribe: whatif and fix (issue 18) -------------------------------------------------------

@app.command("whatif")
def whatif_command(
    log: str = typer.Argument(..., help="Log path (.gz too) or '-' for stdin."),
    config: Optional[str] = typer.Option(None, "--config", help="nanoGPT .py config, .yaml, .json or .toml (read, never run)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE schedule change: max_iters, lr_decay_iters, min_lr, warmup_iters, learning_rate, decay_lr. Repeatable."),
    resume: bool = typer.Option(False, "--resume", help="Continue this run from its last iteration under the new schedule (default: a new run with it)."),
    log_format: str = typer.Option("auto", "--log-format", help="auto, nanogpt, modded_nanogpt, llmc_stdout, llmc_mainlog, nanochat, hf_trainer, csv, jsonl."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    output: Optional[str] = typer.Option(None, "--output", help="Write to FILE (atomically) instead of stdout."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Forecast the end of the run under a changed LR schedule, and what each schedule costs."""
    def work() -> int:
        from .api import examine
        from .prescribe.whatif import WhatIfError, render_text, to_json, what_if

        if fmt not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {fmt!r}")
        changes = _overrides(set_)
        if not changes:
            raise UsageError("whatif needs at least one --set KEY=VALUE (e.g. --set max_iters=30000)")
        refuse_overwriting_inputs(output, [log, config])
        examination = examine(log, config, log_format=log_format)
        try:
            result = what_if(examination, changes, resume=resume)
        except WhatIfError as exc:
            raise UsageError(str(exc)) from None
        _write(to_json(result) + "\n" if fmt == "json" else render_text(result), output)
        return 0

    raise typer.Exit(_guard(work, debug))


@app.command("fix")
def fix_command(
    log: str = typer.Argument(..., help="Log path (.gz too) or '-' for stdin."),
    config: str = typer.Option(..., "--config", help="The run's config to correct: nanoGPT .py, .yaml, .json (HF TrainingArguments too) or .toml. Never modified."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="KEY=VALUE the run used on top of the config, like nanoGPT's --key=value. Repeatable."),
    dataset_tokens: Optional[str] = typer.Option(None, "--dataset-tokens", help="Training split size in tokens: 1003854, 9.2M, 9B, 15T."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="nanoGPT data dir; train.bin's size gives the token count."),
    log_format: str = typer.Option("auto", "--log-format", help="auto, nanogpt, modded_nanogpt, llmc_stdout, llmc_mainlog, nanochat, hf_trainer, csv, jsonl."),
    diff: bool = typer.Option(False, "--diff", help="Print a unified diff instead of the corrected config."),
    output: Optional[str] = typer.Option(None, "--output", help="Write the corrected config (or diff) to this NEW file; never the input."),
    fmt: str = typer.Option("config", "--format", help="config (the corrected file), overrides (the --key=value line for nanoGPT's train.py) or json."),
    gpu: Optional[str] = typer.Option(None, "--gpu", help="The training GPU, e.g. 'RTX 4070 12GB': a suggested model is checked against its memory."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Rule codes or categories to run, comma separated."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Rule codes or categories to skip, comma separated."),
    config_file: Optional[str] = typer.Option(None, "--config-file", help="A TOML file with [tool.plateau-doctor] settings (else the nearest pyproject.toml)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write the config the diagnosis calls for, each change citing its finding."""
    def work() -> int:
        from .analyse.memory import UnknownDevice, parse_device
        from .api import examine
        from .prescribe.budget import fit_changes_to_device
        from .prescribe.changes import changes_from_findings
        from .prescribe.fix import correct_config, overrides_line, summary, unified_diff

        if fmt not in ("config", "overrides", "json"):
            raise UsageError(f"--format must be config, overrides or json, not {fmt!r}")
        if output and os.path.abspath(output) == os.path.abspath(config):
            raise UsageError(f"{output}: --output is the input config; write the correction to a new file")
        refuse_overwriting_inputs(output, [log, config])
        device = None
        if gpu:
            try:
                device = parse_device(gpu)
            except UnknownDevice as exc:
                raise UsageError(f"--gpu {exc}") from None
        text = _read_config_text(config)
        tool = load_tool_settings(config_file)
        examination = examine(log, config, overrides=_overrides(set_), dataset_tokens=dataset_tokens,
                              data_dir=data_dir, log_format=log_format,
                              settings=_rule_settings(tool, select, ignore))
        changes, skipped = changes_from_findings(examination.report.findings)
        notes: list[str] = []
        if device is not None:
            timing = examination.analyses.timing
            check = fit_changes_to_device(changes, examination.config, examination.facts.vocab_size,
                                          device, timing.median_iter_ms if timing else None)
            changes, notes = check.changes, check.notes
        try:
            result = correct_config(config, text, changes, skipped)
        except ValueError as exc:
            raise UsageError(f"{config}: {exc}") from None
        lines = summary(result) + [f"note: {n}" for n in notes]
        if fmt == "json":
            import json

            _write(json.dumps(_fix_json(result, notes), indent=2) + "\n", output)
            return 0
        if fmt == "overrides":
            try:
                line = overrides_line(result.applied, config)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            offers = [f"# {c.override()}  ({c.code}: {c.reason})" for c in result.offered]
            _write("\n".join([line, *offers]) + "\n", output)
            return 0
        if not (result.applied or result.offered):
            lines.insert(0, "no finding asks for a change this config can take; the copy is unchanged")
        _write(unified_diff(result, output) if diff else result.corrected, output)
        for line in lines:
            typer.echo(f"plateau-doctor fix: {line}", err=True)
        return 0

    raise typer.Exit(_guard(work, debug))


def _read_config_text(path: str) -> str:
    """The config's text, read to be edited (a one-line ConfigError when it cannot be)."""
    from .resolve.files import MAX_CONFIG_BYTES, ConfigError, load_config_file

    load_config_file(path)          # the same checks and messages as every other command
    try:
        if os.path.getsize(path) > MAX_CONFIG_BYTES:
            raise ConfigError(path, "too large to be a training config")
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, "not UTF-8 text; cannot edit it in place") from None
    except OSError as exc:
        raise ConfigError(path, exc.strerror or str(exc)) from None


def _fix_json(result, notes: list[str]) -> dict:
    def change(c):
        return {"key": c.key, "value": c.value, "code": c.code, "reason": c.reason, "confident": c.confident}
    return {"config": result.path, "schema": result.schema,
            "applied": [change(c) for c in result.applied],
            "offered": [change(c) for c in result.offered],
            "skipped": [{**change(s.change), "why": s.why} for s in result.skipped],
            "notes": notes}


# -- references: the curated known-good runs (one self-contained block) ------------------------

@app.command("references")
def references_command(fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """The known-good reference runs: recipe, loss against tokens, seed spread, public sources."""
    import dataclasses
    import difflib
    import json

    from .reference_runs import references
    from .rules.base import fmt_count, fmt_lr

    if fmt not in ("text", "json"):
        near = difflib.get_close_matches(fmt, ["text", "json"], n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        typer.echo(f"plateau-doctor references: --format {fmt!r} is not text or json{hint}", err=True)
        raise typer.Exit(2)
    refs = references()
    if fmt == "json":
        typer.echo(json.dumps([dataclasses.asdict(r) for r in refs], indent=2))
        return
    blocks = []
    for r in refs:
        recipe, schedule = r.recipe, r.recipe.schedule
        decay = (f"cosine {fmt_lr(schedule.peak_lr)} -> {fmt_lr(schedule.final_lr)}" if schedule.kind == "cosine"
                 else f"constant {fmt_lr(schedule.peak_lr)}, linear to {fmt_lr(schedule.final_lr)} "
                      f"over the last {schedule.warmdown_iters:,}")
        lines = [f"{r.key}: {r.title}",
                 f"  model: {recipe.model}, {fmt_count(recipe.n_params)} parameters",
                 f"  tokenizer: {recipe.tokenizer} (vocab {' / '.join(f'{v:,}' for v in recipe.vocab_sizes)})",
                 f"  data: {recipe.dataset} (dataset named {' or '.join(recipe.dataset_names)})",
                 f"  batch: {recipe.tokens_per_iter:,} tokens per iteration, {recipe.max_iters:,} iterations",
                 f"  schedule: warmup {schedule.warmup_iters:,}, {decay} at {schedule.decay_iters:,}; {recipe.optimizer}",
                 f"  metric: {r.metric} ({r.eval_kind}: {r.eval_set})",
                 "  curve (tokens: val): " + ", ".join(f"{fmt_count(p.tokens)}: {p.val_loss:g}" for p in r.points),
                 f"  seed spread: {r.seed_spread:g} ({r.seed_spread_note})"]
        if recipe.exact:
            lines.append(f"  matched only with the recipe's exact {', '.join(recipe.exact)}")
        lines += [f"  note: {note}" for note in r.notes]
        lines += ["  sources:"] + [f"    [{key}] {s.what}: {s.where}" for key, s in r.sources.items()]
        blocks.append("\n".join(lines))
    typer.echo("\n\n".join(blocks))
