# Dense (full-rank) twin of config/lost_60m.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_60m.py
exec(open(__file__.replace('full_60m', 'lost_60m')).read())
method = 'dense'
out_dir = 'out-full-60m'
wandb_run_name = 'full-60m'
