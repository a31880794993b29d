"""The format sniffers as they were before detection was made cheaper (commit e48d4ee), frozen
with the patterns they used, so test_sniff_equivalence can show the new ones count the same lines
for every input. Helpers the change did not touch (csv's header and cell reading, the tables'
column mapping) are imported; everything a sniffer's count depends on and that changed is here.
A change that means to count differently changes the frozen copy with it, in the same commit."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable

from plateau_doctor.parsers.csv_table import (
    _long_columns,
    _pipe_cells,
    _pipe_rows,
    _sniff_long,
    _split_header,
)
from plateau_doctor.parsers.jsonl_table import _flatten
from plateau_doctor.parsers.lines import clean_line, clean_pieces, numeric
from plateau_doctor.parsers.tabular import LOSS_ROLES, auto_columns, cell_value, is_json_object

# -- nanogpt ----------------------------------------------------------------------------------------
UNIT = r"(?:\s+(?:BPC|bpc|bits?))?"
NANOGPT_EVAL_RE = re.compile(
    r"^step\s+(\d{1,15})\s*[:|]\s*train loss\s+([^\s,|]+)" + UNIT + r",?\s*\|?\s*val loss\s+(\S+)"
)
NANOGPT_EP_STEP_RE = re.compile(r"\bEp (\d{1,6}) \(Step (\d{1,15})\): Train loss ([^\s,]+), Val loss (\S+)")
NANOGPT_ITER_RE = re.compile(r"^iter (\d{1,15}): loss (\S+?)" + UNIT + r"(?:,|$)(.*)")


def _nanogpt_numeric_line(line: str) -> bool:
    if line.startswith("step"):
        m = NANOGPT_EVAL_RE.match(line)
        return bool(m) and numeric(m.group(2)) and numeric(m.group(3))
    m = NANOGPT_ITER_RE.match(line)
    return bool(m) and numeric(m.group(2))


def nanogpt(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith(("step ", "iter ")) and _nanogpt_numeric_line(line):
            hits += 1
        elif "(Step " in line and NANOGPT_EP_STEP_RE.search(line):
            hits += 1
    return hits


# -- modded_nanogpt ---------------------------------------------------------------------------------
MODDED_STEP_RE = re.compile(r"^step:(\d{1,15})/(\d{1,15})\s+(\w+:\S+.*)$")


def modded_nanogpt(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        m = MODDED_STEP_RE.match(line) if line.startswith("step:") else None
        if m and numeric(m.group(3).split(":", 1)[1]):
            hits += 1
    return hits


# -- llmc_stdout ------------------------------------------------------------------------------------
LLMC_STEP_RE = re.compile(
    r"^step\s+(\d{1,15})(?:/(\d{1,15}))?\s*[:|]\s*(?:train )?loss\s+(-?[\d.]+|-?nan|-?inf)(.*)$"
)
LLMC_VAL_RE = re.compile(r"^val loss\s+(-?(?=\.?\d)[\d.]+(?:[eE][-+]?\d+)?|-?nan|-?inf)(?!\S)")


def llmc_stdout(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith("step"):
            m = LLMC_STEP_RE.match(line)
            hits += (m if m and "val loss" not in m.group(4) else None) is not None
        elif line.startswith("val loss "):
            hits += LLMC_VAL_RE.match(line) is not None
    return hits


# -- llmc_mainlog -----------------------------------------------------------------------------------
MAINLOG_LINE_RE = re.compile(r"^s:(\d{1,15}) (trl|tel|eval):(\S+)(.*)$")


def llmc_mainlog(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        m = MAINLOG_LINE_RE.match(line) if line.startswith("s:") else None
        if m and m.group(2) != "eval" and numeric(m.group(3)):
            hits += 1
    return hits


# -- nanochat ---------------------------------------------------------------------------------------
NANOCHAT_STEP_RE = re.compile(r"^step (\d{1,15})(?:/(\d{1,15}))? \([\d.]+%\) \| loss: (\S+)(.*)$")
NANOCHAT_EVAL_RE = re.compile(r"^Step (\d{1,15})(?:/\d+)?\s*[|,]\s*(.*)$")
NANOCHAT_VAL_BPB_RE = re.compile(r"Validation bpb:\s*(\S+)", re.IGNORECASE)


def _nanochat_numeric_line(line: str) -> bool:
    m = NANOCHAT_STEP_RE.match(line)
    if m:
        return numeric(m.group(3))
    m = NANOCHAT_EVAL_RE.match(line)
    m = NANOCHAT_VAL_BPB_RE.search(m.group(2)) if m else None
    return bool(m) and numeric(m.group(1))


def nanochat(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith(("step ", "Step ")) and _nanochat_numeric_line(line):
            hits += 1
    return hits


# -- hf_trainer -------------------------------------------------------------------------------------
HF_DICT_RE = re.compile(r"\{'[^{}]*\}")
HF_LOSS_VALUE_RE = re.compile(r"'(?:eval_)?loss':\s*'?[-+]?(?:\d|\.\d|nan\b|inf)")


def hf_trainer(lines: list[str]) -> int:
    if any('"log_history"' in line for line in lines):
        return sum(line.count('"loss":') + line.count('"eval_loss":') for line in lines)
    hits = 0
    for raw in lines:
        if "{'" not in raw:
            continue
        for text in HF_DICT_RE.findall(raw):
            if HF_LOSS_VALUE_RE.search(text):
                hits += 1
    return hits


# -- torchtitan -------------------------------------------------------------------------------------
TITAN_STEP_RE = re.compile(r"^step:\s*(\d{1,15})\s+loss:\s*(\S+)(.*)$")
TITAN_VALIDATE_RE = re.compile(r"^validate step:\s*(\d{1,15})\s+loss:\s*(\S+)")


def torchtitan(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith("step:"):
            hits += TITAN_STEP_RE.match(line) is not None and "memory:" in line
        elif line.startswith("validate step:"):
            hits += TITAN_VALIDATE_RE.match(line) is not None
    return hits


# -- megatron ---------------------------------------------------------------------------------------
MEGATRON_ITERATION_RE = re.compile(r"(?:^|\|\s*)iteration\s+(\d{1,15})\s*/\s*(\d{1,15})\s*\|")
MEGATRON_VALIDATION_RE = re.compile(r"^(validation\S{0,40}) (?:loss|results) at (.{1,200}?)\s*\|(.*)$")


def megatron(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if "iteration" in line and "|" in line:
            hits += (
                MEGATRON_ITERATION_RE.search(line) is not None
                or MEGATRON_VALIDATION_RE.match(line) is not None
            )
        elif line.startswith("validation"):
            hits += MEGATRON_VALIDATION_RE.match(line) is not None
    return hits


# -- mlx_lm -----------------------------------------------------------------------------------------
MLX_TRAIN_RE = re.compile(r"^Iter (\d{1,15}): Train loss (\S+?),(.*)$")
MLX_VAL_RE = re.compile(r"^Iter (\d{1,15}): Val loss (\S+?),")
MLX_UI_TRAIN_RE = re.compile(r"^(\d{1,15})\s+(\S+) [▼▲]\s")


def mlx_lm(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith("Iter "):
            hits += MLX_TRAIN_RE.match(line) is not None or MLX_VAL_RE.match(line) is not None
        elif line[:1].isdigit() and ("▼" in line or "▲" in line):
            hits += MLX_UI_TRAIN_RE.match(line) is not None
    return hits


# -- torchtune --------------------------------------------------------------------------------------
TUNE_STEP_RE = re.compile(r"^Step (\d{1,15}) \| (\S.*)$")
TUNE_FIELD_RE = re.compile(r"(?<!\S)([\w/.-]{1,80}):(\S{1,40})(?!\S)")
TUNE_TQDM_RE = re.compile(
    r"^(\d{1,6})\|(\d{1,15})\|Loss: ([-+]?(?:[\d.]{1,30}(?:[eE][-+]?\d{1,3})?|nan|inf))"
    r"(?::\s+\d{1,3}%\|[^|]{0,200}\|\s*(\d{1,15})/(\d{1,15}))?"
)


def torchtune(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith("Step "):
            m = TUNE_STEP_RE.match(line)
            hits += m is not None and any(
                key in ("loss", "val_loss") for key, _ in TUNE_FIELD_RE.findall(m.group(2))
            )
        elif line[:1].isdigit() and "|Loss: " in line:
            hits += TUNE_TQDM_RE.match(line) is not None
    return hits


# -- litgpt -----------------------------------------------------------------------------------------
LIT_NUMBER = r"([-+]?(?:[\d.]{1,30}(?:[eE][-+]?\d{1,3})?|nan|inf))"
LIT_EPOCH_RE = re.compile(
    r"^Epoch (\d{1,9}) \| iter (\d{1,15}) step \d{1,15} \| loss train: " + LIT_NUMBER + r",(.*)$"
)
LIT_ITER_RE = re.compile(r"^iter (\d{1,15}) \|? ?step \d{1,15}: loss " + LIT_NUMBER + r", (iter time:.*)$")
LIT_VAL_RE = re.compile(r"^(?:iter|step) (\d{1,15}): val loss " + LIT_NUMBER + r", val time:")


def litgpt(lines: list[str]) -> int:
    hits = 0
    for line in clean_pieces(lines):
        if line.startswith("Epoch "):
            hits += LIT_EPOCH_RE.match(line) is not None
        elif line.startswith(("iter ", "step ")):
            hits += LIT_ITER_RE.match(line) is not None or LIT_VAL_RE.match(line) is not None
    return hits


# -- csv --------------------------------------------------------------------------------------------
def _csv_first_line(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if line.strip()), None)


def _csv_pipe_header(lines: list[str]) -> tuple[int, list[str]] | None:
    for index, line in enumerate(lines):
        cells = _pipe_cells(line) if line.lstrip().startswith("|") else None
        if cells and len(cells) >= 2 and any(role in auto_columns(cells) for role in LOSS_ROLES):
            return index, cells
    return None


def csv_table(lines: list[str]) -> int:
    start = _csv_first_line(lines)
    if start is None:
        return 0
    delimiter, header, fits = _split_header(lines[start], None)
    if not fits:
        if _long_columns(header):
            return _sniff_long(lines[start + 1 :], delimiter, header)
        found = _csv_pipe_header(lines)
        if found is None:
            return 0
        columns = auto_columns(found[1])
        return sum(
            any(cell_value(row.get(columns[role])) is not None for role in LOSS_ROLES if role in columns)
            for _, row in _pipe_rows(lines, *found)
        )
    columns = auto_columns(header)
    loss_columns = [header.index(columns[role]) for role in LOSS_ROLES if role in columns]
    hits = 0
    try:
        for row in csv.reader(lines[start + 1 :], delimiter=delimiter):
            if any(i < len(row) and cell_value(row[i]) is not None for i in loss_columns):
                hits += 1
    except csv.Error:
        pass
    return hits


# -- jsonl ------------------------------------------------------------------------------------------
def jsonl(lines: list[str]) -> int:
    hits = 0
    for raw in lines:
        line = clean_line(raw)
        if line.startswith("{") and (obj := is_json_object(line)) is not None:
            columns = auto_columns(_flatten(obj))
            hits += any(role in columns for role in LOSS_ROLES)
    return hits


# every format's frozen sniffer, by the NAME of its module
SNIFFERS: dict[str, Callable[[Iterable[str]], int]] = {
    "nanogpt": nanogpt,
    "modded_nanogpt": modded_nanogpt,
    "llmc_stdout": llmc_stdout,
    "llmc_mainlog": llmc_mainlog,
    "nanochat": nanochat,
    "hf_trainer": hf_trainer,
    "torchtitan": torchtitan,
    "megatron": megatron,
    "mlx_lm": mlx_lm,
    "torchtune": torchtune,
    "litgpt": litgpt,
    "csv": csv_table,
    "jsonl": jsonl,
}
