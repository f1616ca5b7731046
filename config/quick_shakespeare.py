# The quickstart: a small LOST model on Tiny Shakespeare (byte tokens) that trains on a laptop CPU in a
# few minutes and samples recognisable text.
#   python prepare_data.py --dataset=shakespeare && python train.py config/quick_shakespeare.py
out_dir = 'out-quick'
dataset = 'shakespeare'
eval_interval = 200
eval_iters = 20
log_interval = 25

batch_size = 16
gradient_accumulation_steps = 1
block_size = 128

n_layer = 4
n_head = 4
n_embd = 256
intermediate_size = 688
method = 'lost'
lost_rank = 64  # a quarter of n_embd
lost_sparsity = 0.05
lost_gamma = 0.5

learning_rate = 3e-3
max_iters = 1000
lr_decay_iters = 1000
warmup_iters = 100  # 10% warmup, cosine to 10%
min_lr = 3e-4
weight_decay = 0.0
device = 'cpu'
dtype = 'float32'
