"""The ranked summary of many runs (a sweep, or several logs): one compact row per run, grouped
by verdict, with counts ("40 runs: 31 healthy, 6 overfitting, 3 lr_too_high"), worst first.

A row keeps only what the summary shows, so a sweep of thousands of runs holds rows, not reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..model import SEVERITY_RANK, Report

HEALTHY = "healthy"
UNREADABLE = "unreadable"
SEVERITY_LEVEL = {"error": 2, "warning": 1, "info": 0}


@dataclass
class RunRow:
    """One run in the summary."""

    path: str
    verdict: str  # the top raised finding's category, HEALTHY or UNREADABLE
    severity: str | None  # of that finding (None: nothing raised)
    title: str  # the top finding's title, or the error
    best_val: float | None
    tokens: int | None
    epochs: float | None
    raised: int
    worst_level: int  # the highest severity level of any finding (-1: none)

    @classmethod
    def of(cls, report: Report) -> RunRow:
        if report.error:
            return cls(report.path, UNREADABLE, "error", report.error, None, None, None, 0, -1)
        raised = [f for f in report.findings if f.raised]
        top = raised[0] if raised else None
        worst = max((SEVERITY_LEVEL[f.severity] for f in report.findings), default=-1)
        return cls(
            report.path,
            top.category if top else HEALTHY,
            top.severity if top else None,
            top.title if top else "",
            report.run.best_val_loss,
            report.run.tokens_seen,
            report.run.epochs,
            len(raised),
            worst,
        )

    def rank_key(self) -> tuple:
        """Worst first: unreadable, then by the top finding's severity, then most raised."""
        unreadable = self.verdict == UNREADABLE
        severity = SEVERITY_RANK.get(self.severity or "", -1)
        return (not unreadable, -severity, -self.raised, self.path)


@dataclass
class Summary:
    """Rows as runs arrive; groups and counts on demand."""

    rows: list[RunRow] = field(default_factory=list)

    @classmethod
    def of(cls, reports: list[Report]) -> Summary:
        summary = cls()
        for report in reports:
            summary.add(report)
        return summary

    def add(self, report: Report) -> None:
        self.rows.append(RunRow.of(report))

    @property
    def count(self) -> int:
        return len(self.rows)

    def groups(self) -> list[tuple[str, list[RunRow]]]:
        """(verdict, its rows worst first), the group with the worst run first; healthy last."""
        by_verdict: dict[str, list[RunRow]] = {}
        for row in sorted(self.rows, key=RunRow.rank_key):
            by_verdict.setdefault(row.verdict, []).append(row)
        return sorted(by_verdict.items(), key=lambda item: (item[0] == HEALTHY, item[1][0].rank_key()))

    def counts_line(self) -> str:
        """'40 runs: 31 healthy, 6 overfitting, 3 lr_too_high' (largest group first)."""
        counts = Counter(row.verdict for row in self.rows)
        parts = [f"{n} {verdict}" for verdict, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        noun = "run" if self.count == 1 else "runs"
        return f"{self.count} {noun}: " + ", ".join(parts)

    def exit_code(self, fail_level: int) -> int:
        """2 if a run could not be read, else 1 if a finding reaches the fail level, else 0."""
        if any(row.verdict == UNREADABLE for row in self.rows):
            return 2
        return 1 if any(row.worst_level >= fail_level for row in self.rows) else 0
