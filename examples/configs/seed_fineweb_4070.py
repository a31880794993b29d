# train a GPT-2 small style model on FineWeb (one parquet file) on an RTX 4070 (12 GB)
# GPT-2 small style, 125M params

out_dir = 'out'
eval_interval = 500
eval_iters = 200
log_interval = 10
always_save_checkpoint = True

wandb_log = False
wandb_project = 'fineweb'
wandb_run_name = 'gpt2-small-4070'

dataset = 'fineweb'
gradient_accumulation_steps = 32
batch_size = 16
block_size = 1024

# model
n_layer = 12
n_head = 12
n_embd = 384
bias = False
dropout = 0.1

# adamw optimizer
learning_rate = 1e-3
max_iters = 20000
weight_decay = 0.1
beta2 = 0.99

# learning rate decay settings
warmup_iters = 500
lr_decay_iters = 20000 # cosine over the whole run
min_lr = 1e-4

# system
dtype = 'float16'
compile = True
