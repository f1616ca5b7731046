# Dense (full-rank) twin of LOST 1B on C4, the paper's LLaMA shape and protocol.
# python prepare_data.py --dataset=c4 --c4_shards=N (GPT-2 BPE), then
# torchrun --nproc_per_node=8 train.py config/full_1b.py
# The paper's exact per-size learning rates and LOST ranks are not public: the values here are our
# documented defaults (rank as in the paper's tables where given, sparsity 0.05, gamma 0.5, lr 1e-3).
out_dir = 'out-full-1b'
wandb_log = False
wandb_run_name = 'full-1b'
dataset = 'c4'
block_size = 256
batch_size = 32  # per GPU per micro-step
gradient_accumulation_steps = 16  # global: 32 x 16 = 512 sequences per step at any world size
n_embd = 2048
intermediate_size = 5461
n_head = 32
n_layer = 24
method = 'dense'
learning_rate = 1e-3
max_iters = 100000
lr_decay_iters = 100000
warmup_iters = 10000  # 10% warmup, then cosine to min_lr = 10%
min_lr = 1e-4
weight_decay = 0.0
grad_clip = 1.0
eval_interval = 1000
eval_iters = 40
dtype = 'bfloat16'
compile = True
