"""
LOST: Low-rank and Sparse pre-Training (arXiv 2508.02668), on one screen.

A dense weight W0 (out x in) is split by SVD into a low-rank part that carries its top-r singular
directions and a residual that carries the rest. The input channels (columns) of the residual with the
largest norm become a fixed, channel-wise sparse branch. The layer computes

    y = gamma * B silu(A x) + (1 - gamma) * S x[channels]

A, B, S train; `channels` and gamma stay fixed. The sparse branch is a dense matmul on a gathered slice
of x, so no sparse kernels are needed. The baselines the paper compares against are built by the same
`make_projection` switch so that every method runs in one harness at equal budget.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

METHODS = ("dense", "lowrank", "cola", "sltrain", "lost")
CHANNEL_SCORES = ("l2", "l1", "random")
SPARSE_INITS = ("residual", "dense")
ACTIVATIONS = ("silu", "none")


def svd_split(weight, rank):
    """Thin SVD in float32: B = U_r S_r^1/2, A = S_r^1/2 V_r^T and residual = weight - B A."""
    out_features, in_features = weight.shape
    if not 1 <= rank <= min(out_features, in_features):
        raise ValueError(f"rank {rank} must be in 1..{min(out_features, in_features)} for a "
                         f"{out_features}x{in_features} weight; lower lost_rank")
    weight = weight.float()
    U, sigma, Vh = torch.linalg.svd(weight, full_matrices=False)
    root = sigma[:rank].sqrt()
    B = U[:, :rank] * root
    A = root[:, None] * Vh[:rank]
    return B, A, weight - B @ A


def select_channels(residual, k, score="l2", generator=None):
    """The k input channels (columns) with the largest score, sorted ascending."""
    if score not in CHANNEL_SCORES:
        raise ValueError(f"unknown channel score {score!r}; use one of {CHANNEL_SCORES}")
    if not 0 <= k <= residual.shape[1]:
        raise ValueError(f"cannot keep {k} of {residual.shape[1]} channels")
    if score == "random":
        chosen = torch.randperm(residual.shape[1], generator=generator, device=residual.device)[:k]
    else:
        norms = residual.norm(p=2 if score == "l2" else 1, dim=0)
        chosen = norms.topk(k).indices
    return chosen.sort().values


def sparse_width(sparsity, in_features):
    """k = floor(sparsity * in): how many input channels the sparse branch keeps."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"lost_sparsity {sparsity} must be in [0, 1)")
    return int(math.floor(sparsity * in_features + 1e-9))  # + 1e-9: 0.29 * 100 is 28.999... in floats


@torch.no_grad()
def random_factors(A, B, generator=None):
    """CoLA's init for the random-init baselines: each factor std r^-1/4 (in + out)^-1/4."""
    (rank, in_features), out_features = A.shape, B.shape[0]
    std = rank ** -0.25 * (in_features + out_features) ** -0.25
    A.normal_(0.0, std, generator=generator)
    B.normal_(0.0, std, generator=generator)


