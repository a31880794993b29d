"""The data that crosses module boundaries: the parsed log, the run facts, findings and the report.

Data flows one way: read -> parse (ParsedLog) -> resolve (ResolvedConfig, RunFacts) -> analyse
-> rules (Finding) -> report (Report). Everything here is plain data; no behaviour beyond small
conveniences, so any module can import it without pulling in numpy or pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and pandas are imported lazily so `--version` and `--help` stay fast
    import numpy as np
    import pandas as pd

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}

CATEGORIES = (
    "overfitting",
    "data_repetition",
    "lr_too_high",
    "lr_too_low",
    "lr_schedule",
    "capacity_limited",
    "eval_noise",
    "loss_spikes",
    "divergence",
    "still_improving",
    "plateau",
    "init_loss",
    "throughput",
    "config",
    "incomplete_run",
    "regression",
)

# Column layout of the loss table; every parser produces exactly these columns.
ITER_COLUMNS = ("iter", "loss", "time_ms", "mfu", "lr", "grad_norm", "segment", "line")
EVAL_COLUMNS = ("step", "train_loss", "val_loss", "checkpoint_saved", "segment", "line")


@dataclass
class LogMeta:
    """What the log itself printed, apart from the loss curves. None where the log is silent."""

    n_lines: int = 0
    n_segments: int = 1
    tokens_per_iter: int | None = None  # the printed `tokens per iteration` line
    n_params: float | None = None  # the printed `number of parameters` (absolute)
    vocab_size: int | None = None  # `found vocab_size`, or implied by init_from
    init_from: str | None = None  # scratch / resume / gpt2 / gpt2-medium / ...
    max_iters: int | None = None  # formats that print `step N/M` know M
    world_size: int | None = None  # ranks seen (duplicate headers, rank prefixes)
    config_files: list[str] = field(default_factory=list)  # `Overriding config with X:`
    # `Overriding config with X:` and the file text echoed after it; resolve reads it (never runs it)
    config_echo: list[tuple[str, str]] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)  # `Overriding: k = v` as printed
    decayed_params: int | None = None  # `num decayed parameter tensors: ..., with N parameters`
    nodecayed_params: int | None = None
    loss_kind: str = "micro_batch"  # micro_batch (nanoGPT iter), window_mean (HF), ema (nanochat)
    val_metric: str = "loss"  # loss, or bpb (nanochat)
    lr_logged: bool = False  # the log prints the learning rate itself
    # What the trainer's code does with the LR where the log does not print it: "constant" for a
    # trainer with no schedule at all (mlx-examples' lora.py of 2023: a bare optim.Adam); None
    # where a schedule may have been configured.
    lr_by_design: str | None = None
    fused_adamw: bool | None = None
    compiled: bool | None = None
    checkpoints_saved: int = 0  # `saving checkpoint` lines
    last_step: int | None = None  # a step the run is known to have reached past its last row
    stopped_by_design: str | None = None  # why it ended before max_iters on purpose, as printed
    epochs: float | None = None  # passes over the training data, as the log counts them
    # What the numbers mean. Set by the parser (a format's defaults come from its TRAITS), read by
    # everything after it, so nothing downstream needs to know which format a log was.
    eval_kind: str | None = None  # "resampled": fresh random val batches at every eval (nanoGPT);
    # "fixed": the same val set each time (llm.c, HF, ...); None: unknown
    eval_set_tokens: int | None = None  # size of a fixed val set, where the log tells
    config_schema: str | None = None  # whose config keys and defaults the run's config uses ("nanogpt")
    loss_unit: str = "nats"  # of the train loss: nats per token, or "bits"
    finetune: bool | None = None  # the log shows the run starts from pretrained weights (True),
    # from scratch (False), or does not say (None)
    trains_adapters: bool | None = None  # the log shows only adapter (LoRA) weights train
    excerpt: bool = False  # the log shows it is cut from a longer one (an elision line
    # `...`, a last line cut mid-way): where it ends says nothing
    notes: list[str] = field(default_factory=list)  # what the parser noticed and skipped
    # Iterations the trainer itself reports it did not apply (Megatron's `number of skipped
    # iterations`: fp16 loss-scale overflow) or found NaN in (`number of nan iterations`), summed
    # over the log; None where the format does not report them.
    skipped_iters: int | None = None
    nan_iters: int | None = None
    # (first, last) data line of each run from scratch when the file holds several (seeds run
    # one after another, restarts at step 0); empty for one run. parsers.parse_runs splits on it.
    runs: list[tuple[int, int]] = field(default_factory=list)
    # set by parse_runs on each run of such a file: "run 2 of 3, lines 1,201-2,400"
    run_in_file: str | None = None


class Columns:
    """Named numpy vectors of one length: one half of the loss table, as the analyses read it.

    The diagnosis needs nothing pandas adds, and importing pandas (~0.2 s) costs more than a
    whole diagnosis of a small log, so the DataFrame face is built only when asked for.
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self._length = len(next(iter(arrays.values()))) if arrays else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return self._length

    @property
    def empty(self) -> bool:
        return self._length == 0

    def rows(self, which: np.ndarray | slice) -> Columns:
        """The rows a boolean mask, index vector or slice picks, as a new table."""
        return Columns({name: values[which] for name, values in self.arrays.items()})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.arrays, copy=False)


