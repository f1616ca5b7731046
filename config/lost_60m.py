# LOST 60M on C4: the paper's LLaMA shape, with the shared protocol of config/_paper_protocol.py.
# torchrun --nproc_per_node=8 train.py config/lost_60m.py
out_dir = 'out-lost-60m'
wandb_run_name = 'lost-60m'
n_embd = 512
intermediate_size = 1376
n_head = 8
n_layer = 8
method = 'lost'
lost_rank = 128
max_iters = 10000
batch_size = 64  # per GPU per micro-step
gradient_accumulation_steps = 8  # global: 64 x 8 = 512 sequences
compile = True
from pathlib import Path
exec(Path(__file__).with_name('_paper_protocol.py').read_text())
