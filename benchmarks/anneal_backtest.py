"""Backtest of the schedule-aware forecast on finished real runs.

    python benchmarks/anneal_backtest.py [--logs ../shared/logs] [--json]

Each run below finished its schedule and its schedule is known: from the config the log echoes,
from the run's published settings (logs/SOURCES.md, the record's own script), or from the LR the
log prints. Each is cut at 40%, 60% and 80% of its schedule: the tool sees only what the log held
at that point (the same parse, truncated; the same noise estimate) and forecasts the val loss at
the last step, under the schedule the run really followed. The forecast is compared with the val
the run printed there.

The table gives, per run and cut, the forecast, its 80% interval, the truth and the error; the
summary gives the median absolute error (nats, % of the final loss, units of the eval noise) and
how often the interval held the truth. Refusals are counted apart: a refusal is not a miss, but
the share of cuts refused is reported too.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plateau_doctor.analyse.anneal_forecast import CurveRefusal, LawSettings, forecast_curve, nanogpt_schedule  # noqa: E402
from plateau_doctor.analyse.forecast import fit_power_law  # noqa: E402
from plateau_doctor.api import examine, parse  # noqa: E402
from plateau_doctor.model import ParsedLog  # noqa: E402

DEFAULT_LOGS = ROOT.parent / "shared" / "logs"
CUTS = (0.4, 0.6, 0.8)


def trapezoid(total: int, warmup: int, warmdown: int) -> Callable[[np.ndarray], np.ndarray]:
    """Linear warmup, constant, linear warmdown to zero over the last `warmdown` steps: the
    get_lr of modded-nanogpt's 2024-10 records and of the llm.c AdamW baseline they compare to."""

    def lr(it):
        it = np.asarray(it, dtype=float)
        up = np.where(it < warmup, (it + 1) / max(warmup, 1), 1.0)
        down = np.clip((total - it) / warmdown, 0.0, 1.0)
        return np.minimum(up, down)

    return lr


def cooldown_to_tenth(total: int, cooldown_frac: float) -> Callable[[np.ndarray], np.ndarray]:
    """modded-nanogpt 2025-01 get_lr: 1.0, then linear to 0.1 over the last cooldown_frac."""

    def lr(it):
        t = 1.0 - np.asarray(it, dtype=float) / total
        w = np.minimum(t / cooldown_frac, 1.0)
        return w + (1 - w) * 0.1

    return lr


@dataclass(frozen=True)
class Run:
    log: str
    config: str | None = None  # examples/configs/<name>.py
    overrides: dict | None = None  # published settings the log does not echo
    schedule: Callable | None = None  # a non-nanoGPT schedule, from the record's script
    logged_lr: bool = False  # the log prints the LR of every step
    source: str = ""


RUNS = [
    *(
        Run(f"h200_{name}.log", config=f"h200_{name}.py", source="config echoed in the log")
        for name in (
            "pycode_ddp2",
            "pycode_healthy",
            "pycode_lr_high",
            "shakespeare_char_healthy_2k",
            "shakespeare_char_lr_high_1e-2",
            "shakespeare_char_lr_low_2e-5",
            "shakespeare_char_noisy_eval",
            "shakespeare_char_overfit_default",
            "shakespeare_char_tiny_model",
        )
    ),
    Run("real_02_nanogpt_tinystories50M_healthy_ansi.log", source="config echoed in the log"),
    Run(
        "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log",
        overrides=dict(
            learning_rate=6e-4,
            min_lr=6e-5,
            warmup_iters=100,
            lr_decay_iters=10000,
            max_iters=10000,
            eval_iters=200,
            batch_size=12,
            gradient_accumulation_steps=40,
            block_size=1024,
        ),
        source="the run's wandb config.yaml (SOURCES.md)",
    ),
    Run(
        "real_30_modded_nanogpt_2024-10-10_Muon.log",
        schedule=trapezoid(6200, 0, 1800),
        source="records/track_1_short/2024-10-10_Muon/train_gpt2.py get_lr",
    ),
    Run(
        "real_31_modded_nanogpt_2025-01-18_medium_valonly.log",
        schedule=cooldown_to_tenth(7500, 0.4),
        source="records/track_2_medium/2025-01-18 script get_lr",
    ),
    Run("real_40_llmc_gpt2_124M_8xH100_main.log", logged_lr=True, source="LR printed every step"),
    Run(
        "real_41_llmc_oldformat_adamw_baseline_main.log",
        schedule=trapezoid(9536, 250, 2000),
        source="record README: lr 0.0018, warmup 250, warmdown 2000",
    ),
]


