"""Lesson 9's NumPy classifiers (backward through time by hand) against their PyTorch twins, full size.

Run: python benchmarks/bptt_imdb.py [--kinds rnn,lstm] [--seeds 0,1,2] [--fresh]
     python benchmarks/bptt_imdb.py --markdown      (the README table, from the JSON)

``course_lib.nn.TextClassifier`` (Embedding → RNN or LSTM → MaxOverTime → Linear, every backward
written by hand) and ``course_lib.rnn.SentimentClassifier`` (the same model in torch, autograd's
backward) train with the course's recipe of ``imdb_models.py`` (emb = hidden = 200, Adam x0.7 per
epoch, clip 1.0, up to 3 epochs; the RNN without dropout at lr 1e-3, the LSTM with embedding
dropout 0.5 at lr 2e-3). For each seed both twins start from the same weights (the torch model's,
copied with ``load_torch_state_dict``) and see the same batches; only dropout masks differ. After
each epoch both are measured on the 5,000 validation reviews; the epoch with the best validation
accuracy is chosen (training stops once it drops) and only that state is evaluated, once, on the
25,000 test reviews. CPU time is ``time.process_time()`` with one thread (run with
OMP_NUM_THREADS=1). Results go to benchmarks/results/bptt_imdb.json after every epoch; a rerun
skips finished runs (an unfinished one starts again), so several processes (``--kinds rnn`` and
``--kinds lstm``) may share the file.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine  # noqa: E402
from benchmarks.imdb_models import BEST, ELMAN, MAX_LEN, MAX_TOKENS, VOCAB, load_data, update_results  # noqa: E402
from course_lib import nn as cnn  # noqa: E402
from course_lib.data.batching import batch_by_tokens  # noqa: E402
from course_lib.rnn import SentimentClassifier, evaluate, make_optimizer, train_epoch  # noqa: E402
from course_lib.train import TrainingDiverged, check_finite  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "bptt_imdb.json"
RECIPES = {"rnn": {**BEST, **ELMAN}, "lstm": BEST}


def numpy_accuracy(model: cnn.TextClassifier, batches: list) -> float:
    model.eval()
    correct = sum(int((model(x.numpy()).argmax(axis=1) == c.numpy()).sum()) for x, c in batches)
    model.train()
    return correct / sum(len(c) for _, c in batches)


def numpy_epoch(model: cnn.TextClassifier, optimizer: cnn.Adam, batches, clip: float,
                epoch: int) -> None:
    """One epoch of lesson 9's loop: forward, backward through time, clip, Adam step."""
    loss_fn = cnn.CrossEntropyLoss()
    for step, (x, c) in enumerate(batches):
        loss = loss_fn(model(x.numpy()), c.numpy())
        check_finite(loss, f"epoch {epoch + 1}, step {step + 1}")
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        cnn.clip_grad_norm(model.parameters(), clip)
        optimizer.step()


def train_twin(kind: str, impl: str, seed: int, data: dict, held: dict, record) -> dict:
    """Train one twin for one seed; returns its run (per-epoch validation, the chosen epoch's test)."""
    s = RECIPES[kind]
    twin = SentimentClassifier(VOCAB, kind, s["emb"], s["hidden"], None, "tanh", s["dropout"],
                               seed=seed)
    torch.manual_seed(seed)  # torch's dropout masks
    if impl == "numpy":
        model = cnn.TextClassifier(VOCAB, s["emb"], s["hidden"], kind, dropout=s["dropout"],
                                   rng=seed)
        model.load_torch_state_dict(twin.state_dict())
        optimizer = cnn.Adam(model.parameters(), lr=s["lr"])
        scheduler = cnn.ExponentialLR(optimizer, gamma=s["lr_decay"])
        snapshot = lambda: [p.value.copy() for p in model.parameters()]  # noqa: E731
        accuracy = lambda batches: numpy_accuracy(model, batches)  # noqa: E731
    else:
        model, optimizer = twin, make_optimizer(twin, "adam", s["lr"])
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=s["lr_decay"])
        snapshot = lambda: {k: v.clone() for k, v in model.state_dict().items()}  # noqa: E731
        accuracy = lambda batches: evaluate(model, batches)[1]  # noqa: E731
    run = {"settings": s, "epochs": [], "done": False}
    best, best_state = -1.0, None
    x_tr, c_tr = data["train"]
    for epoch in range(s["epochs"]):
        batches = batch_by_tokens(x_tr, c_tr, MAX_TOKENS, seed=100 * seed + epoch, max_len=MAX_LEN)
        load, cpu = os.getloadavg()[0], time.process_time()
        try:
            if impl == "numpy":
                numpy_epoch(model, optimizer, batches, s["clip"], epoch)
            else:
                train_epoch(model, optimizer, batches, s["clip"], epoch=epoch, progress=False)
        except TrainingDiverged as err:
            run["diverged"] = str(err).splitlines()[0]
            break
        cpu = time.process_time() - cpu
        scheduler.step()
        val_acc = accuracy(held["val"])
        run["epochs"].append({"val_acc": val_acc, "cpu_s": round(cpu, 1),
                              "load": [round(load, 2), round(os.getloadavg()[0], 2)]})
        record(run)
        print(f"  {kind} {impl} seed {seed} epoch {epoch + 1}: val {val_acc:.4f}, "
              f"{cpu / 60:.2f} CPU-min", flush=True)
        if val_acc <= best:
            break
        best, best_state, run["chosen_epoch"] = val_acc, snapshot(), epoch + 1
    if best_state is not None:
        if impl == "numpy":
            for p, value in zip(model.parameters(), best_state):
                p.value[...] = value
        else:
            model.load_state_dict(best_state)
        run["val_acc"], run["test_acc"] = best, accuracy(held["test"])
    run["done"] = True
    return run


