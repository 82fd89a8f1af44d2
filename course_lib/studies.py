"""The MLP studies of lessons 3 and 6, shared with ``benchmarks/mlp_studies.py``.

Each study trains a set of networks, measures them and returns plain numbers (a JSON-ready dict).
A lesson runs it at the CI size (``FULL = False``) or the full size, the benchmark script at the
full size, which it stores in ``benchmarks/results/mlp_studies.json`` for the README. The sizes
live here, in ``SIZES``, so that the lesson's FULL run and the script are the same experiment.

    wide_vs_deep    MNIST, hidden layers of every width x depth, plus equal parameter budgets
    gap_sweep       MNIST, train vs validation accuracy over L2 weight decay or hidden size
    early_stopping  MNIST, the epoch chosen on validation against training to the end
    disk_twins      the disk net of lesson 4 in course_lib.nn and in torch.nn, same recipe
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np

from . import nn
from .disk_net import build_disk_net, disk_data
from .timing import numpy_epoch, seconds, torch_epoch
from .train import evaluate, fit, progress_bar

Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""((x_train, c_train), (x_val, c_val)): x (N, n_in) float32, c (N,) int labels."""

# Report D's recipe, as its report states it: one sample per step, lr 0.01 on its loss
# sum_k (y_k - t_k)^2 (= 2 x MSELoss on 2 outputs, so lr 0.02 here), x0.9 per epoch, 100 epochs,
# every weight and bias uniform in [-1, 1]. The course's recipe is lesson 4's.
RECIPES = {
    "course": dict(batch_size=50, lr=0.05, momentum=0.95, gamma=0.99, init="torch"),
    "report D": dict(batch_size=1, lr=0.02, momentum=0.0, gamma=0.9, init="uniform_unit"),
}

SIZES = {
    "wide_deep": {
        "ci": dict(widths=(16, 64, 256), depths=(1, 2, 3), budgets=(40_000,), n_train=10_000,
                   epochs=2),
        "full": dict(widths=(32, 64, 128, 256, 512), depths=(1, 2, 3, 4),
                     budgets=(25_000, 100_000, 400_000), n_train=55_000, epochs=3),
    },
    "weight_decay": {
        "ci": dict(weight_decays=(0.0, 0.01, 0.05, 0.2, 0.5), hidden=100, n_train=1_000, epochs=30),
        "full": dict(weight_decays=(0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5), hidden=100,
                     n_train=2_000, epochs=60),
    },
    "hidden": {
        "ci": dict(hidden_sizes=(10, 20, 50, 100), n_train=1_000, epochs=30),
        "full": dict(hidden_sizes=(10, 20, 50, 100), n_train=2_000, epochs=60),
    },
    "early_stopping": {
        "ci": dict(hidden=256, n_train=1_000, max_epochs=40, patience=5),
        "full": dict(hidden=256, n_train=2_000, max_epochs=100, patience=10),
    },
    "twins": {
        "ci": {"course": 100, "report D": 10},
        "full": {"course": 300, "report D": 100},
    },
}
"""Per study, the arguments of its CI-sized and full-size run (epochs per recipe for the twins)."""


def mlp(n_in: int, hidden: Sequence[int], n_out: int, seed: int = 0,
        init: str = "torch") -> nn.Sequential:
    """n_in -> hidden[0] -> ... -> hidden[-1] -> n_out: Linear layers with ReLU between them.

    One generator seeded by ``seed`` draws every layer; ``init`` names a scheme of ``nn.init``.
    """
    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b, init=init, rng=rng), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], n_out, init=init, rng=rng))


def n_parameters(model: nn.Module) -> int:
    """How many numbers the optimiser updates: the sizes of all weights and biases."""
    return sum(p.value.size for p in model.parameters())


