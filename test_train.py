"""The pipeline end to end, offline on CPU: prepare_data, configurator, train (single, resume, torchrun), sample."""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent
BPE = REPO.parent / "shared" / "data" / "gpt2.tiktoken"
TINY = ["--n_layer=2", "--n_head=2", "--n_embd=32", "--intermediate_size=64", "--block_size=32",
        "--batch_size=8", "--gradient_accumulation_steps=2", "--lost_rank=8", "--lost_sparsity=0.25",
        "--eval_iters=4", "--log_interval=1", "--learning_rate=3e-3", "--min_lr=3e-4", "--warmup_iters=2",
        "--device=cpu", "--dtype=float32", "--dataset=toy"]


def run(args, cwd, check=True, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env_extra or {})}
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def python(script, *args, cwd, check=True):
    return run([sys.executable, str(REPO / script), *args], cwd, check)


def read_log(out_dir):
    return [json.loads(line) for line in (out_dir / "log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with data/toy prepared (byte tokens) from a small text with learnable structure."""
    d = tmp_path_factory.mktemp("work")
    rng = random.Random(0)
    words = "the king and queen of england rode to the castle while a fool sang of summer".split()
    text = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(3000))
    (d / "toy.txt").write_text(text)
    python("prepare_data.py", "--dataset=toy.txt", "--tokenizer=byte", "--workers=1", cwd=d)
    return d


def test_prepare_data_byte_tokens_round_trip(workdir):
    meta = json.loads((workdir / "data/toy/meta.json").read_text())
    assert meta["tokenizer"] == "byte" and meta["vocab_size"] == 256 and meta["dtype"] == "uint16"
    train = np.fromfile(workdir / "data/toy/train.bin", dtype=np.uint16)
    val = np.fromfile(workdir / "data/toy/val.bin", dtype=np.uint16)
    text = (workdir / "toy.txt").read_text()
    assert bytes(train.astype(np.uint8)) + bytes(val.astype(np.uint8)) == text.encode()
    assert len(train) == meta["train_tokens"] and 0.08 < len(val) / len(text) < 0.12
    again = python("prepare_data.py", "--dataset=toy.txt", "--tokenizer=byte", cwd=workdir)
    assert "already prepared" in again.stdout
    assert not list((workdir / "data/toy").glob("*.tmp"))


@pytest.mark.skipif(not BPE.exists(), reason="../shared/data/gpt2.tiktoken not present")
def test_prepare_data_gpt2_from_local_bpe_jsonl(tmp_path):
    docs = [{"text": "Hello world"}, {"text": "First Citizen:"}] * 10
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    python("prepare_data.py", "--dataset=docs.jsonl", f"--bpe_file={BPE}", "--workers=2", cwd=tmp_path)
    meta = json.loads((tmp_path / "data/docs/meta.json").read_text())
    assert meta["vocab_size"] == 50257 and meta["tokenizer"] == "gpt2"
    train = np.fromfile(tmp_path / "data/docs/train.bin", dtype=np.uint16).tolist()
    assert train[:3] == [15496, 995, 50256]  # "Hello world" + <|endoftext|>
    assert meta["train_tokens"] + meta["val_tokens"] == 10 * 3 + 10 * 4


def test_prepare_data_reads_a_folder_of_jsonl_and_json_gz(tmp_path):
    import gzip
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/a.jsonl").write_text("\n".join(json.dumps({"text": f"doc {i}"}) for i in range(10)))
    with gzip.open(tmp_path / "docs/b.json.gz", "wt") as f:
        f.write("\n".join(json.dumps({"text": f"gz {i}"}) for i in range(10)))
    python("prepare_data.py", "--dataset=docs", "--tokenizer=byte", "--workers=1", cwd=tmp_path)
    meta = json.loads((tmp_path / "data/docs/meta.json").read_text())
    assert meta["train_tokens"] + meta["val_tokens"] == 10 * len("doc 0") + 10 * len("gz 0")
    assert meta["val_tokens"] == len("doc 9") + len("gz 9")  # every 10th document is held out: 2 of 20


@pytest.mark.parametrize("args,message", [
    (["--dataset=missing.txt"], "no such file"),
    (["--dataset=empty.txt", "--tokenizer=byte"], "empty"),
    (["--dataset=toy.txt", "--bpe_file=toy.txt", "--name=bad"], "cannot read BPE file"),
])
def test_prepare_data_errors_are_one_line(workdir, args, message):
    (workdir / "empty.txt").write_text("")
    p = python("prepare_data.py", *args, cwd=workdir, check=False)
    assert p.returncode != 0 and message in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("args,message", [
    (["--lost_rnak=4"], "did you mean 'lost_rank'"),
    (["--batch_size=1.5"], "batch_size must be int"),
    (["--compile=yes"], "compile must be bool"),
    (["no/such/config.py"], "cannot read config file"),
    (["--lost_rank=100"], "rank 100 must be in 1..32"),
    (["--method=lora"], "unknown method"),
    (["--gradient_accumulation_steps=3", "--dataset=nodata"], "no prepared data"),
])
def test_train_config_errors_exit_2_without_traceback(workdir, args, message):
    p = python("train.py", *TINY, *args, cwd=workdir, check=False)
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_training_lowers_val_loss_and_logs_jsonl(workdir):
    out = workdir / "out-fall"
    python("train.py", *TINY, f"--out_dir={out}", "--max_iters=40", "--lr_decay_iters=40", "--eval_interval=20",
           cwd=workdir)
    evals = [r for r in read_log(out) if "val_loss" in r]
    steps = [r for r in read_log(out) if "loss" in r]
    lrs = [r["lr"] for r in steps]  # linear warmup (2 iterations), then cosine down to min_lr
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(3e-3) and all(a >= b for a, b in zip(lrs[2:], lrs[3:]))
    assert lrs[-1] == pytest.approx(3e-4, rel=0.02)
    assert [r["iter"] for r in evals] == [0, 20, 40]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 1.0, evals
    assert len(steps) == 40 and {"iter", "loss", "lr", "ms", "tok_s"} <= set(steps[0])
    assert (out / "ckpt.pt").exists() and not (out / "ckpt.pt.tmp").exists()


def test_resume_continues_exactly(workdir):
    full, split = workdir / "out-full", workdir / "out-split"
    common = [*TINY, "--max_iters=20", "--lr_decay_iters=20", "--eval_interval=10"]
    python("train.py", *common, f"--out_dir={full}", cwd=workdir)
    python("train.py", *common, f"--out_dir={split}", "--max_iters=10", cwd=workdir)
    python("train.py", *common, f"--out_dir={split}", "--init_from=resume", cwd=workdir)
    a = [(r["iter"], r["loss"]) for r in read_log(full) if "loss" in r]
    b = [(r["iter"], r["loss"]) for r in read_log(split) if "loss" in r]
    assert len(a) == 20 and a == b
    assert [r["val_loss"] for r in read_log(full) if "val_loss" in r] == \
           [r["val_loss"] for r in read_log(split) if "val_loss" in r]
    p = python("train.py", *common, f"--out_dir={split}", "--init_from=resume", "--method=dense", cwd=workdir,
               check=False)
    assert p.returncode == 2 and "method (checkpoint 'lost', now 'dense')" in p.stderr


def test_torchrun_two_processes_match_one(workdir):
    one, two = workdir / "out-one", workdir / "out-two"
    common = [*TINY, "--max_iters=6", "--eval_interval=6"]
    python("train.py", *common, f"--out_dir={one}", cwd=workdir)
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(REPO / "train.py"), *common, f"--out_dir={two}"], workdir)
    a = [r["loss"] for r in read_log(one) if "loss" in r]
    b = [r["loss"] for r in read_log(two) if "loss" in r]
    assert len(a) == 6 and np.allclose(a, b, rtol=1e-4, atol=1e-5), (a, b)
    p = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
             str(REPO / "train.py"), *common, "--gradient_accumulation_steps=3", f"--out_dir={two}"], workdir,
            check=False)
    assert p.returncode != 0 and "does not divide over 2 processes" in p.stderr


