"""The command line: arguments in, exit code out. The work is in api.py, sweep.py, compare.py and
below; this module declares the options once, checks them, and maps errors to exit codes.

Exit codes (CONTRACT.md): 0 ran and nothing at or above --fail-on; 1 ran and something is;
2 could not run, with one line on stderr naming the file and the problem (a traceback only with
--debug). Bad input (InputError, ConfigError, UsageError, UnknownFormat, an unwritable --output)
says what is wrong; anything else is an internal error, reported as one, with a hint to --debug.
numpy and pandas are imported only by commands that need them, so --version and -h start fast.

Built on click rather than typer: typer before 0.25 calls click helpers that click 8.2 deprecates
(a warning on every run, a break at click 9), and typer 0.25+ validates options through pydantic
(measured +60-85 ms per invocation on this machine). Plain click costs ~20 ms less to import than
typer 0.24 and has a documented deprecation path; see pyproject.toml.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import click

from . import __version__
from .output import OutputError, refuse_overwriting_inputs, write_atomically

FAIL_LEVELS = {"error": 2, "warning": 1, "info": 0, "never": 99}
SEVERITY_LEVEL = {"error": 2, "warning": 1, "info": 0}
# --output's extension picks the report format unless --format is given
FORMAT_BY_EXTENSION = {
    ".json": "json",
    ".sarif": "sarif",
    ".xml": "junit",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}
# click 8.2+ raises this for a bare `plateau-doctor`; 8.1 prints the help and exits 0 itself
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
LOG_FORMATS_HELP = (
    "auto, nanogpt, modded_nanogpt, llmc_stdout, llmc_mainlog, nanochat, hf_trainer, "
    "csv, jsonl (and every format the parsers register)."
)


class UsageError(Exception):
    """A bad argument: one line, exit 2."""


# -- the shared options, declared once -------------------------------------------------------
# A command takes the ones it needs with @options(...); the values arrive as keyword arguments
# with the names below, and run_inputs() / ReportOptions turn them into checked values.

OPTIONS: dict[str, Callable] = {
    "config": click.option(
        "--config", metavar="PATH", help="nanoGPT .py config, .yaml, .json or .toml (read, never run)."
    ),
    "set": click.option(
        "--set",
        "set_",
        multiple=True,
        metavar="KEY=VALUE",
        help="Config override, like nanoGPT's --key=value. Repeatable.",
    ),
    "dataset_tokens": click.option(
        "--dataset-tokens", metavar="N", help="Training split size in tokens: 1003854, 9.2M, 9B, 15T."
    ),
    "data_dir": click.option(
        "--data-dir", metavar="DIR", help="nanoGPT data dir; train.bin's size gives the token count."
    ),
    "log_format": click.option("--log-format", default="auto", show_default=True, help=LOG_FORMATS_HELP),
    "columns": click.option(
        "--columns",
        metavar="MAP",
        help="CSV/JSONL column mapping: step=_step,train=train/loss,val=val/loss,lr=lr.",
    ),
    "format": click.option(
        "--format",
        "fmt",
        metavar="FORMAT",
        help="text, json, markdown, sarif, junit, github or html "
        "(default: from --output's extension, else text).",
    ),
    "output": click.option(
        "--output",
        metavar="FILE",
        help="Write the report to FILE (atomically) instead of stdout; .json .sarif "
        ".xml .md .html .txt pick the format.",
    ),
    "fail_on": click.option(
        "--fail-on",
        metavar="LEVEL",
        help="Exit 1 at a finding of this severity or above: error (default), warning, info or never.",
    ),
    "select": click.option(
        "--select",
        multiple=True,
        metavar="CODES",
        help="Only these rule codes, code prefixes (PD2), names or categories.",
    ),
    "extend_select": click.option(
        "--extend-select",
        multiple=True,
        metavar="CODES",
        help="Add to the selection (of the settings file or --select).",
    ),
    "ignore": click.option(
        "--ignore",
        multiple=True,
        metavar="CODES",
        help="Skip these rule codes, prefixes, names or categories.",
    ),
    "config_file": click.option(
        "--config-file",
        metavar="TOML",
        help="[tool.plateau-doctor] settings file (default: the nearest pyproject.toml).",
    ),
    "jobs": click.option(
        "--jobs", type=int, default=0, metavar="N", help="Processes for several logs (0: one per core)."
    ),
    "timeout": click.option(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="Give up after this many seconds (a FIFO or pipe that never closes).",
    ),
    "debug": click.option("--debug", is_flag=True, help="Show tracebacks."),
}
INPUT_OPTIONS = ("config", "set", "dataset_tokens", "data_dir", "log_format", "columns")
REPORT_OPTIONS = ("format", "output", "fail_on", "select", "extend_select", "ignore", "config_file")


def options(*names: str) -> Callable:
    """Apply the named shared options to a command, in the order given (as --help lists them)."""

    def apply(func: Callable) -> Callable:
        for name in reversed(names):
            func = OPTIONS[name](func)
        return func

    return apply


def run_inputs(kw: dict):
    """sweep.RunInputs from the checked values of INPUT_OPTIONS (what commands pass on)."""
    from .sweep import RunInputs

    return RunInputs(
        config=kw.get("config"),
        overrides=_overrides(kw.get("set_")),
        dataset_tokens=_dataset_tokens(kw.get("dataset_tokens")),
        data_dir=kw.get("data_dir"),
        log_format=_log_format(kw.get("log_format") or "auto"),
        columns=_columns(kw.get("columns")),
    )


@dataclass
class ReportOptions:
    """What to write where, when to fail, which rules: the checked values of REPORT_OPTIONS."""

    format: str
    output: str | None
    fail_level: int
    settings: object  # rules.RuleSettings
    tool: object  # settings.ToolSettings

    @classmethod
    def from_options(cls, kw: dict) -> ReportOptions:
        from .settings import load_tool_settings

        tool = load_tool_settings(kw.get("config_file"))
        output = kw.get("output")
        return cls(
            format=_report_format(kw.get("fmt"), output, tool.format),
            output=output,
            fail_level=_fail_level(kw.get("fail_on") or tool.fail_on or "error"),
            settings=rule_settings(tool, kw.get("select"), kw.get("extend_select"), kw.get("ignore")),
            tool=tool,
        )


# -- commands ---------------------------------------------------------------------------------


@click.group(
    context_settings=CONTEXT,
    help="Reads a language-model training log and its config and says why the loss behaves as it does.",
)
@click.version_option(
    __version__, "--version", message="plateau-doctor %(version)s", help="Print the version and exit."
)
def app() -> None:
    """plateau-doctor: why did the loss stop improving?"""


@app.command()
@click.argument("logs", nargs=-1, metavar="[LOG|DIR]...")
@options(*INPUT_OPTIONS, *REPORT_OPTIONS, "jobs", "timeout", "debug")
def diagnose(logs: tuple[str, ...], jobs: int, timeout: float | None, debug: bool, **kw) -> int:
    """Diagnose training logs: paths, .gz paths, '-' or nothing for stdin, or directories (every
    run found under them, one ranked summary)."""

    def work() -> int:
        from .sweep import DiagnoseJob, deadline, diagnose_each, discover_runs

        inputs = run_inputs(kw)
        report = ReportOptions.from_options(kw)
        if timeout is not None and timeout <= 0:
            raise UsageError("--timeout must be > 0")
        paths = list(logs) or ["-"]
        swept = any(os.path.isdir(p) for p in paths if p != "-")
        found = list(discover_runs(paths))
        if not found:
            raise UsageError(
                f"{', '.join(paths)}: is a directory, and no file under it is a training "
                "log any parser recognises"
            )
        refuse_overwriting_inputs(report.output, [*found, inputs.config])
        job = DiagnoseJob(inputs=inputs, settings=report.settings, debug=debug, plot=report.format == "html")
        if timeout is None:
            return deliver(diagnose_each(found, job, jobs), report, summary_only=swept, total=len(found))
        with deadline(timeout, found):  # in this process: a pool's workers miss the alarm
            return deliver(diagnose_each(found, job, 1), report, summary_only=swept, total=len(found))

    return guard(work, debug)


@app.command("check")
@click.argument("config", metavar="CONFIG")
@options("set", "dataset_tokens", "data_dir")
@click.option(
    "--gpu",
    metavar="NAME",
    help="The GPU it will train on, e.g. 'A100 40GB', 'RTX 4070 12GB' (default: one the config's "
    "comments name): training memory is checked against it.",
)
@options(*REPORT_OPTIONS, "debug")
def check_command(config: str, gpu: str | None, debug: bool, **kw) -> int:
    """Judge a training plan before it runs: a config (nanoGPT .py, YAML, JSON, TOML, HF
    TrainingArguments) taken to max_iters. Same report formats, codes and exit codes as diagnose."""

    def work() -> int:
        from .api import check
        from .domain.memory import UnknownDevice, parse_device

        if gpu:
            try:
                parse_device(gpu)
            except UnknownDevice as exc:
                raise UsageError(f"--gpu {exc}") from None
        inputs = run_inputs(kw)
        report = ReportOptions.from_options(kw)
        refuse_overwriting_inputs(report.output, [config])
        result = check(
            config,
            overrides=inputs.overrides,
            dataset_tokens=inputs.dataset_tokens,
            data_dir=inputs.data_dir,
            gpu=gpu,
            settings=report.settings,
        )
        return deliver(iter([(0, result, None)]), report)

    return guard(work, debug)


@app.command()
@click.argument("baseline", metavar="BASELINE_LOG")
@click.argument("candidates", nargs=-1, required=True, metavar="CANDIDATE_LOG...")
@click.option("--baseline-config", metavar="PATH", help="Config of the baseline run.")
@click.option("--candidate-config", metavar="PATH", help="Config of the candidate run(s).")
@click.option(
    "--seed-spread",
    type=float,
    metavar="NATS",
    help="Run-to-run spread of the final val loss between seeds of one config (default: "
    "measured when several candidates are given, else 1% of the baseline's val).",
)
@options("set", "dataset_tokens", "log_format", *REPORT_OPTIONS, "debug")
def compare(
    baseline: str,
    candidates: tuple[str, ...],
    baseline_config: str | None,
    candidate_config: str | None,
    seed_spread: float | None,
    debug: bool,
    **kw,
) -> int:
    """Is the candidate worse than the baseline beyond eval noise and seed spread? Several
    candidates are taken as seeds of one config: their spread is measured, their mean judged."""

    def work() -> int:
        from .comparison import run_comparison

        inputs = run_inputs(kw)
        report = ReportOptions.from_options(kw)
        if seed_spread is not None and seed_spread < 0:
            raise UsageError("--seed-spread must be >= 0")
        refuse_overwriting_inputs(report.output, [baseline, *candidates, baseline_config, candidate_config])
        result = run_comparison(
            baseline,
            list(candidates),
            baseline_config=baseline_config,
            candidate_config=candidate_config,
            overrides=inputs.overrides,
            dataset_tokens=inputs.dataset_tokens,
            log_format=inputs.log_format,
            settings=report.settings,
            seed_spread=seed_spread,
            plot=report.format == "html",
        )
        return deliver(iter([(0, result.report, result.plot)]), report)

    return guard(work, debug)


@app.command("parse")
@click.argument("log", metavar="LOG")
@click.option("--to", default="csv", show_default=True, help="csv, json or parquet.")
@options("output", "log_format", "columns", "debug")
def parse_command(log: str, to: str, debug: bool, **kw) -> int:
    """Export the loss table (iterations and evals) of a log."""

    def work() -> int:
        if to not in ("csv", "json", "parquet"):
            raise UsageError(
                f"--to must be csv, json or parquet, not {to!r}"
                + _did_you_mean(to, ("csv", "json", "parquet"))
            )
        from .export import export_table
        from .sweep import read_log, usable_cores

        output = kw.get("output")
        if to == "parquet":  # said before the log is read, not after (a big log takes a while)
            _check_parquet_output(output)
            # This process builds one table, writes it and exits: arrow's default allocator
            # (mimalloc) maps fresh arenas for it whose page faults a one-shot writer never
            # amortises; with the C library's malloc the 1M-line log's table is built and written
            # in ~0.25 s instead of ~0.45 s. A pool the user chose is kept.
            os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        refuse_overwriting_inputs(output, [log])
        parsed = read_log(log, _log_format(kw.get("log_format") or "auto"), _columns(kw.get("columns")))
        data = export_table(parsed, to, output, threads=usable_cores())
        if data is not None:
            write(data, output)
        return 0

    return guard(work, debug)


def _check_parquet_output(output: str | None) -> None:
    """Parquet is a binary file: it needs --output and pyarrow (an optional extra)."""
    import importlib.util

    if output is None:
        raise UsageError("--to parquet writes a binary file: give it --output FILE")
    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError("--to parquet needs pyarrow: pip install 'plateau-doctor[parquet]'")


@app.command()
@click.argument("log", required=False, metavar="[LOG|-]")
@options("config", "set", "dataset_tokens", "log_format")
@click.option(
    "--once-per-eval",
    is_flag=True,
    help="One plain line per eval instead of the live view (the default when stdout is not a terminal).",
)
@click.option(
    "--poll", type=float, default=0.5, show_default=True, help="Seconds between checks of a followed file."
)
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help="Stop once the file has not grown (or, if missing, not appeared) for this many "
    "seconds (default: follow until Ctrl-C).",
)
@options("debug")
def watch(log: str | None, once_per_eval: bool, poll: float, timeout: float | None, debug: bool, **kw) -> int:
    """Follow a running job's log (like tail -F, or a pipe) and re-diagnose at every eval."""

    def work() -> int:
        if poll <= 0 or (timeout is not None and timeout < 0):
            raise UsageError("--poll must be > 0 and --timeout >= 0")
        from .watch import run_watch

        inputs = run_inputs(kw)
        return run_watch(
            log,
            once_per_eval=once_per_eval,
            config=inputs.config,
            overrides=inputs.overrides,
            dataset_tokens=inputs.dataset_tokens,
            log_format=inputs.log_format,
            poll_seconds=poll,
            timeout=timeout,
        )

    return guard(work, debug)


