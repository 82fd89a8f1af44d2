"""Training-epoch time with length-bucketed (token budget) vs fixed-size padded batches.

Run: python benchmarks/imdb_batching.py [--model rnn] [--n 5000] [--max-len 256] [--threads 1]

Both batchings see the same reviews once per epoch; the token budget is set to the mean
number of token slots (padding included) of a fixed batch, so both do the same work per
step on average, and the only difference is how much of that work is padding.
"""
import argparse
import os
import time

import torch

from course_lib.data.batching import batch_by_tokens, batch_fixed, padding_fraction
from course_lib.data.imdb import load_imdb
from course_lib.rnn import SentimentClassifier, make_optimizer, train_epoch


def epoch_seconds(args, vocab_size, batches) -> tuple[float, float]:
    model = SentimentClassifier(vocab_size, args.model, emb=args.size, hidden=args.size)
    opt = make_optimizer(model, "adam", 1e-3)
    wall, cpu = time.perf_counter(), time.process_time()
    train_epoch(model, opt, batches, progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rnn", choices=["mlp", "elman", "rnn", "lstm"])
    parser.add_argument("--size", type=int, default=64, help="embedding and hidden size")
    parser.add_argument("--n", type=int, default=5000, help="training reviews used")
    parser.add_argument("--max-len", type=int, default=256, help="0: full-length reviews")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    max_len = args.max_len or None
    (x, c), _, (i2w, _), _ = load_imdb(vocab_size=20_000)
    x, c = x[:args.n], c[:args.n]

    fixed = list(batch_fixed(x, c, args.batch_size, max_len=max_len))
    slots = sum(b.numel() for b, _ in fixed) / len(fixed)
    by_tokens = list(batch_by_tokens(x, c, int(slots), max_len=max_len))
    print(f"{args.model} emb=hidden={args.size}, {len(x)} reviews, max_len={max_len}, "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    print(f"token budget = mean slots of a fixed batch of {args.batch_size}: {int(slots)}")
    times = {}
    for name, batches in [("fixed", fixed), ("by_tokens", by_tokens)]:
        epoch_seconds(args, len(i2w), batches[:3])  # warm-up: lazy imports, allocator
        times[name] = epoch_seconds(args, len(i2w), batches)
        print(f"{name:10s} {len(batches):5d} steps  padding {padding_fraction(batches):6.1%}  "
              f"epoch {times[name][0]:6.1f} s wall  {times[name][1]:6.1f} s CPU")
    print(f"speed-up by_tokens vs fixed: {times['fixed'][0] / times['by_tokens'][0]:.2f}x wall, "
          f"{times['fixed'][1] / times['by_tokens'][1]:.2f}x CPU")


if __name__ == "__main__":
    main()
