"""Training-epoch time with length-bucketed (token budget) vs fixed-size padded batches.

Run: python benchmarks/imdb_batching.py [--model rnn] [--n 5000] [--max-len 0 256] [--threads 1]

Both batchings see the same reviews once per epoch; the token budget is set to the mean
number of token slots (padding included) of a fixed batch, so both do the same work per
step on average, and the only difference is how much of that work is padding. Each
``--max-len`` (0: full-length reviews) is one comparison; all of them, with the machine and
the date, go to ``benchmarks/results/imdb_batching.json``.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402
from course_lib.data.batching import batch_by_tokens, batch_fixed, padding_fraction  # noqa: E402
from course_lib.data.imdb import load_imdb  # noqa: E402
from course_lib.rnn import SentimentClassifier, make_optimizer, train_epoch  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "imdb_batching.json"


def epoch_seconds(args, vocab_size, batches) -> tuple[float, float]:
    model = SentimentClassifier(vocab_size, args.model, emb=args.size, hidden=args.size)
    opt = make_optimizer(model, "adam", 1e-3)
    wall, cpu = time.perf_counter(), time.process_time()
    train_epoch(model, opt, batches, progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(args, x, c, vocab_size: int, max_len: int | None) -> dict:
    """Fixed batches of ``args.batch_size`` against token-budget batches of as many slots."""
    fixed = list(batch_fixed(x, c, args.batch_size, max_len=max_len))
    slots = sum(b.numel() for b, _ in fixed) / len(fixed)
    by_tokens = list(batch_by_tokens(x, c, int(slots), max_len=max_len))
    print(f"{args.model} emb=hidden={args.size}, {len(x)} reviews, max_len={max_len}, "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    print(f"token budget = mean slots of a fixed batch of {args.batch_size}: {int(slots)}")
    result = dict(max_len=max_len, token_budget=int(slots), load_before=os.getloadavg()[0])
    for name, batches in [("fixed", fixed), ("by_tokens", by_tokens)]:
        epoch_seconds(args, vocab_size, batches[:3])  # warm-up: lazy imports, allocator
        wall, cpu = epoch_seconds(args, vocab_size, batches)
        result[name] = dict(steps=len(batches), padding=padding_fraction(batches),
                            wall_s=wall, cpu_s=cpu)
        print(f"{name:10s} {len(batches):5d} steps  padding {result[name]['padding']:6.1%}  "
              f"epoch {wall:6.1f} s wall  {cpu:6.1f} s CPU")
    result.update(load_after=os.getloadavg()[0],
                  speedup_wall=result["fixed"]["wall_s"] / result["by_tokens"]["wall_s"],
                  speedup_cpu=result["fixed"]["cpu_s"] / result["by_tokens"]["cpu_s"])
    print(f"speed-up by_tokens vs fixed: {result['speedup_wall']:.2f}x wall, "
          f"{result['speedup_cpu']:.2f}x CPU\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rnn", choices=["mlp", "elman", "rnn", "lstm"])
    parser.add_argument("--size", type=int, default=64, help="embedding and hidden size")
    parser.add_argument("--n", type=int, default=5000, help="training reviews used")
    parser.add_argument("--max-len", type=int, nargs="+", default=[0, 256],
                        help="reviews cut at this many tokens; 0: full length")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    (x, c), _, (i2w, _), _ = load_imdb(vocab_size=20_000)
    x, c = x[:args.n], c[:args.n]
    runs = [compare(args, x, c, len(i2w), max_len or None) for max_len in args.max_len]
    write_json(RESULTS, dict(script="benchmarks/imdb_batching.py", date=time.strftime("%Y-%m-%d %H:%M"),
                             machine=machine(), model=args.model, size=args.size, n=args.n,
                             batch_size=args.batch_size, threads=args.threads, runs=runs))
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
