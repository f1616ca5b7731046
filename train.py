"""
Train a LOST (or baseline) LLaMA-style GPT. One script for one process and for many:

    $ python train.py config/quick_shakespeare.py                       # CPU or one GPU
    $ torchrun --nproc_per_node=8 train.py config/lost_1b.py             # DDP on 8 GPUs
    $ torchrun --nproc_per_node=8 train.py config/lost_7b.py             # FSDP2 (the 7B configs set fsdp)
    $ python train.py config/lost_7b.py --plan=True                      # memory plan, nothing allocated

Multi-node: on every node run torchrun --nnodes=N --node_rank=I --nproc_per_node=8
--master_addr=HOST0 --master_port=29500 train.py config/x.py (the global batch stays the config's).
"""
import json
import math
import os
import resource
import sys
import time
from contextlib import nullcontext
from dataclasses import fields

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict
from tqdm import tqdm

from model import GPT, GPTConfig, accounting_table

# -----------------------------------------------------------------------------
# I/O
out_dir = 'out'  # checkpoint and log.jsonl go here
eval_interval = 250  # evaluate (and checkpoint) every this many iterations, and at the end
log_interval = 10  # print and append to out_dir/log.jsonl every this many iterations
eval_iters = 20  # batches of batch_size sequences per evaluation, evenly spaced over each split
eval_only = False  # evaluate once and exit
always_save_checkpoint = True  # else only when val loss improves
init_from = 'scratch'  # 'scratch' or 'resume' (from out_dir/ckpt.pt)
wandb_log = False  # needs `pip install wandb`
wandb_project = 'nanolost'  # wandb project and run names
wandb_run_name = 'run'
# data
dataset = 'shakespeare'  # reads data/<dataset>/{train,val}.bin and meta.json (see prepare_data.py)
gradient_accumulation_steps = 8  # micro-steps per iteration summed over all processes (global)
batch_size = 16  # sequences per micro-step per process; global batch = batch_size * gradient_accumulation_steps
block_size = 256  # tokens per sequence (context length)
# model (see model.GPTConfig)
n_layer = 8  # transformer blocks
n_head = 8  # attention heads (n_embd / n_head must be even, for RoPE)
n_embd = 512  # model width
intermediate_size = 1376  # SwiGLU hidden width
vocab_size = 0  # 0: the dataset's (meta.json), padded to a multiple of 64; set it to plan without data
method = 'lost'  # dense | lowrank | cola | sltrain | lost
lost_rank = 128  # rank r of B A (also for lowrank, cola, sltrain)
lost_sparsity = 0.05  # LOST: share of input channels kept in S; sltrain: density of S
lost_gamma = 0.5  # weight of the low-rank branch (1.0: low-rank only)
lost_activation = 'silu'  # silu | none, between A and B
lost_channel_score = 'l2'  # l2 | l1 | random: how residual channels are ranked
lost_sparse_init = 'residual'  # residual | dense: S starts from R[:, channels] or W0[:, channels]
# AdamW, linear warmup then cosine decay to min_lr
learning_rate = 1e-3  # peak learning rate
max_iters = 10000  # training iterations (each one global batch)
weight_decay = 0.0  # AdamW decay on >= 2-D weights
beta1 = 0.9
beta2 = 0.95
grad_clip = 1.0  # 0 disables clipping
decay_lr = True  # False: constant learning_rate
warmup_iters = 1000  # the paper: 10% of the steps
lr_decay_iters = 10000  # usually max_iters
min_lr = 1e-4  # the paper: 10% of learning_rate
# system
device = 'cuda' if torch.cuda.is_available() else 'cpu'
dtype = 'bfloat16' if torch.cuda.is_available() else 'float32'  # bf16 autocast on CUDA; float32 on CPU
compile = False  # torch.compile the model
seed = 1337  # weights and data order follow from it (evaluation batches are fixed)
fsdp = False  # shard with FSDP2 (fully_shard per block) instead of DDP
activation_checkpointing = False  # recompute each block in backward
plan = False  # print the memory plan for this config and exit without allocating the model
gpu_mem_gb = 80.0  # GPU memory the plan checks against
world_size_plan = 8  # world size the plan assumes when not launched with torchrun
# -----------------------------------------------------------------------------
from configurator import configure, fail  # noqa: E402

