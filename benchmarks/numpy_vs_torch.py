"""One training epoch of a 784-300-10 ReLU MLP: course_lib.nn (NumPy) against PyTorch autograd.

    python benchmarks/numpy_vs_torch.py [--threads 1,2] [--repeats 5] [--data auto|random|mnist]

Both networks are built with their libraries' defaults, as a student writes them
(``nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 10))`` on both sides: float32),
and train from the same initial weights on the same shuffled batches with plain SGD (lr 0.01) and
cross-entropy: NumPy with Sequential / CrossEntropyLoss / SGD, PyTorch with loss.backward() and
torch.optim.SGD. The loops and the timing are those of lesson 6 (``course_lib.timing``). The
column ``fit()`` times the same NumPy epoch through course_lib.train.fit, which also tracks
accuracy. Batch size 1 runs on a subset and is scaled to 60,000 samples. Inference: one eval-mode
pass over 10,000 samples.

Each thread count runs in a fresh process, with the BLAS thread variables and
torch.set_num_threads set to the same number before anything is imported; all thread counts run
in the same invocation, one after the other. Times are medians of ``--repeats`` alternating runs;
the load average is recorded before and after each, because a busy core slows two-thread runs
most. Prints ratios (NumPy / PyTorch, below 1: NumPy is faster), asserts nothing, and writes
everything to ``benchmarks/results/numpy_vs_torch.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402  (imports neither numpy nor torch)

RESULTS = ROOT / "benchmarks/results/numpy_vs_torch.json"
N_TRAIN, N_TEST, LR = 60_000, 10_000, 0.01


def load_data(kind: str):
    import numpy as np
    if kind in ("auto", "mnist"):
        try:
            from course_lib.data import load_mnist
            (x, c), (x_test, _), _ = load_mnist(final=True)
            return x, c, x_test, "MNIST"
        except Exception as e:  # noqa: BLE001 - any failure falls back to random data
            if kind == "mnist":
                raise
            print(f"(MNIST not loadable: {e!r}; using random data)")
    rng = np.random.default_rng(0)
    return (rng.random((N_TRAIN, 784), dtype=np.float32), rng.integers(0, 10, N_TRAIN),
            rng.random((N_TEST, 784), dtype=np.float32), "random MNIST-shaped")


def worker(threads: int, batch_sizes: list[int], repeats: int, batch1_subset: int, data: str) -> dict:
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    from course_lib import nn
    from course_lib.timing import median_seconds, numpy_epoch, torch_epoch
    from course_lib.train import fit

    x, c, x_test, source = load_data(data)
    load_before = os.getloadavg()[0]
    print(f"threads={threads}  data: {source}  load average before: {load_before:.2f}")
    model = nn.Sequential(nn.Linear(784, 300, rng=0), nn.ReLU(), nn.Linear(300, 10, rng=1))
    loss_fn, opt = nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=LR)
    t_model = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 10))
    with torch.no_grad():
        for ours, theirs in zip([model[0], model[2]], [t_model[0], t_model[2]]):
            theirs.weight.copy_(torch.from_numpy(ours.weight.value.T))
            theirs.bias.copy_(torch.from_numpy(ours.bias.value))
    dtypes = {str(p.value.dtype) for p in model.parameters()} | {str(p.dtype) for p in t_model.parameters()}
    t_loss_fn, t_opt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(t_model.parameters(), lr=LR)
    t_x, t_c = torch.from_numpy(x), torch.from_numpy(c)
    rng = np.random.default_rng(0)

    def fit_epoch(order: np.ndarray, bs: int) -> float:  # fit shuffles the first len(order) itself
        return fit(model, loss_fn, opt, (x[:len(order)], c[:len(order)]), epochs=1, batch_size=bs,
                   seed=int(order[0]), progress=False).train_loss[-1]

    # Same start, same batches: the losses must agree (both sides really do the same work).
    order = rng.permutation(len(x))[:6400]
    print(f"parameters: {', '.join(sorted(dtypes))}; check, 50 batches of 128 from the same "
          f"weights: last loss NumPy {numpy_epoch(model, loss_fn, opt, x, c, order, 128):.5f}, "
          f"torch {torch_epoch(t_model, t_loss_fn, t_opt, t_x, t_c, order, 128):.5f}")
    print(f"{'batch':>5} | {'NumPy s':>8} | {'torch s':>8} | {'NumPy/torch':>11} | {'fit() s':>8}"
          "   (seconds per 60,000-sample epoch, median)")
    epochs = {}
    for bs in batch_sizes:
        n = batch1_subset if bs == 1 else N_TRAIN
        scale = N_TRAIN / n
        runs = {"numpy": partial(numpy_epoch, model, loss_fn, opt, x, c, batch_size=bs),
                "torch": partial(torch_epoch, t_model, t_loss_fn, t_opt, t_x, t_c, batch_size=bs),
                "fit": partial(fit_epoch, bs=bs)}
        med = median_seconds(runs, len(x), repeats, rng, n=n, warm_up=min(n, 20 * bs))
        med = {side: s * scale for side, s in med.items()}
        epochs[bs] = {"numpy_s": med["numpy"], "torch_s": med["torch"],
                      "ratio": med["numpy"] / med["torch"], "fit_s": med["fit"]}
        print(f"{bs:>5} | {med['numpy']:8.3f} | {med['torch']:8.3f} | "
              f"{med['numpy'] / med['torch']:11.2f} | {med['fit']:8.3f}"
              + (f"   (on {n} samples, x{scale:g})" if scale != 1 else ""), flush=True)

    model.eval()
    t_model.eval()
    t_x_test = torch.from_numpy(x_test)

    def t_infer(_):
        with torch.no_grad():
            t_model(t_x_test)

    inf = median_seconds({"numpy": lambda _: model(x_test), "torch": t_infer}, 1, repeats, rng,
                         warm_up=1)
    load_after = os.getloadavg()[0]
    print(f"inference on {N_TEST} samples: NumPy {inf['numpy'] * 1e3:.1f} ms, torch "
          f"{inf['torch'] * 1e3:.1f} ms, ratio {inf['numpy'] / inf['torch']:.2f}   "
          f"load average after: {load_after:.2f}\n")
    return {"data": source, "parameter_dtypes": sorted(dtypes), "load_before": load_before,
            "load_after": load_after, "epochs": epochs,
            "inference": {"numpy_s": inf["numpy"], "torch_s": inf["torch"],
                          "ratio": inf["numpy"] / inf["torch"]}}


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
        result = worker(args.worker, sizes, args.repeats, args.batch1_subset, args.data)
        print("RESULT " + json.dumps(result))
        return
    print(f"{os.cpu_count()} CPUs; one fresh process per thread count\n")
    results = {"script": "benchmarks/numpy_vs_torch.py",
               "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "model": "Sequential(Linear(784, 300), ReLU(), Linear(300, 10)), library defaults "
                        "(float32) on both sides; SGD lr 0.01, cross-entropy",
               "n_train": N_TRAIN, "n_test": N_TEST, "repeats": args.repeats, "threads": {}}
    for t in (int(t) for t in args.threads.split(",")):
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   MKL_NUM_THREADS=str(t))
        out = subprocess.run([sys.executable, __file__, "--worker", str(t), "--batch-sizes",
                              args.batch_sizes, "--repeats", str(args.repeats), "--batch1-subset",
                              str(args.batch1_subset), "--data", args.data],
                             env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
        lines = out.splitlines()
        print("\n".join(line for line in lines if not line.startswith("RESULT ")), flush=True)
        results["threads"][str(t)] = json.loads(next(line for line in lines
                                                     if line.startswith("RESULT "))[7:])
    at_128 = {t: r["epochs"]["128"]["ratio"] for t, r in results["threads"].items()
              if "128" in r["epochs"]}
    results["ratio_at_batch_128"] = at_128
    print("NumPy / PyTorch epoch time at batch 128: "
          + ", ".join(f"{t} thread(s) {r:.2f}" for t, r in at_128.items()))
    write_json(RESULTS, results)
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
