"""
Generate text from a trained checkpoint (out_dir/ckpt.pt); the tokenizer comes from the dataset's meta.json.

    $ python sample.py --out_dir=out-quick --start="ROMEO:" --num_samples=2 --max_new_tokens=300
"""
import json
import os
import sys

import torch

from model import GPT, GPTConfig
from prepare_data import PrepareError, load_tokenizer

out_dir = 'out'
start = "\n"  # the prompt; "FILE:prompt.txt" reads it from a file
num_samples = 1
max_new_tokens = 300
temperature = 0.8  # < 1 sharper, > 1 more random
top_k = 200  # keep only the top_k most likely tokens
seed = 1337
device = 'cpu'
from configurator import configure, fail  # noqa: E402

configure(globals(), sys.argv[1:])

ckpt_path = os.path.join(out_dir, 'ckpt.pt')
if not os.path.exists(ckpt_path):
    fail(f"no checkpoint at {ckpt_path}; train first (python train.py ...) or pass --out_dir")
checkpoint = torch.load(ckpt_path, map_location=device)
with torch.device('meta'):
    model = GPT(GPTConfig(**checkpoint['model_args']))
model.to_empty(device=device)
model.init_rope()
model.load_state_dict(checkpoint['model'])
model.eval()

meta_path = os.path.join('data', checkpoint['config']['dataset'], 'meta.json')
if not os.path.exists(meta_path):
    fail(f"missing {meta_path}: the tokenizer of the training data is needed; prepare that dataset again")
meta = json.load(open(meta_path))
try:
    tokenizer = load_tokenizer(meta['tokenizer'], meta.get('bpe_file'))
except PrepareError as e:
    fail(str(e))

if start.startswith('FILE:'):
    start = open(start[5:], encoding='utf-8').read()
torch.manual_seed(seed)
x = torch.tensor(tokenizer.encode(start) or [0], dtype=torch.long, device=device)[None]
for _ in range(num_samples):
    y = model.generate(x, max_new_tokens, temperature=temperature, top_k=top_k)
    print(tokenizer.decode(y[0].tolist()))
    print('---------------')