@app.command("plot")
@click.argument("logs", nargs=-1, metavar="[LOG]...")
@click.option(
    "--output",
    required=True,
    metavar="FILE",
    help="FILE.png, FILE.svg, or FILE.html (the full report with the plot embedded).",
)
@options("config", "set", "dataset_tokens", "data_dir", "log_format")
@click.option("--log-x", is_flag=True, help="Logarithmic iteration (or token) axis.")
@click.option(
    "--align",
    default="iter",
    show_default=True,
    help="Overlay several logs by iteration (iter) or by tokens seen (tokens).",
)
@options("select", "extend_select", "ignore", "config_file", "debug")
def plot_command(logs: tuple[str, ...], output: str, log_x: bool, align: str, debug: bool, **kw) -> int:
    """Draw the loss curves with the diagnosis on them (needs: pip install 'plateau-doctor[plot]')."""

    def work() -> int:
        from .plot import PlotError
        from .plotting import run_plot
        from .settings import load_tool_settings

        inputs = run_inputs(kw)
        refuse_overwriting_inputs(output, [*logs, inputs.config])
        tool = load_tool_settings(kw.get("config_file"))
        settings = rule_settings(tool, kw.get("select"), kw.get("extend_select"), kw.get("ignore"))
        try:
            run_plot(
                list(logs) or ["-"],
                output,
                config=inputs.config,
                overrides=inputs.overrides,
                dataset_tokens=inputs.dataset_tokens,
                log_format=inputs.log_format,
                log_x=log_x,
                align=align,
                data_dir=inputs.data_dir,
                settings=settings,
            )
        except PlotError as exc:
            raise UsageError(str(exc)) from None
        return 0

    return guard(work, debug)


