"""PD601: the --config file disagrees with what the log says the run used."""
from __future__ import annotations

from ..model import RuleInfo
from .base import Context, Skip, finding

INFO = RuleInfo(
    code="PD601", name="config-mismatch", category="config", severity="warning",
    summary="The config passed with --config differs from the config the log echoed or overrode.",
    what="Compares each key of the --config file with the log's echoed config and its "
         "`Overriding:` lines. The log's values are used, since they are what ran.",
    why="A diagnosis built on a config the run did not use is wrong in every number that "
        "depends on it (tokens per iteration, parameters, LR).",
    fix="Pass the config the run was started with, or drop --config and let the log's echo speak.",
)


def check(ctx: Context, thresholds: dict) -> list:
    if not ctx.config.config_path:
        return [Skip(INFO.code, "no --config given")]
    diffs = ctx.config.mismatches
    if not diffs:
        return []
    listed = ", ".join(f"{d['key']}: {d['config_file']!r} vs {d['log']!r}" for d in diffs[:6])
    return [finding(
        INFO, confidence=0.95,
        title=f"--config differs from the run's own config in {len(diffs)} key(s)",
        message=f"The log says the run used other values ({listed}); the log's values are used.",
        evidence={d["key"]: f"config {d['config_file']!r}, log {d['log']!r}" for d in diffs},
        fixes=[INFO.fix], weight=0.6,
    )]
