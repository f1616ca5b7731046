# The paper's C4 pre-training protocol, shared by config/lost_*.py and config/full_*.py: each of those sets
# the shape, LOST rank, steps (max_iters) and per-GPU batch split, then executes this file.
# The paper's exact per-size learning rates and LOST ranks are not public: the values here are our
# documented defaults (rank as in the paper's tables where given, sparsity 0.05, gamma 0.5, lr 1e-3).
wandb_log = False
dataset = 'c4'  # python prepare_data.py --dataset=c4 --c4_shards=N (GPT-2 BPE)
block_size = 256
if batch_size * gradient_accumulation_steps != 512:
    raise ValueError("the paper's global batch is 512 sequences")
lost_sparsity = 0.05
lost_gamma = 0.5
learning_rate = 1e-3
lr_decay_iters = max_iters
warmup_iters = max_iters // 10  # 10% warmup, then cosine to min_lr = 10%
min_lr = learning_rate / 10
weight_decay = 0.0
grad_clip = 1.0
eval_interval = 1000
eval_iters = 40
dtype = 'bfloat16'
