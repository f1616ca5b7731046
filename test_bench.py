"""bench.py and compare.py: they run, measure every method asked for, and report what they measured."""
import json

from test_train import REPO, TINY, python, workdir  # noqa: F401 (workdir is a fixture)

SHAPE = ["--n_layer=1", "--n_head=2", "--n_embd=32", "--intermediate_size=64", "--block_size=16", "--lost_rank=8",
         "--lost_sparsity=0.25"]


def test_bench_reports_every_method_with_ratios_to_dense(tmp_path):
    out = tmp_path / "bench.json"
    p = python("bench.py", str(REPO / "config/lost_60m.py"), *SHAPE, "--batch_size=2", "--steps=1", "--repeats=2",
               "--warmup=1", "--device=cpu", f"--json_out={out}", cwd=tmp_path)
    rows = {r["method"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"dense", "lowrank", "cola", "sltrain", "lost"}
    assert all(r["ms"] > 0 and r["tok_s"] > 0 and r["peak_mib"] > 0 for r in rows.values())
    assert rows["lost"]["params"] < rows["dense"]["params"] and rows["lost"]["flops_per_token"] < rows["dense"]["flops_per_token"]
    table = [line for line in p.stdout.splitlines() if line.startswith("| lost ")]
    assert len(table) == 1 and table[0].count("|") == 12
    bad = python("bench.py", "--methods=dense,lora", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "lora" in bad.stderr


def test_compare_sweeps_lr_then_reports_seeds(workdir, tmp_path):
    cfg = tmp_path / "tiny.py"
    flags = dict(a.lstrip("-").split("=") for a in TINY)
    cfg.write_text("\n".join(f"{k} = {v!r}" if not v.replace(".", "").replace("e-", "").isdigit() else f"{k} = {v}"
                             for k, v in flags.items()) + "\nmax_iters = 12\neval_interval = 6\n")
    args = [f"--config={cfg}", "--variants=dense,lost", "--seeds=1,2", "--learning_rates=1e-3,1e-2", "--jobs=1",
            f"--out_root={tmp_path / 'runs'}", f"--assets={tmp_path / 'assets'}"]
    python("compare.py", *args, cwd=workdir)
    result = json.loads((tmp_path / "assets/compare.json").read_text())
    for name in ("dense", "lost"):
        sweep = [r for r in result["runs"] if r["name"] == name and r["seed"] == 1]
        grid = {r["lr"]: r["final"] for r in sweep if r["lr"] in (1e-3, 1e-2)}
        assert len(grid) == 2 and all([it for it, _ in r["curve"]] == [0, 6, 12] for r in sweep)
        edge = min(grid, key=grid.get)  # the grid's best is always on an edge of a 2-point grid: extended once
        assert {r["lr"] for r in sweep} == {1e-3, 1e-2, 3e-2 if edge == 1e-2 else 3.33e-4}
        assert result["best_lr"][name] == min(sweep, key=lambda r: r["final"])["lr"]
        assert [r["lr"] for r in result["runs"] if r["name"] == name and r["seed"] == 2] == [result["best_lr"][name]]
    table = (tmp_path / "assets/compare.md").read_text()
    assert "| lost |" in table and "±" in table and "Learning-rate sweep" in table
    again = python("compare.py", *args, cwd=workdir)  # finished runs are reused, not retrained
    assert json.loads((tmp_path / "assets/compare.json").read_text())["runs"] == result["runs"]
    assert "failed" not in again.stderr
