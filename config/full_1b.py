# Dense (full-rank) twin of config/lost_1b.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_1b.py
from pathlib import Path
exec(Path(__file__).with_name('lost_1b.py').read_text())
method = 'dense'
out_dir = 'out-full-1b'
wandb_run_name = 'full-1b'
