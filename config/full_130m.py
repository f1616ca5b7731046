# Dense (full-rank) twin of config/lost_130m.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_130m.py
from pathlib import Path
exec(Path(__file__).with_name('lost_130m.py').read_text())
method = 'dense'
out_dir = 'out-full-130m'
wandb_run_name = 'full-130m'
