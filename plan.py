"""
Memory planner: per-GPU bytes of weights, gradients, AdamW states and activations for a config, for DDP and
FSDP2, for the method and its dense twin, computed from the layer shapes on the meta device (nothing is
allocated). Used by `python train.py config/x.py --plan=True`.

What train.py keeps: fp32 weights, fp32 gradients and two fp32 AdamW moments (16 bytes per parameter),
bf16 autocast activations. DDP replicates all of it; FSDP2 shards it over the world size and gathers one
block's bf16 weights (plus the next, prefetched) and gradients at a time. Activations are an estimate: the
tensors each block saves for backward, counted from the shapes, plus the logits of the micro-batch.
"""
import torch

from lost import LOSTLinear
from model import GPT

GiB = 2 ** 30


def state_bytes(n_params, weight_bytes=4, grad_bytes=4, adam_bytes=8):
    """Bytes of weights + gradients + both AdamW moments for n_params parameters."""
    return n_params * (weight_bytes + grad_bytes + adam_bytes)


def activation_bytes_per_token(model, checkpointing):
    """Saved-for-backward bytes per token (bf16) across all blocks, and the logits (bf16 + fp32 + fp32 grad)."""
    c = model.config
    h, inter = c.n_embd, c.intermediate_size
    extra = 0
    for m in model.blocks[0].modules():
        if isinstance(m, LOSTLinear):  # A x and act(A x), and the gathered slice x[..., channels]
            extra += 2 * m.rank + m.k
    per_block = 2 * (10 * h + 4 * inter + extra)  # norms, q/k/v/attention out, SwiGLU's four, LOST extras
    blocks = c.n_layer * 4 * h + per_block if checkpointing else c.n_layer * per_block  # ckpt: fp32 block inputs
    return blocks + 10 * c.vocab_size


def memory_plan(config, world_size, batch_size, gpu_mem_gb, checkpointing):
    lines = [f"memory plan per GPU: world size {world_size}, micro-batch {batch_size} x {config.block_size} tokens, "
             f"activation checkpointing {'on' if checkpointing else 'off'}, budget {gpu_mem_gb:g} GB",
             f"{'method':<8} {'mode':<5} {'params':>8} {'weights':>8} {'grads':>8} {'adamw':>8} {'activ.':>8} "
             f"{'total':>8}  fits"]
    for cfg in (config.dense_twin(), config) if config.method != "dense" else (config,):
        with torch.device("meta"):
            model = GPT(cfg)
        n = model.param_counts()["total"]
        block = sum(p.numel() for p in model.blocks[0].parameters())
        act = activation_bytes_per_token(model, checkpointing) * batch_size * config.block_size
        for mode, shards in (("DDP", 1), ("FSDP", world_size)):
            gathered = 2 * block * 2 * 2 if shards > 1 else 0  # bf16 weights + grads of two blocks in flight
            weights, grads, adam = 4 * n / shards + gathered / 2, 4 * n / shards + gathered / 2, 8 * n / shards
            total = weights + grads + adam + act
            fits = "yes" if total <= gpu_mem_gb * 1e9 else "NO"
            lines.append(f"{cfg.method:<8} {mode:<5} {n / 1e9:7.3f}B {weights / GiB:7.2f}G {grads / GiB:7.2f}G "
                         f"{adam / GiB:7.2f}G {act / GiB:7.2f}G {total / GiB:7.2f}G  {fits}")
    lines.append("GiB = 2^30 bytes; the budget is decimal GB as GPUs are sold. Activations are an estimate "
                 "(kernels' workspace and the allocator's fragmentation come on top).")
    return "\n".join(lines)
