"""IMDb sentiment: the four classifiers, epochs and settings chosen on validation, tested once.

Run: python benchmarks/imdb_models.py --fresh [--tables report_c,best] [--models mlp,elman,rnn,lstm]
     python benchmarks/imdb_models.py --markdown      (the README tables, from the JSON)

Every model trains on 20,000 of the 25,000 training reviews (``load_imdb``'s seeded split) and
is measured after each epoch on the other 5,000 (validation). Each model's grid point and epoch
are chosen by validation accuracy alone; only then is that one state evaluated, once, on the
25,000 test reviews (mapped into the 20,000-review vocabulary). Two tables:

* ``report_c``: report C's setup: emb = hidden = 300, Adam lr 1e-3, no dropout, one epoch; its
  self-built Elman (sigmoid, residual "around": e + body(e)) also with no residual and with the
  residual "inside" the recurrence; its torch Elman as ``nn.RNN`` (tanh, "around"), built right
  (``batch_first=True``; lesson 10 shows report C's mistake);
* ``best``: the course's recipe (the LSTM's old ``--best``: emb = hidden = 200, embedding dropout
  0.5, Adam 2e-3 x0.7 per epoch, clip 1.0), at most 3 epochs, stopping once validation drops;
  the self-built Elman also tries it with the residual "around", without dropout at lr 1e-3
  and 2e-3, and as report C's sigmoid Elman of 300 units without its residual (the best Elman
  of the report_c table on validation); nn.RNN, which computes the same function as the
  Elman, only without dropout at lr 1e-3, to save time.

Same data for both: vocabulary 20,000, reviews cut at 400 tokens, 8,192 tokens per training step.
Training CPU time is ``time.process_time()`` (all threads of this process; --threads, default 1);
the load average is noted before and after each epoch. Results go to
benchmarks/results/imdb_models.json, updated after every epoch (a lock guards it, so two
processes with different --models can share it); a rerun skips finished runs, whose chosen
states wait in --checkpoints for the test evaluation.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib.data.batching import batch_by_tokens  # noqa: E402
from course_lib.data.imdb import UNK, load_imdb  # noqa: E402
from course_lib.rnn import SentimentClassifier, evaluate, make_optimizer, train_epoch  # noqa: E402
from course_lib.train import TrainingDiverged  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "imdb_models.json"
VOCAB, MAX_LEN, MAX_TOKENS = 20_000, 400, 8192
REPORT_C_TEST = {"mlp": 0.8455, "elman": 0.8562, "rnn": 0.8276, "lstm": 0.7533}  # its tables 1, 3
REPORT_C = dict(emb=300, hidden=300, dropout=0.0, lr=1e-3, lr_decay=1.0, clip=None, epochs=1)
BEST = dict(emb=200, hidden=200, dropout=0.5, lr=2e-3, lr_decay=0.7, clip=1.0, epochs=3)
ELMAN = {"dropout": 0.0, "lr": 1e-3}  # the Elmans learn slowly under BEST's dropout
# table -> entry -> (kind, settings, grid): each grid point overrides settings
TABLES = {
    "report_c": {
        "mlp": ("mlp", REPORT_C, [{}]),
        "elman": ("elman", {**REPORT_C, "nonlinearity": "sigmoid", "residual": "around"}, [{}]),
        "elman, no residual": ("elman", {**REPORT_C, "nonlinearity": "sigmoid"}, [{}]),
        "elman, residual inside": ("elman", {**REPORT_C, "nonlinearity": "sigmoid",
                                             "residual": "inside"}, [{}]),
        "rnn": ("rnn", {**REPORT_C, "residual": "around"}, [{}]),
        "lstm": ("lstm", REPORT_C, [{}]),
    },
    "best": {  # cut to fit a shared 2-core machine
        "lstm": ("lstm", BEST, [{}]),
        "mlp": ("mlp", BEST, [{}]),
        "elman": ("elman", {**BEST, "epochs": 2}, [{"residual": None}, {"residual": "around"},
                                                   {**ELMAN, "epochs": 3},
                                                   {**ELMAN, "lr": 2e-3, "epochs": 3},
                                                   {**ELMAN, "epochs": 3, "emb": 300, "hidden": 300,
                                                    "nonlinearity": "sigmoid"}]),
        "rnn": ("rnn", BEST, [ELMAN]),
    },
}


def load_data(vocab: int | None = VOCAB, full_train: bool = False) -> dict:
    """train (20,000) / val (5,000) / test (25,000): x lists of word-id arrays, c lists of labels;
    with ``full_train``, train is all 25,000 training reviews and val is empty. The vocabulary
    (``vocab`` entries, None for every word) comes from the training reviews; test words outside
    it are ``.unk``; ``data["words"]`` is its size."""
    (x_tr, c_tr), (x_va, c_va), (i2w, w2i), _ = load_imdb(full_train, vocab_size=vocab)
    if full_train:
        return {"train": (x_tr, c_tr), "val": ([], []), "test": (x_va, c_va), "words": len(i2w)}
    _, (x_te, c_te), (i2w_all, _), _ = load_imdb(final=True)  # every training word kept
    to_ours = np.array([w2i.get(w, UNK) for w in i2w_all])
    return {"train": (x_tr, c_tr), "val": (x_va, c_va), "words": len(i2w),
            "test": ([to_ours[np.asarray(r, dtype=np.int64)] for r in x_te], c_te)}


def update_results(path: Path, key: tuple[str, ...], value: dict) -> dict:
    """Set results[key[0]][key[1]]... = value in the JSON at ``path``, under a file lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(path.read_text()) if path.exists() else {}
        node = results
        for k in key[:-1]:
            node = node.setdefault(k, {})
        node[key[-1]] = value
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1) + "\n")
        os.replace(tmp, path)
    return results


