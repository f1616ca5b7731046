"""Scale: FSDP2 on CPU (gloo), resume under FSDP, rank-split init, activation checkpointing, meta build, planner."""
import sys
import textwrap

import numpy as np
import torch

from model import GPT, GPTConfig, assign_owners
from plan import GiB, state_bytes
from test_train import REPO, TINY, python, read_log, run, workdir  # noqa: F401 (workdir is a fixture)

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def test_fsdp_two_processes_match_one_and_resume_exactly(workdir):
    one, two, split = workdir / "fsdp-one", workdir / "fsdp-two", workdir / "fsdp-split"
    common = [*TINY, "--max_iters=8", "--eval_interval=4"]
    python("train.py", *common, f"--out_dir={one}", cwd=workdir)
    sharded = [*TORCHRUN, str(REPO / "train.py"), *common, "--fsdp=True", "--activation_checkpointing=True"]
    run([*sharded, f"--out_dir={two}"], workdir)
    run([*sharded, f"--out_dir={split}", "--max_iters=4"], workdir)
    run([*sharded, f"--out_dir={split}", "--init_from=resume"], workdir)
    a, b, c = ([r["loss"] for r in read_log(d) if "loss" in r] for d in (one, two, split))
    assert len(a) == 8 and np.allclose(a, b, rtol=1e-4, atol=1e-5), (a, b)
    assert b == c  # FSDP resume continues exactly
    vals = [[r["val_loss"] for r in read_log(d) if "val_loss" in r] for d in (one, two)]
    assert np.allclose(*vals, rtol=1e-4)
    # the FSDP checkpoint is a full state dict: a single process resumes it too
    python("train.py", *common, f"--out_dir={split}", "--init_from=resume", "--max_iters=9", cwd=workdir)
    assert [r["iter"] for r in read_log(split) if "loss" in r][-1] == 9


