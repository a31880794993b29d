"""nanoGPT's train.py defaults (train.py lines 34-74 at HEAD), the bottom layer of every config.

Only keys whose default is int/float/bool/str are config keys in nanoGPT; these are all of them.
`dtype` depends on the GPU in train.py; 'bfloat16' is what a modern CUDA GPU gets.
"""

from __future__ import annotations

NANOGPT_DEFAULTS: dict[str, object] = {
    "out_dir": "out",
    "eval_interval": 2000,
    "log_interval": 1,
    "eval_iters": 200,
    "eval_only": False,
    "always_save_checkpoint": True,
    "init_from": "scratch",
    "wandb_log": False,
    "wandb_project": "owt",
    "wandb_run_name": "gpt2",
    "dataset": "openwebtext",
    "gradient_accumulation_steps": 5 * 8,
    "batch_size": 12,
    "block_size": 1024,
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "dropout": 0.0,
    "bias": False,
    "learning_rate": 6e-4,
    "max_iters": 600000,
    "weight_decay": 1e-1,
    "beta1": 0.9,
    "beta2": 0.95,
    "grad_clip": 1.0,
    "decay_lr": True,
    "warmup_iters": 2000,
    "lr_decay_iters": 600000,
    "min_lr": 6e-5,
    "backend": "nccl",
    "device": "cuda",
    "dtype": "bfloat16",
    "compile": True,
}

# Training-split sizes in tokens of the datasets nanoGPT's own prepare.py scripts produce
# (data/*/readme.md). Used only when the run names one of them and no size was given.
STOCK_DATASET_TOKENS: dict[str, int] = {
    "shakespeare_char": 1_003_854,
    "shakespeare": 301_966,
    "openwebtext": 9_035_582_198,
}
# The vocabulary each builds with: shakespeare_char's meta.pkl has 65 characters; the GPT-2 BPE
# datasets have no meta.pkl (train.py defaults to 50304, or 50257 from a pretrained GPT-2). A log
# printing another size ran on a different text that kept the directory's name.
STOCK_DATASET_VOCABS: dict[str, tuple[int, ...]] = {
    "shakespeare_char": (65,),
    "shakespeare": (50257, 50304),
    "openwebtext": (50257, 50304),
}

# The pretrained GPT-2 checkpoints `init_from` can name: (n_layer, n_head, n_embd), vocab 50257,
# block 1024, bias True (model.py from_pretrained).
GPT2_SHAPES: dict[str, tuple[int, int, int]] = {
    "gpt2": (12, 12, 768),
    "gpt2-medium": (24, 16, 1024),
    "gpt2-large": (36, 20, 1280),
    "gpt2-xl": (48, 25, 1600),
}
