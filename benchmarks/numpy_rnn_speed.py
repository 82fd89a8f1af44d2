"""Training speed of the hand-written NumPy RNN and LSTM classifiers against their torch twins.

    python benchmarks/numpy_rnn_speed.py [--threads 1,2] [--kinds rnn,lstm] [--batches 20]
                                         [--repeats 3]

The models are lesson 9's ``course_lib.nn.TextClassifier`` (Embedding, Dropout, RNN or LSTM,
MaxOverTime, Linear) and lesson 10's ``course_lib.rnn.SentimentClassifier`` with the same
weights (``load_torch_state_dict``), both float32, with the course's recipe (the ``best`` table of
``benchmarks/imdb_models.py``): vocabulary 20,000, emb = hidden = 200, embedding dropout 0.5,
Adam lr 2e-3 (torch's fused kernel where it has one, as ``course_lib.rnn.make_optimizer``),
gradient clipping at norm 1. The batches are IMDb-shaped random word ids: 32 reviews of 256
tokens (8,192 tokens a step, ``batch_by_tokens``' budget, whose batches have almost no padding).
A training step is forward, cross-entropy, zero_grad, backward, clip, optimizer step on both
sides; an "epoch" here is ``--batches`` steps (a full IMDb epoch is about 600 of them).

Before timing, both sides compute the loss of one batch in eval mode from the same weights: the
values must agree (both do the same work). Then ``course_lib.timing.median_seconds`` alternates
the sides (medians of ``--repeats``), and one step is split into forward / backward / optimizer
(clip included) to show where the time goes. Each thread count runs in a fresh process with the
BLAS thread variables and torch.set_num_threads set before anything is imported. Prints ratios
(NumPy / torch, below 1: NumPy is faster), asserts nothing, and writes
``benchmarks/results/numpy_rnn_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402  (imports neither numpy nor torch)

RESULTS = ROOT / "benchmarks/results/numpy_rnn_speed.json"
VOCAB, EMB, HIDDEN, B, T = 20_000, 200, 200, 32, 256
DROPOUT, LR, CLIP = 0.5, 2e-3, 1.0


def twins(kind: str):
    """(NumPy model, its loss and Adam; torch model, its Adam), with the same initial weights."""
    from course_lib import nn
    from course_lib.rnn import SentimentClassifier, make_optimizer

    theirs = SentimentClassifier(VOCAB, kind, emb=EMB, hidden=HIDDEN, dropout=DROPOUT, seed=0)
    ours = nn.TextClassifier(VOCAB, EMB, HIDDEN, kind, dropout=DROPOUT, rng=0)
    ours.load_torch_state_dict(theirs.state_dict())
    return (ours, nn.CrossEntropyLoss(), nn.Adam(ours.parameters(), lr=LR),
            theirs, make_optimizer(theirs, "adam", LR))


def worker(threads: int, kinds: list[str], n_batches: int, repeats: int) -> dict:
    import numpy as np
    import torch
    from torch.nn import functional as F

    from course_lib import nn
    from course_lib.timing import median_seconds, seconds

    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)  # as course_lib.rnn.fit does
    rng = np.random.default_rng(0)
    ids = rng.integers(1, VOCAB, (n_batches, B, T))
    c = rng.integers(0, 2, (n_batches, B))
    lengths = np.full(B, T)
    ids_t, c_t = torch.from_numpy(ids), torch.from_numpy(c)
    load_before = os.getloadavg()[0]
    print(f"threads={threads}  load average before: {load_before:.2f}")
    print(f"{'model':>5} | {'NumPy s':>8} | {'torch s':>8} | {'NumPy/torch':>11} | "
          f"per step, ms: forward / backward / optimizer, NumPy vs torch")
    out = {"load_before": load_before, "kinds": {}}
    for kind in kinds:
        ours, loss_fn, opt, theirs, t_opt = twins(kind)
        # Each side's training step in three phases: forward (with the loss), backward, update.
        phases = {
            "numpy": (lambda i: loss_fn(ours(ids[i], lengths), c[i]),
                      lambda _: (opt.zero_grad(), ours.backward(loss_fn.backward())),
                      lambda: (nn.clip_grad_norm(ours.parameters(), CLIP), opt.step())),
            "torch": (lambda i: F.cross_entropy(theirs(ids_t[i]), c_t[i]),
                      lambda loss: (t_opt.zero_grad(), loss.backward()),
                      lambda: (torch.nn.utils.clip_grad_norm_(theirs.parameters(), CLIP),
                               t_opt.step()))}
        ours.eval()
        theirs.eval()
        with torch.no_grad():
            check = (phases["numpy"][0](0), phases["torch"][0](0).item())
        ours.train()
        theirs.train()
        runs = {side: lambda order, p=p: [train_step(*p, i) for i in order]
                for side, p in phases.items()}
        med = median_seconds(runs, n_batches, repeats, rng, warm_up=2)
        parts = {side: split_step(*p, repeats, seconds) for side, p in phases.items()}
        ratio = med["numpy"] / med["torch"]
        print(f"{kind:>5} | {med['numpy']:8.2f} | {med['torch']:8.2f} | {ratio:11.2f} | "
              + "   ".join(f"{p}: {parts['numpy'][p] * 1e3:.0f} vs {parts['torch'][p] * 1e3:.0f}"
                         for p in parts["numpy"])
              + f"   (same-weights eval loss {check[0]:.5f} vs {check[1]:.5f})", flush=True)
        out["kinds"][kind] = {"numpy_s": med["numpy"], "torch_s": med["torch"], "ratio": ratio,
                              "step_parts_s": parts, "eval_loss_check": check}
    out["load_after"] = os.getloadavg()[0]
    print(f"load average after: {out['load_after']:.2f}\n")
    return out


def train_step(forward, backward, update, i: int) -> None:
    backward(forward(i))
    update()


def split_step(forward, backward, update, repeats: int, seconds) -> dict[str, float]:
    """Median seconds of each phase of a training step on batch 0."""
    import numpy as np

    times: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}
    for _ in range(repeats):
        start = time.perf_counter()
        loss = forward(0)
        times["forward"].append(time.perf_counter() - start)
        times["backward"].append(seconds(backward, loss))
        times["optimizer"].append(seconds(update))
    return {phase: float(np.median(t)) for phase, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--kinds", default="rnn,lstm")
    ap.add_argument("--batches", type=int, default=20, help="training steps per timed 'epoch'")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, kinds, args.batches, args.repeats)))
        return
    print(f"{os.cpu_count()} CPUs; one fresh process per thread count; seconds per {args.batches} "
          f"steps of {B} x {T} tokens, median of {args.repeats}\n")
    results = {"script": "benchmarks/numpy_rnn_speed.py", "date": time.strftime("%Y-%m-%d %H:%M"),
               "machine": machine(),
               "setup": {"vocab": VOCAB, "emb": EMB, "hidden": HIDDEN, "batch": B, "steps": T,
                         "dropout": DROPOUT, "lr": LR, "clip": CLIP, "batches": args.batches,
                         "repeats": args.repeats, "dtype": "float32"},
               "threads": {}}
    for t in args.threads.split(","):
        env = dict(os.environ, OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t)
        proc = subprocess.run([sys.executable, __file__, "--worker", t, "--kinds", args.kinds,
                               "--batches", str(args.batches), "--repeats", str(args.repeats)],
                              env=env, check=True, stdout=subprocess.PIPE, text=True)
        lines = proc.stdout.splitlines()
        print("\n".join(line for line in lines if not line.startswith("RESULT ")), flush=True)
        results["threads"][t] = json.loads(next(line for line in lines
                                                if line.startswith("RESULT "))[7:])
    results["ratio"] = {kind: {t: r["kinds"][kind]["ratio"] for t, r in results["threads"].items()}
                        for kind in kinds}
    print("NumPy / torch epoch time: " + "; ".join(
        f"{kind} " + ", ".join(f"{t} thread(s) {r:.2f}" for t, r in by_t.items())
        for kind, by_t in results["ratio"].items()))
    write_json(RESULTS, results)
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
