# LOST 350M on C4: the paper's LLaMA shape, with the shared protocol of config/_paper_protocol.py.
# torchrun --nproc_per_node=8 train.py config/lost_350m.py
out_dir = 'out-lost-350m'
wandb_run_name = 'lost-350m'
n_embd = 1024
intermediate_size = 2736
n_head = 16
n_layer = 24
method = 'lost'
lost_rank = 256
max_iters = 60000
batch_size = 64  # per GPU per micro-step
gradient_accumulation_steps = 8  # global: 64 x 8 = 512 sequences
compile = True
from pathlib import Path
exec(Path(__file__).with_name('_paper_protocol.py').read_text())
