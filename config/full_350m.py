# Dense (full-rank) twin of config/lost_350m.py: the same shape, data, schedule and budget, dense projections.
# torchrun --nproc_per_node=8 train.py config/full_350m.py
exec(open(__file__.replace('full_350m', 'lost_350m')).read())
method = 'dense'
out_dir = 'out-full-350m'
wandb_run_name = 'full-350m'
