"""The full-size MLP studies of lessons 3 and 6, written to benchmarks/results/mlp_studies.json.

    python benchmarks/mlp_studies.py                       # every study (about 10 minutes)
    python benchmarks/mlp_studies.py --study twins hidden  # some of them; the others are kept
    python benchmarks/mlp_studies.py --markdown            # the README's rows, from the file

Studies (``course_lib.studies``, sizes in ``studies.SIZES["..."]["full"]``, the same a lesson
runs with ``FULL = True``):

  wide_deep       MNIST: accuracy and seconds per epoch over width x depth, and equal budgets
  weight_decay    MNIST, report B: train vs validation accuracy over L2 λ from 0.01 to 0.5
  hidden          MNIST, report B: the same over 10 / 20 / 50 / 100 hidden units
  early_stopping  MNIST: the epoch chosen on the validation loss against training to the end
  twins           disk set, report D: course_lib.nn against torch.nn, same recipe, and D's recipe
  confusion       MNIST: lesson 3's 784-300-10 network, its confusion matrix on validation

One BLAS thread and one torch thread (as the lessons run); the load average before and after
each study goes into the file with the date, the commit and the machine, since timings on a
shared machine are noisy (ratios within one run less so). Needs the MNIST files: set
COURSE_DATA_DIR (e.g. ../shared/data) or let the loader download them.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402
from course_lib import studies  # noqa: E402
from course_lib.data import load_mnist  # noqa: E402
from course_lib.mlp import MLP  # noqa: E402
from course_lib.train import confusion_matrix, top_confusions  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "mlp_studies.json"


def mnist() -> tuple[studies.Data, tuple[np.ndarray, np.ndarray]]:
    """((55,000 train), (5,000 validation)) and the 10,000 test images."""
    train, val, _ = load_mnist()
    _, test, _ = load_mnist(final=True)
    return (train, val), test


def wide_deep() -> dict:
    data, _ = mnist()
    sizes = studies.SIZES["wide_deep"]["full"]
    return dict(sizes, recipe="SGD lr 0.05, momentum 0.9, batch 64, torch init, ReLU",
                rows=studies.wide_vs_deep(data, **sizes))


def weight_decay() -> dict:
    data, _ = mnist()
    sizes = dict(studies.SIZES["weight_decay"]["full"])
    settings = [dict(hidden=sizes["hidden"], weight_decay=wd) for wd in sizes["weight_decays"]]
    return dict(sizes, recipe="SGD lr 0.1, batch 32", rows=studies.gap_sweep(
        data, settings, n_train=sizes["n_train"], epochs=sizes["epochs"]))


def hidden() -> dict:
    data, _ = mnist()
    sizes = studies.SIZES["hidden"]["full"]
    settings = [dict(hidden=h, weight_decay=0.0) for h in sizes["hidden_sizes"]]
    return dict(sizes, recipe="SGD lr 0.1, batch 32", rows=studies.gap_sweep(
        data, settings, n_train=sizes["n_train"], epochs=sizes["epochs"]))


def early_stopping() -> dict:
    data, test = mnist()
    sizes = studies.SIZES["early_stopping"]["full"]
    return dict(sizes, recipe="SGD lr 0.05, momentum 0.9, batch 32",
                **studies.early_stopping(data, test, **sizes))


def twins() -> dict:
    return {recipe: dict(epochs=epochs, **studies.RECIPES[recipe],
                         **studies.disk_twins(recipe, epochs))
            for recipe, epochs in studies.SIZES["twins"]["full"].items()}


def confusion() -> dict:
    """Lesson 3's section 7 network (784-300-10 ReLU, lr 0.1, batch 32, 5 epochs, seed 0)."""
    ((x, c), (x_val, c_val)), _ = mnist()
    model = MLP(784, 300, 10, activation="relu", seed=0)
    model.fit(x, c, epochs=5, lr=0.1, batch_size=32, seed=0)
    cm = confusion_matrix(c_val, model.predict(x_val), 10)
    recall = np.diag(cm) / cm.sum(axis=1)
    return dict(val_acc=float(np.trace(cm) / cm.sum()), matrix=cm.tolist(),
                recall=recall.tolist(), top_confusions=top_confusions(cm, 5))


STUDIES = {f.__name__: f for f in (wide_deep, weight_decay, hidden, early_stopping, twins,
                                   confusion)}