@dataclass
class ParsedLog:
    """The loss table of one log. Its rows are deduplicated (a later segment wins on a repeated
    step) and keep a `segment` column saying which run in the file each row came from.

    `iter_table` / `eval_table` are the numpy columns (ITER_COLUMNS / EVAL_COLUMNS) the diagnosis
    reads; `iters` / `evals` are the same data as DataFrames, built on first use.
    """

    format: str
    iter_table: Columns
    eval_table: Columns
    meta: LogMeta

    @cached_property
    def iters(self) -> pd.DataFrame:
        return self.iter_table.to_frame()

    @cached_property
    def evals(self) -> pd.DataFrame:
        return self.eval_table.to_frame()


@dataclass
class ConfigValue:
    """One config key's value and where it came from."""

    value: Any
    source: str  # default | config:<path> | log-echo | log-override | --set


@dataclass
class ResolvedConfig:
    """The run's config, each key from the strongest source that sets it, and what disagreed."""

    values: dict[str, ConfigValue]
    mismatches: list[dict[str, Any]] = field(default_factory=list)  # --config vs what the log says
    unknown: list[str] = field(default_factory=list)  # keys set by code we did not evaluate
    claimed_params: list[str] = field(default_factory=list)  # e.g. "125M" in a config comment
    config_path: str | None = None
    has_log_config: bool = False  # the log echoed a config or printed overrides
    schema: str | None = None  # whose keys and defaults these are ("nanogpt"), from the log

    def get(self, key: str, default: Any = None) -> Any:
        item = self.values.get(key)
        return default if item is None else item.value

    def source(self, key: str) -> str | None:
        item = self.values.get(key)
        return None if item is None else item.source

    def is_default(self, key: str) -> bool:
        return self.source(key) in (None, "default")

    def is_known(self) -> bool:
        """Is there any sign of the run's real config (an echo, overrides, --config, --set)?
        Without one, a trainer's defaults say nothing about this run."""
        return bool(
            self.has_log_config or self.config_path or any(v.source == "--set" for v in self.values.values())
        )

    def numbers(self, *keys: str) -> tuple | None:
        """The values of `keys` as they are, when the config is known and every one is set; None
        otherwise (a schedule needs all of its settings, not most)."""
        if not self.is_known():
            return None
        values = tuple(self.get(key) for key in keys)
        return None if any(v is None for v in values) else values


@dataclass
class RunFacts:
    """The `run` object of the JSON report, plus where each value came from."""

    tokens_per_iter: int | None = None
    n_params: int | None = None
    last_iter: int | None = None
    max_iters: int | None = None
    tokens_seen: int | None = None
    dataset_tokens: int | None = None
    epochs: float | None = None
    tokens_per_param: float | None = None
    lr_at_last_iter: float | None = None
    best_val_loss: float | None = None
    best_val_step: int | None = None
    last_val_loss: float | None = None
    last_train_loss: float | None = None
    # beyond the contract's minimum
    last_val_step: int | None = None
    vocab_size: int | None = None
    n_params_printed: float | None = None
    n_params_computed: int | None = None
    eval_iters: int | None = None
    batch_size: int | None = None
    forecast: dict[str, Any] | None = None  # run.forecast of the contract: the loss at max_iters
    forecast_refused: str | None = None  # why there is no forecast
    eval_kind: str | None = None  # resampled | fixed
    mode: str | None = None  # pretrain | finetune
    device: str | None = None  # cpu | mps | cuda, where the log or config says
    eval_noise: float | None = None  # the noise of one eval the diagnosis used
    eval_noise_method: str | None = None  # how it was measured
    sources: dict[str, str] = field(default_factory=dict)
    # A plan (`check`): the facts a run of this config would have at max_iters, judged before it
    # starts; rules word what they find as a plan and claim nothing only a log could show.
    planned: bool = False
    gpu: str | None = None  # the GPU a plan is judged against: --gpu, or one its config's comments name

    CONTRACT_KEYS = (
        "tokens_per_iter",
        "n_params",
        "last_iter",
        "max_iters",
        "tokens_seen",
        "dataset_tokens",
        "epochs",
        "tokens_per_param",
        "lr_at_last_iter",
        "best_val_loss",
        "best_val_step",
        "last_val_loss",
        "last_train_loss",
    )


