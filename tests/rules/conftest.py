"""Helpers for the rule tests: write a nanoGPT-format log the way train.py prints it, from loss
curves given as formulas plus seeded noise, then diagnose it like a user would.

    def test_something(kit):
        path = kit.log({"learning_rate": 1e-2, "warmup_iters": 0}, val_curve=kit.plateau(2.5))
        report = diagnose(path)
        assert kit.one(report, "PD301").severity == "error"

(`kit` is a fixture because test modules cannot import a conftest by name reliably when several
test folders have one.)

The default run is nanoGPT's shakespeare_char config (6 layers, n_embd 384, vocab 65, 16,384
tokens per iteration, 5000 iterations) on a dataset of unknown size, so data repetition is only
judged when a test passes dataset_tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plateau_doctor.domain.scale import nanogpt_param_count
from plateau_doctor.domain.schedule import nanogpt_lr
from plateau_doctor.model import Finding, Report
from plateau_doctor.resolve.defaults import GPT2_SHAPES

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_LOGS = REPO / "examples" / "logs"  # shipped with the repository
SHARED_LOGS = REPO.parent / "shared" / "logs"  # only in the project's workspace
SHAKESPEARE_TOKENS = 1_003_854  # labels.yaml dataset_tokens
PYCODE_TOKENS = 90_091_518

Curve = Callable[[np.ndarray], np.ndarray]

BASE_CONFIG: dict[str, Any] = {
    "out_dir": "out-test",
    "eval_interval": 250,
    "eval_iters": 200,
    "log_interval": 10,
    "always_save_checkpoint": False,
    "wandb_log": False,
    "dataset": "synthetic_char",
    "gradient_accumulation_steps": 1,
    "batch_size": 64,
    "block_size": 256,
    "n_layer": 6,
    "n_head": 6,
    "n_embd": 384,
    "dropout": 0.2,
    "learning_rate": 1e-3,
    "max_iters": 5000,
    "lr_decay_iters": 5000,
    "min_lr": 1e-4,
    "beta2": 0.99,
    "warmup_iters": 100,
}


# ------------------------------------------------------------------------------------------
# curves: step (array) -> loss (array)
# ------------------------------------------------------------------------------------------
def power_law(start: float, floor: float, scale: float = 300.0, alpha: float = 1.0) -> Curve:
    """From `start` at step 0 down towards `floor`, a saturating power law in steps."""
    return lambda t: floor + (start - floor) * (1.0 + np.asarray(t, float) / scale) ** -alpha


def plateau(level: float, start: float = 4.2, tau: float = 100.0) -> Curve:
    """A fast exponential fall from `start` to a flat `level` (flat long before the end)."""
    return lambda t: level + (start - level) * np.exp(-np.asarray(t, float) / tau)


def linear(start: float, slope_per_1k: float) -> Curve:
    return lambda t: start + slope_per_1k * np.asarray(t, float) / 1000.0


def shifted(curve: Curve, offset: float | Curve) -> Curve:
    if callable(offset):
        return lambda t: curve(t) + offset(t)
    return lambda t: curve(t) + offset


def u_shape(best_step: int, best: float, start: float = 4.2, rise_per_1k: float = 0.08) -> Curve:
    """Falls (exponentially) to `best` near best_step, then rises linearly: overfitting's val."""

    def f(t):
        t = np.asarray(t, float)
        fall = best + (start - best) * np.exp(-t / (best_step / 6.0))
        return np.where(t <= best_step, fall, best + rise_per_1k * (t - best_step) / 1000.0)

    return f


