"""Disk explorer: retrain a small network on the disk set and watch what it learns (lessons 4 and 6).

    explorer = disk_explorer()                  # trains once with the defaults and draws
    explorer                                    # in a notebook: the controls and the plots
    explorer.train(lr=0.01, init="zeros")       # what the Train button does, from code

The network has ``depth`` hidden layers of ``hidden`` units between 2 inputs and 2 outputs and
is trained with MSE on one-hot targets (lesson 4) by minibatch SGD with momentum and a per-epoch
learning-rate decay. ``train_disk`` does the same without any widget, for scripts and tests.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import nn
from ..data.disk import CENTER, RADIUS
from ..disk_net import LAYERS, MIXED, build_disk_net, disk_data
from ..train import History, fit
from .explorer import Explorer, check_settings

DEFAULTS = {"lr": 0.05, "init": "torch", "hidden": 25, "activation": MIXED,
            "epochs": 100, "batch_size": 50, "momentum": 0.95, "lr_decay": 0.99, "depth": 3,
            "seed": 0}
"""Every setting of ``train_disk``; ``disk_explorer`` shows controls for those named in ``show``."""


@dataclass
class DiskRun:
    """One training run: the model, its per-epoch ``history``, predictions on the validation set."""
    model: nn.Sequential
    history: History
    val_acc: float
    val_pred: np.ndarray
    settings: dict
    seconds: float


def train_disk(lr: float = 0.05, init: str = "torch", hidden: int = 25,
               activation: str = MIXED, epochs: int = 100, batch_size: int = 50,
               momentum: float = 0.95, lr_decay: float = 0.99, depth: int = 3, seed: int = 0,
               data=None, on_progress: Callable[[int, int], None] | None = None) -> DiskRun:
    """Train ``build_disk_net(...)`` on the disk set; MSE on one-hot targets, SGD with momentum.

    lr is multiplied by ``lr_decay`` after every epoch. ``data``: ((x_train, c_train), (x_val,
    c_val)), default ``disk_data()``. ``on_progress(done, total)`` is called after each chunk of
    epochs (at most 20 calls). Raises ``TrainingDiverged`` when the loss blows up.
    """
    start = time.perf_counter()
    (x, c), (x_val, c_val) = data if data is not None else disk_data()
    model = build_disk_net(hidden, depth, activation, init, seed)
    loss_fn = nn.MSELoss()
    optimizer = nn.SGD(model.parameters(), lr=lr, momentum=momentum)
    scheduler = nn.ExponentialLR(optimizer, lr_decay)
    train, val = (x, nn.one_hot(c, 2)), (x_val, nn.one_hot(c_val, 2))
    history = History()
    # fit in chunks, so that a progress bar can move; each chunk shuffles with its own seed.
    chunks = np.array_split(np.arange(epochs), min(epochs, 20))
    for k, chunk in enumerate(chunks):
        part = fit(model, loss_fn, optimizer, train, val, epochs=len(chunk), batch_size=batch_size,
                   seed=seed * 1000 + k, scheduler=scheduler, progress=False)
        for name in ("train_loss", "train_acc", "val_loss", "val_acc"):
            getattr(history, name).extend(getattr(part, name))
        if on_progress is not None:
            on_progress(int(chunk[-1]) + 1, epochs)
    val_pred = model.forward(x_val).argmax(axis=1)
    settings = dict(lr=lr, init=init, hidden=hidden, activation=activation, epochs=epochs,
                    batch_size=batch_size, momentum=momentum, lr_decay=lr_decay, depth=depth,
                    seed=seed)
    return DiskRun(model, history, float(np.mean(val_pred == c_val)), val_pred, settings,
                   time.perf_counter() - start)


def _controls(values: dict, show: tuple[str, ...]) -> dict:
    import ipywidgets as w
    style = {"description_width": "initial"}
    make = {
        "lr": lambda v: w.FloatLogSlider(v, base=10, min=-4, max=0, step=0.25,
                                         description="learning rate", readout_format=".4g"),
        "init": lambda v: w.Dropdown(options=list(nn.init.INITS), value=v, description="init"),
        "hidden": lambda v: w.IntSlider(v, min=1, max=100, description="hidden units"),
        "activation": lambda v: w.Dropdown(options=[("relu, …, relu, tanh", MIXED),
                                                    *((a, a) for a in LAYERS)],
                                           value=v, description="activations"),
        "epochs": lambda v: w.IntSlider(v, min=1, max=500, description="epochs"),
        "batch_size": lambda v: w.Dropdown(options=[10, 50, 100, 1000], value=v,
                                           description="batch size"),
        "momentum": lambda v: w.FloatSlider(v, min=0, max=0.99, step=0.01, description="momentum"),
        "lr_decay": lambda v: w.FloatSlider(v, min=0.9, max=1, step=0.005, readout_format=".3f",
                                            description="lr decay / epoch"),
        "depth": lambda v: w.IntSlider(v, min=1, max=8, description="hidden layers"),
        "seed": lambda v: w.IntText(v, description="seed"),
    }
    unknown = [name for name in show if name not in make]
    if unknown:
        raise ValueError(f"no control named {unknown}: choose from {', '.join(make)}")
    controls = {name: make[name](values[name]) for name in show}
    for c in controls.values():
        c.style = style
    return controls


class DiskExplorer(Explorer):
    """Controls, a Train button, a progress bar, the validation accuracy and the plots.

    An :class:`~course_lib.widgets.explorer.Explorer`: ``train(**values)`` sets the given controls
    (or hidden settings), retrains and redraws, and returns the :class:`DiskRun` (None if training
    diverged; ``status`` then says so). ``figure`` holds the plots of the last run.
    """

    def __init__(self, values: dict, show: tuple[str, ...], data=None,
                 train_now: bool = True) -> None:
        import ipywidgets as w
        from matplotlib.figure import Figure
        controls = _controls(values, show)
        self.fixed = {k: v for k, v in values.items() if k not in controls}
        self.data = data if data is not None else disk_data()
        self.bar = w.IntProgress(value=0, min=0, max=1, description="epochs")
        self.run: DiskRun | None = None
        super().__init__(controls, self._train_and_draw,
                         Figure(figsize=(13, 4), layout="constrained"),
                         w.Button(description="Train", button_style="primary", icon="play"),
                         draw_now=train_now)
        boxes = list(controls.values())
        rows = [w.HBox(boxes[i:i + 3]) for i in range(0, len(boxes), 3)]
        self.widget.children = (*rows, w.HBox([self.button, self.bar, self.status]))

    @property
    def settings(self) -> dict:
        """Every setting ``train_disk`` gets: the controls' current values and the fixed ones."""
        return {**self.fixed, **self.values}

    def train(self, **values) -> DiskRun | None:
        """Set the named settings (controls or not), retrain, redraw; what Train does."""
        check_settings(values, DEFAULTS)
        self.fixed.update({k: v for k, v in values.items() if k not in self.controls})
        self.update(**{k: v for k, v in values.items() if k in self.controls})
        return self.run

    def _train_and_draw(self, fig, **control_values) -> None:
        settings = {**self.fixed, **control_values}
        self.bar.value, self.bar.max = 0, settings["epochs"]
        self.status.value = "training…"
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported, not warned
            self.run = self.retrain(fig, lambda: train_disk(
                **settings, data=self.data,
                on_progress=lambda done, _: setattr(self.bar, "value", done)))
        run = self.run
        if run is None:
            return
        n_wrong = int(np.sum(run.val_pred != self.data[1][1]))
        self.status.value = (f"validation accuracy <b>{run.val_acc:.1%}</b> "
                             f"({n_wrong} of {len(run.val_pred)} wrong), {run.seconds:.1f} s")
        self._draw_run(fig, run)

    def _draw_run(self, fig, run: DiskRun) -> None:
        from ..plots import plot_decision_boundary, plot_history, plot_mistakes
        (x, c), (x_val, c_val) = self.data
        ax_boundary, ax_mistakes, ax_curve = fig.subplots(1, 3)
        model = run.model.eval()
        plot_decision_boundary(lambda g: model.forward(g).argmax(axis=1), x, c, ax=ax_boundary,
                               resolution=150)
        ax_boundary.set_title("decision regions, training points")
        plot_mistakes(x_val, c_val, run.val_pred, ax=ax_mistakes, circle=(CENTER, RADIUS))
        ax_mistakes.set_title(f"validation: {run.val_acc:.1%} correct")
        plot_history(run.history, "acc", ax=ax_curve)
        ax_curve.set_title("learning curves")

    def __repr__(self) -> str:
        acc = "not trained" if self.run is None else f"validation accuracy {self.run.val_acc:.1%}"
        return f"DiskExplorer({acc}; {self.settings})"


def disk_explorer(show: tuple[str, ...] = ("lr", "init", "hidden", "activation", "epochs"),
                  train_now: bool = True, data=None, **values) -> DiskExplorer:
    """An explorer with controls for the settings named in ``show`` (any keys of ``DEFAULTS``).

    ``values`` override ``DEFAULTS`` (shown or not), e.g. ``disk_explorer(show=("init", "depth"),
    depth=6, activation="tanh")``; an unknown name raises ``ValueError``. With ``train_now`` it
    trains once right away, so an executed notebook stores the plots. Each retrain takes about a
    second with the defaults.
    """
    check_settings(values, DEFAULTS)
    return DiskExplorer({**DEFAULTS, **values}, tuple(show), data, train_now)