config_keys = [k for k, v in globals().items() if not k.startswith('_') and isinstance(v, (int, float, bool, str))]
configure(globals(), sys.argv[1:])
config = {k: globals()[k] for k in config_keys}

model_args = {f.name: globals()[f.name] for f in fields(GPTConfig) if f.name in config and f.name != 'vocab_size'}
data_dir = os.path.join('data', dataset)
meta_path = os.path.join(data_dir, 'meta.json')
meta = json.load(open(meta_path)) if os.path.exists(meta_path) else None
if meta is None and not (plan and vocab_size):
    fail(f"no prepared data at {data_dir}/ (meta.json missing); run python prepare_data.py --dataset={dataset} first")
if meta and vocab_size and vocab_size < meta['vocab_size']:
    fail(f"vocab_size={vocab_size} is smaller than the dataset's {meta['vocab_size']}; leave vocab_size at 0")
model_args['vocab_size'] = vocab_size or -(-meta['vocab_size'] // 64) * 64  # a multiple of 64: faster matmuls
try:
    gptconf = GPTConfig(**model_args)
    with torch.device('meta'):
        GPT(gptconf)  # validates every knob (rank, sparsity, method...) before anything is allocated
except ValueError as e:
    fail(str(e))

if plan:
    from plan import memory_plan
    print(accounting_table(gptconf))
    print(memory_plan(gptconf, int(os.environ.get('WORLD_SIZE', world_size_plan)), batch_size, gpu_mem_gb,
                      activation_checkpointing))
    sys.exit(0)
if init_from not in ('scratch', 'resume'):
    fail(f"init_from must be 'scratch' or 'resume', got {init_from!r}")
if dtype not in ('float32', 'bfloat16'):
    fail(f"dtype must be 'float32' or 'bfloat16', got {dtype!r}")

# distributed setup: torchrun sets RANK; nccl on CUDA, gloo on CPU
distributed = int(os.environ.get('RANK', -1)) != -1
if distributed:
    rank, local_rank, world_size = int(os.environ['RANK']), int(os.environ['LOCAL_RANK']), int(os.environ['WORLD_SIZE'])
    if device.startswith('cuda'):
        device = f'cuda:{local_rank}'
        torch.cuda.set_device(device)
    dist.init_process_group(backend='nccl' if device.startswith('cuda') else 'gloo')
else:
    rank, local_rank, world_size = 0, 0, 1
master = rank == 0
if fsdp and not distributed:
    fail("fsdp=True shards over processes: launch with torchrun --nproc_per_node=N, or drop --fsdp")
if gradient_accumulation_steps % world_size:
    fail(f"gradient_accumulation_steps={gradient_accumulation_steps} does not divide over {world_size} processes; "
         f"make it a multiple of {world_size} (the global batch is batch_size * gradient_accumulation_steps)")
accum_steps = gradient_accumulation_steps // world_size
tokens_per_iter = gradient_accumulation_steps * batch_size * block_size
device_type = 'cuda' if device.startswith('cuda') else 'cpu'
autocast = nullcontext() if dtype == 'float32' else torch.autocast(device_type, dtype=torch.bfloat16)
torch.manual_seed(seed)
if device_type == 'cuda':
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def log(msg):
    if master:
        tqdm.write(msg)


def load_split(split):
    path = os.path.join(data_dir, f'{split}.bin')
    if not os.path.exists(path):
        fail(f"missing {path}; run python prepare_data.py --dataset={dataset} --force")
    data = np.memmap(path, dtype=meta['dtype'], mode='r')  # a fresh memmap per use avoids a known leak
    if len(data) <= block_size + 1:
        fail(f"{path} has {len(data)} tokens, too few for block_size={block_size}; lower block_size")
    return data


def make_batch(data, offsets):
    x = torch.stack([torch.from_numpy(data[i:i + block_size].astype(np.int64)) for i in offsets.tolist()])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + block_size].astype(np.int64)) for i in offsets.tolist()])
    if device_type == 'cuda':
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x, y


# every process draws the same global batch and takes its own rows, so the data order does not
# depend on the world size: 1 process x 8 micro-steps sees what 8 processes x 1 micro-step see
data_rng = torch.Generator().manual_seed(seed)


def global_batch_offsets():
    n = len(load_split('train')) - block_size - 1
    return torch.randint(n, (gradient_accumulation_steps * batch_size,), generator=data_rng)


