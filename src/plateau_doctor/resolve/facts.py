"""The run's facts (the `run` object of the report), each with where it came from.

A value the log printed beats one computed from the config; a value computed from nanoGPT's
defaults alone is not reported when the log gave no sign of its config, because a header-less
log (a wandb capture, an excerpt) could have been run with anything.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass

import numpy as np

from ..domain.medians import median
from ..domain.scale import (
    epochs,
    nanogpt_param_count,
    parse_token_count,
    printed_count_differs,
    tokens_per_param,
)
from ..domain.schedule import SCHEDULE_KEYS, nanogpt_lr, schedule_args
from ..model import ParsedLog, ResolvedConfig, RunFacts
from .defaults import GPT2_SHAPES, STOCK_DATASET_TOKENS, STOCK_DATASET_VOCABS
from .files import ConfigError

NANOGPT_DEFAULT_VOCAB = 50304  # train.py: "defaulting to vocab_size of GPT-2 to 50304"


@dataclass
class DatasetSize:
    """How many tokens the training data holds, and how that is known."""

    tokens: int | None  # None: looked like a stock dataset but is not (see note)
    source: str
    note: str | None = None


def dataset_size(
    dataset_tokens: str | int | None,
    data_dir: str | None,
    resolved: ResolvedConfig,
    config_known: bool,
    printed_vocab: int | None = None,
    planned: bool = False,
) -> DatasetSize | None:
    """--dataset-tokens, else --data-dir's train.bin, else the stock size of a named nanoGPT
    dataset (shakespeare_char, shakespeare, openwebtext) unless the log printed a vocabulary that
    dataset does not have. A plan of a nanoGPT config trains on train.py's default dataset when
    it names none; a log that echoed no dataset may have run on anything."""
    if dataset_tokens not in (None, ""):
        return DatasetSize(parse_token_count(str(dataset_tokens)), "--dataset-tokens")
    if data_dir:
        return DatasetSize(train_bin_tokens(data_dir), f"--data-dir {data_dir}")
    name = resolved.get("dataset")
    named = not resolved.is_default("dataset") or (planned and resolved.schema == "nanogpt")
    if config_known and named and name in STOCK_DATASET_TOKENS:
        if printed_vocab is not None and printed_vocab not in STOCK_DATASET_VOCABS[name]:
            return DatasetSize(
                None,
                "",
                note=(
                    f"the dataset is named {name!r} but the log's vocabulary has {printed_vocab:,} "
                    f"tokens, not the stock {' or '.join(f'{v:,}' for v in STOCK_DATASET_VOCABS[name])}: "
                    "another text under the same name, so its size is unknown (pass --dataset-tokens)"
                ),
            )
        return DatasetSize(STOCK_DATASET_TOKENS[name], f"nanoGPT's prepare.py for {name!r}")
    return None


def train_bin_tokens(data_dir: str) -> int:
    """Tokens in DIR/train.bin (uint16, so size / 2). Only the size is read; meta.pkl is never
    unpickled (unpickling runs code), and a train.bin linking outside the directory is refused."""
    directory = os.path.realpath(data_dir)
    if not os.path.isdir(directory):
        raise ConfigError(data_dir, "--data-dir is not a directory")
    path = os.path.join(directory, "train.bin")
    real = os.path.realpath(path)
    if os.path.commonpath([directory, real]) != directory:
        raise ConfigError(path, "is a link pointing outside --data-dir; refusing to follow it")
    try:
        info = os.stat(real)
    except OSError:
        raise ConfigError(path, "no train.bin in --data-dir") from None
    if not stat.S_ISREG(info.st_mode):  # a directory's or a FIFO's size is not a token count
        raise ConfigError(path, "is not a regular file")
    return info.st_size // 2


def model_shape(parsed: ParsedLog, resolved: ResolvedConfig, config_known: bool):
    """(n_layer, n_head, n_embd, vocab, block_size, bias) the run built, or None if unknown."""
    init = resolved.get("init_from") or parsed.meta.init_from
    if init in GPT2_SHAPES:
        n_layer, n_head, n_embd = GPT2_SHAPES[init]
        block = min(int(resolved.get("block_size", 1024) or 1024), 1024)
        return n_layer, n_head, n_embd, 50257, block, True
    if not config_known:
        return None
    # the log's vocab line, else the config's, else a stock character dataset's meta.pkl (a
    # log whose header was cut still trained on it), else (nanoGPT) train.py's GPT-2 default
    stock = STOCK_DATASET_VOCABS.get(resolved.get("dataset"), ())
    vocab = (
        parsed.meta.vocab_size
        or resolved.get("vocab_size")
        or (stock[0] if len(stock) == 1 else None)
        or (NANOGPT_DEFAULT_VOCAB if resolved.schema == "nanogpt" else None)
    )
    try:
        return (
            int(resolved.get("n_layer")),
            int(resolved.get("n_head")),
            int(resolved.get("n_embd")),
            int(vocab),
            int(resolved.get("block_size")),
            bool(resolved.get("bias")),
        )
    except (TypeError, ValueError):
        return None


def compute_facts(
    parsed: ParsedLog, resolved: ResolvedConfig, dataset: DatasetSize | None, planned: bool = False
) -> RunFacts:
    """The run's facts; `planned`: a config alone (`check`), whose run is taken to its
    max_iters, so tokens, epochs and the LR are what it will have at the end."""
    facts = RunFacts(planned=planned)
    src = facts.sources
    meta = parsed.meta
    known = resolved.is_known()

    # tokens per iteration: printed line first (it includes the DDP world size), else config
    if meta.tokens_per_iter:
        facts.tokens_per_iter, src["tokens_per_iter"] = meta.tokens_per_iter, "log"
    elif known:
        try:
            facts.tokens_per_iter = (
                int(resolved.get("gradient_accumulation_steps"))
                * int(resolved.get("batch_size"))
                * int(resolved.get("block_size"))
            )
            src["tokens_per_iter"] = "config"
        except (TypeError, ValueError):
            pass

    # parameters: computed exactly from the shape when known, else the printed count
    shape = model_shape(parsed, resolved, known)
    if shape:
        count = nanogpt_param_count(*shape)
        facts.n_params_computed = count.printed_style
        facts.n_params, src["n_params"] = count.printed_style, "computed from config"
        facts.vocab_size = shape[3]
    if meta.n_params and math.isfinite(meta.n_params) and meta.n_params > 0:
        facts.n_params_printed = meta.n_params
        if facts.n_params is None:
            facts.n_params, src["n_params"] = int(round(meta.n_params)), "log"
        elif printed_count_differs(facts.n_params, meta.n_params):
            # the log printed the model it built: a config that disagrees describes another one
            facts.n_params = int(round(meta.n_params))
            src["n_params"] = f"log (the config's shape gives {facts.n_params_computed:,}: see PD602)"
    if facts.vocab_size is None and meta.vocab_size:
        facts.vocab_size = meta.vocab_size

    # progress
    if meta.max_iters:  # printed by the run (`step N/M`): what it was set to
        facts.max_iters, src["max_iters"] = meta.max_iters, "log"
    elif known and resolved.get("max_iters") is not None:
        facts.max_iters, src["max_iters"] = int(resolved.get("max_iters")), resolved.source("max_iters")
    last_iter = facts.max_iters if planned else _last_step(parsed)
    facts.last_iter = last_iter
    if planned and last_iter is not None:
        src["last_iter"] = "planned: max_iters"
    if facts.tokens_per_iter and last_iter is not None:
        facts.tokens_seen = last_iter * facts.tokens_per_iter
        if planned:
            src["tokens_seen"] = "planned: max_iters x tokens per iteration"
    if dataset and dataset.tokens is not None:
        facts.dataset_tokens, src["dataset_tokens"] = dataset.tokens, dataset.source
        if facts.tokens_seen is not None and dataset.tokens > 0:
            facts.epochs = round(epochs(facts.tokens_seen, dataset.tokens), 4)
    if facts.epochs is None and meta.epochs is not None:  # the log counts its own epochs
        facts.epochs, src["epochs"] = round(meta.epochs, 4), "the log's epoch counter"
    if facts.tokens_seen and facts.n_params:
        facts.tokens_per_param = round(tokens_per_param(facts.tokens_seen, facts.n_params), 3)

    # learning rate at the last iteration: logged beats rebuilt
    facts.lr_at_last_iter = _last_lr(parsed, resolved, known, last_iter)
    if facts.lr_at_last_iter is not None:
        src["lr_at_last_iter"] = "log" if meta.lr_logged else "rebuilt with get_lr"

    # losses
    evals = parsed.eval_table
    finite_val = np.flatnonzero(np.isfinite(evals["val_loss"])) if not evals.empty else []
    if len(finite_val):
        best = finite_val[np.argmin(evals["val_loss"][finite_val])]  # the first of equal bests
        facts.best_val_loss, facts.best_val_step = float(evals["val_loss"][best]), int(evals["step"][best])
        last = float(evals["val_loss"][-1])
        facts.last_val_loss = last if math.isfinite(last) else None  # unknown, not the last good one
        facts.last_val_step = int(evals["step"][-1])
    train = evals["train_loss"][~np.isnan(evals["train_loss"])] if not evals.empty else []
    if len(train):
        facts.last_train_loss = float(train[-1])
    elif not parsed.iter_table.empty:
        last = _last_iteration_loss(parsed)
        if last is not None:
            facts.last_train_loss, src["last_train_loss"] = last
    if known:
        facts.eval_iters = _int_or_none(resolved.get("eval_iters"))
        facts.batch_size = _int_or_none(resolved.get("batch_size"))
        device = resolved.get("device")
        if isinstance(device, str) and device:
            facts.device = device.split(":")[0]
    facts.eval_kind = meta.eval_kind
    return facts


RECENT_SPAN = 0.02  # the last 2% of the iterations logged: "the train loss now"


def _last_iteration_loss(parsed: ParsedLog) -> tuple[float, str] | None:
    """The train loss at the end, from iteration losses: one micro-batch is noisy, so the median
    of up to 20 from the last 2% of the run (not simply the last 20 rows: a short or elided log
    would reach back to its start); a logged average (HF window, nanochat EMA) is already smooth."""
    table = parsed.iter_table
    finite = np.isfinite(table["loss"])
    steps, losses = table["iter"][finite], table["loss"][finite]
    if not len(losses):
        return None
    if parsed.meta.loss_kind != "micro_batch":
        return float(losses[-1]), "the last logged (averaged) train loss"
    recent = losses[steps >= steps[-1] - RECENT_SPAN * (steps[-1] - steps[0])][-20:]
    if len(recent) == 1:
        return float(recent[0]), "the last iteration loss"
    return float(median(recent)), f"median of the last {len(recent)} iteration losses"


def _last_step(parsed: ParsedLog) -> int | None:
    candidates = []
    if not parsed.iter_table.empty:
        candidates.append(int(parsed.iter_table["iter"][-1]))
    if not parsed.eval_table.empty:
        candidates.append(int(parsed.eval_table["step"][-1]))
    if parsed.meta.last_step is not None and candidates:  # reached past the last logged row
        candidates.append(parsed.meta.last_step)
    return max(candidates) if candidates else None


def _last_lr(parsed: ParsedLog, resolved: ResolvedConfig, known: bool, last_iter: int | None):
    if parsed.meta.lr_logged and not parsed.iter_table.empty:
        lrs = parsed.iter_table["lr"]
        lrs = lrs[~np.isnan(lrs)]
        if len(lrs):
            return float(lrs[-1])
    schedule = resolved.numbers(*SCHEDULE_KEYS)
    if schedule is None or last_iter is None:
        return None
    try:
        return float(nanogpt_lr(last_iter, *schedule_args(schedule)))
    except (TypeError, ValueError):
        return None


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
