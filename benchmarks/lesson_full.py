"""The lessons' full-size runs (``FULL = True``), their numbers written to benchmarks/results/.

    python benchmarks/lesson_full.py 02 03 04 06   # run these lessons (default: all four)
    python benchmarks/lesson_full.py --plan        # what each run does, and how long it last took

Each lesson runs top to bottom in a Jupyter kernel, exactly as a student runs it after setting
``FULL = True`` in its first cell (its own asserts included), with one BLAS thread (unless
OMP_NUM_THREADS says otherwise). Then one more cell, ``RECORDS[lesson]`` below, collects the
numbers the README and the lesson quote from the lesson's own variables, and the script writes
them to ``benchmarks/results/lesson_NN_full.json`` with the seeds, the machine
(``benchmarks/common.py``), the date, the seconds and the load average. Each lesson gets its own
file, written when its run ends (the longest, lesson 6, takes about 20 minutes).
Needs the MNIST files: set COURSE_DATA_DIR (e.g. ../shared/data) or let the loader download them.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the kernels inherit them

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"

# Per lesson: the Python expression, evaluated in the lesson's kernel after its last cell, that
# returns what the README and the lesson quote (the lesson's variable names, as the lesson has them).
RECORDS = {
    "02": """dict(
    seed=SEED, updates_per_run=EPOCHS * N, window=WINDOW,
    schedules={name: dict(val_loss=run["val"][0], val_acc=run["val"][1],
                          last_window_loss=float(np.mean(run["losses"][-WINDOW:])))
               for name, run in runs.items()})""",
    "03": """dict(
    lr_sweep=dict(n_train=n_sweep, epochs=sweep_epochs, seeds=list(sweep_seeds), batch_size=32,
                  rows=[dict(lr=lr, val_acc=[h.val_acc[-1] for h in hs],
                             val_loss=[h.val_loss[-1] for h in hs],
                             mean_val_acc=float(np.mean([h.val_acc[-1] for h in hs])),
                             mean_val_loss=float(sweep_loss[lr])) for lr, hs in sweep.items()],
                  best_lr=best_lr),
    seeds=dict(n_train=n_seeds_data, seeds=[0, 1, 2], lr=0.1, batch_size=32, epochs=5,
               val_acc=final_val.tolist(), mean=final_val.mean(), std=final_val.std()),
    section_7=dict(n_train=len(x_train), seed=0, val_acc=history.val_acc[-1]),
    test=dict(n_train=len(x_all), seed=0, epochs=5,
              test_acc=final_model.accuracy(x_test, c_test)))""",
    "04": """dict(
    seeds=dict(seeds=list(SEEDS), val_acc=val_accs.tolist(), val_mean=val_accs.mean(),
               val_std=val_accs.std(), test_acc=test_accs.tolist(), test_mean=test_accs.mean(),
               test_std=test_accs.std()),
    fresh_sets=dict(runs=len(full_accs), seeds=list(range(30)),
                    data_seeds=[100 + s for s in range(30)], val_acc=full_accs.tolist(),
                    mean=full_accs.mean(), std=full_accs.std()))""",
    "06": """dict(
    init=dict(n_train=N_INIT, hidden=INIT_HIDDEN, epochs=INIT_EPOCHS, seed=1, batch_size=64,
              lr=0.05, rows={name: dict(train_loss=init_train[name][0], train_acc=init_train[name][1],
                               val_loss=init_histories[name].val_loss[-1],
                               val_acc=init_histories[name].val_acc[-1]) for name in INITS}),
    regularisers=dict(n_train=N_REG, hidden=REG_HIDDEN, epochs=REG_EPOCHS, seed=1, lr=0.1,
                      rows=reg_final),
    activations=dict(n_train=N_ACT, hidden=128, epochs=ACT_EPOCHS, seed=1, lr=0.1,
                     val_acc={name: acc for name, (_, acc) in act_val.items()}))""",
}
PLAN = {"02": "2-3-2 scalar MLP, 4 learning-rate schedules x 300,000 updates",
        "03": "784-300-10 MLP: lr sweep 8 x 3 seeds x 5 epochs, 3 seeds, a test run",
        "04": "disk net, 5 seeds and 30 fresh training sets",
        "06": "every study at full size, initialisation, regularisers, activations"}


def notebook_path(lesson: str) -> Path:
    (path,) = NOTEBOOKS.glob(f"{lesson}_*.ipynb")
    return path


def with_full(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with ``FULL = False`` set to ``FULL = True`` in the first cell that defines it."""
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"^FULL = False\b", cell.source, re.M):
            cell.source = re.sub(r"^FULL = False\b", "FULL = True", cell.source, count=1,
                                 flags=re.M)
            return nb
    raise ValueError("no line 'FULL = False' in the notebook")


def run_lesson(lesson: str) -> dict:
    """Run the lesson with FULL = True and return ``RECORDS[lesson]`` evaluated at its end."""
    path = notebook_path(lesson)
    nb = with_full(nbformat.read(path, as_version=4))
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n"
        f"print(_json.dumps({RECORDS[lesson]}, default=lambda o: o.tolist()))"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    NotebookClient(nb, timeout=None, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    (output,) = [o for o in nb.cells[-1].outputs if o.get("name") == "stdout"]
    return json.loads(output.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lessons", nargs="*", default=list(RECORDS),
                        help=f"lessons to run, of {' '.join(RECORDS)} (default: all)")
    parser.add_argument("--plan", action="store_true", help="print what would run and stop")
    args = parser.parse_args()
    if set(args.lessons) - set(RECORDS):
        parser.error(f"no full-size record for lesson(s) {sorted(set(args.lessons) - set(RECORDS))}")
    for lesson in args.lessons:
        out = ROOT / "benchmarks" / "results" / f"lesson_{lesson}_full.json"
        if args.plan:
            last = json.loads(out.read_text()) if out.exists() else None
            print(f"{notebook_path(lesson).name}: {PLAN[lesson]}" + (
                f" (last run: {last['seconds']} s, load {last['load_before']:.1f}, {last['date']})"
                if last else ""))
            continue
        load_before, start = os.getloadavg()[0], time.perf_counter()
        results = run_lesson(lesson)
        write_json(out, dict(
            script=f"benchmarks/lesson_full.py {lesson}", notebook=f"notebooks/{notebook_path(lesson).name}",
            date=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), blas_threads=os.environ["OMP_NUM_THREADS"],
            seconds=round(time.perf_counter() - start), load_before=load_before,
            load_after=os.getloadavg()[0], results=results))
        print(f"{lesson}: {time.perf_counter() - start:.0f} s, written to {out.relative_to(ROOT)}",
              flush=True)


if __name__ == "__main__":
    main()