# model: build on meta, allocate on the device, draw each weight once (LOST: W0 -> SVD -> freed), the
# SVDs spread over ranks; then wrap
iter_num, best_val_loss, resumed_at = 0, float('inf'), None
ckpt_path = os.path.join(out_dir, 'ckpt.pt')
checkpoint = None
if init_from == 'resume':
    if not os.path.exists(ckpt_path):
        fail(f"init_from='resume' but there is no checkpoint at {ckpt_path}; train from scratch first")
    checkpoint = torch.load(ckpt_path, map_location='cpu', mmap=True)
    changed = {k: (v, model_args.get(k)) for k, v in checkpoint['model_args'].items() if model_args.get(k) != v}
    if changed:
        fail("cannot resume: the checkpoint's model differs in " +
             ", ".join(f"{k} (checkpoint {a!r}, now {b!r})" for k, (a, b) in changed.items()) +
             "; use the checkpoint's settings or a new out_dir")
t0 = time.time()
with torch.device('meta'):
    model = GPT(gptconf)
model.to_empty(device=device)
if checkpoint is None:
    model.init_weights(seed, rank, world_size)
else:
    model.init_rope()  # the weights come from the checkpoint below
init_seconds = time.time() - t0
model.activation_checkpointing = activation_checkpointing
log(accounting_table(gptconf))
log(f"init {init_seconds:.2f}s on {world_size} process(es) | {tokens_per_iter:,} tokens per iteration "
    f"({gradient_accumulation_steps * batch_size} sequences of {block_size}) | {'FSDP2' if fsdp else 'DDP' if distributed else 'single process'}")
raw_model = model
if fsdp:
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if dtype == 'bfloat16' else MixedPrecisionPolicy()
    for block in model.blocks:
        fully_shard(block, mp_policy=mp)
    fully_shard(model, mp_policy=mp)
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
state_options = StateDictOptions(full_state_dict=True, cpu_offload=True)
if checkpoint is not None:
    set_state_dict(model, optimizer, model_state_dict=checkpoint['model'], optim_state_dict=checkpoint['optimizer'],
                   options=StateDictOptions(full_state_dict=True))
    iter_num, best_val_loss = checkpoint['iter_num'], checkpoint['best_val_loss']
    resumed_at = iter_num  # that evaluation is in the log already
    data_rng.set_state(checkpoint['data_rng'])
    torch.set_rng_state(checkpoint['torch_rng'])
    log(f"resumed from {ckpt_path} at iteration {iter_num}")
    checkpoint = None
if compile:
    model = torch.compile(model)
if distributed and not fsdp:
    model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if device_type == 'cuda' else None)


def set_grad_sync(enabled):
    if fsdp:
        raw_model.set_requires_gradient_sync(enabled)
    elif distributed:
        model.require_backward_grad_sync = enabled


def get_lr(it):
    if not decay_lr:
        return learning_rate
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


@torch.no_grad()
def evaluate():
    """Mean loss over eval_iters fixed, evenly spaced batches per split: the same for every run and method."""
    model.eval()
    out = {}
    for split in ('train', 'val'):
        data = load_split(split)
        offsets = torch.linspace(0, len(data) - block_size - 2, eval_iters * batch_size).long()
        total = torch.zeros((), device=device)
        for j in range(math.ceil(eval_iters / world_size)):  # equal forward count per rank (FSDP needs it)
            i = j * world_size + rank
            x, y = make_batch(data, offsets[(i % eval_iters) * batch_size:][:batch_size])
            with autocast:
                _, loss = model(x, y)
            total += loss.float() * (i < eval_iters)
        if distributed:
            dist.all_reduce(total)
        out[split] = total.item() / eval_iters
    model.train()
    return out


def save_checkpoint():
    model_state, optim_state = get_state_dict(raw_model, optimizer, options=state_options)  # collective under FSDP
    if master:
        ckpt = dict(model=model_state, optimizer=optim_state, model_args=model_args, iter_num=iter_num,
                    best_val_loss=best_val_loss, config=config, data_rng=data_rng.get_state(),
                    torch_rng=torch.get_rng_state())
        tmp = ckpt_path + '.tmp'
        torch.save(ckpt, tmp)
        os.replace(tmp, ckpt_path)  # atomic: a crash mid-save leaves the previous checkpoint intact
        log(f"saved checkpoint to {ckpt_path}")


