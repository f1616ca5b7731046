# Dense (full-rank) twin of config/lost_130m.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_130m.py
exec(open(__file__.replace('full_130m', 'lost_130m')).read())
method = 'dense'
out_dir = 'out-full-130m'
wandb_run_name = 'full-130m'
