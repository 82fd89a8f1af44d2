"""Reports E's and D's recipes as their authors describe them, run beside the course's.

    python benchmarks/report_recipes.py                     # both studies; finished runs are kept
    python benchmarks/report_recipes.py --study d_momentum  # one of them
    python benchmarks/report_recipes.py --markdown          # the README's tables, from the file

e_recipe    MNIST, 784-300-10, 5 epochs on the 55,000 training images, validation accuracy on the
            other 5,000 (lesson 3's split), seeds 0, 1, 2. Report E's recipe: a sigmoid hidden
            layer, one example per step, a fixed learning rate of 0.03 (the best of its sweep, and
            the rate its final figure names; its text names 0.003, run too); lesson 3's: ReLU,
            batches of 32, lr 0.1. Between them the two recipes that change one of the two
            (activation; batch size with its lr). All use ``course_lib.mlp.MLP`` and its
            initialisation (report E does not give its own).
d_momentum  The disk set (lesson 4's 1,000 training and 1,000 validation points), report D's
            recipe as written (2-25-25-25-2, weights uniform in [-1, 1], one example per step,
            lr 0.02 x 0.9 per epoch, 100 epochs), seeds 0-4, with momentum 0.5 written two ways:
            report D's moving average v = β v + (1 - β) g (v starting at 0), and PyTorch's
            v = μ v + g (``torch.optim.SGD``'s rule, which ``course_lib.nn.SGD`` follows) at the
            same lr and at lr x (1 - β), where it takes the same steps as D's.

Every run goes to ``benchmarks/results/report_recipes.json`` as soon as it ends, with the machine
and the date; a rerun skips the runs already there (``--fresh`` starts over). One BLAS thread.
Needs the MNIST files: set COURSE_DATA_DIR (e.g. ../shared/data) or let the loader download them.
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
from course_lib.data import load_mnist  # noqa: E402
from course_lib.disk_net import build_disk_net, disk_data  # noqa: E402
from course_lib.mlp import MLP  # noqa: E402
from course_lib.studies import RECIPES, uniform_unit  # noqa: E402
from course_lib.train import fit  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "report_recipes.json"

STUDIES = {
    "e_recipe": dict(seeds=(0, 1, 2), epochs=5, variants={
        "report E": dict(activation="sigmoid", batch_size=1, lr=0.03),
        "report E, lr 0.003": dict(activation="sigmoid", batch_size=1, lr=0.003),
        "report E with ReLU": dict(activation="relu", batch_size=1, lr=0.03),
        "lesson 3 with sigmoid": dict(activation="sigmoid", batch_size=32, lr=0.1),
        "lesson 3": dict(activation="relu", batch_size=32, lr=0.1),
    }),
    "d_momentum": dict(seeds=(0, 1, 2, 3, 4), epochs=100, variants={
        "no momentum (report D's recipe)": dict(form="none", momentum=0.0, lr=0.02),
        "moving average, β 0.5 (report D)": dict(form="moving average", momentum=0.5, lr=0.02),
        "PyTorch's, μ 0.5, same lr": dict(form="pytorch", momentum=0.5, lr=0.02),
        "PyTorch's, μ 0.5, lr × (1 − μ)": dict(form="pytorch", momentum=0.5, lr=0.01),
    }),
}


def e_recipe(activation: str, batch_size: int, lr: float, seed: int, epochs: int) -> dict:
    """One MNIST run of ``course_lib.mlp.MLP``; its per-epoch validation curves."""
    (x, c), (x_val, c_val), _ = load_mnist()
    model = MLP(784, 300, 10, activation=activation, seed=seed)
    h = model.fit(x, c, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, x_val=x_val,
                  c_val=c_val, progress=False)
    return dict(val_acc=h.val_acc, val_loss=h.val_loss, train_acc=h.train_acc)


def d_momentum(form: str, momentum: float, lr: float, seed: int, epochs: int) -> dict:
    """One disk run of report D's recipe (``studies.RECIPES["report D"]``) at ``lr``, with
    ``momentum`` in PyTorch's form or in report D's moving average (``form``)."""
    d = RECIPES["report D"]
    (x, c), (x_val, c_val) = disk_data()
    model = build_disk_net(init=uniform_unit, seed=seed)
    opt = nn.SGD(model.parameters(), lr=lr, momentum=momentum,
                 dampening=momentum if form == "moving average" else 0.0)
    if form == "moving average":  # v starts at 0, so its first step is (1 - β) g, not g
        opt.velocity = [np.zeros_like(p.value) for p in opt.params]
    h = fit(model, nn.MSELoss(), opt, (x, nn.one_hot(c, 2)), (x_val, nn.one_hot(c_val, 2)),
            epochs=epochs, batch_size=d["batch_size"], seed=seed,
            scheduler=nn.ExponentialLR(opt, d["gamma"]), progress=False)
    return dict(val_acc=h.val_acc, val_loss=h.val_loss, train_acc=h.train_acc)


RUNNERS = {"e_recipe": e_recipe, "d_momentum": d_momentum}


def summary(runs: dict[str, dict]) -> dict:
    """Final validation accuracy over the seeds of one variant: mean and (population) std."""
    final = [r["val_acc"][-1] for r in runs.values()]
    return dict(seeds=sorted(map(int, runs)), val_acc_mean=float(np.mean(final)),
                val_acc_std=float(np.std(final)), val_acc=final)


def run_study(name: str, results: dict) -> None:
    """Run every variant and seed of ``STUDIES[name]`` not yet in ``results``, saving each run."""
    study = STUDIES[name]
    out = results.setdefault(name, dict(epochs=study["epochs"], variants={}))
    for variant, settings in study["variants"].items():
        entry = out["variants"].setdefault(variant, dict(settings, runs={}))
        for seed in study["seeds"]:
            if str(seed) in entry["runs"]:
                continue
            start = time.process_time()
            run = RUNNERS[name](**settings, seed=seed, epochs=study["epochs"])
            entry["runs"][str(seed)] = dict(run, cpu_seconds=round(time.process_time() - start, 1))
            entry["summary"] = summary(entry["runs"])
            results.update(date=time.strftime("%Y-%m-%d %H:%M"), machine=machine())
            write_json(RESULTS, results)
            print(f"{name} / {variant} / seed {seed}: validation {run['val_acc'][-1]:.2%} "
                  f"({time.process_time() - start:.0f} CPU-s)", flush=True)


def markdown(results: dict) -> str:
    """The README's tables (one per study in ``results``), every number read from ``results``."""
    lines = []
    for name, header in (("e_recipe", "| recipe | hidden | batch | lr | validation, {} epochs |"),
                         ("d_momentum", "| momentum | form | lr | validation, {} epochs |")):
        if name not in results:
            continue
        header = header.format(results[name]["epochs"])
        lines += ["", header, "|" + "---|" * (header.count("|") - 1)]
        order = list(STUDIES[name]["variants"])  # as listed above, whatever order they ran in
        for variant in sorted(results[name]["variants"], key=order.index):
            v = results[name]["variants"][variant]
            s = v["summary"]
            acc = f"{s['val_acc_mean']:.2%} ± {s['val_acc_std']:.2%} (seeds " \
                  f"{s['seeds'][0]}–{s['seeds'][-1]})"
            if name == "e_recipe":
                lines.append(f"| {variant} | {v['activation']} | {v['batch_size']} | {v['lr']:g} | "
                             f"{acc} |")
            else:
                lines.append(f"| {variant} | {v['form']} | {v['lr']:g} | {acc} |")
    return "\n".join(lines[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", nargs="+", choices=list(STUDIES), default=list(STUDIES))
    parser.add_argument("--markdown", action="store_true", help="print the tables and stop")
    parser.add_argument("--fresh", action="store_true", help="forget the runs in the file")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    results = {} if args.fresh or not RESULTS.exists() else json.loads(RESULTS.read_text())
    results["script"] = "benchmarks/report_recipes.py"
    for name in args.study:
        run_study(name, results)


if __name__ == "__main__":
    main()
