# The same-budget comparison (compare.py): a small LLaMA-shape model on Tiny Shakespeare (byte tokens)
# with the paper's ratios (rank = n_embd / 4, sparsity 0.05, gamma 0.5, 10% warmup, cosine to 10%).
# compare.py sets method, the LOST ablation knobs, learning_rate, min_lr, seed and out_dir.
dataset = 'shakespeare'
eval_interval = 100
eval_iters = 20  # 20 x 16 x 128 = 41k of the 112k validation tokens, the same batches for every run
log_interval = 50
always_save_checkpoint = False
batch_size = 16
gradient_accumulation_steps = 1
block_size = 128
n_layer = 4
n_head = 4
n_embd = 128
intermediate_size = 344
lost_rank = 32
lost_sparsity = 0.05
lost_gamma = 0.5
max_iters = 800  # 800 x 16 x 128 = 1.6M tokens, ~1.6 epochs of the training split
lr_decay_iters = 800
warmup_iters = 80
weight_decay = 0.0
device = 'cpu'
dtype = 'float32'
