"""The JSON report of CONTRACT.md: one object per log, a list for several. Deterministic bytes."""

from __future__ import annotations

import json
import math
from typing import Any

from .. import __version__
from ..model import Report, RunFacts

SCHEMA_VERSION = 1


def report_dict(report: Report) -> dict[str, Any]:
    if report.error:  # a log that could not be read, in its place among the others
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "plateau-doctor", "version": __version__},
            "source": {"path": report.path, "format": None, "lines": None, "segments": None},
            "run": None,
            "verdict": report.verdict,
            "findings": [],
            "notes": [],
            "error": {"message": report.error},
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "plateau-doctor", "version": __version__},
        "source": {
            "path": report.path,
            "format": report.format,
            "lines": report.lines,
            "segments": report.segments,
            **({"run_in_file": report.run_in_file} if report.run_in_file else {}),
        },
        "run": run_dict(report.run),
        "verdict": report.verdict,
        "findings": [
            {
                "code": f.code,
                "category": f.category,
                "severity": f.severity,
                "confidence": f.confidence,
                "title": f.title,
                "message": f.message,
                "evidence": _clean(f.evidence),
                "counter_evidence": _clean(f.counter_evidence),
                "fixes": list(f.fixes),
                "line": f.line,
                **(
                    {"explained_by": list(f.explained_by), "severity_as_found": f.severity_as_found}
                    if f.explained_by
                    else {}
                ),
                **({"ruled_out": True} if f.ruled_out else {}),
            }
            for f in report.findings
        ],
        "notes": list(report.notes),
    }


def run_dict(run: RunFacts) -> dict[str, Any]:
    data = {key: _clean(getattr(run, key)) for key in RunFacts.CONTRACT_KEYS}
    data.update(
        {
            "forecast": _clean(run.forecast),
            "forecast_refused": run.forecast_refused,
            "eval_kind": run.eval_kind,
            "mode": run.mode,
            "device": run.device,
            "eval_noise": _clean(run.eval_noise),
            "eval_noise_method": run.eval_noise_method,
            "vocab_size": run.vocab_size,
            "n_params_printed": _clean(run.n_params_printed),
            "n_params_computed": run.n_params_computed,
            "eval_iters": run.eval_iters,
            **({"planned": True, "gpu": run.gpu} if run.planned else {}),  # `check`: a plan
            "sources": dict(sorted(run.sources.items())),
        }
    )
    return data


def render(reports: list[Report], rules=None, tool_version: str = __version__) -> str:
    data = [report_dict(r) for r in reports]
    payload = data[0] if len(data) == 1 else data
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class ListWriter:
    """The JSON list of several reports written one report at a time, byte for byte what
    `render` gives for the whole list: a sweep of thousands of runs never holds them all."""

    def __init__(self, write) -> None:
        self.write = write
        self.count = 0

    def add(self, report: Report) -> None:
        # dumped as a list of one, the report comes out indented as an item of the list;
        # cutting the brackets off costs nothing, indenting every line again cost a third more
        text = json.dumps([report_dict(report)], indent=2, ensure_ascii=False, allow_nan=False)
        self.write(("[\n" if self.count == 0 else ",\n") + text[2:-2])
        self.count += 1

    def close(self) -> None:
        self.write("[]\n" if self.count == 0 else "\n]\n")


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