@app.command()
@click.option("--format", "fmt", default="text", show_default=True, help="text or json.")
def rules(fmt: str) -> int:
    """List every rule: code, category, default severity, summary."""
    from .rules import all_rules

    infos = all_rules()
    if fmt == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {
                        "code": i.code,
                        "name": i.name,
                        "category": i.category,
                        "severity": i.severity,
                        "summary": i.summary,
                    }
                    for i in infos
                ],
                indent=2,
            )
        )
        return 0
    for i in infos:
        click.echo(f"{i.code}  {i.severity:<7}  {i.category:<17} {i.name}: {i.summary}")
    return 0


@app.command()
@click.argument("code", metavar="CODE")
@click.option("--format", "fmt", default="text", show_default=True, help="text or json.")
@options("config_file")
def explain(code: str, fmt: str, **kw) -> int:
    """What a rule checks, why it matters, its thresholds (the values in force) and how to fix what
    it finds. `explain analyses` lists the thresholds of the shared analyses."""
    from .analyse.thresholds import ANALYSIS_THRESHOLDS
    from .rules import all_rules, find_rule
    from .settings import load_tool_settings

    overrides = load_tool_settings(kw.get("config_file")).thresholds
    if code.strip().lower() == "analyses":
        values = {**{t.name: t.default for t in ANALYSIS_THRESHOLDS}, **overrides.get("ANALYSES", {})}
        click.echo(
            "Thresholds of the shared analyses (override in [tool.plateau-doctor.thresholds.analyses]):"
        )
        for t in ANALYSIS_THRESHOLDS:
            click.echo(f"  {t.name} = {values[t.name]:g} {t.unit}: {t.why}")
        return 0
    info = find_rule(code)
    if info is None:
        hint = _did_you_mean(code, [r.code for r in all_rules()] + [r.name for r in all_rules()])
        click.echo(f"plateau-doctor: no rule {code!r}{hint or ' (see `plateau-doctor rules`)'}", err=True)
        return 2
    in_force = {**{t.name: t.default for t in info.thresholds}, **overrides.get(info.code, {})}
    if fmt == "json":
        import dataclasses
        import json

        data = dataclasses.asdict(info)
        data["thresholds"] = [{**dataclasses.asdict(t), "value": in_force[t.name]} for t in info.thresholds]
        click.echo(json.dumps(data, indent=2))
        return 0
    lines = [
        f"{info.code} {info.name} ({info.category}, raises up to {info.severity})",
        "",
        info.summary,
        "",
        "What it checks: " + info.what,
        "",
        "Why it matters: " + info.why,
        "",
        "How to fix: " + info.fix,
    ]
    if info.explained_by:
        lines += [
            "",
            "Folded into a raised finding of: "
            + ", ".join(info.explained_by)
            + " (a consequence of that cause, not a problem of its own)",
        ]
    if info.thresholds:
        lines += [
            "",
            "Thresholds, as in force (override in [tool.plateau-doctor.thresholds." + info.code + "]):",
        ]
        for t in info.thresholds:
            changed = "" if in_force[t.name] == t.default else f" (default {t.default:g})"
            lines.append(f"  {t.name} = {in_force[t.name]:g} {t.unit}{changed}: {t.why}")
    if info.example:
        lines += ["", "Example: " + info.example]
    if info.reference:
        lines += ["", "Reference: " + info.reference]
    click.echo("\n".join(lines))
    return 0


