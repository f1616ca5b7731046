"""
Same-budget comparison of every method and the LOST ablations, measured here rather than copied from papers:
equal tokens, the same schedule, data order and evaluation batches, several seeds, and each method's learning
rate picked by a sweep on the first seed.

    $ python prepare_data.py --dataset=shakespeare
    $ python compare.py                        # writes assets/compare.{md,json} and assets/compare_val_loss.png

Runs are train.py subprocesses (`jobs` at a time, the cores split between them); a run whose log already
ends at max_iters is reused, so an interrupted comparison continues where it stopped.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

config = 'config/compare_shakespeare.py'  # the shared shape, schedule and budget
variants = 'dense,lowrank,cola,sltrain,lost,lost_gamma1,lost_random_channels,lost_S_from_W0'
seeds = '1337,1338,1339'
learning_rates = '1e-3,3e-3,1e-2'  # swept on the first seed; min_lr is always lr / 10
jobs = 2  # runs at a time
out_root = 'out-compare'
assets = 'assets'
from configurator import configure, fail  # noqa: E402

configure(globals(), sys.argv[1:])
VARIANT_FLAGS = {
    'dense': ['--method=dense'],
    'lowrank': ['--method=lowrank'],
    'cola': ['--method=cola'],
    'sltrain': ['--method=sltrain'],
    'lost': ['--method=lost'],
    'lost_gamma1': ['--method=lost', '--lost_gamma=1.0'],  # SVD-init low-rank only
    'lost_random_channels': ['--method=lost', '--lost_channel_score=random'],
    'lost_S_from_W0': ['--method=lost', '--lost_sparse_init=dense'],
}
names = variants.split(',')
if bad := [n for n in names if n not in VARIANT_FLAGS]:
    fail(f"unknown variant(s) {bad}; choose from {','.join(VARIANT_FLAGS)}")
seed_list = [int(s) for s in seeds.split(',')]
lr_list = [float(x) for x in learning_rates.split(',')]
threads = max(1, (os.cpu_count() or 1) // jobs)


def run(name, lr, seed):
    """Train one variant (or reuse a finished run); return its eval curve and wall time."""
    out = Path(out_root) / f'{name}_lr{lr:g}_s{seed}'
    log = out / 'log.jsonl'
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = [r for r in records if r.get('done')]
    if not done:
        out.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        t0 = time.time()
        cmd = [sys.executable, str(Path(__file__).resolve().parent / 'train.py'), config, *VARIANT_FLAGS[name], f'--learning_rate={lr}',
               f'--min_lr={lr / 10}', f'--seed={seed}', f'--out_dir={out}']
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': str(threads)})
        if p.returncode != 0:
            print(f"{out}: failed\n{p.stderr[-2000:]}", file=sys.stderr)
        with open(log, 'a') as f:
            f.write(json.dumps(dict(done=True, wall_s=time.time() - t0, rc=p.returncode)) + '\n')
        records = [json.loads(line) for line in log.read_text().splitlines()]
    curve = [(r['iter'], r['val_loss']) for r in records if 'val_loss' in r]
    final = curve[-1][1] if curve and math.isfinite(curve[-1][1]) else float('inf')
    info = next((r for r in records if 'total' in r), {})
    print(f"{name:22s} lr {lr:<6g} seed {seed}: val loss {final:.4f}", flush=True)
    return dict(name=name, lr=lr, seed=seed, curve=curve, final=final, params=info.get('total'),
                wall_s=next(r for r in records if r.get('done'))['wall_s'])


with ThreadPoolExecutor(jobs) as pool:
    sweep = list(pool.map(lambda a: run(*a), [(n, lr, seed_list[0]) for n in names for lr in lr_list]))
    best = lambda n: min((r for r in sweep if r['name'] == n), key=lambda r: r['final'])['lr']
    # a best lr on the edge of the grid may not be the best: try one step (x3 or /3) past that edge
    edges = {max(lr_list): 3.0, min(lr_list): 1 / 3}
    beyond = [(n, float(f"{best(n) * edges[best(n)]:.3g}"), seed_list[0]) for n in names if best(n) in edges]
    sweep += list(pool.map(lambda a: run(*a), beyond))
    best_lr = {n: best(n) for n in names}
    rest = list(pool.map(lambda a: run(*a), [(n, best_lr[n], s) for n in names for s in seed_list[1:]]))
finals = {n: [r for r in sweep + rest if r['name'] == n and r['lr'] == best_lr[n]] for n in names}

cmd = 'python compare.py' + ''.join(f' {a}' for a in sys.argv[1:])
lines = [f"Command: `{cmd}` (train config `{config}`, seeds {seeds}, {jobs} runs at a time, "
         f"{threads} thread(s) each)", "",
         "| method | params | lr (swept) | val loss (mean ± std) | val ppl | wall time per run |",
         "| --- | --- | --- | --- | --- | --- |"]
for n in names:
    losses = [r['final'] for r in finals[n]]
    mean, std = statistics.mean(losses), statistics.stdev(losses) if len(losses) > 1 else 0.0
    lines.append(f"| {n} | {finals[n][0]['params'] / 1e6:.3f}M | {best_lr[n]:g} | {mean:.4f} ± {std:.4f} | "
                 f"{math.exp(mean):.3f} | {statistics.mean(r['wall_s'] for r in finals[n]):.0f} s |")
tried = sorted({r['lr'] for r in sweep})
lines += ["", f"Learning-rate sweep (seed {seed_list[0]}, final val loss; the grid {learning_rates} is extended one "
          "step where a method's best lr sat on its edge):", "",
          "| method | " + " | ".join(f"lr {lr:g}" for lr in tried) + " |", "| --- |" + " --- |" * len(tried)]
for n in names:
    loss = {r['lr']: r['final'] for r in sweep if r['name'] == n}
    lines.append(f"| {n} | " + " | ".join(f"{loss[lr]:.4f}" if lr in loss else "" for lr in tried) + " |")
table = "\n".join(lines)
print(table)
os.makedirs(assets, exist_ok=True)
Path(assets, 'compare.md').write_text(table + "\n")
Path(assets, 'compare.json').write_text(json.dumps(dict(best_lr=best_lr, runs=sweep + rest), indent=1))
try:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: no plot (pip install matplotlib)")
    sys.exit(0)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for ax, start in zip(axes, (0.0, 0.5)):  # the whole run, and its second half magnified
    for i, n in enumerate(names):
        curves = [r['curve'] for r in finals[n]]
        points = [(it, statistics.mean(c[j][1] for c in curves)) for j, (it, _) in enumerate(curves[0])
                  if it >= start * curves[0][-1][0]]
        ax.plot(*zip(*points), label=f"{n} (lr {best_lr[n]:g})", color=f"C{i}",
                linestyle='--' if n.startswith('lost_') else '-', marker='.' if start else None)
    ax.set_xlabel('iteration')
    ax.set_ylabel(f'validation loss (mean of {len(seed_list)} seeds)')
    ax.grid(alpha=0.3)
axes[0].set_ylim(top=min(3.0, axes[0].get_ylim()[1]))
axes[0].set_title('Tiny Shakespeare: same tokens, schedule, data order')
axes[1].set_title('second half, magnified')
axes[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig(Path(assets, 'compare_val_loss.png'), dpi=120)
print(f"wrote {assets}/compare.md, compare.json, compare_val_loss.png")
