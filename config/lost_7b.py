# LOST 7B on C4, the paper's LLaMA shape and protocol.
# python prepare_data.py --dataset=c4 --c4_shards=N (GPT-2 BPE), then
# torchrun --nproc_per_node=8 train.py config/lost_7b.py
# The paper's exact per-size learning rates and LOST ranks are not public: the values here are our
# documented defaults (rank as in the paper's tables where given, sparsity 0.05, gamma 0.5, lr 1e-3).
out_dir = 'out-lost-7b'
wandb_log = False
wandb_run_name = 'lost-7b'
dataset = 'c4'
block_size = 256
batch_size = 16  # per GPU per micro-step
gradient_accumulation_steps = 32  # global: 16 x 32 = 512 sequences per step at any world size
n_embd = 4096
intermediate_size = 11008
n_head = 32
n_layer = 32
method = 'lost'
lost_rank = 1024
lost_sparsity = 0.05
lost_gamma = 0.5
learning_rate = 1e-3
max_iters = 150000
lr_decay_iters = 150000
warmup_iters = 15000  # 10% warmup, then cosine to min_lr = 10%
min_lr = 1e-4
weight_decay = 0.0
grad_clip = 1.0
eval_interval = 1000
eval_iters = 40
dtype = 'bfloat16'
compile = False  # FSDP2 + torch.compile not yet measured here
fsdp = True  # FSDP2: one unit per block, bf16 params, fp32 gradient reduction
activation_checkpointing = True
