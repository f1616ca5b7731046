"""
LLaMA-style GPT (the architecture of the LOST paper's 60M-7B models): RMSNorm, causal self-attention
with RoPE, SwiGLU MLP, untied LM head, no biases. Every attention and MLP projection comes from
lost.make_projection, so one `method` switch turns the model into LOST or any baseline.
"""
import inspect
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from lost import LOSTLinear, SLTrainLinear, make_projection


@dataclass
class GPTConfig:
    vocab_size: int = 32000
    block_size: int = 256
    n_layer: int = 8
    n_head: int = 8
    n_embd: int = 512
    intermediate_size: int = 1376
    method: str = "lost"  # dense | lowrank | cola | sltrain | lost
    lost_rank: int = 128  # rank r of the low-rank factors (also used by lowrank, cola, sltrain)
    lost_sparsity: float = 0.05  # LOST: fraction of input channels kept; sltrain: density of S
    lost_gamma: float = 0.5  # weight of the low-rank branch; 1.0 = SVD-init low-rank only
    lost_activation: str = "silu"  # silu | none: nonlinearity between A and B
    lost_channel_score: str = "l2"  # l2 | l1 | random: how the residual's channels are ranked
    lost_sparse_init: str = "residual"  # residual | dense: S starts from R[:, ch] or W0[:, ch]
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6

    def dense_twin(self):
        return replace(self, method="dense")


def projection(config, in_features, out_features):
    return make_projection(in_features, out_features, config.method, config.lost_rank,
                           config.lost_sparsity, config.lost_gamma, config.lost_activation,
                           config.lost_channel_score, config.lost_sparse_init)


def projection_flops(module):
    """Forward FLOPs per token of one projection, as it is really computed."""
    if isinstance(module, nn.Linear):
        return 2 * module.in_features * module.out_features
    return module.flops()


