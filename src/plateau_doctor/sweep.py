"""Many logs at once (`diagnose runs/**/*.log`): every core busy, each report out as soon as it is
ready, and a deadline for inputs that never end.

Diagnosing a log is CPU-bound Python, so several logs go to a process pool; a single log, or
stdin, runs in this process. Reports come back in the order the logs finish, so a sweep of
hundreds of logs shows progress at once instead of after the slowest one.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from .model import Report


@dataclass
class DiagnoseJob:
    """The per-log work of `diagnose`, picklable so a process pool can run it."""

    config: str | None
    overrides: dict
    dataset_tokens: str | None
    data_dir: str | None
    log_format: str
    columns: dict | None
    settings: object

    def __call__(self, path: str) -> Report:
        from .api import diagnose

        return diagnose(path, self.config, overrides=self.overrides,
                        dataset_tokens=self.dataset_tokens, data_dir=self.data_dir,
                        log_format=self.log_format, settings=self.settings, columns=self.columns)


def diagnose_each(paths: list[str], job: DiagnoseJob, jobs: int = 0) -> Iterator[tuple[int, Report]]:
    """(position in `paths`, report) for every log, yielded as each finishes (in the given order
    when run here). `jobs`: processes (0: one per core)."""
    workers = jobs or os.cpu_count() or 1
    if len(paths) < 2 or workers < 2 or "-" in paths:
        for position, path in enumerate(paths):
            yield position, job(path)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=min(workers, len(paths))) as pool:
        futures = {pool.submit(job, path): position for position, path in enumerate(paths)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:      # an error or a closed consumer: drop what has not started
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
        raise InputError(names, f"timed out after {self.seconds:g} s waiting for data "
                                "(a FIFO or pipe that never closes?)")

    def __enter__(self):
        import signal

        self.previous = signal.signal(signal.SIGALRM, self._expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
