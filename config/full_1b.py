# Dense (full-rank) twin of config/lost_1b.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_1b.py
exec(open(__file__.replace('full_1b', 'lost_1b')).read())
method = 'dense'
out_dir = 'out-full-1b'
wandb_run_name = 'full-1b'