class LOSTLinear(nn.Module):
    """gamma * B act(A x) + (1 - gamma) * S x[..., channels]; also the low-rank and CoLA baselines."""

    def __init__(self, in_features, out_features, rank, k=0, gamma=0.5, activation="silu",
                 init="svd", channel_score="l2", sparse_init="residual"):
        super().__init__()
        if not 1 <= rank <= min(in_features, out_features):
            raise ValueError(f"rank {rank} must be in 1..{min(in_features, out_features)} for a "
                             f"{out_features}x{in_features} projection; lower lost_rank")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {ACTIVATIONS}")
        if sparse_init not in SPARSE_INITS:
            raise ValueError(f"unknown sparse_init {sparse_init!r}; use one of {SPARSE_INITS}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"lost_gamma {gamma} must be in [0, 1]")
        self.in_features, self.out_features, self.rank, self.k = in_features, out_features, rank, k
        self.gamma, self.activation = float(gamma), activation
        self.init, self.channel_score, self.sparse_init = init, channel_score, sparse_init
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.empty(out_features, rank))
        self.S = nn.Parameter(torch.empty(out_features, k)) if k > 0 else None
        self.register_buffer("channels", torch.zeros(k, dtype=torch.long))

    @classmethod
    def from_weight(cls, weight, rank, sparsity, gamma=0.5, activation="silu", channel_score="l2",
                    sparse_init="residual", generator=None):
        out_features, in_features = weight.shape
        layer = cls(in_features, out_features, rank, sparse_width(sparsity, in_features), gamma,
                    activation, "svd", channel_score, sparse_init).to(weight.device)
        layer.load_dense(weight, generator)
        return layer

    @torch.no_grad()
    def load_dense(self, weight, generator=None):
        """Split a dense weight into A, B and (channels, S); the weight can be freed afterwards."""
        B, A, residual = svd_split(weight, self.rank)
        self.A.copy_(A)
        self.B.copy_(B)
        if self.k > 0:
            self.channels.copy_(select_channels(residual, self.k, self.channel_score, generator))
            source = residual if self.sparse_init == "residual" else weight
            self.S.copy_(source[:, self.channels])

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        if self.init == "svd":  # LOST: draw the dense W0 (std 0.02) and split it
            weight = torch.empty(self.out_features, self.in_features, device=self.A.device)
            self.load_dense(weight.normal_(0.0, 0.02, generator=generator), generator)
        else:
            random_factors(self.A, self.B, generator)

    def forward(self, x):
        h = F.linear(x, self.A)
        if self.activation == "silu":
            h = F.silu(h)
        if self.S is None:
            return F.linear(h, self.B if self.gamma == 1.0 else self.gamma * self.B)
        # both branches in one matmul, gamma folded into the small weights rather than the big outputs:
        # [act(A x), x[channels]] @ [gamma B, (1 - gamma) S]^T
        inputs = torch.cat([h, x[..., self.channels].to(h.dtype)], dim=-1)
        return F.linear(inputs, torch.cat([self.gamma * self.B, (1.0 - self.gamma) * self.S], dim=1))

    def flops(self):
        """Forward FLOPs per token: the two factors and the sparse slice, as they are computed."""
        return 2 * self.rank * (self.in_features + self.out_features) + 2 * self.out_features * self.k

    def extra_repr(self):
        return (f"in={self.in_features}, out={self.out_features}, rank={self.rank}, k={self.k}, "
                f"gamma={self.gamma}, activation={self.activation}, init={self.init}")


class SLTrainLinear(nn.Module):
    """SLTrain baseline: W = B A + S, S trained on a random fixed unstructured support."""

    def __init__(self, in_features, out_features, rank, sparsity):
        super().__init__()
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        nnz = int(math.floor(sparsity * in_features * out_features))
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.empty(out_features, rank))
        self.values = nn.Parameter(torch.empty(nnz))
        self.register_buffer("support", torch.zeros(nnz, dtype=torch.long))  # flat indices into W

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        random_factors(self.A, self.B, generator)
        n = self.in_features * self.out_features
        perm = torch.randperm(n, generator=generator, device=self.support.device)
        self.support.copy_(perm[:self.support.numel()].sort().values)
        self.values.normal_(0.0, 0.02, generator=generator)

    def forward(self, x):
        weight = (self.B @ self.A).flatten()
        weight = weight.index_add(0, self.support, self.values.to(weight.dtype))
        return F.linear(x, weight.view(self.out_features, self.in_features))

    def flops(self):
        return 2 * self.in_features * self.out_features  # the dense product; B A is per step, not per token

    def extra_repr(self):
        return f"in={self.in_features}, out={self.out_features}, rank={self.rank}, nnz={self.values.numel()}"


def make_projection(in_features, out_features, method="lost", rank=128, sparsity=0.05, gamma=0.5,
                    activation="silu", channel_score="l2", sparse_init="residual"):
    """One bias-free projection for the chosen method; values are drawn later by reset_parameters."""
    if method == "dense":
        return nn.Linear(in_features, out_features, bias=False)
    if method == "lowrank":
        return LOSTLinear(in_features, out_features, rank, 0, 1.0, "none", init="random")
    if method == "cola":
        return LOSTLinear(in_features, out_features, rank, 0, 1.0, "silu", init="random")
    if method == "sltrain":
        sparse_width(sparsity, in_features)  # same range check as LOST
        return SLTrainLinear(in_features, out_features, rank, sparsity)
    if method == "lost":
        if channel_score not in CHANNEL_SCORES:
            raise ValueError(f"unknown lost_channel_score {channel_score!r}; use one of {CHANNEL_SCORES}")
        return LOSTLinear(in_features, out_features, rank, sparse_width(sparsity, in_features), gamma,
                          activation, "svd", channel_score, sparse_init)
    raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
