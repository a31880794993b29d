"""`compare`: is a candidate run worse than a baseline beyond eval noise and seed spread?

    >>> from plateau_doctor import compare
    >>> report = compare("baseline.log", "candidate.log")          # doctest: +SKIP
    >>> report = compare("baseline.log", ["seed1.log", "seed2.log"])  # seeds of one config

Each run is examined like `diagnose` does; rules/regression.py aligns them (matched tokens, or
matched fraction of the LR schedule when the schedules differ), says when they are not comparable,
and judges the difference. The result is a Report of the candidate whose findings are PD801-PD804,
honouring --select/--ignore and the severity and threshold settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Report


@dataclass
class Comparison:
    report: Report
    examinations: list  # baseline first, then the candidates (api.Examination)
    plot: str | None = None  # the runs overlaid (SVG), when asked for and matplotlib is there


def compare(
    baseline: str,
    candidate: str | list[str],
    *,
    baseline_config: str | None = None,
    candidate_config: str | None = None,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    log_format: str = "auto",
    settings=None,
    seed_spread: float | None = None,
    thresholds: dict[str, dict[str, float]] | None = None,
) -> Report:
    """The regression report of `candidate` (a log, or several seeds of one config) against
    `baseline`. `seed_spread`: the typical difference in val loss between two seeds of one config
    (default: measured from several candidates, else 1% of the baseline's best val)."""
    return run_comparison(
        baseline,
        candidate,
        baseline_config=baseline_config,
        candidate_config=candidate_config,
        overrides=overrides,
        dataset_tokens=dataset_tokens,
        log_format=log_format,
        settings=settings,
        seed_spread=seed_spread,
        thresholds=thresholds,
    ).report


def run_comparison(
    baseline: str,
    candidate: str | list[str],
    *,
    baseline_config: str | None = None,
    candidate_config: str | None = None,
    overrides: dict[str, Any] | None = None,
    dataset_tokens: str | int | None = None,
    log_format: str = "auto",
    settings=None,
    seed_spread: float | None = None,
    thresholds: dict[str, dict[str, float]] | None = None,
    plot: bool = False,
) -> Comparison:
    """`compare`, keeping the examinations (and the overlaid plot when `plot`)."""
    from .rules import RuleSettings
    from .rules.differential import rank
    from .rules.regression import INFOS, compare_runs
    from .sweep import RunInputs, examine_log

    settings = settings or RuleSettings()
    thresholds = {**settings.thresholds, **(thresholds or {})}
    candidates = [candidate] if isinstance(candidate, str) else list(candidate)

    def load(path: str, config: str | None):
        inputs = RunInputs(
            config=config, overrides=overrides or {}, dataset_tokens=dataset_tokens, log_format=log_format
        )
        return examine_log(path, inputs)  # rules run unfiltered: only PD80x are reported

    base = load(baseline, baseline_config)
    cands = [load(path, candidate_config) for path in candidates]
    findings, alignment = compare_runs(base, cands, thresholds, seed_spread, settings.enabled)
    for item in findings:
        if item.code in settings.severities:
            item.severity = settings.severities[item.code]
    findings = rank(findings)
    raised = [f for f in findings if f.raised]
    names = ", ".join(e.report.path for e in cands)
    if raised:
        verdict = (
            f"The candidate ({names}) is worse than the baseline ({base.report.path}): "
            + "; ".join(f.title[0].lower() + f.title[1:] for f in raised)
            + "."
        )
    elif alignment.reasons:
        verdict = f"Not comparable with {base.report.path}: {alignment.reasons[0]}."
    else:
        verdict = f"No regression against {base.report.path} beyond eval noise and seed spread."
    first = cands[0].report
    notes = [f"baseline: {base.report.path}", f"runs aligned by {alignment.unit}: {alignment.note}"]
    if len(cands) > 1:
        notes.append(f"{len(cands)} candidates taken as seeds of one config: {names}")
    report = Report(
        path=first.path if len(cands) == 1 else names,
        format=first.format,
        lines=first.lines,
        segments=first.segments,
        run=first.run,
        findings=findings,
        verdict=verdict,
        notes=notes,
        rules_checked=[info.code for info in INFOS if settings.enabled(info)],
        val_series=first.val_series,
    )
    exams = [base, *cands]
    svg = None
    if plot:
        from .sweep import run_svg

        svg = run_svg(exams)
    return Comparison(report, exams, svg)
