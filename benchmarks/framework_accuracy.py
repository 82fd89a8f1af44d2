"""Does the Module framework train real networks to the accuracy they are known for?

    python benchmarks/framework_accuracy.py [--part mnist|disk|both] [--seeds 5]

(a) MNIST: a 784-300-10 ReLU MLP, SGD with momentum 0.9 and an exponential lr decay, trained on
    all 60,000 training images; prints the *test* accuracy after every epoch (goal: >= 98% within
    10 epochs). The settings were chosen on the 55,000/5,000 validation split, not on the test set.
(b) Disk: the 2-25-25-25-2 net (ReLU, ReLU, Tanh) with MSE on one-hot targets from report D,
    trained on ``load_disk(1000, seed=s)`` and validated on a separate draw ``seed=s + 1000``, with
    per-sample SGD and an lr decay per epoch as in the report (theirs: 0.9858 ± 0.0068 validation
    accuracy over 30 runs). Prints every seed and the mean ± std.

Needs the MNIST files: set COURSE_DATA_DIR (e.g. ../shared/data, as the tests do) or let the
loader download them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib import nn  # noqa: E402
from course_lib.data import load_disk, load_mnist  # noqa: E402
from course_lib.train import fit  # noqa: E402

def mnist(epochs: int = 10, lr: float = 0.1, gamma: float = 0.8, batch_size: int = 128,
          final: bool = True, seed: int = 0) -> None:
    (x, c), (xv, cv), n_classes = load_mnist(final=final)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(784, 300, rng=rng), nn.ReLU(), nn.Linear(300, n_classes, rng=rng))
    opt = nn.SGD(model.parameters(), lr=lr, momentum=0.9)
    print(f"MNIST 784-300-10 ReLU, SGD(lr={lr}, momentum=0.9) x {gamma}/epoch, batch {batch_size}, "
          f"{len(x)} training images, {'test' if final else 'validation'} set of {len(xv)}")
    t = time.perf_counter()
    h = fit(model, nn.CrossEntropyLoss(), opt, (x, c), (xv, cv), epochs=epochs,
            batch_size=batch_size, seed=seed, scheduler=nn.ExponentialLR(opt, gamma), progress=False)
    split = "test" if final else "val"
    print(f"{'epoch':>5} | {'train loss':>10} | {'train acc':>9} | {split + ' loss':>9} | {split + ' acc':>8}")
    for e in range(len(h)):
        print(f"{e + 1:>5} | {h.train_loss[e]:10.4f} | {h.train_acc[e]:9.4f} | "
              f"{h.val_loss[e]:9.4f} | {h.val_acc[e]:8.4f}")
    print(f"best {split} accuracy {max(h.val_acc):.4f} (epoch {int(np.argmax(h.val_acc)) + 1}), "
          f"final {h.val_acc[-1]:.4f}; {time.perf_counter() - t:.0f} s\n")


def disk(seeds: range, epochs: int = 100, lr: float = 0.2, gamma: float = 0.95) -> None:
    print(f"disk 2-25-25-25-2 (ReLU, ReLU, Tanh), MSELoss on one-hot targets, SGD(lr={lr}) on "
          f"single samples x {gamma}/epoch, {epochs} epochs; train seed s, validation seed s+1000")
    print(f"{'seed':>4} | {'train MSE':>9} | {'train acc':>9} | {'val MSE':>8} | {'val acc':>7}")
    accs = []
    for s in seeds:
        (x, c), (xv, cv) = load_disk(n=1000, seed=s), load_disk(n=1000, seed=s + 1000)
        rng = np.random.default_rng(s)
        model = nn.Sequential(nn.Linear(2, 25, rng=rng), nn.ReLU(),
                              nn.Linear(25, 25, rng=rng), nn.ReLU(),
                              nn.Linear(25, 25, rng=rng), nn.Tanh(),
                              nn.Linear(25, 2, rng=rng))
        opt = nn.SGD(model.parameters(), lr=lr)
        h = fit(model, nn.MSELoss(), opt, (x, nn.one_hot(c, 2)), (xv, nn.one_hot(cv, 2)),
                epochs=epochs, batch_size=1, seed=s, scheduler=nn.ExponentialLR(opt, gamma),
                progress=False)
        accs.append(h.val_acc[-1])
        print(f"{s:>4} | {h.train_loss[-1]:9.5f} | {h.train_acc[-1]:9.4f} | {h.val_loss[-1]:8.5f} | "
              f"{h.val_acc[-1]:7.4f}", flush=True)
    print(f"validation accuracy over {len(accs)} seeds: {np.mean(accs):.4f} ± {np.std(accs):.4f} "
          "(report D: 0.9858 ± 0.0068)\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", default="both", choices=["mnist", "disk", "both"])
    ap.add_argument("--seeds", type=int, default=5, help="number of disk seeds")
    ap.add_argument("--first-seed", type=int, default=0, help="disk seeds start here")
    ap.add_argument("--validation", action="store_true",
                    help="MNIST on the 55,000/5,000 split instead of train/test (for tuning)")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--gamma", type=float, default=0.8)
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    if args.part in ("mnist", "both"):
        mnist(lr=args.lr, gamma=args.gamma, batch_size=args.batch_size, final=not args.validation)
    if args.part in ("disk", "both"):
        disk(range(args.first_seed, args.first_seed + args.seeds))


if __name__ == "__main__":
    main()
