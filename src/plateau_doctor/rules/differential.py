"""The differential diagnosis: one verdict that explains the evidence, not a list of matches.

Every rule declares which categories explain its findings (RuleInfo.explained_by): a run that
overfits still "improves" on train and is "judged mid-schedule" by the calendar, but both are
consequences of the overfitting, whose fix (stop at the best step) settles them too. So:

1. Causes are settled before their consequences: categories are visited in the order of the
   explanation graph (roots first), which the rule loader has checked has no cycles.
2. A finding whose rule names a category that an earlier, unexplained, raised finding of at
   least its severity has is folded into it: it keeps its numbers and gains `explained_by`, and
   it is no longer raised (its own severity is kept in `severity_as_found`): it is not a
   separate problem. (A warning cannot absorb an error: the run would look less broken.)
3. What is left is ranked: raised findings by severity, then by how directly their rule explains
   a run times how sure the finding is; then the facts (info); then the folded consequences.
   The first raised finding is the verdict, the others contributing factors.

Nothing here depends on the order rules ran in.
"""

from __future__ import annotations

from ..model import SEVERITY_RANK, Finding, RuleInfo


def category_depths(infos: list[RuleInfo]) -> dict[str, int]:
    """Depth of each category in the explanation graph: 0 for a category no rule of which is
    explained by anything, else one more than the deepest category explaining it. ValueError on
    a cycle."""
    explainers: dict[str, set[str]] = {}
    for info in infos:
        explainers.setdefault(info.category, set()).update(info.explained_by)
    depths: dict[str, int] = {}

    def depth(category: str, path: tuple[str, ...]) -> int:
        if category in path:
            raise ValueError("explained_by forms a cycle: " + " <- ".join((*path, category)))
        if category not in depths:
            causes = explainers.get(category, set())
            depths[category] = 1 + max((depth(c, (*path, category)) for c in causes), default=-1)
        return depths[category]

    for category in explainers:
        depth(category, ())
    return depths


def differential(findings: list[Finding], infos: list[RuleInfo]) -> list[Finding]:
    """Fold consequences into their causes and rank what is left (see the module docstring)."""
    by_code = {info.code: info for info in infos}
    depths = category_depths(infos)
    active: list[Finding] = []  # raised and not explained: the candidate causes
    for f in sorted(findings, key=lambda f: (depths.get(f.category, 0), f.code)):
        info = by_code.get(f.code)
        causes = [
            g
            for g in active
            if info is not None
            and g.category in info.explained_by
            and SEVERITY_RANK[g.severity] >= SEVERITY_RANK[f.severity]
        ]
        if causes and not f.ruled_out:
            f.explained_by = [g.code for g in causes]
            if f.raised:
                f.severity_as_found, f.severity = f.severity, "info"
            continue
        if f.raised:
            active.append(f)
    return rank(findings)


def rank(findings: list[Finding]) -> list[Finding]:
    """Raised causes first (severity, then weight x confidence, then code), then facts, then the
    consequences folded into causes."""

    def key(f: Finding):
        folded = bool(f.explained_by)
        return (folded, -SEVERITY_RANK[f.severity], -f.weight * f.confidence, f.code)

    return sorted(findings, key=key)
