"""The registry of log formats, in the order detection breaks ties (nanoGPT first)."""
from __future__ import annotations

from . import (csv_table, hf_trainer, jsonl_table, llmc_mainlog, llmc_stdout, modded_nanogpt,
               nanochat, nanogpt)

FORMATS = {
    nanogpt.NAME: nanogpt,
    modded_nanogpt.NAME: modded_nanogpt,
    llmc_stdout.NAME: llmc_stdout,
    llmc_mainlog.NAME: llmc_mainlog,
    nanochat.NAME: nanochat,
    hf_trainer.NAME: hf_trainer,
    csv_table.NAME: csv_table,
    jsonl_table.NAME: jsonl_table,
}