def width_for_budget(budget: int, depth: int, n_in: int = 784, n_out: int = 10) -> int:
    """The width w of ``depth`` equal hidden layers whose MLP has about ``budget`` parameters.

    n_in -> w -> ... -> w -> n_out has (n_in + 1) w + (depth - 1)(w + 1) w + (w + 1) n_out
    = (depth - 1) w² + (n_in + depth + n_out) w + n_out parameters; solve for w and round.
    """
    a, b, c = depth - 1, n_in + depth + n_out, n_out - budget
    w = -c / b if a == 0 else (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return max(1, round(w))


def train_timed(model: nn.Module, data: Data, epochs: int, lr: float, batch_size: int = 32,
                momentum: float = 0.0, seed: int = 0) -> dict[str, float]:
    """Train a classifier with cross-entropy and SGD, timing each epoch with ``timing.seconds``.

    Returns the final eval-mode train and validation accuracy and loss, and the median seconds
    per training epoch (forward, backward, step; no evaluation).
    """
    (x, c), (x_val, c_val) = data
    loss_fn = nn.CrossEntropyLoss()
    optimizer = nn.SGD(model.parameters(), lr=lr, momentum=momentum)
    rng = np.random.default_rng(seed)
    times = [seconds(numpy_epoch, model, loss_fn, optimizer, x, c, rng.permutation(len(x)),
                     batch_size) for _ in range(epochs)]
    (train_loss, train_acc), (val_loss, val_acc) = (evaluate(model, loss_fn, x, c),
                                                    evaluate(model, loss_fn, x_val, c_val))
    return dict(train_acc=train_acc, val_acc=val_acc, train_loss=train_loss, val_loss=val_loss,
                s_per_epoch=float(np.median(times)))


def wide_vs_deep(data: Data, widths: Sequence[int], depths: Sequence[int],
                 budgets: Sequence[int] = (), n_train: int = 55_000, epochs: int = 3,
                 lr: float = 0.05, momentum: float = 0.9, batch_size: int = 64, seed: int = 0,
                 progress: bool = True) -> list[dict]:
    """Every width x depth of 784 -> (width x depth) -> 10 ReLU nets on MNIST, plus, for each
    parameter budget, one net per depth with the width that spends it (``width_for_budget``).

    Same recipe for all: SGD with momentum, ``epochs`` epochs on the first ``n_train`` images.
    Returns one row per net: width, depth, parameters, budget (None on the grid), accuracies,
    losses and seconds per epoch.
    """
    (x, c), val = data
    nets = [(w, d, None) for d in depths for w in widths]
    nets += [(width_for_budget(b, d), d, b) for b in budgets for d in depths]
    rows = []
    for width, depth, budget in progress_bar(nets, progress, desc="width x depth"):
        model = mlp(784, [width] * depth, 10, seed=seed)
        result = train_timed(model, ((x[:n_train], c[:n_train]), val), epochs, lr, batch_size,
                             momentum, seed)
        rows.append(dict(width=width, depth=depth, parameters=n_parameters(model), budget=budget,
                         **result))
    return rows


def gap_sweep(data: Data, settings: Iterable[dict], n_train: int = 1_000, epochs: int = 30,
              lr: float = 0.1, batch_size: int = 32, seed: int = 0,
              progress: bool = True) -> list[dict]:
    """Train a 784 -> hidden -> 10 ReLU net for each setting, a dict with ``hidden`` and
    ``weight_decay`` (L2 λ of ``nn.SGD``), on the first ``n_train`` images; return per setting
    the final eval-mode train and validation accuracy and loss and the gap (train − val accuracy).
    """
    (x, c), (x_val, c_val) = data
    x, c = x[:n_train], c[:n_train]
    rows = []
    for setting in progress_bar(list(settings), progress, desc="sweep"):
        model = mlp(784, [setting["hidden"]], 10, seed=seed)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = nn.SGD(model.parameters(), lr=lr, weight_decay=setting["weight_decay"])
        history = fit(model, loss_fn, optimizer, (x, c), (x_val, c_val), epochs=epochs,
                      batch_size=batch_size, seed=seed, progress=False)
        train_loss, train_acc = evaluate(model, loss_fn, x, c)
        rows.append(dict(setting, train_acc=train_acc, val_acc=history.val_acc[-1],
                         train_loss=train_loss, val_loss=history.val_loss[-1],
                         gap=train_acc - history.val_acc[-1]))
    return rows


def early_stopping(data: Data, test: tuple[np.ndarray, np.ndarray], hidden: int = 256,
                   n_train: int = 1_000, max_epochs: int = 40, patience: int = 5,
                   lr: float = 0.05, momentum: float = 0.9, batch_size: int = 32,
                   seed: int = 0) -> dict:
    """Train a 784 -> hidden -> 10 net on ``n_train`` images twice with the same seeds: to the
    end (``max_epochs``) and with early stopping on the validation loss (``fit(patience=...)``).

    The first run gives the whole curves, the second stops early and keeps its best epoch's
    weights (the same weights: same seeds, the same run up to there). ``test`` (x, c) measures
    both final networks. Returns the curves, the chosen epoch, the epoch it stopped after and
    validation and test accuracy of both networks.
    """
    (x, c), val = data
    x, c = x[:n_train], c[:n_train]
    loss_fn = nn.CrossEntropyLoss()
    runs = {}
    for name, wait in (("to the end", None), ("early stopping", patience)):
        model = mlp(784, [hidden], 10, seed=seed)
        optimizer = nn.SGD(model.parameters(), lr=lr, momentum=momentum)
        history = fit(model, loss_fn, optimizer, (x, c), val, epochs=max_epochs,
                      batch_size=batch_size, seed=seed, progress=False, patience=wait)
        runs[name] = (model, history)
    full, stopped = runs["to the end"][1], runs["early stopping"][1]
    best = stopped.best_epoch
    return dict(train_loss=full.train_loss, val_loss=full.val_loss, val_acc=full.val_acc,
                best_epoch=best, stopped_after=len(stopped),
                val_acc_best=stopped.val_acc[best - 1], val_acc_last=full.val_acc[-1],
                test_acc_best=evaluate(runs["early stopping"][0], loss_fn, *test)[1],
                test_acc_last=evaluate(runs["to the end"][0], loss_fn, *test)[1])


def uniform_unit(n_in: int, n_out: int, rng=None, dtype=np.float32
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Report D's initialisation: every weight and bias uniform in [-1, 1], whatever the fan-in."""
    rng = np.random.default_rng(rng)
    return (rng.uniform(-1, 1, (n_in, n_out)).astype(dtype),
            rng.uniform(-1, 1, n_out).astype(dtype))


def torch_twin(model: nn.Sequential):
    """A ``torch.nn.Sequential`` with the same layers and a copy of the weights (W transposed to
    torch's (out, in)). Handles Linear, ReLU and Tanh, the layers of the disk net."""
    import torch

    layers = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            twin = torch.nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                twin.weight.copy_(torch.from_numpy(layer.weight.value.T))
                twin.bias.copy_(torch.from_numpy(layer.bias.value))
            layers.append(twin)
        else:
            layers.append({nn.ReLU: torch.nn.ReLU, nn.Tanh: torch.nn.Tanh}[type(layer)]())
    return torch.nn.Sequential(*layers)


def disk_twins(recipe: str, epochs: int, seed: int = 0, reach: float = 0.97,
               progress: bool = True) -> dict:
    """Lesson 4's 2-25-25-25-2 disk net (ReLU, ReLU, Tanh, MSE on one-hot targets) trained with
    ``RECIPES[recipe]`` twice, from the same weights on the same batches: in ``course_lib.nn``
    and in ``torch.nn`` (autograd, ``torch.optim.SGD``, ``ExponentialLR``), float32 both.

    Epochs alternate between the two, each timed with ``timing.seconds``. Returns per side the
    validation accuracy after every epoch, the median seconds per epoch and the first epoch
    reaching ``reach`` validation accuracy (None if never).
    """
    import torch

    r = RECIPES[recipe]
    init: str | Callable = uniform_unit if r["init"] == "uniform_unit" else r["init"]
    (x, c), (x_val, c_val) = disk_data()
    t = nn.one_hot(c, 2)
    ours = build_disk_net(init=init, seed=seed)
    theirs = torch_twin(ours)
    opt = nn.SGD(ours.parameters(), lr=r["lr"], momentum=r["momentum"])
    t_opt = torch.optim.SGD(theirs.parameters(), lr=r["lr"], momentum=r["momentum"])
    schedulers = [nn.ExponentialLR(opt, r["gamma"]),
                  torch.optim.lr_scheduler.ExponentialLR(t_opt, r["gamma"])]
    epoch = {"numpy": lambda order: numpy_epoch(ours, nn.MSELoss(), opt, x, t, order,
                                                r["batch_size"]),
             "torch": lambda order: torch_epoch(theirs, torch.nn.MSELoss(), t_opt,
                                                torch.from_numpy(x), torch.from_numpy(t), order,
                                                r["batch_size"])}
    accuracy = {"numpy": lambda: float(np.mean(ours(x_val).argmax(axis=1) == c_val)),
                "torch": lambda: _torch_accuracy(theirs, x_val, c_val)}
    rng = np.random.default_rng(seed)
    curves: dict[str, dict[str, list[float]]] = {s: {"val_acc": [], "s": []} for s in epoch}
    for _ in progress_bar(range(epochs), progress, desc=f"{recipe} recipe", unit="epoch"):
        order = rng.permutation(len(x))
        for side, run in epoch.items():
            curves[side]["s"].append(seconds(run, order))
            curves[side]["val_acc"].append(accuracy[side]())
        for scheduler in schedulers:
            scheduler.step()
    return {side: dict(val_acc=cv["val_acc"], s_per_epoch=float(np.median(cv["s"])),
                       epoch_reaching=next((i + 1 for i, a in enumerate(cv["val_acc"]) if a >= reach),
                                           None))
            for side, cv in curves.items()}


def _torch_accuracy(model, x: np.ndarray, c: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        return float(np.mean(model(torch.from_numpy(x)).argmax(dim=1).numpy() == c))

