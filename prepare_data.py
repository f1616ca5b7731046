"""
Tokenize a dataset into data/<name>/{train,val}.bin (uint16, or uint32 for big vocabularies) + meta.json.

    python prepare_data.py --dataset=shakespeare --tokenizer=byte        # tiny, for CPU runs
    python prepare_data.py --dataset=c4 --c4_shards=8                     # the paper's data (GPT-2 BPE)
    python prepare_data.py --dataset=path/to/text.txt|docs.jsonl|docs.json.gz|folder --name=mine

Every write goes to a temp file that is renamed when complete; meta.json is written last, and a rerun
with the same source and tokenizer skips the work unless --force.
"""
import argparse
import gzip
import json
import multiprocessing as mp
import os
import sys
import urllib.request
from collections import namedtuple
from pathlib import Path

import numpy as np
from tqdm import tqdm

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_LOCAL = ["data/shakespeare/input.txt", "../shared/data/tinyshakespeare.txt"]  # used first if present
C4_URL = "https://huggingface.co/datasets/allenai/c4/resolve/main/en/c4-{split}.{i:05d}-of-{n:05d}.json.gz"
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = 50256


class PrepareError(Exception):
    pass


Tokenizer = namedtuple("Tokenizer", "encode decode vocab_size eot")


def load_tokenizer(kind, bpe_file=None):
    """Tokenizer(encode, decode, vocab_size, eot or None) for 'byte' or 'gpt2'."""
    if kind == "byte":
        return Tokenizer(lambda text: list(text.encode("utf-8")),
                         lambda ids: bytes(i for i in ids if i < 256).decode("utf-8", errors="replace"), 256, None)
    if kind != "gpt2":
        raise PrepareError(f"unknown tokenizer {kind!r}; use --tokenizer=gpt2 or --tokenizer=byte")
    import tiktoken
    import tiktoken.load
    if bpe_file:
        try:
            ranks = tiktoken.load.load_tiktoken_bpe(bpe_file)
        except Exception as e:
            raise PrepareError(f"cannot read BPE file {bpe_file!r} ({type(e).__name__}); pass a tiktoken-format "
                               "GPT-2 ranks file to --bpe_file") from None
        enc = tiktoken.Encoding(name="gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                                special_tokens={"<|endoftext|>": EOT})
    else:
        try:
            enc = tiktoken.get_encoding("gpt2")
        except Exception:
            raise PrepareError("cannot download the GPT-2 vocabulary (no network?); pass --bpe_file=PATH to a "
                               "local gpt2.tiktoken, or use --tokenizer=byte") from None
    return Tokenizer(enc.encode_ordinary, lambda ids: enc.decode([i for i in ids if i < enc.n_vocab]),
                     enc.n_vocab, EOT)


_worker = None


def _init_worker(kind, bpe_file):
    global _worker
    _worker = load_tokenizer(kind, bpe_file)


def _encode_docs(docs):
    encode, eot = _worker.encode, _worker.eot
    out = []
    for doc in docs:
        out.extend(encode(doc))
        if eot is not None:
            out.append(eot)
    return out


def read_documents(path):
    """Yield the texts of a .txt file (one document), a .jsonl / .json.gz file ("text" fields) or a folder."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl") or p.name.endswith(".json.gz"))
        if not files:
            raise PrepareError(f"folder {path} holds no .txt, .jsonl or .json.gz files")
        for f in files:
            yield from read_documents(f)
    elif path.suffix == ".txt":
        yield path.read_text(encoding="utf-8")
    elif path.suffix == ".jsonl" or path.name.endswith(".json.gz"):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)["text"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        raise PrepareError(f"{path} line {n}: expected a JSON object with a \"text\" field") from None
    else:
        raise PrepareError(f"cannot read {path}: use a .txt, .jsonl or .json.gz file or a folder of them")


def batches(docs, size=256):
    batch = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_tokens(docs, out_path, dtype, tokenizer, bpe_file, workers, desc):
    """Tokenize docs in worker processes, streaming into out_path via a temp file; returns the token count."""
    tmp = out_path.with_suffix(".bin.tmp")
    count = 0
    with open(tmp, "wb") as f, mp.Pool(workers, _init_worker, (tokenizer, bpe_file)) as pool, \
            tqdm(desc=desc, unit="tok", unit_scale=True) as bar:
        for ids in pool.imap(_encode_docs, batches(docs)):
            np.asarray(ids, dtype=dtype).tofile(f)
            count += len(ids)
            bar.update(len(ids))
    if count == 0:
        tmp.unlink()
        raise PrepareError(f"no tokens for {out_path.name}: the source is empty")
    os.replace(tmp, out_path)
    return count


def split_documents(path, val_fraction):
    """Train and val document streams: one .txt is cut at a line near the end; else every n-th document is val."""
    if Path(path).suffix == ".txt":
        text = Path(path).read_text(encoding="utf-8")
        if not text.strip():
            raise PrepareError(f"{path} is empty")
        cut = text.rfind("\n", 0, int(len(text) * (1 - val_fraction))) + 1 or int(len(text) * (1 - val_fraction))
        return [text[:cut]], [text[cut:]]
    keep = lambda want_val: (d for i, d in enumerate(read_documents(path))
                             if (int((i + 1) * val_fraction) > int(i * val_fraction)) == want_val)
    return keep(False), keep(True)


def download(url, dest):
    """Fetch url to dest (temp file + rename); skip if dest exists."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f, \
                tqdm(desc=dest.name, total=int(r.headers.get("Content-Length") or 0) or None,
                     unit="B", unit_scale=True) as bar:
            while chunk := r.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PrepareError(f"cannot download {url} ({getattr(e, 'reason', e)}; no network?); "
                           "download it elsewhere and pass the local file with --dataset=PATH") from None
    os.replace(tmp, dest)
    return dest


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="shakespeare, c4, or a path to a .txt/.jsonl/.json.gz file or folder")
    p.add_argument("--name", help="output folder under data/ (default: the dataset's name)")
    p.add_argument("--tokenizer", default=None, choices=["gpt2", "byte"], help="default: byte for shakespeare, else gpt2")
    p.add_argument("--bpe_file", help="local tiktoken-format GPT-2 ranks file, so gpt2 works offline")
    p.add_argument("--val_fraction", type=float, default=0.1, help="share of the text held out (not for c4)")
    p.add_argument("--c4_shards", type=int, default=1, help="number of C4 train shards (of 1024, ~356M GPT-2 tokens each)")
    p.add_argument("--workers", type=int, default=max(1, min(8, os.cpu_count() or 1)))
    p.add_argument("--force", action="store_true", help="redo even if data/<name> is complete")
    args = p.parse_args(argv)
    try:
        prepare(args)
    except PrepareError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