def commit() -> str:
    """The checkout's commit, short form, that the study ran on."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()


def markdown(r: dict) -> str:
    """The README's rows and table, every number read from the results ``r``."""
    pct = "{:.2%}".format
    lines = []
    cf = r["confusion"]
    worst = sorted(range(10), key=lambda k: cf["recall"][k])[:2]
    lines.append(f"| 3 | confusion matrix of the 784-300-10 net above, 5,000 validation images | "
                 f"{pct(cf['val_acc'])} overall; per digit from "
                 + " and ".join(f"{pct(cf['recall'][k])} ({k})" for k in worst)
                 + f" to {pct(max(cf['recall']))} ({int(np.argmax(cf['recall']))}); most frequent "
                 "mistakes " + ", ".join(f"{i}→{j} ({n})" for i, j, n in cf["top_confusions"][:3])
                 + " | — | `mlp_studies.json` |")
    for recipe, ref in (("course", "D: PyTorch 150 vs 70 epochs, 0.65 vs 0.24 s per epoch"),
                        ("report D", "D: 98.58 ± 0.68%")):
        t = r["twins"][recipe]
        n, th = t["numpy"], t["torch"]
        lines.append(
            f"| 6 | disk twins, {recipe} recipe, {t['epochs']} epochs: `course_lib.nn` vs `torch.nn` "
            f"| {pct(n['val_acc'][-1])} vs {pct(th['val_acc'][-1])} validation, 97% from epoch "
            f"{n['epoch_reaching']} vs {th['epoch_reaching']}; {1e3 * n['s_per_epoch']:.1f} vs "
            f"{1e3 * th['s_per_epoch']:.1f} ms per epoch (torch "
            f"{th['s_per_epoch'] / n['s_per_epoch']:.1f}×) | {ref} | `mlp_studies.json` |")
    for study, key, label in (("weight_decay", "weight_decay", "L2 λ"), ("hidden", "hidden", "hidden units")):
        s = r[study]
        rows = "; ".join(f"{x[key]:g}: {pct(x['val_acc'])} ({100 * x['gap']:.1f})" for x in s["rows"])
        net = f"784-{s['hidden']}-10, " if study == "weight_decay" else "784-h-10, "
        lines.append(f"| 6 | {label} sweep, {net}{s['n_train']:,} images, {s['epochs']} epochs: "
                     f"val acc (train − val gap, points) | {rows} | B | `mlp_studies.json` |")
    e = r["early_stopping"]
    lines.append(f"| 6 | early stopping on the validation loss, 784-{e['hidden']}-10, {e['n_train']:,} "
                 f"images, up to {e['max_epochs']} epochs, patience {e['patience']} | best epoch "
                 f"{e['best_epoch']}, stopped after {e['stopped_after']}: test {pct(e['test_acc_best'])}"
                 f" (trained to the end: {pct(e['test_acc_last'])}) | — | `mlp_studies.json` |")
    w = r["wide_deep"]
    depths = w["depths"]
    lines += ["", "| parameters | " + " | ".join(f"{d} hidden layer{'s' * (d > 1)}" for d in depths)
              + " |", "|---|" + "---|" * len(depths)]
    for budget in w["budgets"]:
        cells = {x["depth"]: x for x in w["rows"] if x["budget"] == budget}
        lines.append(f"| {budget:,} | " + " | ".join(
            f"{cells[d]['width']} wide: {pct(cells[d]['val_acc'])}, {cells[d]['s_per_epoch']:.2f} s"
            for d in depths) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", nargs="+", choices=list(STUDIES), default=list(STUDIES))
    parser.add_argument("--markdown", action="store_true",
                        help="print the README's rows from the results file and stop")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    torch.set_num_threads(1)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.study:
        load_before, start = os.getloadavg()[0], time.perf_counter()
        result = STUDIES[name]()
        seconds = time.perf_counter() - start
        results[name] = dict(result, seconds=round(seconds, 1), load_before=load_before,
                             load_after=os.getloadavg()[0], date=time.strftime("%Y-%m-%d %H:%M"),
                             machine=machine(), commit=commit(), script="benchmarks/mlp_studies.py")
        print(f"{name}: {seconds:.0f} s, load {load_before:.1f} -> {os.getloadavg()[0]:.1f}",
              flush=True)
        write_json(RESULTS, results)  # after each study: a crash keeps the rest


if __name__ == "__main__":
    main()
