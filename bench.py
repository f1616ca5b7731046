"""
Time a full training step (forward, backward, AdamW) of every method at the same shapes on this device.

    $ python bench.py config/lost_60m.py --methods=dense,lost --batch_size=8 --steps=3

The config file gives the model shape and LOST knobs (its other keys are ignored); flags override. Methods
are interleaved round by round (after a warm-up) and the median round is reported, so drift in clock speed
or background load hits every method alike. Peak memory is CUDA's max allocated per method, or on CPU the
peak RSS growth of a fresh subprocess per method (so methods do not pollute each other).

How to read it: `x dense` columns divide by the dense row. If a method's time ratio is far above its FLOP
ratio, it is paying for something other than matmuls (memory traffic, gathers, small kernels).
"""
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext

import torch

from lost import METHODS
from model import GPT, GPTConfig

methods = 'dense,lowrank,cola,sltrain,lost'  # comma-separated
batch_size = 8  # sequences per step
steps = 3  # timed steps per round
warmup = 2  # untimed steps before the first round
repeats = 3  # rounds; the median is reported
vocab_size = 256  # byte vocabulary by default, so the projections (not the LM head) carry the compute
block_size = 256
n_layer = 8
n_head = 8
n_embd = 512
intermediate_size = 1376
lost_rank = 128
lost_sparsity = 0.05
lost_gamma = 0.5
lost_activation = 'silu'
lost_channel_score = 'l2'
lost_sparse_init = 'residual'
device = 'cuda' if torch.cuda.is_available() else 'cpu'
dtype = 'bfloat16' if torch.cuda.is_available() else 'float32'  # autocast dtype on CUDA
compile = False
json_out = ''  # also write the rows to this JSON file
memory_of = ''  # internal: measure one method's peak RSS in this (sub)process and print it
from configurator import configure  # noqa: E402

MODEL_KEYS = {'block_size', 'n_layer', 'n_head', 'n_embd', 'intermediate_size', 'lost_rank', 'lost_sparsity',
              'lost_gamma', 'lost_activation', 'lost_channel_score', 'lost_sparse_init'}
configure(globals(), sys.argv[1:], file_keys=MODEL_KEYS)
device_type = 'cuda' if device.startswith('cuda') else 'cpu'
autocast = torch.autocast(device_type, dtype=torch.bfloat16) if dtype == 'bfloat16' else nullcontext()


def build(method):
    cfg = GPTConfig(vocab_size=vocab_size, method=method, **{k: globals()[k] for k in MODEL_KEYS})
    with torch.device(device):
        model = GPT(cfg, seed=0)
    optimizer = model.configure_optimizers(0.0, 1e-4, (0.9, 0.95), device_type)
    step_model = torch.compile(model) if compile else model
    batch = torch.randint(0, vocab_size, (batch_size, block_size + 1), device=device,
                          generator=torch.Generator(device).manual_seed(0))

    def step():
        with autocast:
            _, loss = step_model(batch[:, :-1], batch[:, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return model, step


def sync():
    if device_type == 'cuda':
        torch.cuda.synchronize()


if memory_of:  # child process: peak RSS growth of building and training one method
    tiny = GPT(GPTConfig(vocab_size=vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8, intermediate_size=8,
                         method='dense'))
    tiny(torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 8, dtype=torch.long))[1].backward()  # warm the runtime
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, step = build(memory_of)
    for _ in range(2):
        step()
    print(json.dumps({'peak_bytes': (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024}))
    sys.exit(0)

names = [m.strip() for m in methods.split(',') if m.strip()]
unknown = [m for m in names if m not in METHODS]
if not names or unknown:
    print(f"error: --methods={methods!r} must list some of {','.join(METHODS)}", file=sys.stderr)
    sys.exit(2)
rows = {}
for name in names:  # memory first, one method at a time
    if device_type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        model, step = build(name)
        for _ in range(2):
            step()
        peak = torch.cuda.max_memory_allocated(device) - base
        del model, step
    else:
        flags = [a for a in sys.argv[1:] if not a.startswith('--json_out')]
        out = subprocess.run([sys.executable, __file__, *flags, f'--memory_of={name}'], capture_output=True,
                             text=True, check=True).stdout
        peak = json.loads(out.strip().splitlines()[-1])['peak_bytes']
    rows[name] = dict(method=name, peak_mib=peak / 2**20)

built = {}
for name in names:
    model, step = build(name)
    counts = model.param_counts()
    rows[name].update(params=counts['total'], proj_params=counts['projections'], flops_per_token=model.flops_per_token())
    for _ in range(warmup):
        step()
    built[name] = step
times = {name: [] for name in names}
for _ in range(repeats):
    for name in names:  # interleaved
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            built[name]()
        sync()
        times[name].append((time.perf_counter() - t0) / steps)
tokens = batch_size * block_size
for name in names:
    rows[name].update(ms=statistics.median(times[name]) * 1000, tok_s=tokens / statistics.median(times[name]))

where = torch.cuda.get_device_name(device) if device_type == 'cuda' else f'{platform.processor() or "CPU"} ({torch.get_num_threads()} threads)'
print(f"{where}, torch {torch.__version__}, {dtype}, {time.strftime('%Y-%m-%d')}: n_embd {n_embd}, "
      f"intermediate {intermediate_size}, {n_layer} layers, vocab {vocab_size}, {batch_size} x {block_size} tokens/step, "
      f"median of {repeats} rounds of {steps} steps")
print("| method | params | proj params | GFLOP/token | ms/step | tokens/s | peak MiB | params x dense | "
      "FLOPs x dense | time x dense | memory x dense |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
ref = rows.get('dense')
for r in rows.values():
    ratio = (lambda key: f"{r[key] / ref[key]:.3f}") if ref else (lambda key: "-")
    print(f"| {r['method']} | {r['params'] / 1e6:.2f}M | {r['proj_params'] / 1e6:.2f}M | {r['flops_per_token'] / 1e9:.3f} | "
          f"{r['ms']:.1f} | {r['tok_s']:,.0f} | {r['peak_mib']:,.0f} | {ratio('params')} | {ratio('flops_per_token')} | "
          f"{ratio('ms')} | {ratio('peak_mib')} |")
if json_out:
    with open(json_out, 'w') as f:
        json.dump(dict(device=where, torch=torch.__version__, dtype=dtype, rows=list(rows.values())), f, indent=1)