def prepare(args):
    if not 0.0 < args.val_fraction < 1.0:
        raise PrepareError(f"--val_fraction {args.val_fraction} must be between 0 and 1")
    tokenizer = args.tokenizer or ("byte" if args.dataset == "shakespeare" else "gpt2")
    if args.dataset in ("shakespeare", "c4"):
        name = args.name or args.dataset
    else:
        if not os.path.exists(args.dataset):
            raise PrepareError(f"no such file or folder {args.dataset!r}; pass --dataset=shakespeare, c4 or an existing path")
        name = args.name or Path(args.dataset).name.split(".")[0]
    out = Path("data") / name
    source = dict(dataset=str(args.dataset), tokenizer=tokenizer, c4_shards=args.c4_shards if args.dataset == "c4" else None,
                  val_fraction=args.val_fraction)
    if (out / "meta.json").exists() and not args.force:
        if json.loads((out / "meta.json").read_text()).get("source") == source:
            print(f"{out} is already prepared for this source and tokenizer (--force to redo)")
            return
    vocab_size = load_tokenizer(tokenizer, args.bpe_file).vocab_size  # fail early on a bad tokenizer
    dtype = np.uint16 if vocab_size <= 65536 else np.uint32
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").unlink(missing_ok=True)  # until the new data is complete, nothing looks finished

    if args.dataset == "c4":
        if args.c4_shards < 1:
            raise PrepareError("--c4_shards must be at least 1")
        train_files = [download(C4_URL.format(split="train", i=i, n=1024), out / "raw" / f"c4-train.{i:05d}.json.gz")
                       for i in range(args.c4_shards)]
        val_file = download(C4_URL.format(split="validation", i=0, n=8), out / "raw" / "c4-validation.00000.json.gz")
        train_docs = (d for f in train_files for d in read_documents(f))
        val_docs = read_documents(val_file)
    else:
        path = args.dataset
        if args.dataset == "shakespeare":
            path = next((c for c in SHAKESPEARE_LOCAL if os.path.exists(c)), None) or \
                download(SHAKESPEARE_URL, out / "input.txt")
            print(f"Tiny Shakespeare from {path}")
        train_docs, val_docs = split_documents(path, args.val_fraction)

    counts = {}
    for split, docs in (("train", train_docs), ("val", val_docs)):
        counts[split] = write_tokens(docs, out / f"{split}.bin", dtype, tokenizer, args.bpe_file, args.workers, split)
    meta = dict(tokenizer=tokenizer, vocab_size=vocab_size, dtype=np.dtype(dtype).name,
                train_tokens=counts["train"], val_tokens=counts["val"], source=source,
                bpe_file=os.path.abspath(args.bpe_file) if args.bpe_file else None)
    tmp = out / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, out / "meta.json")
    print(f"wrote {out}: {counts['train']:,} train and {counts['val']:,} val tokens ({tokenizer}, vocab {vocab_size})")


if __name__ == "__main__":
    main()
