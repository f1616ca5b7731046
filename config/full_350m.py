# Dense (full-rank) twin of config/lost_350m.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_350m.py
from pathlib import Path
exec(Path(__file__).with_name('lost_350m.py').read_text())
method = 'dense'
out_dir = 'out-full-350m'
wandb_run_name = 'full-350m'
