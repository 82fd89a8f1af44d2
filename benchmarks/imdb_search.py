"""IMDb: the course's recipe chosen on validation alone, three seeds per model, report C's setup
beside it, and runs that change one thing at a time between the two.

Run: python benchmarks/imdb_search.py [--only NAMES] [--threads 1]   (runs what is not done yet)
     python benchmarks/imdb_search.py --plan       (the runs still to do and a rough CPU time)
     python benchmarks/imdb_search.py --markdown   (the tables from the JSON: mean ± std)
     python benchmarks/imdb_search.py --summary    (rewrite the JSON's means and stds; run nothing)

Data as in imdb_models.py: 20,000 training reviews, the other 5,000 for validation, 25,000 test;
vocabulary 20,000, reviews cut at 400 tokens, 8,192 tokens per step. Four phases, in this order:

1. ``search``: per model (max-pool MLP, self-built Elman, nn.RNN, LSTM) SEARCH_SIZE settings: the
   one imdb_models.py chose, then draws from a seeded RNG over SPACE (and the Elman's
   nonlinearity), each trained with seed 0 for up to EPOCHS epochs, stopping at the first epoch
   that does not raise validation accuracy. The test set is not read.
2. ``final``: each model's best search setting (best validation accuracy at any epoch), seeds
   1-3; each seed's epoch is chosen on its own validation accuracy, and that state alone is
   evaluated, once, on the test set.
3. ``report_c``: report C's setup as imdb_models.py rebuilt it (300 units, Adam 1e-3, one epoch),
   seeds 1-3, validation and test after the epoch.
4. ``ablation``: that setup with one change toward report C's description (DELTAS) and with all
   of its code's changes at once (``as_described``), seeds 1-3, every change for seed 1 first.

Each finished run goes at once into benchmarks/results/imdb_search.json (atomically) with its
settings, seed, per-epoch numbers, CPU time (``time.process_time()``, --threads, default 1), load
average, date and machine; a rerun skips every run whose record has the same settings and seed,
so the script can be stopped and continued (a run cut short starts again). Processes whose
``--only`` select different runs may work side by side (one per core): each adds its record under
a lock on the file. ``--only`` takes comma-separated names: a phase, a model, a delta, or a run id's start
(``final/lstm``).
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402
from benchmarks.imdb_models import (BEST, ELMAN, MAX_LEN, MAX_TOKENS, REPORT_C_TEST,  # noqa: E402
                                    RESULTS as MODELS_RESULTS, TABLES, VOCAB, load_data)
from course_lib.data.batching import batch_by_tokens  # noqa: E402
from course_lib.rnn import (KINDS, ElmanRNN, SentimentClassifier, evaluate,  # noqa: E402
                            make_optimizer, train_epoch)
from course_lib.train import TrainingDiverged  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "imdb_search.json"
SEARCH_SIZE, SEARCH_SEED, SEEDS, EPOCHS = 8, 22, (1, 2, 3), 6
# Every run starts from imdb_models.py's data and the model as the course builds it.
DEFAULTS = dict(vocab=VOCAB, train=20_000, max_len=MAX_LEN, max_tokens=MAX_TOKENS, shuffle=True,
                padding="masked", residual=None, nonlinearity="tanh", step_output=False,
                init="torch", batch_first=True)
SPACE = dict(lr=(3e-4, 5e-3), emb=[100, 200, 300], hidden=[100, 200, 300],
             dropout=[0.0, 0.25, 0.5])  # lr log-uniform, the others uniform over the list
SEARCH_FIXED = dict(lr_decay=BEST["lr_decay"], clip=BEST["clip"], epochs=EPOCHS)
CHOSEN = {"mlp": BEST, "rnn": {**BEST, **ELMAN}, "lstm": BEST,  # imdb_models.py's choices
          "elman": {**BEST, **ELMAN, "emb": 300, "hidden": 300, "nonlinearity": "sigmoid"}}
# name: (the change toward report C's description, the models it applies to, the settings)
DELTAS = {
    "step_tokens": ("tokens per step = the longest training review, as C's batching: ~3x the steps",
                    KINDS, {"max_tokens": "longest"}),
    "all_words": ("every training word in the vocabulary, not the 20,000 most frequent", KINDS,
                  {"vocab": None}),
    "uncut": ("reviews whole, not cut at 400 tokens", KINDS, {"max_len": None}),
    "sorted": ("batches shortest first, not shuffled", KINDS, {"shuffle": False}),
    "learned_padding": ("padding a learned word that the max pool sees (no padding_idx, no mask)",
                        KINDS, {"padding": "learned"}),
    "train_25k": ("trained on all 25,000 training reviews, as for C's test figures", KINDS,
                  {"train": 25_000}),
    "step_output": ("a Linear(hidden, hidden) on each step's state, as C's Elman code has",
                    ("elman",), {"step_output": True}),
    "concat_init": ("initialised as C's one Linear over [x_t, h_t-1]: U(±1/sqrt(emb + hidden)), "
                    "one bias", ("elman",), {"init": "concat"}),
    "tanh": ("tanh, as C's appendix says, not the sigmoid of its code", ("elman",),
             {"nonlinearity": "tanh"}),
    "no_residual": ("no residual around the recurrence, as C's appendix draws it",
                    ("elman", "rnn"), {"residual": None}),
    "time_first": ("batch_first=False as in C's code: the recurrence runs across the batch",
                   ("rnn", "lstm"), {"batch_first": False}),
}
AS_DESCRIBED = ("step_tokens", "all_words", "uncut", "sorted", "learned_padding", "train_25k",
                "step_output", "concat_init", "time_first")  # everything C's code does


@dataclass
class Run:
    """One training run: ``id`` is phase/model/..., e.g. "final/lstm/seed1"; ``test``: evaluate
    the chosen state on the test set (never in the search)."""
    id: str
    settings: dict
    seed: int
    test: bool


def search_points(kind: str, n: int = SEARCH_SIZE) -> list[dict]:
    """The search's ``n`` settings for ``kind``: imdb_models.py's choice, then draws from an RNG
    seeded by (SEARCH_SEED, kind): the same list on every call, and a longer one extends it."""
    rng = np.random.default_rng([SEARCH_SEED, KINDS.index(kind)])
    searched = ["lr", "emb", "hidden", "dropout"] + (["nonlinearity"] if kind == "elman" else [])

    def draw() -> dict:
        point = {"lr": float(f"{10 ** rng.uniform(*np.log10(SPACE['lr'])):.2g}")}
        for k in ("emb", "hidden", "dropout"):
            point[k] = SPACE[k][rng.integers(len(SPACE[k]))]
        if kind == "elman":
            point["nonlinearity"] = ("tanh", "sigmoid")[rng.integers(2)]
        return point
    return [{k: CHOSEN[kind][k] for k in searched}] + [draw() for _ in range(n - 1)]


def delta_settings(name: str, kind: str) -> dict:
    """What delta ``name`` (or "as_described", all of AS_DESCRIBED) changes for ``kind``."""
    changes = {}
    for delta in AS_DESCRIBED if name == "as_described" else (name,):
        _, kinds, change = DELTAS[delta]
        changes.update(change if kind in kinds else {})
    return changes


def best_val(record: dict) -> float:
    """A run's best validation accuracy over its epochs (-1 for none)."""
    return max((e["val_acc"] for e in record["epochs"] if e["val_acc"] is not None), default=-1.0)