def train_run(kind: str, settings: dict, data: dict, val: list, checkpoint: Path,
              record: Callable[[dict], object]) -> dict:
    """Train one grid point, evaluating on validation after every epoch and saving the best
    state to ``checkpoint``; stop at the first epoch whose validation accuracy drops.
    ``record(run)`` is called with the run so far after every epoch."""
    model = SentimentClassifier(VOCAB, kind, settings["emb"], settings["hidden"],
                                settings.get("residual"), settings.get("nonlinearity", "tanh"),
                                settings["dropout"], seed=0)
    torch.set_flush_denormal(True)  # what fit() does; the loop is spelled out to time
    torch.manual_seed(0)            # training apart from evaluation
    opt = make_optimizer(model, "adam", settings["lr"])
    run = {"settings": settings, "epochs": [], "done": False}
    x_tr, c_tr = data["train"]
    for epoch in range(settings["epochs"]):
        batches = batch_by_tokens(x_tr, c_tr, MAX_TOKENS, seed=epoch, max_len=MAX_LEN)
        load, wall, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
        try:
            _, train_acc = train_epoch(model, opt, batches, settings["clip"], epoch=epoch,
                                       progress=False)
        except TrainingDiverged as err:
            run["diverged"] = str(err).splitlines()[0]
            break
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        for group in opt.param_groups:  # as fit(lr_decay=...) does
            group["lr"] *= settings["lr_decay"]
        val_acc = evaluate(model, val)[1]
        run["epochs"].append({"train_acc": train_acc, "val_acc": val_acc, "cpu_s": round(cpu, 1),
                              "wall_s": round(wall, 1),
                              "load": [round(load, 2), round(os.getloadavg()[0], 2)]})
        record(run)
        print(f"  epoch {epoch + 1}: train {train_acc:.4f}, val {val_acc:.4f}, "
              f"{cpu / 60:.2f} CPU-min ({wall / 60:.2f} min wall)", flush=True)
        if val_acc > max((e["val_acc"] for e in run["epochs"][:-1]), default=-1.0):
            torch.save(model.state_dict(), checkpoint)
        else:
            break
    run["done"] = True
    return run


def run_entry(table: str, name: str, data: dict, batches: dict, checkpoints: Path) -> None:
    """Train an entry's grid (skipping finished runs), choose on validation, test once."""
    kind, settings, grid = TABLES[table][name]
    runs = json.loads(RESULTS.read_text()).get("runs", {}).get(table, {}).get(name, {}) \
        if RESULTS.exists() else {}
    for i, point in enumerate(grid):
        label = json.dumps(point) if point else "as set"
        ckpt = checkpoints / f"{table}-{name}-{i}.pt".replace(" ", "_").replace(",", "")
        if runs.get(label, {}).get("done") and (ckpt.exists() or "diverged" in runs[label]):
            continue
        print(f"{table} / {name} / {label}", flush=True)
        runs[label] = train_run(kind, {**settings, **point}, data, batches["val"], ckpt,
                                lambda run: update_results(RESULTS, ("runs", table, name, label),
                                                           run))
        runs[label]["checkpoint"] = str(ckpt)
        update_results(RESULTS, ("runs", table, name, label), runs[label])
    candidates = [(e["val_acc"], label, j) for label, run in runs.items()
                  for j, e in enumerate(run["epochs"])]
    if not candidates:
        return
    val_acc, label, epoch = max(candidates)
    run = runs[label]
    model = SentimentClassifier(VOCAB, kind, run["settings"]["emb"], run["settings"]["hidden"],
                                run["settings"].get("residual"),
                                run["settings"].get("nonlinearity", "tanh"))
    model.load_state_dict(torch.load(run["checkpoint"]))
    test_acc = evaluate(model, batches["test"])[1]
    cpu = [e["cpu_s"] for e in run["epochs"]]
    update_results(RESULTS, ("results", table, name), {
        "kind": kind, "chosen": label, "epoch": epoch + 1, "val_acc": val_acc,
        "test_acc": test_acc, "cpu_min_per_epoch": round(sum(cpu) / len(cpu) / 60, 2),
        "cpu_min_to_chosen_epoch": round(sum(cpu[:epoch + 1]) / 60, 2),
        "grid_cpu_min": round(sum(e["cpu_s"] for r in runs.values() for e in r["epochs"]) / 60, 2),
        "report_c_test": REPORT_C_TEST.get(name)})
    print(f"{table} / {name}: chose {label}, epoch {epoch + 1} (val {val_acc:.4f}); "
          f"test {test_acc:.4f}", flush=True)


