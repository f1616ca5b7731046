# LOST 130M on C4, the paper's LLaMA shape and protocol.
# python prepare_data.py --dataset=c4 --c4_shards=N (GPT-2 BPE), then
# torchrun --nproc_per_node=8 train.py config/lost_130m.py
# The paper's exact per-size learning rates and LOST ranks are not public: the values here are our
# documented defaults (rank as in the paper's tables where given, sparsity 0.05, gamma 0.5, lr 1e-3).
out_dir = 'out-lost-130m'
wandb_log = False
wandb_run_name = 'lost-130m'
dataset = 'c4'
block_size = 256
batch_size = 64  # per GPU per micro-step
gradient_accumulation_steps = 8  # global: 64 x 8 = 512 sequences per step at any world size
n_embd = 768
intermediate_size = 2048
n_head = 12
n_layer = 12
method = 'lost'
lost_rank = 256
lost_sparsity = 0.05
lost_gamma = 0.5
learning_rate = 1e-3
max_iters = 20000
lr_decay_iters = 20000
warmup_iters = 2000  # 10% warmup, then cosine to min_lr = 10%
min_lr = 1e-4
weight_decay = 0.0
grad_clip = 1.0
eval_interval = 1000
eval_iters = 40
dtype = 'bfloat16'
compile = True