def choose_epoch(epochs: list[dict]) -> int | None:
    """The 1-based epoch with the best validation accuracy, the earliest of equals; the last
    epoch when there is no validation data; None for no epoch."""
    if not epochs:
        return None
    if epochs[0]["val_acc"] is None:
        return len(epochs)
    return 1 + max(range(len(epochs)), key=lambda i: (epochs[i]["val_acc"], -i))


def is_done(results: dict, run: Run) -> bool:
    """Whether ``results`` holds a finished record of ``run``: same id, settings and seed."""
    record = results["runs"].get(run.id)
    return record is not None and record["settings"] == run.settings and record["seed"] == run.seed


def plan(results: dict, search_size: int = SEARCH_SIZE) -> tuple[list[Run], list[str]]:
    """Every run in order, and a line for each model whose finals wait for its search."""
    runs, waiting = [], []
    for kind in KINDS:
        runs += [Run(f"search/{kind}/{i}", {"kind": kind, **DEFAULTS, **SEARCH_FIXED, **point},
                     0, False) for i, point in enumerate(search_points(kind, search_size))]
    for kind in KINDS:
        search = [r for r in runs if r.id.startswith(f"search/{kind}/")]
        done = [results["runs"][r.id] for r in search if is_done(results, r)]
        if len(done) < len(search):
            waiting.append(f"final/{kind}: waits for its search, {len(done)} of {len(search)} done")
            continue
        best = max(done, key=best_val)  # the first of equals
        runs += [Run(f"final/{kind}/seed{s}", best["settings"], s, True) for s in SEEDS]
    report_c = {kind: {"kind": kind, **DEFAULTS, **TABLES["report_c"][kind][1]} for kind in KINDS}
    runs += [Run(f"report_c/{kind}/seed{s}", report_c[kind], s, True) for kind in KINDS
             for s in SEEDS]
    runs += [Run(f"ablation/{name}/{kind}/seed{s}", {**report_c[kind], **change}, s, True)
             for s in SEEDS for name in [*DELTAS, "as_described"] for kind in KINDS
             if (change := delta_settings(name, kind))]
    return runs, waiting


