"""The LOST layer, the GPT around it and the accounting: behaviour that a wrong implementation breaks."""
import io

import pytest
import torch
import torch.nn.functional as F

from lost import METHODS, LOSTLinear, SLTrainLinear, make_projection, select_channels, svd_split
from model import GPT, GPTConfig, accounting_table

TINY = dict(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32, intermediate_size=48,
            lost_rank=8, lost_sparsity=0.25)


def test_svd_split_is_eckart_young():
    torch.manual_seed(0)
    W = torch.randn(40, 24, dtype=torch.float64)
    sigma = torch.linalg.svdvals(W)
    B, A, R = svd_split(W, 6)
    assert B.shape == (40, 6) and A.shape == (6, 24) and R.dtype == torch.float32
    torch.testing.assert_close(B @ A + R, W.float(), atol=1e-5, rtol=0)
    # the residual holds exactly the singular values past the rank
    torch.testing.assert_close(torch.linalg.svdvals(R)[:24 - 6], sigma[6:].float(), atol=1e-4, rtol=1e-4)
    assert R.pow(2).sum().item() == pytest.approx(sigma[6:].pow(2).sum().item(), rel=1e-4)
    # B A is the best rank-6 approximation, and the two factors are balanced (both carry S^1/2)
    torch.testing.assert_close(torch.linalg.svdvals(B @ A)[:6], sigma[:6].float(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(B.norm(dim=0), A.norm(dim=1), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("rank", [0, -1, 25])
def test_svd_split_rejects_bad_rank(rank):
    with pytest.raises(ValueError, match="rank"):
        svd_split(torch.randn(40, 24), rank)


def test_select_channels_picks_top_norms_sorted():
    torch.manual_seed(1)
    R = torch.randn(16, 30)
    R[:, [3, 17, 22]] *= 10
    assert select_channels(R, 3).tolist() == [3, 17, 22]
    for score, p in (("l2", 2), ("l1", 1)):
        got = select_channels(R, 7, score)
        assert got.tolist() == sorted(got.tolist())
        assert set(got.tolist()) == set(R.norm(p=p, dim=0).topk(7).indices.tolist())
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    rand = select_channels(R, 7, "random", g1)
    assert rand.tolist() == select_channels(R, 7, "random", g2).tolist() and len(set(rand.tolist())) == 7


def test_lost_forward_matches_formula_and_from_weight():
    torch.manual_seed(2)
    W = torch.randn(20, 36) * 0.02
    layer = LOSTLinear.from_weight(W, rank=5, sparsity=0.25, gamma=0.3)
    assert layer.k == 9 and layer.S.shape == (20, 9) and layer.channels.dtype == torch.int64
    B, A, R = svd_split(W, 5)
    ch = select_channels(R, 9)
    assert torch.equal(layer.channels, ch)
    torch.testing.assert_close(layer.S.detach(), R[:, ch])
    x = torch.randn(3, 4, 36)  # any leading batch dims
    expected = 0.3 * (F.silu(x @ A.T) @ B.T) + 0.7 * (x[..., ch] @ R[:, ch].T)
    torch.testing.assert_close(layer(x), expected, atol=1e-6, rtol=1e-5)
    dense_init = LOSTLinear.from_weight(W, rank=5, sparsity=0.25, sparse_init="dense")
    torch.testing.assert_close(dense_init.S.detach(), W[:, ch])
    assert "rank=5" in repr(layer) and "k=9" in repr(layer) and "gamma=0.3" in repr(layer)


def test_gamma_one_is_pure_low_rank_and_zero_sparsity_has_no_S():
    torch.manual_seed(3)
    W, x = torch.randn(12, 16), torch.randn(5, 16)
    layer = LOSTLinear.from_weight(W, rank=4, sparsity=0.5, gamma=1.0, activation="none")
    B, A, _ = svd_split(W, 4)
    torch.testing.assert_close(layer(x), x @ (B @ A).T, atol=1e-5, rtol=1e-5)
    bare = LOSTLinear.from_weight(W, rank=4, sparsity=0.0)
    assert bare.S is None and bare.k == 0 and sum(p.numel() for p in bare.parameters()) == 4 * (12 + 16)


def test_gradients_reach_A_B_S_but_not_channels():
    layer = LOSTLinear.from_weight(torch.randn(10, 20), rank=3, sparsity=0.2)
    layer(torch.randn(4, 20)).pow(2).sum().backward()
    for p in (layer.A, layer.B, layer.S):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert [n for n, _ in layer.named_parameters()] == ["A", "B", "S"]
    assert not layer.channels.requires_grad and "channels" in layer.state_dict()


@pytest.mark.parametrize("in_f,out_f,r,sparsity,k", [(512, 512, 128, 0.05, 25), (512, 1376, 128, 0.05, 25),
                                                      (1376, 512, 128, 0.05, 68), (30, 7, 7, 0.5, 15),
                                                      (100, 8, 4, 0.29, 29)])
def test_parameter_count_is_r_in_plus_out_plus_out_k(in_f, out_f, r, sparsity, k):
    layer = make_projection(in_f, out_f, "lost", r, sparsity)
    assert layer.k == k
    assert sum(p.numel() for p in layer.parameters()) == r * (in_f + out_f) + out_f * k


@pytest.mark.parametrize("kwargs,match", [
    (dict(rank=0), "rank"), (dict(rank=600), "rank"), (dict(sparsity=1.0), "sparsity"),
    (dict(sparsity=-0.1), "sparsity"), (dict(method="lora"), "unknown method"),
    (dict(activation="relu"), "activation"), (dict(channel_score="l3"), "channel"),
    (dict(sparse_init="zeros"), "sparse_init"), (dict(gamma=1.5), "gamma")])
def test_bad_knobs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_projection(512, 512, **{"method": "lost", **kwargs})


def test_sltrain_forward_is_BA_plus_scattered_values():
    layer = SLTrainLinear(16, 8, 2, 0.25)
    layer.reset_parameters(torch.Generator().manual_seed(0))
    assert layer.values.numel() == 32 and layer.support.unique().numel() == 32
    W = layer.B @ layer.A
    W.view(-1)[layer.support] += layer.values
    x = torch.randn(3, 16)
    torch.testing.assert_close(layer(x), x @ W.T)


def test_60m_accounting_matches_the_paper_shape():
    shape = dict(vocab_size=32000, n_embd=512, intermediate_size=1376, n_head=8, n_layer=8)
    with torch.device("meta"):
        dense = GPT(GPTConfig(method="dense", **shape)).param_counts()
        lost = GPT(GPTConfig(method="lost", lost_rank=128, lost_sparsity=0.05, **shape)).param_counts()
    assert round(dense["total"] / 1e6, 1) == 58.1 and round(dense["projections"] / 1e6, 1) == 25.3
    assert round(lost["projections"] / 1e6, 1) == 11.2
    assert lost["embedding"] == dense["embedding"] == 2 * 32000 * 512
    table = accounting_table(GPTConfig(method="lost", **shape))
    assert "dense" in table and "lost" in table and "ratio" in table


def test_flops_count_projections_as_computed():
    cfg = GPTConfig(method="lost", **TINY)
    model, dense = GPT(cfg), GPT(cfg.dense_twin())
    proj = sum(m.flops() for m in model.projections())
    dense_proj = sum(2 * m.in_features * m.out_features for m in dense.projections())
    assert model.flops_per_token() - dense.flops_per_token() == 3 * (proj - dense_proj)
    q = model.blocks[0].attn.q_proj
    assert q.flops() == 2 * (8 * (32 + 32) + 32 * 8)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_a_tiny_gpt(method):
    torch.manual_seed(0)
    model = GPT(GPTConfig(method=method, **TINY), seed=0)
    opt = model.configure_optimizers(0.0, 3e-3, (0.9, 0.95), "cpu")
    data = torch.randint(0, 64, (4, 17))  # one fixed batch: the loss must fall when memorising it
    losses = []
    for _ in range(15):
        _, loss = model(data[:, :-1], data[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.3, losses


def test_embeddings_and_head_stay_dense():
    model = GPT(GPTConfig(method="lost", **TINY))
    assert len(model.projections()) == 7 * TINY["n_layer"]
    assert all(isinstance(m, LOSTLinear) for m in model.projections())
    assert model.lm_head.weight.shape == (64, 32) and model.wte.weight.shape == (64, 32)


def test_state_dict_round_trip_reproduces_outputs():
    cfg = GPTConfig(method="lost", lost_channel_score="random", **TINY)
    a, b = GPT(cfg, seed=1), GPT(cfg, seed=2)
    assert not torch.equal(a.blocks[0].mlp.up_proj.channels, b.blocks[0].mlp.up_proj.channels)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b.load_state_dict(torch.load(buf))
    x = torch.randint(0, 64, (2, 16))
    assert torch.equal(a(x, x)[0], b(x, x)[0])
    assert torch.equal(a.blocks[0].mlp.up_proj.channels, b.blocks[0].mlp.up_proj.channels)


def test_init_is_deterministic_and_meta_build_matches():
    cfg = GPTConfig(method="lost", **TINY)
    a, b = GPT(cfg, seed=7), GPT(cfg, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with torch.device("meta"):
        c = GPT(cfg)
    c.to_empty(device="cpu")
    c.init_weights(7)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))
    x = torch.randint(0, 64, (1, 16))
    assert torch.equal(a(x)[0], c(x)[0])


def test_generate_extends_the_prompt():
    model = GPT(GPTConfig(method="lost", **TINY))
    out = model.generate(torch.zeros(1, 3, dtype=torch.long), 20, temperature=0.8, top_k=5)
    assert out.shape == (1, 23) and out.max() < 64
