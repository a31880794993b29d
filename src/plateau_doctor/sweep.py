"""Many logs at once (`diagnose runs/`, `diagnose a.log b.log`): find the runs, diagnose them on
every core, and hand the reports on in the order given, each as soon as it and those before it
are done.

Fault isolation: among several logs, one that cannot be read becomes a Report carrying `error`
(one line), in its place; the others keep their results and the run exits 2 at the end. Nothing
crosses the process boundary but Reports (an exception with a custom __init__ does not survive
pickling, which is how one bad log used to kill the whole pool).

Memory stays bounded: paths stream in from discovery, at most a few batches per worker are in
flight, and what comes back is a Report (the loss tables stay in the worker).

Speed, for sweeps of thousands of small runs: format detection runs every parser's sniffer over
a file's head and costs about as much as parsing a small log, so it is done once per file. The
walk detects on every core (a pool), and a file whose detection saw exactly the lines parsing
would detect on carries the answer to its worker (DiscoveredLog). Workers take batches of paths
and get the job once, so inter-process traffic is one message per batch, not per log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

from .model import ParsedLog, Report, RunFacts

IN_FLIGHT_PER_WORKER = 4  # queued logs or batches per process: keeps the pool busy, memory bounded
MAX_BATCH = 16  # logs per pool task: ~0.1 s of work for small runs, so the per-task message and
# wake-up cost is amortised while a progress bar still moves several times a second
DISCOVERY_BATCH = 32  # files sniffed per pool task: a sniff is ~2 ms, a task's round trip ~0.3 ms
DISCOVERY_POOL_MIN = 64  # candidate files below which the walk sniffs in this process: starting
# a pool (~0.1 s) costs more than it saves on a handful of files
DISCOVERY_LINES = 1000  # lines a file's head is sniffed on when walking a directory
BINARY_PROBE_BYTES = 4096  # a text log has no NUL byte in its first block
SKIPPED_DIRS = {"__pycache__", "node_modules", ".git", ".venv", "venv"}


class DiscoveredLog(str):
    """A log path found under a directory, as a plain str everywhere, carrying the format the
    walk detected when that detection saw the very lines `parse` detects on (the whole head of a
    short file): the worker then parses with it instead of detecting again. None otherwise."""

    sniffed: str | None

    def __new__(cls, path: str, sniffed: str | None = None) -> DiscoveredLog:
        found = super().__new__(cls, path)
        found.sniffed = sniffed
        return found

    def __getnewargs__(self) -> tuple[str, str | None]:  # pickled to a worker with its format
        return str(self), self.sniffed


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def read_log(path: str, log_format: str = "auto", columns: dict | None = None) -> ParsedLog:
    """api.parse, plus: a log from which the chosen parser read nothing is an input error that
    says which format the log looks like instead (a wrong --log-format must not pass as a
    healthy run with no findings)."""
    from .api import parse

    parsed = parse(path, format_to_parse(path, log_format, columns), columns)
    require_rows(parsed, "<stdin>" if path in (None, "", "-") else path, log_format)
    return parsed


def read_runs(path: str, log_format: str = "auto", columns: dict | None = None) -> list[ParsedLog]:
    """read_log, split into its runs when the file holds several from scratch (seeds run one
    after another, a restart at step 0): each is diagnosed on its own, not read as one run that
    jumps back. Only such a file is parsed a second time (parsers.parse_runs). stdin cannot be
    read twice: its report stays on the last run, and its note says so."""
    from .api import split_runs

    return split_runs(path, read_log(path, log_format, columns), log_format, columns)


def format_to_parse(path: str, log_format: str, columns: dict | None) -> str:
    """The --log-format to parse `path` with: the format discovery detected on the lines
    parse_source would detect on (same lines, same answer, half the sniffing), else log_format.
    A store path (a log named *.db) keeps "auto": api.parse reads those through stores/."""
    sniffed = getattr(path, "sniffed", None)
    if log_format != "auto" or columns or sniffed is None:
        return log_format
    from .stores import is_store

    return log_format if is_store(path) else sniffed


def require_rows(parsed: ParsedLog, name: str, log_format: str) -> None:
    """InputError when the parser read no loss row, naming the format the log looks like."""
    from .read import InputError

    if len(parsed.iter_table) or len(parsed.eval_table):
        return
    hint = ""
    if log_format != "auto" and name != "<stdin>":
        detected = sniff_format(name)
        hint = (
            f"; it looks like {detected} (try --log-format {detected})"
            if detected
            else "; no known format recognises it"
        )
    raise InputError(name, f"read as {parsed.format}, but no training-loss lines were found{hint}")


def sniff_format(path: str, lines: int = DISCOVERY_LINES) -> str | None:
    """The format a parser recognises in the file's first lines, or None (also when unreadable).
    A file whose first `lines` say nothing is looked at as far as `diagnose FILE` looks
    (parsers.SNIFF_LINES): modded-nanogpt logs open with the whole training script, well over a
    thousand lines, and a run that `diagnose FILE` reads must not be missed by `diagnose DIR`."""
    return _detect_head(path, lines)[0]


def _detect_head(path: str, lines: int) -> tuple[str | None, bool]:
    """sniff_format, and whether detection saw what parse_source's head(SNIFF_LINES) holds: all
    of a short file's head (fewer than `lines` lines: the end of the file or of read.HEAD_BYTES),
    or the second, SNIFF_LINES look. Only then may parsing take the answer as its own."""
    from .parsers import SNIFF_LINES, detect
    from .read import InputError, open_log

    try:
        source = open_log(path)
        try:
            sample = source.head(lines)
            found = detect(sample)
            parse_sample = len(sample) < lines <= SNIFF_LINES
            if found is None and len(sample) >= lines and lines < SNIFF_LINES:
                found, parse_sample = detect(source.head(SNIFF_LINES)), True
        finally:
            source.close()
    except InputError:
        return None, False
    return found, parse_sample


def _sniffed(path: str) -> DiscoveredLog | None:
    """The path as a DiscoveredLog when a parser recognises it, else None."""
    found, parse_sample = _detect_head(path, DISCOVERY_LINES)
    if found is None:
        return None
    return DiscoveredLog(path, found if parse_sample else None)


def _sniff_batch(paths: list[str]) -> list[DiscoveredLog | None]:
    """_sniffed of each path: one pool task of the walk."""
    return [_sniffed(path) for path in paths]


def discover_runs(paths: Iterable[str]) -> Iterator[str]:
    """Every log to diagnose: a file (or '-') as given, even if missing (its error is reported in
    place); under a directory, every file whose first lines a parser recognises, in sorted order.
    The one place that finds runs: tracker stores (stores.find_runs) plug in here."""
    for path in paths:
        if path != "-" and os.path.isdir(path):
            yield from _walk(path)
        else:
            yield path


def _walk(root: str) -> Iterator[DiscoveredLog]:
    """The logs under root, in sorted order: the cheap checks here, the sniffing on every core
    when there are enough candidates to pay for a pool."""
    candidates = _candidates(root)
    first = list(islice(candidates, DISCOVERY_POOL_MIN))
    workers = usable_cores()
    if len(first) < DISCOVERY_POOL_MIN or workers < 2:
        found: Iterable[DiscoveredLog | None] = map(_sniffed, chain(first, candidates))
        yield from (log for log in found if log is not None)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        batches = _batches(chain(first, candidates), DISCOVERY_BATCH)
        for log in _in_order(pool, _sniff_batch, batches, workers * IN_FLIGHT_PER_WORKER):
            if log is not None:
                yield log


def _candidates(root: str) -> Iterator[str]:
    """The files under root that may be logs: not hidden, not in a skipped directory, regular
    (a FIFO would block the walk), not binary; depth first in sorted order."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = os.path.join(folder, name)
            if not name.startswith(".") and os.path.isfile(path) and not _binary(path):
                yield path


