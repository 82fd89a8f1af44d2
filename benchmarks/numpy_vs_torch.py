"""One training epoch of a 784-300-10 ReLU MLP: course_lib.nn (NumPy) against PyTorch autograd.

    python benchmarks/numpy_vs_torch.py [--threads 1,2] [--repeats 5] [--data auto|random|mnist]

Both sides train the same network from the same initial weights on the same shuffled batches
with plain SGD (lr 0.01) and cross-entropy, in float32: NumPy with Sequential / CrossEntropyLoss
/ SGD and a bare loop, PyTorch with nn.Sequential, loss.backward() and torch.optim.SGD, slicing
tensors directly (a DataLoader alone doubles torch's epoch time). The column ``fit()`` times the
same NumPy epoch through course_lib.train.fit, which also tracks accuracy. Batch size 1 runs on a
subset and is scaled to 60,000 samples. Inference: one eval-mode pass over 10,000 samples.

Each thread count runs in a fresh process, with the BLAS thread variables and
torch.set_num_threads set to the same number before anything is imported. Times are medians of
``--repeats`` alternating runs; the machine's load average is printed, because a busy core makes
two-thread runs collapse (see /work/shared/PERFORMANCE_NOTES.md). Prints ratios; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

N_TRAIN, N_TEST, LR = 60_000, 10_000, 0.01


def load_data(kind: str):
    import numpy as np
    if kind in ("auto", "mnist"):
        try:
            from course_lib.data import load_mnist
            (x, y), (xt, _), _ = load_mnist(final=True)
            return x, y, xt, "MNIST"
        except Exception as e:  # noqa: BLE001 - any failure falls back to random data
            if kind == "mnist":
                raise
            print(f"(MNIST not loadable: {e!r}; using random data)")
    rng = np.random.default_rng(0)
    return (rng.random((N_TRAIN, 784), dtype=np.float32), rng.integers(0, 10, N_TRAIN),
            rng.random((N_TEST, 784), dtype=np.float32), "random MNIST-shaped")


def worker(threads: int, batch_sizes: list[int], repeats: int, batch1_subset: int, data: str) -> None:
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_lib import nn
    from course_lib.train import fit

    x, y, x_test, source = load_data(data)
    print(f"threads={threads}  data: {source}  load average before: {os.getloadavg()[0]:.2f}")
    model = nn.Sequential(nn.Linear(784, 300, rng=0, dtype=np.float32), nn.ReLU(),
                          nn.Linear(300, 10, rng=1, dtype=np.float32))
    loss_fn, opt = nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=LR)
    tmodel = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 10))
    with torch.no_grad():
        for ours, theirs in zip([model[0], model[2]], [tmodel[0], tmodel[2]]):
            theirs.weight.copy_(torch.from_numpy(ours.weight.value.T))
            theirs.bias.copy_(torch.from_numpy(ours.bias.value))
    tloss_fn, topt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(tmodel.parameters(), lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    rng = np.random.default_rng(0)

    def numpy_epoch(order: np.ndarray, bs: int) -> float:
        model.train()
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
        return loss

    def fit_epoch(order: np.ndarray, bs: int) -> float:  # fit shuffles the first len(order) itself
        return fit(model, loss_fn, opt, (x[:len(order)], y[:len(order)]), epochs=1, batch_size=bs,
                   seed=int(order[0]), progress=False).train_loss[-1]

    def torch_epoch(order: np.ndarray, bs: int) -> float:
        order = torch.from_numpy(order)
        tmodel.train()
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            loss = tloss_fn(tmodel(tx[idx]), ty[idx])
            topt.zero_grad()
            loss.backward()
            topt.step()
        return loss.item()

    def timed(f, *args) -> float:
        t = time.perf_counter()
        f(*args)
        return time.perf_counter() - t

    # Same start, same batches: the losses must agree (both sides really do the same work).
    order = rng.permutation(len(x))[:6400]
    print(f"check, 50 batches of 128 from the same weights: last loss NumPy "
          f"{numpy_epoch(order, 128):.5f}, torch {torch_epoch(order, 128):.5f}")
    print(f"{'batch':>5} | {'NumPy s':>8} | {'torch s':>8} | {'NumPy/torch':>11} | {'fit() s':>8}"
          "   (seconds per 60,000-sample epoch, median)")
    for bs in batch_sizes:
        n = batch1_subset if bs == 1 else N_TRAIN
        scale = N_TRAIN / n
        for f in (numpy_epoch, torch_epoch):  # warm-up: allocations, thread pools, caches
            f(rng.permutation(len(x))[:min(n, 20 * bs)], bs)
        times: dict[str, list[float]] = {"numpy": [], "torch": [], "fit": []}
        for _ in range(repeats):
            order = rng.permutation(len(x))[:n]
            times["numpy"].append(timed(numpy_epoch, order, bs) * scale)
            times["torch"].append(timed(torch_epoch, order, bs) * scale)
            times["fit"].append(timed(fit_epoch, order, bs) * scale)
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(f"{bs:>5} | {med['numpy']:8.3f} | {med['torch']:8.3f} | "
              f"{med['numpy'] / med['torch']:11.2f} | {med['fit']:8.3f}"
              + (f"   (on {n} samples, x{scale:g})" if scale != 1 else ""), flush=True)

    model.eval()
    tmodel.eval()
    inf = {"numpy": [], "torch": []}
    for _ in range(repeats):
        inf["numpy"].append(timed(model, x_test[:N_TEST]))
        with torch.no_grad():
            inf["torch"].append(timed(tmodel, torch.from_numpy(x_test[:N_TEST])))
    a, b = float(np.median(inf["numpy"])), float(np.median(inf["torch"]))
    print(f"inference on {N_TEST} samples: NumPy {a * 1e3:.1f} ms, torch {b * 1e3:.1f} ms, "
          f"ratio {a / b:.2f}   load average after: {os.getloadavg()[0]:.2f}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--batch-sizes", default="1,32,128,512")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch1-subset", type=int, default=3000)
    ap.add_argument("--data", default="auto", choices=["auto", "random", "mnist"])
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.worker:
        worker(args.worker, sizes, args.repeats, args.batch1_subset, args.data)
        return
    print(f"{os.cpu_count()} CPUs; one fresh process per thread count\n")
    for t in (int(t) for t in args.threads.split(",")):
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   MKL_NUM_THREADS=str(t))
        subprocess.run([sys.executable, __file__, "--worker", str(t), "--batch-sizes",
                        args.batch_sizes, "--repeats", str(args.repeats), "--batch1-subset",
                        str(args.batch1_subset), "--data", args.data], env=env, check=True)


if __name__ == "__main__":
    main()