@dataclass
class Row:
    log: str
    cut: float
    cut_step: int
    end_step: int
    truth: float
    noise: float | None
    predicted: float | None = None
    low: float | None = None
    high: float | None = None
    annealing: str | None = None
    refused: str | None = None
    seconds: float = 0.0
    baseline_seconds: float = 0.0  # the step power law (analyse/forecast.py) on the same points

    @property
    def error(self) -> float | None:
        return None if self.predicted is None else self.predicted - self.truth

    @property
    def covered(self) -> bool | None:
        return None if self.predicted is None else self.low <= self.truth <= self.high


def _truncate(parsed: ParsedLog, last_step: int) -> ParsedLog:
    """The log as it stood when it had printed up to `last_step`."""
    iters = parsed.iter_table
    evals = parsed.eval_table
    it = iters.rows(iters["iter"] <= last_step) if not iters.empty else iters
    ev = evals.rows(evals["step"] <= last_step) if not evals.empty else evals
    return ParsedLog(format=parsed.format, iter_table=it, eval_table=ev, meta=parsed.meta)


def _schedule(run: Run, ex, parsed: ParsedLog):
    if run.schedule is not None:
        return run.schedule, None
    if run.logged_lr:
        iters = parsed.iter_table
        has = np.isfinite(iters["lr"])
        steps, lrs = iters["iter"][has].astype(int), iters["lr"][has]
        full = np.interp(np.arange(int(steps.max()) + 1), steps, lrs)
        return full, None
    return nanogpt_schedule(ex.config), None


DEFAULT_SETTINGS = LawSettings()  # the law's settings as the analyses use them


def backtest_run(run: Run, logs: Path, cuts=CUTS, settings: LawSettings = DEFAULT_SETTINGS) -> list[Row]:
    config = str(ROOT / "examples" / "configs" / run.config) if run.config else None
    parsed = parse(str(logs / run.log))
    full = examine(parsed=parsed, config=config, overrides=run.overrides)
    val = full.analyses.val
    end_step = int(val.steps[-1])
    truth = float(val.values[-1])
    lr, _ = _schedule(run, full, parsed)
    rows = []
    for cut in cuts:
        cut_step = int(cut * end_step)
        seen = examine(parsed=_truncate(parsed, cut_step), config=config, overrides=run.overrides)
        a = seen.analyses
        row = Row(run.log, cut, cut_step, end_step, truth, a.eval_noise)
        started = time.perf_counter()
        result = forecast_curve(a.val.steps, a.val.values, lr, end_step, a.eval_noise, settings=settings)
        row.seconds = time.perf_counter() - started
        started = time.perf_counter()
        fit_power_law(a.val.steps, a.val.values, end_step)
        row.baseline_seconds = time.perf_counter() - started
        if isinstance(result, CurveRefusal):
            row.refused = result.reason
        else:
            row.predicted, row.low, row.high = result.predicted, result.low, result.high
            row.annealing = result.annealing
        rows.append(row)
    return rows


@dataclass
class Summary:
    forecasts: int
    refused: int
    median_abs_error: float
    median_relative_error: float  # of the final loss
    median_error_in_noise: float  # |error| / eval noise, where the noise is known
    coverage: float
    median_seconds: float
    time_ratio: float  # median of the fit's time over the step power law's