def _binary(path: str) -> bool:
    """A checkpoint, a tensor dump, an image: NUL bytes in its first block and no gzip magic.
    Run directories hold multi-GB checkpoints beside their logs; this keeps discovery from
    reading megabytes of each looking for lines."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(BINARY_PROBE_BYTES)
    except OSError:
        return True
    return not head.startswith(b"\x1f\x8b") and b"\0" in head


@dataclass
class RunInputs:
    """How to read and resolve each log (the CLI's shared input options, checked)."""

    config: str | None = None
    overrides: dict = field(default_factory=dict)
    dataset_tokens: str | None = None
    data_dir: str | None = None
    log_format: str = "auto"
    columns: dict | None = None


@dataclass
class DiagnoseJob:
    """The per-log work of `diagnose`, picklable so a process pool can run it."""

    inputs: RunInputs
    settings: Any = None  # rules.RuleSettings (None: every rule, default thresholds)
    debug: bool = False  # let internal errors raise, with their traceback
    plot: bool = False  # also draw the run (SVG) for the HTML report, when matplotlib is there

    def run(self, path: str) -> list[tuple[Report, str | None]]:
        """Diagnose one log: (report, plot) of each run in it, usually one; bad input raises
        (InputError, ConfigError, ...)."""
        exams = examine_runs(path, self.inputs, self.settings)
        return [(exam.report, run_svg([exam]) if self.plot else None) for exam in exams]

    def each(self, paths: list[str]) -> list[list[tuple[Report, str | None]]]:
        """The job on each path: one pool task."""
        return [self(path) for path in paths]

    def __call__(self, path: str) -> list[tuple[Report, str | None]]:
        """`run`, with any failure turned into a Report that carries it (one log among many)."""
        try:
            return self.run(path)
        except Exception as exc:  # noqa: BLE001 - one bad log must not take the others down
            if self.debug and not is_bad_input(exc):
                raise
            return [(failed(path, exc), None)]


def examine_runs(path: str, inputs: RunInputs, settings: Any = None) -> list:
    """examine_log of each run in the file (read_runs); each report says which run it is."""
    runs = read_runs(path, inputs.log_format, inputs.columns)
    return [examine_parsed(path, parsed, inputs, settings) for parsed in runs]


def examine_log(path: str, inputs: RunInputs, settings: Any = None):
    """api.examine of one log as every command does it: read (a format that reads nothing is an
    error), check --set keys against the run's config schema, then the whole pipeline. A file
    of several runs gives its last (compare, watch, plot: one curve per path)."""
    return examine_parsed(path, read_log(path, inputs.log_format, inputs.columns), inputs, settings)


def examine_parsed(path: str, parsed: ParsedLog, inputs: RunInputs, settings: Any = None):
    """The pipeline after reading, for one run's loss table."""
    from .api import examine
    from .settings import check_set_keys

    check_set_keys(inputs.overrides, parsed.meta.config_schema)
    return examine(
        path,
        inputs.config,
        overrides=inputs.overrides,
        dataset_tokens=inputs.dataset_tokens,
        data_dir=inputs.data_dir,
        log_format=inputs.log_format,
        settings=settings,
        parsed=parsed,
    )


def diagnose_to_json(path: str, inputs: RunInputs | None = None, settings: Any = None) -> list[dict]:
    """The JSON report (docs/CONTRACT.md) of each run in one log, as dicts (one, unless the file
    holds several runs from scratch), or one with its `error` object when it cannot be read: the
    unit to map over a cluster (docs/CLUSTER.md). Plain data in and out, so any engine can ship
    it between processes and machines."""
    from .report.json import report_dict

    return [report_dict(report) for report, _ in DiagnoseJob(inputs or RunInputs(), settings)(path)]


def run_svg(exams: list) -> str | None:
    """The annotated plot of examined runs as SVG text, or None without matplotlib (or data)."""
    from .plot.command import plot_svg

    return plot_svg(exams)


def is_bad_input(exc: BaseException) -> bool:
    from .parsers import UnknownFormat
    from .read import InputError
    from .resolve.files import ConfigError

    return isinstance(exc, (InputError, ConfigError, UnknownFormat))


def failed(path: str, exc: BaseException) -> Report:
    """The Report of a log that could not be diagnosed: its path and the one-line reason."""
    name = "<stdin>" if path in (None, "", "-") else str(path)  # a DiscoveredLog as the str it is
    if is_bad_input(exc):
        message = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
    else:
        message = f"{name}: internal error: {type(exc).__name__}: {exc} (run with --debug)"
    return Report(
        path=name,
        format="unknown",
        lines=0,
        segments=0,
        run=RunFacts(),
        findings=[],
        verdict=f"Could not be diagnosed: {message}",
        error=message,
    )


def diagnose_each(
    paths: Iterable[str], job: DiagnoseJob, jobs: int = 0
) -> Iterator[tuple[int, Report, str | None]]:
    """(position, report, plot) for every log, in the order given, each yielded as soon as it and
    every log before it are done; the same for --jobs 1 and --jobs N. A single log raises its
    error (the CLI prints it as one line); among several, a failure is a Report in its place."""
    total = len(paths) if hasattr(paths, "__len__") else None
    paths = iter(paths)
    first = next(paths, None)
    if first is None:
        return
    second = next(paths, None)
    if second is None:
        yield from _numbered([job.run(first)])
        return
    paths = _chain(first, second, paths)
    workers = jobs or usable_cores()
    if workers < 2:
        yield from _numbered(job(path) for path in paths)
        return
    yield from _numbered(_pooled(paths, job, workers, batch_size(total, workers)))


def batch_size(total: int | None, workers: int) -> int:
    """Logs per pool task: enough that a sweep of thousands sends hundreds of messages, not
    thousands, yet small enough that every worker gets its share of a few logs. Unknown totals
    (a stream of paths) go one at a time."""
    if not total:
        return 1
    return max(1, min(MAX_BATCH, total // (workers * IN_FLIGHT_PER_WORKER)))


def _numbered(per_log: Iterable[list[tuple[Report, str | None]]]) -> Iterator[tuple[int, Report, str | None]]:
    """Each log's runs in order, numbered across logs (a file of several runs gives several)."""
    position = 0
    for results in per_log:
        for report, plot in results:
            yield position, report, plot
            position += 1


def _chain(first: str, second: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield second
    yield from rest


_worker_job: DiagnoseJob | None = None  # this pool worker's job, set once by _install_job


def _install_job(job: DiagnoseJob) -> None:
    """Pool initializer: the job (inputs, rule settings) reaches each worker once, not pickled
    with every task."""
    global _worker_job
    _worker_job = job


def _diagnose_batch(paths: list[str]) -> list[list[tuple[Report, str | None]]]:
    """One pool task: the installed job on each path."""
    assert _worker_job is not None, "_install_job runs before any task"
    return _worker_job.each(paths)


def _pooled(
    paths: Iterator[str], job: DiagnoseJob, workers: int, batch: int
) -> Iterator[list[tuple[Report, str | None]]]:
    """A process pool fed a bounded window of batches of paths; stdin ('-') is read in this
    process."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, initializer=_install_job, initargs=(job,)) as pool:
        yield from _in_order(
            pool,
            _diagnose_batch,
            _batches(paths, batch),
            workers * IN_FLIGHT_PER_WORKER,
            local=lambda batch: job.each(batch) if batch == ["-"] else None,
        )


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of up to `size` items in order; stdin ('-') always alone, as it is read here."""
    batch: list[str] = []
    for item in items:
        if item == "-":
            if batch:
                yield batch
            yield [item]
            batch = []
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _in_order(
    pool: Any,
    task: Callable[[list[str]], list],
    batches: Iterator[list[str]],
    window: int,
    local: Callable[[list[str]], list | None] = lambda batch: None,
) -> Iterator:
    """task(batch) on the pool for every batch, the results of each batch's items yielded in
    order, as soon as that batch and every one before it are done; at most `window` batches in
    flight or waiting to be yielded. `local(batch)` runs a batch here instead when it returns a
    result (stdin, which only this process can read)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending: dict = {}  # future -> position
    ready: dict[int, list] = {}
    next_out = 0
    numbered = enumerate(batches)
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) + len(ready) < window:
                item = next(numbered, None)
                if item is None:
                    exhausted = True
                    break
                position, batch = item
                here = local(batch)
                if here is not None:
                    ready[position] = here
                else:
                    pending[pool.submit(task, batch)] = position
            while next_out in ready:
                yield from ready.pop(next_out)
                next_out += 1
            if not pending:
                if exhausted and not ready:
                    return
                continue
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                ready[pending.pop(future)] = future.result()
    finally:
        for future in pending:  # an error or a closed consumer: drop what has not started
            future.cancel()


class deadline:
    """Raise InputError naming the inputs if the work takes longer than `seconds`. SIGALRM
    interrupts even a blocking open() or read() of a FIFO that never gets a writer, which is why
    work under a deadline runs in this process (a pool's workers would not see the alarm)."""

    def __init__(self, seconds: float, paths: list[str]) -> None:
        if seconds <= 0:
            raise ValueError("--timeout must be > 0")
        self.seconds, self.paths = seconds, paths

    def _expired(self, signum, frame):
        from .read import InputError

        names = ", ".join("<stdin>" if p == "-" else p for p in self.paths)
        raise InputError(
            names, f"timed out after {self.seconds:g} s waiting for data (a FIFO or pipe that never closes?)"
        )

    def __enter__(self):
        import signal

        self.previous = signal.signal(signal.SIGALRM, self._expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
