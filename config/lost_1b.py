# LOST 1B on C4: the paper's LLaMA shape, with the shared protocol of config/_paper_protocol.py.
# torchrun --nproc_per_node=8 train.py config/lost_1b.py
out_dir = 'out-lost-1b'
wandb_run_name = 'lost-1b'
n_embd = 2048
intermediate_size = 5461
n_head = 32
n_layer = 24
method = 'lost'
lost_rank = 512
max_iters = 100000
batch_size = 32  # per GPU per micro-step
gradient_accumulation_steps = 16  # global: 32 x 16 = 512 sequences
compile = True
from pathlib import Path
exec(Path(__file__).with_name('_paper_protocol.py').read_text())