def summarise(rows: list[Row]) -> Summary:
    made = [r for r in rows if r.predicted is not None]
    if not made:
        return Summary(0, len(rows), math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    errors = [abs(r.error) for r in made]
    relative = [abs(r.error) / r.truth for r in made]
    in_noise = [abs(r.error) / r.noise for r in made if r.noise]
    return Summary(
        forecasts=len(made),
        refused=len(rows) - len(made),
        median_abs_error=statistics.median(errors),
        median_relative_error=statistics.median(relative),
        median_error_in_noise=statistics.median(in_noise) if in_noise else math.nan,
        coverage=sum(bool(r.covered) for r in made) / len(made),
        median_seconds=statistics.median(r.seconds for r in made),
        time_ratio=statistics.median(r.seconds / max(r.baseline_seconds, 1e-9) for r in made),
    )


def run_backtest(logs: Path = DEFAULT_LOGS, runs=RUNS, settings: LawSettings = DEFAULT_SETTINGS) -> list[Row]:
    rows = []
    for run in runs:
        if (logs / run.log).exists():
            rows += backtest_run(run, logs, settings=settings)
    return rows


def calibrate(logs: Path = DEFAULT_LOGS, runs=RUNS) -> list[tuple[str, float, float, float, float]]:
    """Fit the law to each complete curve, with a prior on C far wider than the method's, and
    return (log, C as a share of the final loss, lam, alpha, residual sd) of the best cell: what
    the method's prior range on C rests on."""
    wide = LawSettings(anneal_gain_range=(0.001, 0.5))
    out = []
    for run in runs:
        if not (logs / run.log).exists():
            continue
        config = str(ROOT / "examples" / "configs" / run.config) if run.config else None
        parsed = parse(str(logs / run.log))
        full = examine(parsed=parsed, config=config, overrides=run.overrides)
        val = full.analyses.val
        lr, _ = _schedule(run, full, parsed)
        result = forecast_curve(
            val.steps, val.values, lr, int(val.steps[-1]), full.analyses.eval_noise, settings=wide
        )
        if isinstance(result, CurveRefusal):
            out.append((run.log, math.nan, math.nan, math.nan, math.nan))
            continue
        m = result.model
        best = int(np.argmax(m.weight))
        out.append(
            (
                run.log,
                float(m.gain[best] / val.values[-1]),
                float(m.decay[best]),
                float(m.alpha[best]),
                result.residual_sd,
            )
        )
    return out


def _table(rows: list[Row]) -> str:
    lines = [
        f"{'log':<52} {'cut':>4} {'at':>6} {'end':>6} {'forecast':>9} {'interval':>17} "
        f"{'truth':>7} {'error':>8} {'noise':>7} {'in':>3}  C"
    ]
    for r in rows:
        head = f"{r.log[:52]:<52} {r.cut:>4.0%} {r.cut_step:>6} {r.end_step:>6}"
        if r.refused:
            lines.append(f"{head} refused: {r.refused}")
            continue
        noise = f"{r.noise:.4f}" if r.noise else "-"
        lines.append(
            f"{head} {r.predicted:>9.4f} {r.low:>8.4f}-{r.high:<8.4f} {r.truth:>7.4f} "
            f"{r.error:>+8.4f} {noise:>7} {'yes' if r.covered else 'NO':>3}  {r.annealing}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logs", type=Path, default=DEFAULT_LOGS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--calibrate", action="store_true", help="fit each complete curve and print what a full anneal bought"
    )
    args = parser.parse_args()
    if not args.logs.is_dir():
        sys.exit(f"{args.logs}: not a directory (the shared logs live in ../shared/logs)")
    if args.calibrate:
        print(f"{'log':<52} {'C/loss':>7} {'lam':>6} {'alpha':>6} {'resid':>7}")
        for name, share, decay, alpha, resid in calibrate(args.logs):
            print(f"{name[:52]:<52} {share:>7.1%} {decay:>6} {alpha:>6.2f} {resid:>7.4f}")
        return
    rows = run_backtest(args.logs)
    summary = summarise(rows)
    if args.json:
        print(json.dumps({"rows": [asdict(r) for r in rows], "summary": asdict(summary)}, indent=2))
        return
    print(_table(rows))
    print()
    for label, part in (
        ("real_* (public runs)", [r for r in rows if r.log.startswith("real_")]),
        ("h200_* (nanoGPT runs made for this project)", [r for r in rows if r.log.startswith("h200_")]),
    ):
        s = summarise(part)
        print(
            f"{label}: forecasts {s.forecasts}, refused {s.refused}, median |error| "
            f"{s.median_abs_error:.4f} ({s.median_relative_error:.2%}), coverage {s.coverage:.0%}"
        )
    print(
        f"all: forecasts {summary.forecasts}, refused {summary.refused}; median |error| "
        f"{summary.median_abs_error:.4f} nats = {summary.median_relative_error:.2%} of the final "
        f"loss = {summary.median_error_in_noise:.1f} x eval noise; 80% interval held the truth "
        f"{summary.coverage:.0%}; median fit {summary.median_seconds * 1000:.0f} ms, "
        f"{summary.time_ratio:.1f}x the step power law's on the same points"
    )


if __name__ == "__main__":
    main()