# ------------------------------------------------------------------------------------------
# the log writer
# ------------------------------------------------------------------------------------------
def config_text(config: dict[str, Any], comments: tuple[str, ...] = ()) -> str:
    lines = [f"# {c}" for c in comments]
    lines += [f"{key} = {value!r}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


def make_nanogpt_log(
    tmp_path: Path,
    config: dict[str, Any] | None = None,
    *,
    val_curve: Curve,
    train_curve: Curve | None = None,
    iter_curve: Curve | None = None,
    iter_noise: float = 0.05,
    eval_noise: float | None = None,
    last_iter: int | None = None,
    overrides: dict[str, Any] | None = None,
    vocab_size: int | None = 65,
    init_from: str = "scratch",
    spikes: dict[int, float] | None = None,
    nan_from: int | None = None,
    eval_nan_from: int | None = None,
    iter_ms: float = 60.0,
    eval_ms: float = 3000.0,
    mfu: float | None = 6.0,
    printed_params: str | None = None,
    printed_tokens: int | None = None,
    comments: tuple[str, ...] = (),
    print_lr: bool = False,
    header: bool = True,
    seed: int = 0,
    name: str = "train.log",
) -> Path:
    """Write a nanoGPT train.py stdout log into tmp_path and return its path.

    `config` updates BASE_CONFIG and is echoed as the config file; `overrides` are printed as
    `Overriding: k = v` lines (and applied). Eval lines average `eval_iters` batches, so their
    noise defaults to iter_noise / sqrt(eval_iters), as in a real run. `spikes` replaces the
    iter loss at the given iterations; `nan_from` makes every iter loss from there on `nan`.
    """
    cfg = {**BASE_CONFIG, **(config or {})}
    effective = {**cfg, **(overrides or {})}
    rng = np.random.default_rng(seed)
    train_curve = train_curve or val_curve
    iter_curve = iter_curve or train_curve
    eval_interval, log_interval = effective["eval_interval"], effective["log_interval"]
    eval_iters = effective["eval_iters"]
    if eval_noise is None:
        eval_noise = iter_noise / math.sqrt(eval_iters)
    last = effective["max_iters"] if last_iter is None else last_iter
    always_save = effective["always_save_checkpoint"]

    out: list[str] = []
    if header:
        out.append("Overriding config with config/test_run.py:")
        out.append(config_text(cfg, comments))
        for key, value in (overrides or {}).items():
            out.append(f"Overriding: {key} = {value}")
        tokens = (
            (effective["gradient_accumulation_steps"] * effective["batch_size"] * effective["block_size"])
            if printed_tokens is None
            else printed_tokens
        )
        out.append(f"tokens per iteration will be: {tokens:,}")
        if init_from in GPT2_SHAPES:
            n_layer, n_head, n_embd = GPT2_SHAPES[init_from]
            params = nanogpt_param_count(n_layer, n_head, n_embd, 50257, 1024, True).printed_style
            out += [
                f"Initializing from OpenAI GPT-2 weights: {init_from}",
                f"loading weights from pretrained gpt: {init_from}",
                "forcing vocab_size=50257, block_size=1024, bias=True",
                f"overriding dropout rate to {effective['dropout']}",
            ]
        else:
            if vocab_size is not None and vocab_size != 50304:
                out.append(f"found vocab_size = {vocab_size} (inside data/{effective['dataset']}/meta.pkl)")
            if init_from == "resume":
                out.append(f"Resuming training from {effective['out_dir']}")
            else:
                out.append("Initializing a new model from scratch")
            if vocab_size is None or vocab_size == 50304:
                out.append("defaulting to vocab_size of GPT-2 to 50304 (50257 rounded up for efficiency)")
            params = nanogpt_param_count(
                effective["n_layer"],
                effective["n_head"],
                effective["n_embd"],
                vocab_size or 50304,
                effective["block_size"],
                bool(effective.get("bias", False)),
            ).printed_style
        shown = printed_params if printed_params is not None else f"{params / 1e6:.2f}M"
        out.append(f"number of parameters: {shown}")
        out.append("using fused AdamW: True")

    best_val = math.inf
    spikes = spikes or {}
    for it in range(0, last + 1):
        if it % eval_interval == 0:
            tr = float(train_curve(np.array([it]))[0] + rng.normal(0, eval_noise))
            va = float(val_curve(np.array([it]))[0] + rng.normal(0, eval_noise))
            if eval_nan_from is not None and it >= eval_nan_from:
                tr = va = math.nan
            out.append(f"step {it}: train loss {tr:.4f}, val loss {va:.4f}")
            if it > 0 and (always_save or va < best_val):
                out.append(f"saving checkpoint to {effective['out_dir']}")
            if va < best_val:
                best_val = va
        if it % log_interval == 0:
            loss = float(iter_curve(np.array([it]))[0] + rng.normal(0, iter_noise))
            loss = spikes.get(it, loss)
            if nan_from is not None and it >= nan_from:
                loss = math.nan
            ms = iter_ms * (1 + 0.02 * rng.standard_normal())
            if it == 0:
                ms += 9000.0
            elif it % eval_interval == 0:
                ms += eval_ms
            shown_mfu = (
                "-100.00" if it == 0 or mfu is None else f"{mfu * (1 + 0.01 * rng.standard_normal()):.2f}"
            )
            if print_lr:
                lr = nanogpt_lr(
                    it,
                    effective["learning_rate"],
                    effective["warmup_iters"],
                    effective["lr_decay_iters"],
                    effective["min_lr"],
                    effective.get("decay_lr", True),
                )
                out.append(f"iter {it}: loss {loss:.4f}, time {ms:.2f}ms, lr:{lr:.6g} , mfu: {shown_mfu}%")
            else:
                out.append(f"iter {it}: loss {loss:.4f}, time {ms:.2f}ms, mfu {shown_mfu}%")
    path = tmp_path / name
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def write_config(
    tmp_path: Path, config: dict[str, Any], comments: tuple[str, ...] = (), name: str = "config.py"
) -> Path:
    """A --config file holding BASE_CONFIG updated with `config`."""
    path = tmp_path / name
    path.write_text(config_text({**BASE_CONFIG, **config}, comments), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# reading a report
# ------------------------------------------------------------------------------------------
def by_code(report: Report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def one(report: Report, code: str) -> Finding:
    found = by_code(report, code)
    assert len(found) == 1, f"expected one {code} finding, got {[f.title for f in found]}"
    return found[0]


def raised_codes(report: Report) -> set[str]:
    return {f.code for f in report.findings if f.raised}


def raised_categories(report: Report) -> set[str]:
    return {f.category for f in report.findings if f.raised}


def top_raised(report: Report, n: int = 2) -> list[str]:
    return [f.category for f in report.findings if f.raised][:n]


def skipped(report: Report, code: str) -> bool:
    return any(note.startswith(f"{code} not checked") for note in report.notes)


class Kit:
    """Everything a rule test needs, bound to the test's tmp_path."""

    power_law = staticmethod(power_law)
    plateau = staticmethod(plateau)
    linear = staticmethod(linear)
    shifted = staticmethod(shifted)
    u_shape = staticmethod(u_shape)
    by_code = staticmethod(by_code)
    one = staticmethod(one)
    raised_codes = staticmethod(raised_codes)
    raised_categories = staticmethod(raised_categories)
    top_raised = staticmethod(top_raised)
    skipped = staticmethod(skipped)
    BASE_CONFIG = BASE_CONFIG
    SHAKESPEARE_TOKENS = SHAKESPEARE_TOKENS
    PYCODE_TOKENS = PYCODE_TOKENS

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def log(self, config: dict[str, Any] | None = None, **kwargs) -> Path:
        return make_nanogpt_log(self.tmp_path, config, **kwargs)

    def config_file(
        self, config: dict[str, Any], comments: tuple[str, ...] = (), name: str = "config.py"
    ) -> Path:
        return write_config(self.tmp_path, config, comments, name)


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return Kit(tmp_path)


@pytest.fixture
def example_log() -> Callable[[str], Path]:
    """A log shipped in examples/logs (always present)."""

    def get(name: str) -> Path:
        path = EXAMPLE_LOGS / name
        assert path.is_file(), path
        return path

    return get


@pytest.fixture
def shared_log() -> Callable[[str], Path]:
    """A real labelled log from ../shared/logs; the test skips where that folder is absent."""

    def get(name: str) -> Path:
        if not SHARED_LOGS.is_dir():
            pytest.skip("../shared/logs is not present (only in the project workspace)")
        path = SHARED_LOGS / name
        if not path.is_file():
            pytest.skip(f"{name} is not in ../shared/logs")
        return path

    return get