def markdown(results: dict) -> str:
    """The README's two tables and the machine's line, every number read from ``results``."""
    def pct(a: float | None) -> str:
        return "—" if a is None else f"{100 * a:.2f}%"

    def body(kind: str, settings: dict) -> str:
        recurrence = settings.get("nonlinearity", "tanh") if kind in ("elman", "rnn") else ""
        residual = f"residual {settings['residual']}" if settings.get("residual") else ""
        return ", ".join(filter(None, [f"{settings['emb']}/{settings['hidden']}", recurrence,
                                       residual, f"dropout {settings['dropout']}"]))
    runs = results.get("runs", {})
    lines = []
    for table, title in [("report_c", "Report C's setup (300 units, Adam 1e-3, one epoch)"),
                         ("best", "The course's recipe, grid point and epoch chosen on "
                                  "validation")]:
        lines += [f"**{title}**", "", "| model | body | chosen on validation | validation | "
                  "**test** | CPU-min per epoch | CPU-min to the chosen epoch (whole grid) | "
                  "report C |", "|---|---|---|---|---|---|---|---|"]
        done = results.get("results", {}).get(table, {})
        for name in (n for n in TABLES[table] if n in done):
            r = done[name]
            settings = runs[table][name][r["chosen"]]["settings"]
            n_runs = len(runs[table][name])
            grid = f" (best of {n_runs} grid points)" if n_runs > 1 else ""
            lines.append(f"| {name} | {body(r['kind'], settings)} | lr {settings['lr']:g}, epoch "
                         f"{r['epoch']}{grid} | {pct(r['val_acc'])} | "
                         f"**{pct(r['test_acc'])}** | {r['cpu_min_per_epoch']:.2f} | "
                         f"{r['cpu_min_to_chosen_epoch']:.2f} ({r['grid_cpu_min']:.2f}) | "
                         f"{pct(r['report_c_test'])} |")
        lines.append("")
    loads = [x for t in runs.values() for entry in t.values()
             for run in entry.values() for e in run["epochs"] for x in e["load"]]
    m = results["machine"]
    lines.append(f"{m['cpu']}, {m['cores']} cores, {m['threads']} torch thread per process, "
                 f"torch {m['torch']}; load average {min(loads):.1f}–{max(loads):.1f} during the "
                 f"epochs; {m['data']}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="best,report_c")
    parser.add_argument("--models", default="lstm,mlp,elman,rnn",
                        help="kinds to run, in this order")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoints", type=Path, default=Path("/tmp/imdb_models_checkpoints"))
    parser.add_argument("--markdown", action="store_true", help="print the README tables")
    parser.add_argument("--fresh", action="store_true",
                        help="start from scratch: delete the JSON and the checkpoints first (one process only)")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    if args.fresh:
        RESULTS.unlink(missing_ok=True)
        for state in args.checkpoints.glob("*") if args.checkpoints.is_dir() else ():
            state.unlink()
    torch.set_num_threads(args.threads)
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    update_results(RESULTS, ("machine",), {
        "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name")), platform.processor()),
        "cores": os.cpu_count(), "threads": args.threads, "torch": torch.__version__,
        "data": f"train 20,000 / validation 5,000 (load_imdb seed 0) / test 25,000; vocabulary "
                f"{VOCAB:,}, reviews cut at {MAX_LEN} tokens, {MAX_TOKENS:,} tokens per step"})
    data = load_data()
    batches = {part: list(batch_by_tokens(*data[part], 4 * MAX_TOKENS, shuffle=False,
                                          max_len=MAX_LEN)) for part in ("val", "test")}
    for table in args.tables.split(","):
        for kind in args.models.split(","):
            for name, (entry_kind, _, _) in TABLES[table].items():
                if entry_kind == kind:
                    run_entry(table, name, data, batches, args.checkpoints)


if __name__ == "__main__":
    main()
