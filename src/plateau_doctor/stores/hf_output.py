"""A HuggingFace Trainer output directory: trainer_state.json (at the top, written by
save_state() at the end, and in each checkpoint-<step>/), config.json (the model) and the weights.

The newest trainer_state.json (the highest global_step among the top one and the last
checkpoint's) is read by the hf_trainer parser. config.json gives the vocabulary size; the
parameter count comes from the safetensors headers (8-byte length, then a JSON table of tensor
shapes), so no weight is read. training_args.bin is a pickle: it is never loaded.
"""

from __future__ import annotations

import json
import math
import re
import struct

from ..model import ParsedLog
from ..parsers import hf_trainer
from ..read import InputError
from .fs import Local, Remote

NAME = hf_trainer.NAME
STATE = "trainer_state.json"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
MAX_HEADER = 100 << 20  # a safetensors header longer than this is not one


def is_output_dir(names: set[str]) -> bool:
    return STATE in names or any(CHECKPOINT_RE.match(n) for n in names)


def read(fs: Local | Remote, path: str) -> ParsedLog:
    states = _state_files(fs, path)
    if not states:
        raise InputError(
            path, f"an HF output directory without {STATE} (neither at the top nor in a checkpoint-*/)"
        )
    texts = {state: _text(fs, state) for state in states}
    newest = max(states, key=lambda state: _global_step(_loads(texts[state])))
    parsed = hf_trainer.parse(texts[newest].splitlines())
    meta = parsed.meta
    where = STATE if newest == fs.join(path, STATE) else f"{fs.basename(fs.dirname(newest))}/{STATE}"
    meta.notes.append(f"HF output directory: {where} read (the newest)")
    model_dir = fs.dirname(newest)
    config = _json(fs, fs.join(model_dir, "config.json")) or _json(fs, fs.join(path, "config.json"))
    if isinstance(config, dict) and isinstance(config.get("vocab_size"), int) and config["vocab_size"] > 0:
        meta.vocab_size = config["vocab_size"]
    n_params = _safetensors_params(fs, model_dir) or _safetensors_params(fs, path)
    if n_params:
        meta.n_params = float(n_params)
        meta.notes.append(f"{n_params:,} parameters, from the safetensors headers")
    return parsed


def _state_files(fs: Local | Remote, path: str) -> list[str]:
    """The top trainer_state.json and the last checkpoint's, where they exist."""
    found = []
    top = fs.join(path, STATE)
    if fs.isfile(top):
        found.append(top)
    checkpoints = sorted(
        (
            (int(m.group(1)), e.path)
            for e in fs.entries(path)
            if e.is_dir and (m := CHECKPOINT_RE.match(e.name))
        ),
        reverse=True,
    )
    for _, directory in checkpoints:
        state = fs.join(directory, STATE)
        if fs.isfile(state):
            found.append(state)
            break
    return found


def _global_step(state: object) -> int:
    step = state.get("global_step") if isinstance(state, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else -1


def _text(fs: Local | Remote, path: str) -> str:
    with fs.open(path) as handle:
        return handle.read().decode("utf-8", "replace")


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _json(fs: Local | Remote, path: str) -> object:
    return _loads(_text(fs, path)) if fs.isfile(path) else None


def _safetensors_params(fs: Local | Remote, directory: str) -> int | None:
    """Parameters in the directory's model.safetensors (or its shards), from the headers only."""
    single = fs.join(directory, "model.safetensors")
    if fs.isfile(single):
        files = [single]
    else:
        index = _json(fs, fs.join(directory, "model.safetensors.index.json"))
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict):
            return None
        files = [fs.join(directory, str(name)) for name in sorted(set(weight_map.values()))]
    total = 0
    for file in files:
        count = _header_params(fs, file)
        if count is None:
            return None
        total += count
    return total or None


def _header_params(fs: Local | Remote, path: str) -> int | None:
    try:
        with fs.open(path) as handle:
            (length,) = struct.unpack("<Q", handle.read(8) or b"\0" * 8)
            if not 0 < length <= MAX_HEADER:
                return None
            header = json.loads(handle.read(length))
    except (InputError, OSError, ValueError, struct.error, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    shapes = [t.get("shape") for name, t in header.items() if name != "__metadata__" and isinstance(t, dict)]
    if not all(isinstance(s, list) and all(isinstance(d, int) for d in s) for s in shapes):
        return None
    return sum(math.prod(s) for s in shapes)