def shutdown():
    if distributed:
        dist.barrier()  # no rank tears gloo/nccl down while another is still saving or reducing
        dist.destroy_process_group()


def stop(message):
    if master:
        tqdm.write(f"stopping: {message}; the last good checkpoint (if any) is kept at {ckpt_path}", file=sys.stderr)
    shutdown()
    sys.exit(1)


def write_log(record):
    if master:
        with open(os.path.join(out_dir, 'log.jsonl'), 'a') as f:
            f.write(json.dumps(record) + '\n')
        if wandb_log:
            wandb.log(record)


if master:
    os.makedirs(out_dir, exist_ok=True)
if wandb_log and master:
    try:
        import wandb
    except ImportError:
        fail("wandb_log=True but wandb is not installed; pip install wandb or drop --wandb_log")
    wandb.init(project=wandb_project, name=wandb_run_name, config=config)

peak_flops = None
if device_type == 'cuda':
    name = torch.cuda.get_device_name(device)
    table = {'H200': 989e12, 'H100': 989e12, 'H800': 989e12, 'A100': 312e12, 'A800': 312e12, 'L40S': 362e12,
             'L4': 121e12, 'A10': 125e12, '4090': 165e12, '3090': 71e12}  # dense bf16 peak FLOP/s
    peak_flops = next((v for k, v in table.items() if k in name), None)
flops_per_token = raw_model.flops_per_token()
if resumed_at is None:
    write_log(dict(iter=0, **raw_model.param_counts(), flops_per_token=flops_per_token, init_s=init_seconds))
bar = tqdm(total=max_iters, initial=iter_num, disable=not master, dynamic_ncols=True)
t_last, iters_since_log = time.time(), 0
while True:
    lr = get_lr(iter_num)
    for group in optimizer.param_groups:
        group['lr'] = lr
    if (iter_num % eval_interval == 0 or iter_num >= max_iters or eval_only) and iter_num != resumed_at:
        losses = evaluate()
        if not all(map(math.isfinite, losses.values())):
            stop(f"non-finite loss at iteration {iter_num} ({losses})")
        log(f"iter {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}, "
            f"val ppl {math.exp(losses['val']):.2f}")
        write_log(dict(iter=iter_num, val_loss=losses['val'], val_ppl=math.exp(losses['val']), train_loss=losses['train']))
        if iter_num > 0 and not eval_only and (losses['val'] < best_val_loss or always_save_checkpoint):
            best_val_loss = min(best_val_loss, losses['val'])
            save_checkpoint()
        t_last = time.time()
    if iter_num >= max_iters or eval_only:
        break

    offsets = global_batch_offsets()
    mine = offsets.view(world_size, accum_steps, batch_size)[rank]
    loss_sum = torch.zeros((), device=device)
    for micro_step in range(accum_steps):
        set_grad_sync(micro_step == accum_steps - 1)  # all-reduce once, on the last micro-step
        x, y = make_batch(load_split('train'), mine[micro_step])
        with autocast:
            _, loss = model(x, y)
        (loss / accum_steps).backward()
        loss_sum += loss.detach() / accum_steps
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    iter_num += 1
    iters_since_log += 1
    bar.update(1)

    if iter_num % log_interval == 0:
        if distributed:
            dist.all_reduce(loss_sum, op=dist.ReduceOp.AVG)
        lossf = loss_sum.item()  # syncs the device, so the timing below is real
        if not math.isfinite(lossf):
            stop(f"non-finite training loss {lossf} at iteration {iter_num}")
        dt = (time.time() - t_last) / iters_since_log
        t_last, iters_since_log = time.time(), 0
        record = dict(iter=iter_num, loss=lossf, lr=lr, ms=dt * 1000, tok_s=tokens_per_iter / dt)
        if peak_flops:
            record['mfu'] = flops_per_token * tokens_per_iter / dt / (peak_flops * world_size)
        record['mem_mib'] = (torch.cuda.max_memory_allocated(device) if device_type == 'cuda'
                             else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
        log(f"iter {iter_num}: loss {lossf:.4f}, lr {lr:.2e}, {record['ms']:.1f} ms, {record['tok_s']:,.0f} tok/s"
            + (f", mfu {record['mfu'] * 100:.1f}%" if 'mfu' in record else '') + f", mem {record['mem_mib']:,.0f} MiB")
        write_log(record)
bar.close()
shutdown()
