"""The ranked summary of many runs (a sweep, or several logs): one compact row per run, grouped
by verdict, with counts ("40 runs: 31 healthy, 6 overfitting, 3 lr_too_high"), worst first.

A row keeps only what the summary shows, so a sweep of thousands of runs holds rows, not reports.

Seeds: runs whose paths differ only in a seed token (`seed1`, `seed_42`, `seed-<uuid>`) and whose
logs agree on the recipe they show (format, max_iters, tokens per iteration, parameters) are
seeds of one config. Their best vals give the seed spread measured in this sweep, and recipes
are compared against it: runs that differ only by seed differ by ~1% in val at small scale
(../shared/notes/DOMAIN.md, "Seeds vary more than evals"), more than eval noise says.
"""

from __future__ import annotations

import math
import re
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
    recipe: tuple | None = None  # what seeds of one config share (None: no seed in its path)

    @classmethod
    def of(cls, report: Report) -> RunRow:
        if report.error:
            return cls(report.path, UNREADABLE, "error", report.error, None, None, None, 0, -1)
        raised = [f for f in report.findings if f.raised]
        top = raised[0] if raised else None
        worst = max((SEVERITY_LEVEL[f.severity] for f in report.findings), default=-1)
        return cls(
            report.name,
            top.category if top else HEALTHY,
            top.severity if top else None,
            top.title if top else "",
            report.run.best_val_loss,
            report.run.tokens_seen,
            report.run.epochs,
            len(raised),
            worst,
            seed_recipe(report),
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

    def seed_groups(self) -> list[SeedGroup]:
        """Seeds of one config with a best val each (two or more), the lowest mean first."""
        by_recipe: dict[tuple, list[RunRow]] = {}
        for row in self.rows:
            if row.recipe is not None and row.best_val is not None and math.isfinite(row.best_val):
                by_recipe.setdefault(row.recipe, []).append(row)
        groups = [SeedGroup(recipe[0], rows) for recipe, rows in by_recipe.items() if len(rows) >= MIN_SEEDS]
        return sorted(groups, key=lambda g: (g.mean, g.pattern))

    def seed_lines(self) -> list[str]:
        """The seed groups in words: each one's spread, and each against the best, in units of the
        spread of the difference of two means (seed noise only: eval noise is inside it)."""
        groups = self.seed_groups()
        lines = []
        for group in groups:
            line = (
                f"{len(group.rows)} seeds of {group.pattern}: best val {group.mean:.4f} mean, "
                f"sd {group.sd:.4f} ({group.low:.4f}-{group.high:.4f})"
            )
            if group is not groups[0]:
                line += "; " + group.against(groups[0])
            lines.append(line)
        return lines

    def exit_code(self, fail_level: int) -> int:
        """2 if a run could not be read, else 1 if a finding reaches the fail level, else 0."""
        if any(row.verdict == UNREADABLE for row in self.rows):
            return 2
        return 1 if any(row.worst_level >= fail_level for row in self.rows) else 0


MIN_SEEDS = 2  # runs of one recipe needed to measure a spread
# A difference of two recipes' mean best vals is real beyond this many standard errors of the
# difference (two-sided ~95% with a normal approximation; with few seeds it is generous).
SEED_SIGNIFICANCE = 2.0
SEED_TOKEN = re.compile(
    r"(?i)(?<![a-z])seed[-_=]?(?=[a-z0-9-]*[0-9])[a-z0-9-]+(?![a-z0-9])"
)  # an id with a digit


def seed_recipe(report: Report) -> tuple | None:
    """(path with its seed token as `seed*`, format, max_iters, tokens per iteration,
    parameters), or None when the path names no seed. The facts are those the log shows: two
    runs with one path pattern but different recipes are not seeds of one config."""
    pattern, found = SEED_TOKEN.subn("seed*", report.path)
    if not found:
        return None
    run = report.run
    return (pattern, report.format, run.max_iters, run.tokens_per_iter, run.n_params)


@dataclass
class SeedGroup:
    """Runs of one recipe that differ by seed: their best vals' spread."""

    pattern: str
    rows: list[RunRow]

    @property
    def values(self) -> list[float]:
        return [row.best_val for row in self.rows if row.best_val is not None]

    @property
    def mean(self) -> float:
        import statistics  # seeds only: most sweeps have none

        return statistics.fmean(self.values)

    @property
    def sd(self) -> float:
        import statistics

        return statistics.stdev(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def against(self, best: SeedGroup) -> str:
        """How far this group's mean is above `best`'s, against the standard error of that
        difference from the two groups' own spreads."""
        difference = self.mean - best.mean
        error = math.sqrt(self.sd**2 / len(self.values) + best.sd**2 / len(best.values))
        if error == 0:
            return f"{difference:+.4f} vs {best.pattern} (no spread to judge it by)"
        sigmas = difference / error
        judged = "beyond seed spread" if sigmas > SEED_SIGNIFICANCE else "within seed spread"
        return f"{difference:+.4f} vs {best.pattern} ({sigmas:.1f} standard errors: {judged})"
