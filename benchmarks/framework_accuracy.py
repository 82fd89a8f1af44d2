"""Does the Module framework train real networks to the accuracy they are known for?

    python benchmarks/framework_accuracy.py [--part mnist|disk|both] [--seed-groups 0-4 5-14]

(a) MNIST: a 784-300-10 ReLU MLP, SGD with momentum 0.9 and an exponential lr decay, trained on
    all 60,000 training images; the *test* accuracy after every epoch (goal: >= 98% within
    10 epochs). The settings were chosen on the 55,000/5,000 validation split (``--validation``),
    not on the test set.
(b) Disk: the 2-25-25-25-2 net (ReLU, ReLU, Tanh) with MSE on one-hot targets from report D,
    trained on ``load_disk(1000, seed=s)`` and validated on a separate draw ``seed=s + 1000``, with
    per-sample SGD and an lr decay per epoch as in the report (theirs: 0.9858 ± 0.0068 validation
    accuracy over 30 runs). Every seed, and the mean ± std of each group of seeds.

Results go to ``benchmarks/results/framework_accuracy.json`` (with the machine and the date) after
the MNIST run and after every disk seed; a part that is not rerun keeps its old results. One BLAS
thread unless OMP_NUM_THREADS says otherwise. Needs the MNIST files: set COURSE_DATA_DIR (e.g.
../shared/data, as the tests do) or let the loader download them.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402
from course_lib import nn  # noqa: E402
from course_lib.data import load_disk, load_mnist  # noqa: E402
from course_lib.train import fit  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "framework_accuracy.json"


def mnist(epochs: int = 10, lr: float = 0.1, gamma: float = 0.8, batch_size: int = 128,
          final: bool = True, seed: int = 0) -> dict:
    """Train the MNIST net; its settings and per-epoch curves (``held_out``: test or validation)."""
    (x, c), (xv, cv), n_classes = load_mnist(final=final)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(784, 300, rng=rng), nn.ReLU(), nn.Linear(300, n_classes, rng=rng))
    opt = nn.SGD(model.parameters(), lr=lr, momentum=0.9)
    split = "test" if final else "validation"
    print(f"MNIST 784-300-10 ReLU, SGD(lr={lr}, momentum=0.9) x {gamma}/epoch, batch {batch_size}, "
          f"{len(x)} training images, {split} set of {len(xv)}")
    start = time.perf_counter()
    h = fit(model, nn.CrossEntropyLoss(), opt, (x, c), (xv, cv), epochs=epochs,
            batch_size=batch_size, seed=seed, scheduler=nn.ExponentialLR(opt, gamma), progress=False)
    seconds = time.perf_counter() - start
    print(f"{'epoch':>5} | {'train loss':>10} | {'train acc':>9} | {'loss':>8} | {'acc':>8}")
    for e in range(len(h)):
        print(f"{e + 1:>5} | {h.train_loss[e]:10.4f} | {h.train_acc[e]:9.4f} | "
              f"{h.val_loss[e]:8.4f} | {h.val_acc[e]:8.4f}")
    print(f"best {split} accuracy {max(h.val_acc):.4f} (epoch {int(np.argmax(h.val_acc)) + 1}), "
          f"final {h.val_acc[-1]:.4f}; {seconds:.0f} s\n")
    return dict(held_out=split, n_train=len(x), n_held_out=len(xv), epochs=epochs, lr=lr,
                momentum=0.9, gamma=gamma, batch_size=batch_size, seed=seed,
                train_loss=h.train_loss, train_acc=h.train_acc, held_out_loss=h.val_loss,
                held_out_acc=h.val_acc, seconds=round(seconds, 1))


def disk_seed(s: int, epochs: int = 100, lr: float = 0.2, gamma: float = 0.95) -> dict:
    """One disk run: train on ``load_disk(1000, seed=s)``, validate on ``seed=s + 1000``."""
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
    return dict(train_mse=h.train_loss[-1], train_acc=h.train_acc[-1], val_mse=h.val_loss[-1],
                val_acc=h.val_acc[-1])


def seed_group(text: str) -> list[int]:
    """'5-14' -> [5, ..., 14]; '3' -> [3]."""
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def disk(groups: list[list[int]], results: dict, epochs: int = 100, lr: float = 0.2,
         gamma: float = 0.95) -> None:
    """Run every seed of ``groups`` into ``results["disk"]``, saving after each seed."""
    print(f"disk 2-25-25-25-2 (ReLU, ReLU, Tanh), MSELoss on one-hot targets, SGD(lr={lr}) on "
          f"single samples x {gamma}/epoch, {epochs} epochs; train seed s, validation seed s+1000")
    print(f"{'seed':>4} | {'train MSE':>9} | {'train acc':>9} | {'val MSE':>8} | {'val acc':>7}")
    runs: dict[str, dict] = {}
    results["disk"] = dict(epochs=epochs, lr=lr, gamma=gamma, batch_size=1, n_train=1000,
                           runs=runs, groups=[])
    for s in sorted({s for group in groups for s in group}):
        r = runs[str(s)] = disk_seed(s, epochs, lr, gamma)
        print(f"{s:>4} | {r['train_mse']:9.5f} | {r['train_acc']:9.4f} | {r['val_mse']:8.5f} | "
              f"{r['val_acc']:7.4f}", flush=True)
        write_json(RESULTS, results)
    for group in groups:
        accs = [runs[str(s)]["val_acc"] for s in group]
        results["disk"]["groups"].append(dict(seeds=group, val_mean=float(np.mean(accs)),
                                              val_std=float(np.std(accs))))
        print(f"seeds {group[0]}-{group[-1]}: validation accuracy {np.mean(accs):.4f} ± "
              f"{np.std(accs):.4f} (report D: 0.9858 ± 0.0068)")
    write_json(RESULTS, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", default="both", choices=["mnist", "disk", "both"])
    ap.add_argument("--seed-groups", nargs="+", default=["0-4", "5-14"],
                    help="disk seeds, each group reported with its mean ± std")
    ap.add_argument("--validation", action="store_true",
                    help="MNIST on the 55,000/5,000 split instead of train/test (for tuning)")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--gamma", type=float, default=0.8)
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(script="benchmarks/framework_accuracy.py", date=time.strftime("%Y-%m-%d %H:%M"),
                   machine=machine(), blas_threads=os.environ["OMP_NUM_THREADS"])
    if args.part in ("mnist", "both"):
        key = "mnist_validation" if args.validation else "mnist"
        results[key] = mnist(lr=args.lr, gamma=args.gamma, batch_size=args.batch_size,
                             final=not args.validation)
        write_json(RESULTS, results)
    if args.part in ("disk", "both"):
        disk([seed_group(g) for g in args.seed_groups], results)


if __name__ == "__main__":
    main()
