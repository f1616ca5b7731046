# Dense (full-rank) twin of config/lost_7b.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_7b.py
exec(open(__file__.replace('full_7b', 'lost_7b')).read())
method = 'dense'
out_dir = 'out-full-7b'
wandb_run_name = 'full-7b'
