"""`parse --to csv|json|parquet`: the loss table as files other tools read."""

from __future__ import annotations

import io
import json

from .model import ParsedLog
from .output import write_atomically

# One table of iteration and eval rows, a `kind` column telling them apart (CSV, the notebook)
LONG_COLUMNS = [
    "kind",
    "step",
    "loss",
    "train_loss",
    "val_loss",
    "time_ms",
    "mfu",
    "lr",
    "grad_norm",
    "checkpoint_saved",
    "segment",
    "line",
]


def long_table(parsed: ParsedLog):
    """The loss table as one pandas DataFrame: iteration and eval rows by step, `kind` iter/eval."""
    import pandas as pd

    iters = parsed.iters.assign(kind="iter").rename(columns={"iter": "step"})
    evals = parsed.evals.assign(kind="eval")
    table = pd.concat([iters, evals], ignore_index=True, sort=False)
    return table.reindex(columns=LONG_COLUMNS).sort_values(["step", "kind"], kind="stable")


def export_table(parsed: ParsedLog, to: str, output: str | None) -> str | bytes | None:
    """CSV: one table with a `kind` column (iter/eval). JSON: {format, meta, iters, evals}.
    Parquet: written straight to `output` (needs pyarrow); returns None then."""
    import pandas as pd

    if to == "csv":
        table = long_table(parsed)
        return table.to_csv(index=False, na_rep="")
    if to == "json":

        def rows(frame):
            return json.loads(frame.to_json(orient="records"))

        m = parsed.meta
        meta = {
            "lines": m.n_lines,
            "segments": m.n_segments,
            "tokens_per_iter": m.tokens_per_iter,
            "n_params": m.n_params,
            "vocab_size": m.vocab_size,
            "init_from": m.init_from,
            "max_iters": m.max_iters,
            "world_size": m.world_size,
            "loss_kind": m.loss_kind,
            "val_metric": m.val_metric,
            "overrides": m.overrides,
            "notes": m.notes,
        }
        return (
            json.dumps(
                {
                    "format": parsed.format,
                    "meta": meta,
                    "iters": rows(parsed.iters),
                    "evals": rows(parsed.evals),
                },
                indent=1,
            )
            + "\n"
        )
    if output is None:
        raise ValueError("parquet output needs --output FILE")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError("parquet output needs pyarrow: pip install 'plateau-doctor[parquet]'") from None
    frames = pd.concat(
        [parsed.iters.assign(kind="iter").rename(columns={"iter": "step"}), parsed.evals.assign(kind="eval")],
        ignore_index=True,
        sort=False,
    )
    out = io.BytesIO()
    frames.to_parquet(out, index=False)
    write_atomically(output, out.getvalue())
    return None
