"""MNIST explorer: retrain lesson 3's vectorised MLP on 5,000 digits and see what changed.

    explorer = mnist_explorer(x_train, c_train, x_val, c_val)  # trains once with the defaults
    explorer                                                # in a notebook: controls and plots
    explorer.train(batch_size=512)                          # what the Train button does

Each run trains ``MLP(784, hidden, 10, activation, seed)`` (float32) with minibatch SGD on the
first 5,000 training images and measures it on the first 2,000 validation images. The plot
shows the windowed training loss against examples seen (the previous run in grey, for
comparison), the validation accuracy and a diagnosis of the hidden layer in its title, and
misclassified validation digits. ``train_mnist`` does the same without any widget.
"""
from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..functions import ACTIVATIONS
from ..mlp import MLP
from ..plots import window_average
from ..train import History
from .explorer import Explorer, check_settings

BATCH_SIZES = (1, 8, 32, 128, 512)
# Up to 256: per-sample SGD (B = 1) for 3 epochs then still retrains in about 3 s on one core.
HIDDEN_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)
DEFAULTS = {"lr": 0.1, "batch_size": 32, "hidden": 128, "activation": "relu", "epochs": 1,
            "seed": 0}
EXAMPLES_PER_POINT = 250  # each point of the loss curve: the mean over about this many examples
N_MISTAKES = 18


@dataclass
class MnistRun:
    """One training run: the model, its ``history``, predictions on the validation images."""
    model: MLP
    history: History
    val_acc: float
    val_pred: np.ndarray
    diagnosis: str
    settings: dict
    seconds: float


def hidden_diagnosis(model: MLP, X: np.ndarray) -> str:
    """One line on the health of the hidden layer over the images ``X: (N, 784)``.

    ReLU: how many units are dead (output 0 for every image; their gradient is 0, so they never
    recover). Sigmoid/tanh: the share of hidden outputs where f'(k) is below 5% of its largest
    value f'(0) (saturated: almost no gradient gets through).
    """
    cache = model.forward(X)
    n_hidden = cache["H"].shape[1]
    if model.activation == "relu":
        dead = int(np.count_nonzero(np.all(cache["H"] <= 0, axis=0)))
        return f"dead ReLU units (0 for every image): {dead} of {n_hidden}"
    _, f_grad = ACTIVATIONS[model.activation]
    f_grad_0 = float(f_grad(np.zeros(1))[0])
    saturated = float(np.mean(f_grad(cache["K"], cache["H"]) < 0.05 * f_grad_0))
    return f"saturated {model.activation} outputs (f' < 5% of f'(0)): {saturated:.0%}"


def train_mnist(data, lr: float = 0.1, batch_size: int = 32, hidden: int = 128,
                activation: str = "relu", epochs: int = 1, seed: int = 0) -> MnistRun:
    """Train a fresh ``MLP(784, hidden, 10, activation, seed)`` (float32) on ``data``.

    ``data``: ((x_train: (N, 784), c_train: (N,)), (x_val: (M, 784), c_val: (M,))). Minibatch SGD
    shuffled by ``seed`` too, so equal settings give equal runs. Raises ``TrainingDiverged`` when
    the loss becomes NaN or infinite.
    """
    (x_train, c_train), (x_val, c_val) = data
    start = time.perf_counter()
    model = MLP(x_train.shape[1], hidden, 10, activation, seed=seed)
    # Too large steps leave huge weights that overflow exp in validation: the loss and the
    # diagnosis show that better than a RuntimeWarning would.
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(x_train, c_train, epochs=epochs, lr=lr, batch_size=batch_size,
                            seed=seed, x_val=x_val, c_val=c_val, progress=False)
        val_pred, diagnosis = model.predict(x_val), hidden_diagnosis(model, x_val)
    settings = dict(lr=lr, batch_size=batch_size, hidden=hidden, activation=activation,
                    epochs=epochs, seed=seed)
    return MnistRun(model, history, history.val_acc[-1], val_pred, diagnosis, settings,
                    time.perf_counter() - start)


def _label(settings: dict) -> str:
    s = settings
    return f"lr {s['lr']:.3g}, B = {s['batch_size']}, {s['hidden']} {s['activation']}"