@dataclass
class Finding:
    """What one rule found (or ruled out): the claim, the numbers behind it and the fix."""

    code: str
    category: str
    severity: str
    confidence: float
    title: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    counter_evidence: dict[str, Any] = field(default_factory=dict)
    fixes: list[str] = field(default_factory=list)
    line: int | None = None  # a log line the evidence points at, 1-based, where there is one
    weight: float = 1.0  # its rule's weight: how directly such a finding explains a run
    explained_by: list[str] = field(default_factory=list)  # codes of the causes it is a consequence of
    ruled_out: bool = False  # the finding rules its category out, with the numbers why
    severity_as_found: str | None = None  # the rule's own severity, where the diagnosis folded it

    @property
    def raised(self) -> bool:
        return self.severity in ("warning", "error")


@dataclass(frozen=True)
class Threshold:
    """A number a verdict depends on: its name, default, unit and why that value."""

    name: str
    default: float
    unit: str
    why: str


@dataclass
class RuleInfo:
    """A rule's documentation and the data the diagnosis reads about it: the single source for
    `rules`, `explain`, the README table and SARIF rule metadata."""

    code: str
    name: str
    category: str
    severity: str
    summary: str
    what: str
    why: str
    fix: str
    reference: str = ""
    example: str = ""  # a line of a report this rule writes
    thresholds: tuple[Threshold, ...] = ()
    # Categories whose finding, when raised, explains this one's: it is folded into that cause
    # (kept with `explained_by`) instead of being ranked as a problem of its own.
    explained_by: tuple[str, ...] = ()
    weight: float = 1.0  # how directly its findings explain a run: causes above symptoms
    log_free: bool = False  # judges a config alone (`check` runs it without a log)
    plan_only: bool = False  # judges a plan only (`diagnose` does not run it: a log shows more)


@dataclass
class Report:
    """One diagnosed log."""

    path: str
    format: str
    lines: int
    segments: int
    run: RunFacts
    findings: list[Finding]
    verdict: str = ""
    notes: list[str] = field(default_factory=list)
    rules_checked: list[str] = field(default_factory=list)  # codes of the rules that ran
    val_series: list[float] = field(default_factory=list)  # finite val losses, for sparklines
    # why this log could not be diagnosed (one line): among several logs it is reported in its
    # place while the others keep their results, and the run exits 2 at the end
    error: str | None = None
    # "run 2 of 3 (lines 1,201-2,400)" when the file holds several runs from scratch, each
    # diagnosed on its own (sweep.read_runs); None for a file of one run
    run_in_file: str | None = None
    # api.Examination (loss table, analyses) where plateau_doctor.diagnose() kept it: what
    # loss_table() and the notebook's plot read. Not report data: never rendered or compared.
    examination: Any = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The path, and which of the file's runs this is where it holds several: what a
        heading or a summary row shows (annotations and SARIF keep the bare path)."""
        return f"{self.path} ({self.run_in_file})" if self.run_in_file else self.path

    def worst_severity(self) -> str | None:
        raised = [f.severity for f in self.findings]
        return max(raised, key=SEVERITY_RANK.__getitem__) if raised else None

    # In a notebook and a REPL (report/notebook.py, imported when Python asks for these)
    def __repr__(self) -> str:
        from .report.notebook import short_text

        return short_text(self)

    def __str__(self) -> str:
        from .report.notebook import full_text

        return full_text(self)

    def _repr_html_(self) -> str:
        from .report.notebook import html_fragment

        return html_fragment(self)

    def findings_frame(self) -> pd.DataFrame:
        """The findings as a pandas DataFrame, one row each, in the report's order."""
        from .report.notebook import findings_frame

        return findings_frame(self)

    def loss_table(self) -> pd.DataFrame:
        """The loss table the diagnosis read as a pandas DataFrame (iteration and eval rows, a
        `kind` column); only a report made by plateau_doctor.diagnose() carries it."""
        from .report.notebook import loss_table

        return loss_table(self)