def test_rank_split_init_is_identical_on_every_rank_and_to_one_process(tmp_path):
    script = tmp_path / "init_check.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, torch, torch.distributed as dist
        sys.path.insert(0, {str(REPO)!r})
        from model import GPT, GPTConfig
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        cfg = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32, intermediate_size=48,
                        lost_rank=8, lost_sparsity=0.25, lost_channel_score="random")
        with torch.device("meta"):
            model = GPT(cfg)
        model.to_empty(device="cpu")
        model.init_weights(seed=3, rank=rank, world_size=world)
        reference = GPT(cfg, seed=3).state_dict()
        same = all(torch.equal(v, reference[k]) for k, v in model.state_dict().items())
        print(f"rank {{rank}} identical={{same}}")
        dist.barrier()
        dist.destroy_process_group()
        sys.exit(0 if same else 1)
    """))
    p = run([*TORCHRUN, str(script)], tmp_path)
    assert p.stdout.count("identical=True") == 2


def test_assign_owners_balances_work():
    costs = [10, 1, 7, 3, 3, 8, 2, 6]
    owners = assign_owners(costs, 3)
    loads = [sum(c for c, o in zip(costs, owners) if o == r) for r in range(3)]
    assert sorted(set(owners)) == [0, 1, 2] and max(loads) - min(loads) <= 2
    assert assign_owners(costs, 1) == [0] * len(costs)


def test_activation_checkpointing_gives_the_same_gradients():
    cfg = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32, intermediate_size=48,
                    lost_rank=8, lost_sparsity=0.25)
    x = torch.randint(0, 64, (2, 16))
    grads = []
    for checkpointing in (False, True):
        model = GPT(cfg, seed=0)
        model.activation_checkpointing = checkpointing
        model(x, x)[1].backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-5, atol=1e-7)


def test_7b_builds_on_meta_with_the_expected_parameter_count():
    shape = dict(vocab_size=32000, n_embd=4096, intermediate_size=11008, n_head=32, n_layer=32)
    with torch.device("meta"):
        dense = GPT(GPTConfig(method="dense", **shape)).param_counts()
        lost = GPT(GPTConfig(method="lost", lost_rank=1024, lost_sparsity=0.05, **shape)).param_counts()
    assert round(dense["total"] / 1e9, 2) == 6.74
    # LOST-7B, rank 1024, sparsity 0.05: per layer 4 x (1024 x 8192 + 4096 x 204)
    # + 2 x (1024 x 15104 + 11008 x 204) + (1024 x 15104 + 4096 x 550), plus the dense embeddings
    per_layer = 4 * (1024 * 8192 + 4096 * 204) + 2 * (1024 * 15104 + 11008 * 204) + 1024 * 15104 + 4096 * 550
    assert lost["projections"] == 32 * per_layer and round(lost["total"] / 1e9, 2) == 3.14


def test_planner_matches_galore_table_and_lost_halves_1b():
    with torch.device("meta"):
        dense350 = GPT(GPTConfig(method="dense", vocab_size=32000, n_embd=1024, intermediate_size=2736,
                                 n_head=16, n_layer=24)).param_counts()["total"]
        shape1b = dict(vocab_size=32000, n_embd=2048, intermediate_size=5461, n_head=32, n_layer=24)
        dense1b = GPT(GPTConfig(method="dense", **shape1b)).param_counts()["total"]
        lost1b = GPT(GPTConfig(method="lost", lost_rank=512, lost_sparsity=0.05, **shape1b)).param_counts()["total"]
    bf16_adam = dict(weight_bytes=2, grad_bytes=0, adam_bytes=4)  # GaLore's table: weights + two Adam states
    assert round(state_bytes(dense350, **bf16_adam) / GiB, 2) == 2.06
    assert 0.45 < state_bytes(lost1b, **bf16_adam) / state_bytes(dense1b, **bf16_adam) < 0.55


def test_plan_flag_prints_without_allocating_or_data(tmp_path):
    p = python("train.py", str(REPO / "config/lost_7b.py"), "--plan=True", "--vocab_size=32000", cwd=tmp_path)
    assert "FSDP" in p.stdout and "DDP" in p.stdout and "fits" in p.stdout and "lost" in p.stdout
    rows = {tuple(line.split()[:2]): line.split()[-1] for line in p.stdout.splitlines() if line[:5] in ("dense", "lost ")}
    assert rows[("lost", "FSDP")] == "yes" and rows[("dense", "DDP")] == "NO"  # dense 7B DDP cannot fit 80 GB


def test_lost_init_never_holds_the_dense_model(tmp_path):
    """Peak memory while building grows with the LOST model, not with its dense twin: each W0 is freed after
    its split. Measured as the growth of peak RSS from 2 to 6 layers, which cancels the fixed SVD workspace."""
    script = tmp_path / "peak.py"
    script.write_text(textwrap.dedent(f"""
        import resource, sys, torch
        sys.path.insert(0, {str(REPO)!r})
        from model import GPT, GPTConfig
        torch.linalg.svd(torch.randn(64, 64))  # load LAPACK before the baseline
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        model = GPT(GPTConfig(vocab_size=256, block_size=64, n_layer=int(sys.argv[1]), n_head=8, n_embd=768,
                              intermediate_size=2048, method="lost", lost_rank=192, lost_sparsity=0.05), seed=0)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before)
    """))
    peak = {n: int(run([sys.executable, str(script), str(n)], tmp_path).stdout) for n in (2, 6)}
    per_layer_lost = 4 * (4 * (192 * 1536 + 768 * 38) + 2 * (192 * 2816 + 2048 * 38) + 192 * 2816 + 768 * 102)
    per_layer_dense = 4 * (4 * 768 * 768 + 3 * 768 * 2048)
    growth = peak[6] - peak[2]
    assert growth < 4 * (per_layer_lost + (per_layer_dense - per_layer_lost) / 2), (growth, per_layer_lost)
