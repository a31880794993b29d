"""The registry of log formats, in the order detection breaks ties (nanoGPT first)."""
from __future__ import annotations

from . import (csv_table, hf_trainer, jsonl_table, litgpt, llmc_mainlog, llmc_stdout, megatron,
               mlx_lm, modded_nanogpt, nanochat, nanogpt, torchtitan, torchtune)

FORMATS = {
    nanogpt.NAME: nanogpt,
    modded_nanogpt.NAME: modded_nanogpt,
    llmc_stdout.NAME: llmc_stdout,
    llmc_mainlog.NAME: llmc_mainlog,
    nanochat.NAME: nanochat,
    hf_trainer.NAME: hf_trainer,
    torchtitan.NAME: torchtitan,
    megatron.NAME: megatron,
    mlx_lm.NAME: mlx_lm,
    torchtune.NAME: torchtune,
    litgpt.NAME: litgpt,
    csv_table.NAME: csv_table,
    jsonl_table.NAME: jsonl_table,
}