class StepOutput(nn.Module):
    """Report C's self-built Elman: a Linear(hidden, hidden) applied to every step's state."""

    def __init__(self, body: nn.Module, hidden: int):
        super().__init__()
        self.body, self.out = body, nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, emb) → (outputs (B, T, hidden), the body's last state)."""
        h, h_last = self.body(x)
        return self.out(h), h_last


def concat_init(elman: ElmanRNN) -> None:
    """Initialise as report C's one Linear(emb + hidden, hidden) over [x_t, h_t-1]: the weights
    and one bias uniform in ±1/sqrt(emb + hidden); the second bias zero and frozen."""
    bound = 1 / math.sqrt(elman.input_size + elman.hidden_size)
    with torch.no_grad():
        for p in (elman.weight_ih_l0, elman.weight_hh_l0, elman.bias_ih_l0):
            p.uniform_(-bound, bound)
        elman.bias_hh_l0.zero_()
    elman.bias_hh_l0.requires_grad_(False)


def build_model(s: dict, n_words: int, seed: int) -> SentimentClassifier:
    """The classifier that settings ``s`` describe, with report C's deviations where asked."""
    model = SentimentClassifier(n_words, s["kind"], s["emb"], s["hidden"], s["residual"],
                                s["nonlinearity"], s["dropout"], seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if s["init"] == "concat":
            concat_init(model.body)
        if s["step_output"]:
            model.body = StepOutput(model.body, s["hidden"])
    if not s["batch_first"]:
        model.body.batch_first = False  # read by nn.RNN / nn.LSTM at every call
    return model


def train_run(s: dict, seed: int, data: dict, test: bool) -> dict:
    """Train settings ``s`` with ``seed`` (weights, dropout, batch order), validating after every
    epoch and stopping at the first epoch that does not raise validation accuracy; if ``test``,
    the chosen epoch's state (the last one without validation data) is evaluated once on
    ``data["test"]``.
    data: "train", "val", "test" as (x, c) lists, "words" the vocabulary size. Returns the
    run's record."""
    pad_id = data["words"] if s["padding"] == "learned" else 0  # an extra, ordinary word
    max_tokens = s["max_tokens"]
    if max_tokens == "longest":
        max_tokens = max(map(len, data["train"][0]))

    def batches(part: str, shuffle: bool = False, order: int = 0) -> list:
        return list(batch_by_tokens(*data[part], max_tokens, pad_id, shuffle, order, s["max_len"]))
    model = build_model(s, data["words"] + (pad_id != 0), seed)
    torch.set_flush_denormal(True)  # as course_lib.rnn.fit
    torch.manual_seed(seed)
    opt = make_optimizer(model, "adam", s["lr"])
    val = batches("val") if data["val"][0] else None
    record = {"settings": s, "seed": seed, "max_tokens": max_tokens, "epochs": []}
    best_state, best = None, -math.inf
    for epoch in range(s["epochs"]):
        load, wall, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
        try:
            train_loss, train_acc = train_epoch(model, opt, batches("train", s["shuffle"],
                                                                    1000 * seed + epoch),
                                                s["clip"], epoch=epoch, progress=False)
        except TrainingDiverged as err:
            record["diverged"] = str(err).splitlines()[0]
            break
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        for group in opt.param_groups:
            group["lr"] *= s["lr_decay"]
        val_loss, val_acc = evaluate(model, val) if val else (None, None)
        record["epochs"].append(dict(train_loss=train_loss, train_acc=train_acc, val_loss=val_loss,
                                     val_acc=val_acc, cpu_s=round(cpu, 1), wall_s=round(wall, 1),
                                     load=[round(load, 2), round(os.getloadavg()[0], 2)]))
        shown = "—" if val_acc is None else f"{val_acc:.4f}"
        print(f"  epoch {epoch + 1}: train {train_acc:.4f}, val {shown}, {cpu / 60:.2f} CPU-min",
              flush=True)
        if val_acc is not None and val_acc <= best:
            break
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        best = best if val_acc is None else val_acc
    chosen = choose_epoch(record["epochs"])
    record.update(chosen_epoch=chosen, test_acc=None,
                  val_acc=record["epochs"][chosen - 1]["val_acc"] if chosen else None,
                  cpu_s=round(sum(e["cpu_s"] for e in record["epochs"]), 1))
    if test and best_state is not None:
        model.load_state_dict(best_state)
        record["test_acc"] = evaluate(model, batches("test"))[1]
    return record


@functools.lru_cache(maxsize=1)
def imdb(vocab: int | None, train: int) -> dict:
    """The real data for these settings (the last one kept: switching costs ~10 s)."""
    return load_data(vocab, full_train=train == 25_000)


def execute(run: Run) -> dict:
    """Train ``run`` on the real IMDb data."""
    return train_run(run.settings, run.seed, imdb(run.settings["vocab"], run.settings["train"]),
                     run.test)


def read_results(path: Path) -> dict:
    """The results file, or an empty one."""
    return json.loads(path.read_text()) if path.exists() else {"machines": [], "runs": {}}


def pending(results: dict, selected: Callable[[str], bool], search_size: int) -> list[Run]:
    """The selected runs of the plan that ``results`` holds no finished record of, in order."""
    return [r for r in plan(results, search_size)[0] if selected(r.id) and not is_done(results, r)]


def run_pending(path: Path, execute: Callable[[Run], dict] = execute,
                selected: Callable[[str], bool] = lambda run_id: True,
                search_size: int = SEARCH_SIZE) -> int:
    """Run, in plan order, every selected run that ``path`` holds no finished record of, adding
    each record (with the date and the machine) to the file as soon as it is done. The plan is
    drawn again after every run, since the finals follow from the search. Returns how many ran."""
    count = 0
    while todo := pending(read_results(path), selected, search_size):
        run = todo[0]
        print(f"{run.id}: {describe(run.settings)}", flush=True)
        record, here = execute(run), machine()

        def add(results: dict) -> None:  # called at once, under the lock
            if here not in results["machines"]:
                results["machines"].append(here)
            results["runs"][run.id] = {**record, "date": time.strftime("%Y-%m-%d %H:%M"),
                                       "machine": results["machines"].index(here)}
        update(path, add)
        count += 1
    return count


def update(path: Path, change: Callable[[dict], None] = lambda results: None) -> None:
    """Under the file's lock, read the results afresh (another process may have added its own
    records meanwhile), apply ``change`` to them and write them back with their summary."""
    with locked(path):
        results = read_results(path)
        change(results)
        write_json(path, {**results, "summary": summary(results)})


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``path``'s ".lock" file beside it while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def matches(run_id: str, names: list[str]) -> bool:
    """Whether ``run_id`` is selected by ``names`` (all runs when there are none)."""
    parts = run_id.split("/")
    return not names or any(n in parts or run_id.startswith(n + "/") for n in names)


def describe(s: dict) -> str:
    """The settings that differ from DEFAULTS, as key=value."""
    return ", ".join(f"{k}={v}" for k, v in s.items() if k not in DEFAULTS or DEFAULTS[k] != v)


def estimate_cpu_s(run: Run) -> float:
    """Rough CPU seconds: imdb_models.py's 300-unit epoch, scaled by width and training set,
    times the epochs (at most) plus half an epoch for the test set. Deltas' own costs (e.g.
    step_tokens' smaller steps) are not counted."""
    s = run.settings
    scale = (s["emb"] + s["hidden"]) / 600 * s["train"] / 20_000
    return 60 * models_cpu_min_per_epoch()[s["kind"]] * scale * (s["epochs"] + 0.5 * run.test)


@functools.cache
def models_cpu_min_per_epoch() -> dict[str, float]:
    """CPU minutes per epoch of report C's setup (300 units) per model, from imdb_models.json."""
    done = json.loads(MODELS_RESULTS.read_text())["results"]["report_c"]
    return {kind: done[kind]["cpu_min_per_epoch"] for kind in KINDS}


def plan_text(results: dict, names: list[str], search_size: int) -> str:
    """--plan: the runs still to do, each with a rough CPU time, and the total."""
    todo = pending(results, functools.partial(matches, names=names), search_size)
    lines = [f"{r.id:36} ~{estimate_cpu_s(r) / 60:5.1f} CPU-min  {describe(r.settings)}"
             for r in todo] + plan(results, search_size)[1]
    hours = sum(map(estimate_cpu_s, todo)) / 3600
    return "\n".join(lines + [f"{len(todo)} runs to do, about {hours:.1f} CPU-hours at most "
                              f"(a model's finals count once its search is done)"])


def mean_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (None for fewer than two values)."""
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def pct(values: list[float]) -> str:
    """Accuracies as "84.12 ± 0.30" percent over seeds (n shown when not 3); "—" for none."""
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    mean, std = mean_std(values)
    n = "" if len(values) == len(SEEDS) else f" (n={len(values)})"
    return f"{100 * mean:.2f}" + (f" ± {100 * std:.2f}" if std is not None else "") + n


def summary(results: dict) -> dict:
    """Per group of seeds ("final/mlp", "report_c/elman", "ablation/tanh/elman"): how many seeds
    ran, and the mean and sample std of test and validation accuracy and of CPU minutes per run
    (std None for one seed). Kept in the results file, so every figure the README quotes is in it."""
    groups: dict[str, list[dict]] = {}
    for run_id, record in results["runs"].items():
        if not run_id.startswith("search/"):
            groups.setdefault(run_id.rsplit("/", 1)[0], []).append(record)
    out = {}
    for group, records in sorted(groups.items()):
        values = {"test_acc": [r["test_acc"] for r in records],
                  "val_acc": [r["val_acc"] for r in records],
                  "cpu_min": [r["cpu_s"] / 60 for r in records]}
        out[group] = {"seeds": len(records), **{key: list(mean_std(v)) for key, v in values.items()
                                                if None not in v}}
    return out


def markdown(results: dict) -> str:
    """The search log, the finals, report C's setup and the deltas: every number from
    ``results``."""
    runs = results["runs"]

    def seeds(prefix: str, key: str) -> list[float]:
        return [runs[f"{prefix}/seed{s}"][key] for s in SEEDS if f"{prefix}/seed{s}" in runs]
    lines = ["**Search (seed 0, validation only)**", "", "| run | settings | validation by epoch |",
             "|---|---|---|"]
    lines += [f"| {i} | {describe(r['settings'])} | "
              + ", ".join(f"{100 * e['val_acc']:.2f}" for e in r["epochs"]) + " |"
              for i, r in runs.items() if i.startswith("search/")]
    lines += ["", "**The course's recipe: best search setting, seeds " + ", ".join(map(str, SEEDS))
              + "; epoch chosen on validation, test once**", "",
              "| model | settings | epochs chosen | validation | **test** | CPU-min per run |",
              "|---|---|---|---|---|---|"]
    for kind in KINDS:
        done = [runs[f"final/{kind}/seed{s}"] for s in SEEDS if f"final/{kind}/seed{s}" in runs]
        if done:
            lines.append(f"| {kind} | {describe(done[0]['settings'])} | "
                         f"{', '.join(str(r['chosen_epoch']) for r in done)} | "
                         f"{pct(seeds(f'final/{kind}', 'val_acc'))} | "
                         f"**{pct(seeds(f'final/{kind}', 'test_acc'))}** | "
                         f"{statistics.mean(r['cpu_s'] for r in done) / 60:.1f} |")
    for key, title in [("test_acc", "test"), ("val_acc", "validation")]:
        lines += ["", f"**Report C's setup as rebuilt, and one change at a time: {title} "
                  f"accuracy, %**", "", "| setup | " + " | ".join(KINDS) + " |",
                  "|---|" + "---|" * len(KINDS)]
        if key == "test_acc":
            lines.append("| report C's figures (one run each) | "
                         + " | ".join(f"{100 * REPORT_C_TEST[k]:.2f}" for k in KINDS) + " |")
        for name, what in [("report_c", "as rebuilt"), *((f"ablation/{d}", DELTAS[d][0])
                                                         for d in DELTAS),
                           ("ablation/as_described", "all of C's code at once")]:
            cells = [pct(seeds(f"{name}/{k}", key)) for k in KINDS]
            if name == "report_c" or set(cells) != {"—"}:  # a change not run yet: no row
                lines.append(f"| {name.split('/')[-1]}: {what} | " + " | ".join(cells) + " |")
    loads = [x for r in runs.values() for e in r["epochs"] for x in e["load"]]
    for i, m in enumerate(results["machines"]):
        lines.append(f"\nmachine {i}: {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch "
                     f"thread(s), torch {m['torch']}, numpy {m['numpy']}")
    if loads:
        lines.append(f"load average {min(loads):.1f}–{max(loads):.1f} during the epochs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated: phase, model, delta, run id")
    parser.add_argument("--plan", action="store_true", help="print the runs to do; run nothing")
    parser.add_argument("--markdown", action="store_true", help="print the tables from the JSON")
    parser.add_argument("--summary", action="store_true",
                        help="rewrite the file's summary from its runs; run nothing")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--search-size", type=int, default=SEARCH_SIZE)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    results = read_results(args.results)
    if args.summary:
        update(args.results)
        return
    if args.markdown or args.plan:
        print(markdown(results) if args.markdown else plan_text(results, names, args.search_size))
        return
    torch.set_num_threads(args.threads)
    n = run_pending(args.results, selected=functools.partial(matches, names=names),
                    search_size=args.search_size)
    print(f"{n} runs done; {args.results}")


if __name__ == "__main__":
    main()
