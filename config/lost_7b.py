# LOST 7B on C4: the paper's LLaMA shape, with the shared protocol of config/_paper_protocol.py.
# torchrun --nproc_per_node=8 train.py config/lost_7b.py
out_dir = 'out-lost-7b'
wandb_run_name = 'lost-7b'
n_embd = 4096
intermediate_size = 11008
n_head = 32
n_layer = 32
method = 'lost'
lost_rank = 1024
max_iters = 150000
batch_size = 16  # per GPU per micro-step
gradient_accumulation_steps = 32  # global: 16 x 32 = 512 sequences
compile = False  # FSDP2 + torch.compile not yet measured here
fsdp = True  # FSDP2: one unit per block, bf16 params, fp32 gradient reduction
activation_checkpointing = True
from pathlib import Path
exec(Path(__file__).with_name('_paper_protocol.py').read_text())