def summary(results: dict) -> dict:
    """Per kind and implementation over the finished seeds: mean and std of validation and test
    accuracy, chosen epochs, CPU-minutes per epoch; and the NumPy / torch ratio of the latter."""
    out = {}
    for kind, impls in results.get("runs", {}).items():
        for impl, seeds in impls.items():
            finished = sorted((int(k), r) for k, r in seeds.items() if r.get("done") and "test_acc" in r)
            if not finished:
                continue
            done = [r for _, r in finished]
            cpu = [e["cpu_s"] / 60 for r in done for e in r["epochs"]]
            out.setdefault(kind, {})[impl] = {
                "seeds": [seed for seed, _ in finished],
                **{f"{m}_mean": statistics.mean(r[m] for r in done) for m in ("val_acc", "test_acc")},
                **{f"{m}_std": statistics.stdev(r[m] for r in done) if len(done) > 1 else 0.0
                   for m in ("val_acc", "test_acc")},
                "chosen_epochs": [r["chosen_epoch"] for r in done],
                "cpu_min_per_epoch": statistics.mean(cpu)}
        if {"numpy", "torch"} <= set(out.get(kind, {})):
            n, t = out[kind]["numpy"], out[kind]["torch"]
            out[kind]["numpy_over_torch_time"] = n["cpu_min_per_epoch"] / t["cpu_min_per_epoch"]
            out[kind]["test_gap_points"] = 100 * (n["test_acc_mean"] - t["test_acc_mean"])
    return out


def pct(r: dict, metric: str) -> str:
    """Mean ± std over the seeds in percent (the mean alone for one seed)."""
    mean, std = 100 * r[f"{metric}_mean"], 100 * r[f"{metric}_std"]
    return f"{mean:.2f} ± {std:.2f}%" if len(r["seeds"]) > 1 else f"{mean:.2f}%"


def markdown(results: dict) -> str:
    lines = ["| model | implementation | seeds | validation | **test** | epochs chosen | "
             "CPU-min per epoch | NumPy ÷ torch |", "|---|---|---|---|---|---|---|---|"]
    for kind, entry in results["summary"].items():
        for impl in ("numpy", "torch"):
            if impl not in entry:
                continue
            r = entry[impl]
            name = ("`course_lib.nn.TextClassifier` (backward by hand)" if impl == "numpy" else
                    "`course_lib.rnn.SentimentClassifier` (autograd)")
            ratio = entry.get("numpy_over_torch_time") if impl == "numpy" else None
            lines.append(f"| {kind} | {name} | {', '.join(map(str, r['seeds']))} | "
                         f"{pct(r, 'val_acc')} | **{pct(r, 'test_acc')}** | "
                         f"{', '.join(map(str, r['chosen_epochs']))} | {r['cpu_min_per_epoch']:.2f} | "
                         f"{'' if ratio is None else f'{ratio:.2f}'} |")
    m = results["machine"]
    lines += ["", f"{m['cpu']}, {m['cores']} cores, one thread per process, torch {m['torch']}, "
                  f"numpy {m['numpy']}; {m['data']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="rnn,lstm")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    parser.add_argument("--fresh", action="store_true", help="delete the JSON first")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    if args.fresh:
        RESULTS.unlink(missing_ok=True)
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    update_results(RESULTS, ("machine",), {
        **machine(), "date": time.strftime("%Y-%m-%d"),
        "data": f"train 20,000 / validation 5,000 (load_imdb seed 0) / test 25,000; vocabulary "
                f"{VOCAB:,}, reviews cut at {MAX_LEN} tokens, {MAX_TOKENS:,} tokens per step"})
    data = load_data()
    held = {part: list(batch_by_tokens(*data[part], 4 * MAX_TOKENS, shuffle=False, max_len=MAX_LEN))
            for part in ("val", "test")}
    for seed in map(int, args.seeds.split(",")):
        for kind in args.kinds.split(","):
            for impl in ("numpy", "torch"):
                key = ("runs", kind, impl, str(seed))
                done = json.loads(RESULTS.read_text()).get("runs", {}).get(kind, {}).get(impl, {})
                if done.get(str(seed), {}).get("done"):
                    continue
                run = train_twin(kind, impl, seed, data, held,
                                 lambda r, key=key: update_results(RESULTS, key, r))
                results = update_results(RESULTS, key, run)
                update_results(RESULTS, ("summary",), summary(results))


if __name__ == "__main__":
    main()
