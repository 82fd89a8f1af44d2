"""Explorers for lessons 1-2: softmax and cross-entropy live, and retraining the scalar MLP.

Both are :class:`~course_lib.widgets.explorer.Explorer` s: named controls and a figure they redraw.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import functions
from ..data import load_synth
from ..data.synth import A, THRESHOLD
from ..plots import plot_decision_boundary, plot_windowed
from ..scalar import ScalarMLP
from .explorer import Explorer


# Labels in full at JupyterLab's default width (ipywidgets cuts them at about 80 px).
LABEL = {"description_width": "initial"}


def softmax_explorer(logits=(2.0, 1.0, 0.1, -1.0), c: int = 0, T: float = 1.0) -> Explorer:
    """Lesson 1: a slider per logit o_i, the true class c and a temperature T.

    Left: the probabilities y = softmax(o / T), the true class in orange, L = -log y_c on top.
    Right: the gradient dL/do = (y - onehot(c)) / T, the 1/T coming from the chain rule.
    Controls: ``o0, o1, ...``, ``c``, ``T``.
    """
    C = len(logits)
    if not 0 <= c < C:
        raise ValueError(f"the true class c must be one of 0..{C - 1}, got {c}")
    controls: dict[str, widgets.ValueWidget] = {
        f"o{i}": widgets.FloatSlider(value=float(v), min=-8, max=8, step=0.1, description=f"o_{i}",
                                    style=LABEL)
        for i, v in enumerate(logits)}
    controls["c"] = widgets.Dropdown(options=list(range(C)), value=c, description="true class c",
                                     style=LABEL)
    controls["T"] = widgets.FloatLogSlider(value=T, base=10, min=-1, max=1, step=0.05,
                                           description="temperature T", style=LABEL)

    def draw(fig: Figure, c: int, T: float, **o_by_name) -> None:
        o = np.array([o_by_name[f"o{i}"] for i in range(C)]) / T
        y = functions.softmax(o)
        grad = functions.softmax_cross_entropy_grad(o, c) / T
        colours = ["C1" if i == c else "C0" for i in range(C)]
        ax_y, ax_g = fig.subplots(1, 2)
        ax_y.bar_label(ax_y.bar(range(C), y, color=colours), fmt="%.3f")
        ax_y.set_ylim(0, 1.1)
        loss = functions.cross_entropy_from_logits(o, c)
        ax_y.set_title(rf"$y = \mathrm{{softmax}}(o/T)$,   $L = -\log y_{c} = {loss:.3f}$")
        ax_g.bar_label(ax_g.bar(range(C), grad, color=colours), fmt="%+.3f")
        limit = 1.15 * max(1.0, 1 / T)  # fixed for T >= 1, so a shrinking gradient looks shrunk
        ax_g.set_ylim(-limit, limit)
        ax_g.axhline(0, color="black", linewidth=0.8)
        ax_g.set_title(r"$\partial L/\partial o = (y - \mathrm{onehot}(c))\,/\,T$")
        for ax in (ax_y, ax_g):
            ax.set_xticks(range(C), [f"class {i}" for i in range(C)])

    return Explorer(controls, draw, Figure(figsize=(10, 3.6), layout="constrained"))


def _synth_polynomial(g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """x·A·x at every grid point x = (g0, g1); the synthetic set's label is [x·A·x > THRESHOLD]."""
    return A[0, 0] * g0 * g0 + (A[0, 1] + A[1, 0]) * g0 * g1 + A[1, 1] * g1 * g1


def plot_synth_boundary(net: ScalarMLP | None, x: np.ndarray, c: np.ndarray, ax=None,
                        resolution: int = 100):
    """What a 2-input ``net`` predicts over the plane (shaded) with the points ``x: (N, 2)``,
    ``c: (N,)`` on top, the true boundary x·A·x = 0.6 of ``load_synth`` (black) and the line
    where each hidden unit switches, k_j = 0 (grey, dashed): the net bends those lines into its
    boundary. ``net=None`` shades the true classes instead. ``resolution``² forward passes in
    pure Python: keep it about 100.
    """
    def predict(grid: np.ndarray) -> np.ndarray:
        if net is None:
            return (_synth_polynomial(grid[:, 0], grid[:, 1]) > THRESHOLD).astype(int)
        return np.array([net.predict(p) for p in grid.tolist()])

    ax = plot_decision_boundary(predict, x, c, ax=ax, resolution=resolution)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    g0, g1 = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    ax.contour(g0, g1, _synth_polynomial(g0, g1), levels=[THRESHOLD], colors="black",
               linewidths=1.5)
    W1, b1 = (net.params["W1"], net.params["b1"]) if net is not None else ([], [])
    for j in range(len(b1)):
        k = W1[0][j] * g0 + W1[1][j] * g1 + b1[j]
        if k.min() < 0 < k.max():  # the unit switches inside the window
            ax.contour(g0, g1, k, levels=[0], colors="grey", linestyles="--", linewidths=1)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    handles = [Line2D([], [], color="black", label="true boundary")]
    if net is not None:
        handles.append(Line2D([], [], color="grey", linestyle="--",
                              label="hidden unit: $k_j = 0$"))
    ax.legend(handles=handles, loc="lower right", fontsize="small")
    return ax


def training_explorer(n_train: int = 4000, n_val: int = 2000, lr: float = 0.1, hidden: int = 3,
                      epochs: int = 1, seed: int = 0, window: int = 100) -> Explorer:
    """Lesson 2: pick a learning rate, hidden size, epochs and seed, press Train.

    Trains a fresh ``ScalarMLP(2, hidden, 2, seed)`` with one-example SGD (shuffled by ``seed``
    too) on the first ``n_train`` points of ``load_synth(seed=0)`` and draws the loss averaged
    over windows of ``window`` updates and the decision boundary with up to 600 of the ``n_val``
    validation points (the accuracy in its title is over all of them).
    Controls: ``lr``, ``hidden``, ``epochs``, ``seed``.
    """
    (x, c), (x_val, c_val), _ = load_synth(num_train=n_train, num_val=n_val, seed=0)
    controls: dict[str, widgets.ValueWidget] = {
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=1, step=0.25,
                                     description="learning rate", style=LABEL),
        "hidden": widgets.IntSlider(value=hidden, min=1, max=10, description="hidden units",
                                    style=LABEL),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=5, description="epochs"),
        "seed": widgets.IntSlider(value=seed, min=0, max=9, description="seed"),
    }
    button = widgets.Button(description="Train", button_style="primary", icon="play")

    def draw(fig: Figure, lr: float, hidden: int, epochs: int, seed: int) -> None:
        net = ScalarMLP(2, hidden, 2, seed=seed)
        history = net.fit(x, c, epochs=epochs, lr=lr, seed=seed, x_val=x_val, c_val=c_val,
                          progress=False)
        ax_loss, ax_boundary = fig.subplots(1, 2)
        plot_windowed(history.iteration_loss, window, ax=ax_loss)
        ax_loss.set_title(f"2-{hidden}-2 net (seed {seed}), learning rate {lr:.3g}, "
                          f"{epochs * n_train} updates")
        plot_synth_boundary(net, x_val[:600], c_val[:600], ax=ax_boundary, resolution=80)
        ax_boundary.set_title(f"validation accuracy {history.val_acc[-1]:.1%}")

    return Explorer(controls, draw, Figure(figsize=(10, 4.2), layout="constrained"), button)