# -- checking option values -------------------------------------------------------------------


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    from .settings import did_you_mean

    return did_you_mean(value, choices)


def _split(values: Iterable[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def rule_settings(tool, select, extend_select, ignore):
    """RuleSettings from the settings file and the flags (flags win; --extend-select adds to
    whichever selection is in force). Every selector is checked against the rules."""
    from .rules import RuleSettings
    from .settings import check_selectors

    flags = {"--select": _split(select), "--extend-select": _split(extend_select), "--ignore": _split(ignore)}
    for flag, values in flags.items():
        check_selectors(values, flag)
    chosen = flags["--select"] or tool.select
    if chosen:
        chosen = chosen + flags["--extend-select"] + tool.extend_select
    return RuleSettings(
        select=chosen,
        ignore=flags["--ignore"] or tool.ignore,
        thresholds=tool.thresholds,
        severities=tool.severities,
    )


def _fail_level(value: str) -> int:
    if value not in FAIL_LEVELS:
        raise UsageError(
            f"--fail-on must be error, warning, info or never, not {value!r}"
            + _did_you_mean(value, FAIL_LEVELS)
        )
    return FAIL_LEVELS[value]


def _report_format(fmt: str | None, output: str | None, configured: str | None) -> str:
    from .report import FORMATS

    if fmt is None and output:
        fmt = FORMAT_BY_EXTENSION.get(os.path.splitext(output)[1].lower())
    fmt = fmt or configured or "text"
    if fmt not in FORMATS:
        raise UsageError(
            f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}" + _did_you_mean(fmt, FORMATS)
        )
    return fmt


def _log_format(value: str) -> str:
    from .parsers.formats import FORMATS

    if value != "auto" and value not in FORMATS:
        raise UsageError(
            f"--log-format: unknown log format {value!r}"
            + (_did_you_mean(value, FORMATS) or f"; known: auto, {', '.join(FORMATS)}")
        )
    return value


def _overrides(items: Iterable[str] | None) -> dict:
    from .resolve.config import parse_set_options

    try:
        return parse_set_options(list(items or []))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _dataset_tokens(text: str | None) -> str | None:
    if text in (None, ""):
        return None
    from .domain.scale import parse_token_count

    try:
        parse_token_count(text)
    except ValueError as exc:
        raise UsageError(f"--dataset-tokens: {exc}") from None
    return text


def _columns(text: str | None) -> dict | None:
    if not text:
        return None
    from .parsers.tabular import parse_columns_option

    try:
        return parse_columns_option(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


# -- errors -----------------------------------------------------------------------------------


def bad_input_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean the user's input is wrong: exit 2 with their one line."""
    from .parsers import UnknownFormat
    from .read import InputError
    from .resolve.files import ConfigError

    return (InputError, ConfigError, UsageError, UnknownFormat, OutputError)


def guard(work: Callable[[], int], debug: bool) -> int:
    """Run a command; bad input becomes one line on stderr and exit 2, anything else an internal
    error with a hint to --debug (also exit 2: the run could not be completed)."""
    import warnings

    try:
        with warnings.catch_warnings():
            if not debug:
                # losses near the float limit overflow to inf on purpose; numpy's warnings
                # about it are noise on stderr, not findings
                warnings.simplefilter("ignore", RuntimeWarning)
            return work()
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: never a traceback without --debug
        if isinstance(exc, bad_input_errors()):
            return _fail(str(exc), debug)
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (run with --debug for the "
            "traceback, and please report it)",
            debug,
        )


def _fail(message: str, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    click.echo(f"plateau-doctor: {message}", err=True)
    return 2


def _silence_stdout() -> None:
    # Python flushes stdout at exit; once the reader is gone that would raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


# -- output -----------------------------------------------------------------------------------


def deliver(results: Iterable, options: ReportOptions, summary_only: bool = False, total: int = 0) -> int:
    """Write the reports and return the exit code they call for, also when the reader of stdout
    has gone (`| head -1`): a closed pipe must not turn a failing run into a pass.

    `results` yields (position, report, plot SVG or None) in position order. Text on stdout
    streams: each report as its log finishes, then the ranked summary (a directory sweep prints
    only the summary, with a progress bar on a terminal). Every other format is one document (a
    JSON array, a SARIF run) and waits for all."""
    from .report import text as text_report
    from .report.summary import Summary

    stream = options.format == "text" and options.output is None
    summary = Summary()
    kept: list = []  # (report, plot) for document formats
    writer = _json_stream(options) if options.format == "json" and total > 1 else None
    color, width = _look()
    progress = _progress(total) if summary_only else None
    try:
        for _position, report, plot in results:
            summary.add(report)
            if report.error:  # also on stderr, one line, as a single bad log would be
                click.echo(f"plateau-doctor: {report.error}", err=True)
            if progress:
                progress(summary.count)
            if stream and not summary_only:
                gap = "\n" if summary.count > 1 else ""
                _write_stdout(gap + text_report.render_one(report, color, width))
            elif writer is not None:
                writer.add(report)
            elif not stream:
                kept.append((report, plot))
        if progress:
            progress(None)
        if writer is not None:
            writer.close()
            return summary.exit_code(options.fail_level)
        if stream and (summary_only or summary.count > 1):
            _write_stdout(("" if summary_only else "\n") + text_report.render_summary(summary, color, width))
        elif not stream:
            _emit([r for r, _ in kept], {i: p for i, (_, p) in enumerate(kept) if p}, options)
    except BrokenPipeError:
        _silence_stdout()
        for _, report, _ in results:  # the reader went away; the exit code still needs every log
            summary.add(report)
    except BaseException:
        if writer is not None:  # an --output being streamed is left untouched
            writer.abort()
        raise
    return summary.exit_code(options.fail_level)


class _JsonStream:
    """report.json.ListWriter onto stdout or an atomically written --output."""

    def __init__(self, output: str | None) -> None:
        from .output import AtomicText
        from .report.json import ListWriter

        self.target = AtomicText(output)
        self.list = ListWriter(self.target.write)

    def add(self, report) -> None:
        self.list.add(report)

    def close(self) -> None:
        self.list.close()
        self.target.close()

    def abort(self) -> None:
        self.target.abort()


def _json_stream(options: ReportOptions) -> _JsonStream:
    return _JsonStream(options.output)


def _progress(total: int):
    """A progress bar on stderr when it is a terminal (else None): called with the runs done so
    far, and with None at the end, which clears it."""
    if not sys.stderr.isatty() or total < 2:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("diagnosing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("runs", total=total)
    bar.start()

    def show(done: int | None) -> None:
        if done is None:
            bar.stop()
        else:
            bar.update(task, completed=done)

    return show


def _look() -> tuple[bool, int]:
    """Colour and width of text on stdout: the terminal's on a TTY, plain and unwrapped in a pipe."""
    tty = sys.stdout.isatty()
    return tty and "NO_COLOR" not in os.environ, _width() if tty else 0


def _emit(reports, plots: dict, options: ReportOptions) -> None:
    from .report import renderer
    from .rules import all_rules

    module = renderer(options.format)
    if options.format == "text":
        text = module.render(reports, all_rules(), __version__, color=False, width=0)
    elif options.format == "html":
        text = module.render(reports, all_rules(), __version__, plots=plots)
    else:
        text = module.render(reports, all_rules(), __version__)
    write(text, options.output)


def _width() -> int:
    try:
        return max(60, os.get_terminal_size().columns)
    except OSError:
        return 100


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def write(data: str | bytes, output: str | None) -> None:
    if output is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            _write_stdout(data)
        return
    write_atomically(output, data)


def main(argv: list[str] | None = None) -> None:
    """The console script: click parses, the command returns its exit code. Usage errors are one
    line too (with one did-you-mean), not click's three-line block."""
    try:
        code = app.main(args=argv, prog_name="plateau-doctor", standalone_mode=False)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except NO_ARGS_IS_HELP as error:
        click.echo(error.format_message())
        code = 0
    except click.UsageError as error:
        click.echo(f"plateau-doctor: {_usage_message(error)}", err=True)
        code = 2
    except click.Abort:
        code = 130
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    sys.exit(code or 0)


def _usage_message(error: click.UsageError) -> str:
    if isinstance(error, click.NoSuchOption):
        hint = _did_you_mean(error.option_name, error.possibilities or ())
        text = f"no such option {error.option_name!r}{hint}"
    else:
        text = error.format_message().rstrip(".")
    where = error.ctx.command_path if error.ctx else "plateau-doctor"
    return f"{text} (see `{where} -h`)"


# -- prescribe: whatif and fix ----------------------------------------------------------------


@app.command("whatif")
@click.argument("log", metavar="LOG")
@options("config")
@click.option(
    "--set",
    "set_",
    multiple=True,
    metavar="KEY=VALUE",
    help="Schedule change: max_iters, lr_decay_iters, min_lr, warmup_iters, learning_rate, "
    "decay_lr. Repeatable.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue this run from its last iteration under the new schedule (default: a new run with it).",
)
@options("log_format")
@click.option("--format", "fmt", default="text", show_default=True, help="text or json.")
@options("output", "debug")
def whatif_command(log: str, set_: tuple[str, ...], resume: bool, fmt: str, debug: bool, **kw) -> int:
    """Forecast the end of the run under a changed LR schedule, and what each schedule costs."""

    def work() -> int:
        from .api import examine
        from .prescribe.whatif import WhatIfError, render_text, to_json, what_if

        if fmt not in ("text", "json"):
            raise UsageError(
                f"--format must be text or json, not {fmt!r}" + _did_you_mean(fmt, ("text", "json"))
            )
        changes = _overrides(set_)
        if not changes:
            raise UsageError("whatif needs at least one --set KEY=VALUE (e.g. --set max_iters=30000)")
        output = kw.get("output")
        refuse_overwriting_inputs(output, [log, kw.get("config")])
        examination = examine(log, kw.get("config"), log_format=_log_format(kw.get("log_format") or "auto"))
        try:
            result = what_if(examination, changes, resume=resume)
        except WhatIfError as exc:
            raise UsageError(str(exc)) from None
        write(to_json(result) + "\n" if fmt == "json" else render_text(result), output)
        return 0

    return guard(work, debug)


@app.command("fix")
@click.argument("log", metavar="LOG")
@click.option(
    "--config",
    required=True,
    metavar="PATH",
    help="The run's config to correct: nanoGPT .py, .yaml, .json (HF TrainingArguments too) "
    "or .toml. Never modified.",
)
@options("set", "dataset_tokens", "data_dir", "log_format")
@click.option("--diff", is_flag=True, help="Print a unified diff instead of the corrected config.")
@click.option(
    "--output", metavar="FILE", help="Write the corrected config (or diff) to this NEW file; never the input."
)
@click.option(
    "--format",
    "fmt",
    default="config",
    show_default=True,
    help="config (the corrected file), overrides (the --key=value line for nanoGPT's train.py) or json.",
)
@click.option(
    "--gpu",
    metavar="NAME",
    help="The training GPU, e.g. 'RTX 4070 12GB': a suggested model is checked against its memory.",
)
@options("select", "extend_select", "ignore", "config_file", "debug")
def fix_command(
    log: str, config: str, diff: bool, output: str | None, fmt: str, gpu: str | None, debug: bool, **kw
) -> int:
    """Write the config the diagnosis calls for, each change citing its finding."""

    def work() -> int:
        from .api import examine
        from .domain.memory import UnknownDevice, parse_device
        from .prescribe.budget import fit_changes_to_device
        from .prescribe.changes import changes_from_findings
        from .prescribe.fix import correct_config, overrides_line, summary, unified_diff
        from .settings import load_tool_settings

        if fmt not in ("config", "overrides", "json"):
            raise UsageError(
                f"--format must be config, overrides or json, not {fmt!r}"
                + _did_you_mean(fmt, ("config", "overrides", "json"))
            )
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
        inputs = run_inputs({**kw, "config": config})
        tool = load_tool_settings(kw.get("config_file"))
        examination = examine(
            log,
            config,
            overrides=inputs.overrides,
            dataset_tokens=inputs.dataset_tokens,
            data_dir=inputs.data_dir,
            log_format=inputs.log_format,
            settings=rule_settings(tool, kw.get("select"), kw.get("extend_select"), kw.get("ignore")),
        )
        changes, skipped = changes_from_findings(examination.report.findings)
        notes: list[str] = []
        if device is not None:
            timing = examination.analyses.timing
            check = fit_changes_to_device(
                changes,
                examination.config,
                examination.facts.vocab_size,
                device,
                timing.median_iter_ms if timing else None,
            )
            changes, notes = check.changes, check.notes
        try:
            result = correct_config(config, text, changes, skipped)
        except ValueError as exc:
            raise UsageError(f"{config}: {exc}") from None
        lines = summary(result) + [f"note: {n}" for n in notes]
        if fmt == "json":
            import json

            write(json.dumps(_fix_json(result, notes), indent=2) + "\n", output)
            return 0
        if fmt == "overrides":
            try:
                line = overrides_line(result.applied, config)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            offers = [f"# {c.override()}  ({c.code}: {c.reason})" for c in result.offered]
            write("\n".join([line, *offers]) + "\n", output)
            return 0
        if not (result.applied or result.offered):
            lines.insert(0, "no finding asks for a change this config can take; the copy is unchanged")
        write(unified_diff(result, output) if diff else result.corrected, output)
        for line in lines:
            click.echo(f"plateau-doctor fix: {line}", err=True)
        return 0

    return guard(work, debug)


def _read_config_text(path: str) -> str:
    """The config's text, read to be edited (a one-line ConfigError when it cannot be)."""
    from .resolve.files import MAX_CONFIG_BYTES, ConfigError, load_config_file

    load_config_file(path)  # the same checks and messages as every other command
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

    return {
        "config": result.path,
        "schema": result.schema,
        "applied": [change(c) for c in result.applied],
        "offered": [change(c) for c in result.offered],
        "skipped": [{**change(s.change), "why": s.why} for s in result.skipped],
        "notes": notes,
    }


# -- references: the curated known-good runs (one self-contained block) ------------------------


@app.command("references")
@click.option("--format", "fmt", default="text", show_default=True, help="text or json.")
def references_command(fmt: str) -> int:
    """The known-good reference runs: recipe, loss against tokens, seed spread, public sources."""
    import dataclasses
    import json

    from .reference_runs import references
    from .rules.base import fmt_count, fmt_lr

    if fmt not in ("text", "json"):
        click.echo(
            f"plateau-doctor: --format must be text or json, not {fmt!r}"
            + _did_you_mean(fmt, ("text", "json")),
            err=True,
        )
        return 2
    refs = references()
    if fmt == "json":
        click.echo(json.dumps([dataclasses.asdict(r) for r in refs], indent=2))
        return 0
    blocks = []
    for r in refs:
        recipe, schedule = r.recipe, r.recipe.schedule
        decay = (
            f"cosine {fmt_lr(schedule.peak_lr)} -> {fmt_lr(schedule.final_lr)}"
            if schedule.kind == "cosine"
            else f"constant {fmt_lr(schedule.peak_lr)}, linear to {fmt_lr(schedule.final_lr)} "
            f"over the last {schedule.warmdown_iters:,}"
        )
        lines = [
            f"{r.key}: {r.title}",
            f"  model: {recipe.model}, {fmt_count(recipe.n_params)} parameters",
            f"  tokenizer: {recipe.tokenizer} (vocab {' / '.join(f'{v:,}' for v in recipe.vocab_sizes)})",
            f"  data: {recipe.dataset} (dataset named {' or '.join(recipe.dataset_names)})",
            f"  batch: {recipe.tokens_per_iter:,} tokens per iteration, {recipe.max_iters:,} iterations",
            f"  schedule: warmup {schedule.warmup_iters:,}, {decay} at {schedule.decay_iters:,}; {recipe.optimizer}",
            f"  metric: {r.metric} ({r.eval_kind}: {r.eval_set})",
            "  curve (tokens: val): " + ", ".join(f"{fmt_count(p.tokens)}: {p.val_loss:g}" for p in r.points),
            f"  seed spread: {r.seed_spread:g} ({r.seed_spread_note})",
        ]
        if recipe.exact:
            lines.append(f"  matched only with the recipe's exact {', '.join(recipe.exact)}")
        lines += [f"  note: {note}" for note in r.notes]
        lines += ["  sources:"] + [f"    [{key}] {s.what}: {s.where}" for key, s in r.sources.items()]
        blocks.append("\n".join(lines))
    click.echo("\n\n".join(blocks))
    return 0