def assign_owners(costs, world_size):
    """Give each unit of work to the least-loaded rank so far (largest first): balanced and deterministic."""
    load, owners = [0] * world_size, [0] * len(costs)
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        owners[i] = min(range(world_size), key=lambda r: load[r])
        load[owners[i]] += costs[i]
    return owners


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def rope_tables(head_dim, length, theta, device):
    freqs = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim)
    angles = torch.outer(torch.arange(length, device=device).float(), freqs)
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):
    """Rotate the two halves of each head (the LLaMA/HF convention); x is (B, H, T, D)."""
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head or (config.n_embd // config.n_head) % 2:
            raise ValueError(f"n_embd {config.n_embd} must split into {config.n_head} heads of even size")
        self.n_head = config.n_head
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (
            projection(config, config.n_embd, config.n_embd) for _ in range(4))

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        q, k, v = (p(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        q, k = apply_rope(q, cos[:T], sin[:T]), apply_rope(k, cos[:T], sin[:T])
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_proj = projection(config, config.n_embd, config.intermediate_size)
        self.up_proj = projection(config, config.n_embd, config.intermediate_size)
        self.down_proj = projection(config, config.intermediate_size, config.n_embd)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attn_norm = RMSNorm(config.n_embd, config.norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = RMSNorm(config.n_embd, config.norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class GPT(nn.Module):
    def __init__(self, config, seed=None):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = RMSNorm(config.n_embd, config.norm_eps)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.activation_checkpointing = False
        cos, sin = rope_tables(config.n_embd // config.n_head, config.block_size, config.rope_theta,
                               self.wte.weight.device)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        if self.wte.weight.device.type != "meta":  # on meta: shapes only, init_weights comes later
            self.init_weights(torch.initial_seed() if seed is None else seed)

    def projections(self):
        return [m for m in self.modules() if isinstance(m, (nn.Linear, LOSTLinear, SLTrainLinear))
                and m is not self.lm_head]

    @torch.no_grad()
    def init_rope(self):
        """The RoPE tables: buffers that are not saved, so a model loaded from a checkpoint needs only these."""
        cos, sin = rope_tables(self.config.n_embd // self.config.n_head, self.config.block_size,
                               self.config.rope_theta, self.rope_cos.device)
        self.rope_cos.copy_(cos)
        self.rope_sin.copy_(sin)

    @torch.no_grad()
    def init_weights(self, seed, rank=0, world_size=1):
        """Draw every weight from its own seeded generator, module by module, on the module's device.

        Each LOST projection draws a dense W0 and splits it at once, so the dense model is never held
        whole. With world_size > 1 (torch.distributed initialised) each module is drawn by one rank
        (assign_owners balances the work) and broadcast, which spreads the SVDs over ranks and gives
        every rank identical weights that do not depend on the world size."""
        device = self.wte.weight.device
        self.init_rope()
        units = [m for m in self.modules() if any(True for _ in m.parameters(recurse=False))]
        owners = assign_owners([sum(p.numel() for p in m.parameters()) for m in units], world_size)
        for i, (module, owner) in enumerate(zip(units, owners)):
            if owner == rank:
                generator = torch.Generator(device).manual_seed((seed * 1_000_003 + i) % 2**63)
                if isinstance(module, RMSNorm):
                    module.weight.fill_(1.0)
                elif isinstance(module, (nn.Linear, nn.Embedding)):
                    module.weight.normal_(0.0, 0.02, generator=generator)
                else:
                    module.reset_parameters(generator)
        if world_size > 1:  # broadcast only after all the drawing, so that the ranks draw in parallel
            for module, owner in zip(units, owners):
                for t in [*module.parameters(recurse=False), *module.buffers(recurse=False)]:
                    torch.distributed.broadcast(t.data, src=owner)

    def forward(self, idx, targets=None):
        x = self.wte(idx)
        for block in self.blocks:
            if self.activation_checkpointing and self.training:
                x = torch.utils.checkpoint.checkpoint(block, x, self.rope_cos, self.rope_sin,
                                                      use_reentrant=False)
            else:
                x = block(x, self.rope_cos, self.rope_sin)
        x = self.norm(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    # ---- exact accounting, from the layer shapes as built ----
    def param_counts(self):
        embedding = self.wte.weight.numel() + self.lm_head.weight.numel()
        projections = sum(p.numel() for m in self.projections() for p in m.parameters())
        total = sum(p.numel() for p in self.parameters())
        return dict(embedding=embedding, projections=projections,
                    other=total - embedding - projections, total=total)

    def flops_per_token(self):
        """Training FLOPs per token (forward + backward = 3x forward), attention over the full block."""
        c = self.config
        forward = (sum(projection_flops(m) for m in self.projections()) + 2 * c.n_embd * c.vocab_size
                   + c.n_layer * 4 * c.block_size * c.n_embd)
        return 3 * forward

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        fused = device_type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **({"fused": True} if fused else {}))

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            logits = logits[:, -1, :] / max(temperature, 1e-5)
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("inf")
            idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), 1)), dim=1)
        return idx


def accounting_table(config, bytes_per_param=16):
    """Parameters, FLOPs and training-state bytes of `config` next to its dense twin (built on meta).

    bytes_per_param=16: fp32 weights (4) + fp32 grads (4) + two fp32 AdamW moments (8)."""
    rows = []
    for cfg in (config.dense_twin(), config) if config.method != "dense" else (config,):
        with torch.device("meta"):
            model = GPT(cfg)
        counts = model.param_counts()
        rows.append((cfg.method, counts, model.flops_per_token(), counts["total"] * bytes_per_param))
    lines = [f"{'method':<8} {'params':>9} {'embed':>9} {'proj':>9} {'other':>7} {'GFLOP/tok':>9} "
             f"{'train GiB':>9}"]
    for name, c, flops, nbytes in rows:
        lines.append(f"{name:<8} {c['total'] / 1e6:8.2f}M {c['embedding'] / 1e6:8.2f}M "
                     f"{c['projections'] / 1e6:8.2f}M {c['other'] / 1e3:6.1f}K {flops / 1e9:9.3f} "
                     f"{nbytes / 2**30:9.3f}")
    if len(rows) == 2:
        (_, d, df, db), (name, c, f, b) = rows
        lines.append(f"{'ratio':<8} {c['total'] / d['total']:9.3f} {'':>9} "
                     f"{c['projections'] / d['projections']:9.3f} {'':>7} {f / df:9.3f} {b / db:9.3f}")
    return "\n".join(lines)
