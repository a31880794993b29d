# A "config" from a stranger's repository: reading it must run none of it.
import os; os.system("touch MARKER_FROM_CONFIG")
__import__("os").system("touch MARKER_FROM_CONFIG")
open("MARKER_FROM_CONFIG", "w").write("ran")
learning_rate = __import__("os").system("touch MARKER_FROM_CONFIG") or 1e-3
dataset = os.environ.get("DATASET", "shakespeare_char")
wandb_run_name = f"{open('MARKER_FROM_CONFIG', 'w')}"
n_layer = [open("MARKER_FROM_CONFIG", "w") for _ in range(1)] and 6
n_head = {k: open("MARKER_FROM_CONFIG", "w") for k in "x"} and 6
dropout = (lambda: open("MARKER_FROM_CONFIG", "w"))() and 0.2
exec("open('MARKER_FROM_CONFIG', 'w')")
max_iters = 5000        # a literal: read
n_embd = 384            # a literal: read