class MnistExplorer(Explorer):
    """Controls, a Train button with a status line, and the figure of the last run.

    ``widget`` is the box to display; ``train(**values)`` sets the named controls, retrains and
    redraws, and returns the :class:`MnistRun` (None if the loss blew up: ``status`` and the
    figure then say so). Moving a control alone changes nothing until Train is pressed.
    """

    def __init__(self, data, values: dict) -> None:
        self.data = data
        self.run: MnistRun | None = None
        self._previous: tuple[str, np.ndarray, np.ndarray] | None = None  # last run's curve
        style = {"description_width": "initial"}
        controls: dict[str, widgets.ValueWidget] = {
            "lr": widgets.FloatLogSlider(values["lr"], base=10, min=-4, max=0, step=0.25,
                                         readout_format=".4g", description="learning rate"),
            "batch_size": widgets.Dropdown(options=BATCH_SIZES, value=values["batch_size"],
                                           description="batch size B"),
            "hidden": widgets.SelectionSlider(options=HIDDEN_SIZES, value=values["hidden"],
                                              description="hidden units"),
            "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=values["activation"],
                                           description="activation"),
            "epochs": widgets.IntSlider(values["epochs"], min=1, max=3, description="epochs"),
            "seed": widgets.IntSlider(values["seed"], min=0, max=9, description="seed"),
        }
        for control in controls.values():
            control.style = style
        super().__init__(controls, self._train_and_draw,
                         Figure(figsize=(11, 4.2), layout="constrained"),
                         widgets.Button(description="Train", button_style="primary", icon="play"))
        boxes = list(controls.values())
        self.widget.children = (widgets.HBox([widgets.VBox(boxes[:3]), widgets.VBox(boxes[3:])]),
                                widgets.HBox([self.button, self.status]))

    def train(self, **values) -> MnistRun | None:
        """Set the named controls (``train(lr=0.01, batch_size=1)``), retrain, redraw."""
        self.update(**values)
        return self.run

    def _train_and_draw(self, fig: Figure, **settings) -> None:
        (x, _), (x_val, _) = self.data
        updates = settings["epochs"] * math.ceil(len(x) / settings["batch_size"])
        self.status.value = html.escape(f"training on {len(x):,} images: {_label(settings)}, "
                                        f"{updates:,} updates…")
        self.run = run = self.retrain(fig, lambda: train_mnist(self.data, **settings))
        if run is None:
            return
        wrong = np.flatnonzero(run.val_pred != self.data[1][1])
        self.status.value = (f"validation accuracy <b>{run.val_acc:.1%}</b> ({len(wrong)} of "
                             f"{len(x_val):,} wrong), {run.seconds:.1f} s; "
                             f"{html.escape(run.diagnosis)}")
        fig_loss, fig_digits = fig.subfigures(1, 2, width_ratios=(1.15, 1))
        self._draw_loss(fig_loss.subplots(), run)
        self._draw_mistakes(fig_digits, wrong)

    def _draw_loss(self, ax, run: MnistRun) -> None:
        B = run.settings["batch_size"]
        centres, means = window_average(run.history.iteration_loss,
                                        max(1, EXAMPLES_PER_POINT // B))
        examples = (centres + 0.5) * B  # the update a window is centred on, in examples seen
        label = _label(run.settings)
        if self._previous is not None:
            ax.plot(*self._previous[1:], color="0.65", label=f"previous: {self._previous[0]}")
        ax.plot(examples, means, color="C0", label=label)
        self._previous = (label, examples, means)
        ax.axhline(math.log(10), color="black", linestyle=":", linewidth=1)
        ax.annotate("guessing: log 10", (0, math.log(10)), xytext=(2, 2),
                    textcoords="offset points", fontsize=8)
        ax.set_ylim(0, max(3.0, 1.05 * float(np.max(means))))
        ax.set(xlabel="training examples seen",
               ylabel=f"training loss (mean over ~{max(B, EXAMPLES_PER_POINT)} examples)")
        ax.legend(loc="upper right", fontsize="small")
        ax.set_title(f"validation accuracy {run.val_acc:.1%}\n{run.diagnosis}", fontsize=10)

    def _draw_mistakes(self, fig: Figure, wrong: np.ndarray) -> None:
        _, (x_val, c_val) = self.data
        axes = fig.subplots(3, N_MISTAKES // 3).ravel()
        for ax in axes:
            ax.axis("off")
        for ax, i in zip(axes, wrong):
            ax.imshow(x_val[i].reshape(28, 28), cmap="gray_r")
            ax.set_title(f"{c_val[i]} → {self.run.val_pred[i]}", fontsize=9)
        fig.suptitle(f"misclassified, true → predicted ({len(wrong)} of {len(c_val):,})",
                     fontsize=10)

    def __repr__(self) -> str:
        acc = "diverged" if self.run is None else f"validation accuracy {self.run.val_acc:.1%}"
        return f"MnistExplorer({acc}; {self.values})"


def mnist_explorer(x_train: np.ndarray, c_train: np.ndarray, x_val: np.ndarray, c_val: np.ndarray,
                   n_train: int = 5000, n_val: int = 2000, **values) -> MnistExplorer:
    """Lesson 3: learning rate, batch size, hidden units, activation, epochs, seed; press Train.

    ``x_train: (N, 784)``, ``c_train: (N,)``, ``x_val``, ``c_val`` as from ``load_mnist()``: the
    first ``n_train`` and ``n_val`` of them are used. ``values`` override ``DEFAULTS`` (an unknown
    name raises ``ValueError``). Trains once right away, so an executed notebook stores the plots;
    a retrain takes well under a second with the defaults and a few seconds at most (B = 1, 256
    units, 3 epochs).
    """
    check_settings(values, DEFAULTS)
    data = ((x_train[:n_train], np.asarray(c_train[:n_train])),
            (x_val[:n_val], np.asarray(c_val[:n_val])))
    return MnistExplorer(data, {**DEFAULTS, **values})