def test_sample_prints_text(workdir):
    out = workdir / "out-sample"
    python("train.py", *TINY, f"--out_dir={out}", "--max_iters=30", "--eval_interval=30", cwd=workdir)
    p = python("sample.py", f"--out_dir={out}", "--start=the king", "--max_new_tokens=40", "--num_samples=2",
               cwd=workdir)
    text = "\n".join(line for line in p.stdout.splitlines() if not line.startswith("Overriding"))
    samples = text.split("---------------")
    assert len(samples) == 3 and all(s.strip().startswith("the king") for s in samples[:2])
    assert len(samples[0].strip()) >= len("the king") + 20


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(workdir):
    out = workdir / "out-nan"
    python("train.py", *TINY, f"--out_dir={out}", "--max_iters=4", "--eval_interval=4", cwd=workdir)
    good = (out / "ckpt.pt").read_bytes()
    p = python("train.py", *TINY, f"--out_dir={out}", "--init_from=resume", "--max_iters=20",
               "--learning_rate=1e12", "--grad_clip=0.0", "--decay_lr=False", cwd=workdir, check=False)
    assert p.returncode == 1 and "non-finite" in p.stderr
    assert (out / "ckpt.pt").read_bytes() == good


@pytest.mark.parametrize("size", ["60m", "130m", "350m", "1b", "7b"])
def test_dense_twin_configs_differ_from_lost_only_in_method_and_names(size):
    def load(name):
        path = REPO / "config" / f"{name}.py"
        scope = {"__file__": str(path)}
        exec(path.read_text(), scope)
        return {k: v for k, v in scope.items() if not k.startswith("_")}
    lost, full = load(f"lost_{size}"), load(f"full_{size}")
    assert lost["method"] == "lost" and full["method"] == "dense"
    assert {k for k in lost if lost[k] != full[k]} == {"method", "out_dir", "wandb_run_name"}
    assert lost["batch_size"] * lost["gradient_accumulation_steps"] == 512 and lost["block_size"] == 256
