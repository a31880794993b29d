"""PD601: what the user passed (--config, --set) contradicts what the log says the run used."""

from __future__ import annotations

from ..model import RuleInfo
from .base import CERTAIN, Context, Skip, finding

RULE = RuleInfo(
    code="PD601",
    name="config-mismatch",
    category="config",
    severity="warning",
    summary="The --config file or a --set value differs from the config the log echoed or overrode.",
    what="Compares each key of the --config file and each --set value with the log's echoed "
    "config and its `Overriding:` lines. For --config the log's values are used, since they "
    "are what ran; a --set value is used as given, since it is an explicit instruction. "
    "Either way the difference is reported with both values.",
    why="A diagnosis built on a config the run did not use is wrong in every number that "
    "depends on it (tokens per iteration, parameters, LR).",
    fix="Pass the config the run was started with, or drop --config and let the log's echo speak; "
    "drop a --set that contradicts the log unless you know the log is wrong.",
    example="WARNING PD601 --config differs from the run's own config in 1 key(s)",
)


def check(ctx: Context, limits) -> list:
    diffs = ctx.config.mismatches
    if not diffs:
        if not ctx.config.config_path and not any(v.source == "--set" for v in ctx.config.values.values()):
            return [Skip(RULE.code, "no --config or --set given")]
        return []
    by = sorted({d["given_by"] for d in diffs})
    listed = "; ".join(
        f"{d['key']}: {d['given_by']} {d['given']!r}, the log {d['log']!r} "
        f"(using {'the log' if d['used'] == 'log' else d['given_by']})"
        for d in diffs[:6]
    )
    return [
        finding(
            RULE,
            confidence=CERTAIN,
            title=f"{' and '.join(by)} differ{'s' if len(by) == 1 else ''} from the run's own config in {len(diffs)} key(s)",
            message=f"The log says the run used other values: {listed}.",
            evidence={
                d["key"]: f"{d['given_by']} {d['given']!r}, log {d['log']!r}, using {d['used']}"
                for d in diffs
            },
            fixes=[RULE.fix],
        )
    ]
