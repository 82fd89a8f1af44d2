"""Explorers for lessons 1-2: softmax and cross-entropy live, and retraining the scalar MLP.

An :class:`Explorer` holds its controls in ``.widget`` and the matplotlib ``.figure`` they redraw;
``.update(**values)`` sets controls by name and redraws, exactly as moving a slider (or pressing
Train) does. Displayed in a notebook it shows the controls and the figure as a PNG that every
redraw replaces in place, so an executed notebook keeps the picture even where widgets do not
render (a static viewer, a notebook opened without a kernel).
"""
from __future__ import annotations

import io
from typing import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import functions as F
from ..data import load_synth
from ..data.synth import A, THRESHOLD
from ..plots import plot_decision_boundary, plot_windowed
from ..scalar import ScalarMLP


class Explorer:
    """Named controls plus the figure that ``draw(figure, **control_values)`` fills.

    Without a ``button`` every change of a control redraws at once (cheap plots); with one,
    controls only take effect when it is pressed (retraining a network on each slider twitch
    would freeze the notebook).
    """

    def __init__(self, controls: dict[str, widgets.ValueWidget], draw: Callable[..., None],
                 figure: Figure, button: widgets.Button | None = None):
        self.controls, self.figure, self._draw = controls, figure, draw
        self._handle = None  # set once displayed; a redraw then replaces the shown PNG
        self._setting = False
        if button is None:
            for control in controls.values():
                control.observe(self._on_change, names="value")
        else:
            button.on_click(lambda _: self.update())
        self.widget = widgets.VBox([*controls.values(), *([button] if button else [])])
        self.update()

    @property
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values) -> None:
        """Set the named controls (``update(o0=3.0)``, ``update(lr=0.3)``), then redraw once."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this explorer has "
                             f"{sorted(self.controls)}")
        self._setting = True  # one redraw for all values, not one per value
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._setting = False
        self.figure.clear()
        self._draw(self.figure, **self.values)
        if self._handle is not None:
            from IPython.display import Image
            self._handle.update(Image(self.png()))

    def _on_change(self, change) -> None:
        if not self._setting:
            self.update()

    def png(self) -> bytes:
        """The figure as it looks now, as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import Image, display
        display(self.widget)
        self._handle = display(Image(self.png()), display_id=True)


def softmax_explorer(logits=(2.0, 1.0, 0.1, -1.0), c: int = 0, T: float = 1.0) -> Explorer:
    """Lesson 1: a slider per logit o_i, the true class c and a temperature T.

    Left: the probabilities y = softmax(o / T), the true class in orange, L = -log y_c on top.
    Right: the gradient dL/do = (y - onehot(c)) / T, the 1/T coming from the chain rule.
    Controls: ``o0, o1, ...``, ``c``, ``T``.
    """
    K = len(logits)
    if not 0 <= c < K:
        raise ValueError(f"the true class c must be one of 0..{K - 1}, got {c}")
    controls: dict[str, widgets.ValueWidget] = {
        f"o{i}": widgets.FloatSlider(value=float(v), min=-8, max=8, step=0.1, description=f"o_{i}")
        for i, v in enumerate(logits)}
    controls["c"] = widgets.Dropdown(options=list(range(K)), value=c, description="true class c")
    controls["T"] = widgets.FloatLogSlider(value=T, base=10, min=-1, max=1, step=0.05,
                                           description="temperature T")

    def draw(fig: Figure, c: int, T: float, **o_by_name) -> None:
        o = np.array([o_by_name[f"o{i}"] for i in range(K)]) / T
        y = F.softmax(o)
        grad = F.softmax_cross_entropy_grad(o, c) / T
        colours = ["C1" if i == c else "C0" for i in range(K)]
        ax_y, ax_g = fig.subplots(1, 2)
        ax_y.bar_label(ax_y.bar(range(K), y, color=colours), fmt="%.3f")
        ax_y.set_ylim(0, 1.1)
        loss = F.cross_entropy_from_logits(o, c)
        ax_y.set_title(rf"$y = \mathrm{{softmax}}(o/T)$,   $L = -\log y_{c} = {loss:.3f}$")
        ax_g.bar_label(ax_g.bar(range(K), grad, color=colours), fmt="%+.3f")
        limit = 1.15 * max(1.0, 1 / T)  # fixed for T >= 1, so a shrinking gradient looks shrunk
        ax_g.set_ylim(-limit, limit)
        ax_g.axhline(0, color="black", linewidth=0.8)
        ax_g.set_title(r"$\partial L/\partial o = (y - \mathrm{onehot}(c))\,/\,T$")
        for ax in (ax_y, ax_g):
            ax.set_xticks(range(K), [f"class {i}" for i in range(K)])

    return Explorer(controls, draw, Figure(figsize=(10, 3.6), layout="constrained"))


def _synth_polynomial(g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """x·A·x at every grid point x = (g0, g1); the synthetic set's label is [x·A·x > THRESHOLD]."""
    return A[0, 0] * g0 * g0 + (A[0, 1] + A[1, 0]) * g0 * g1 + A[1, 1] * g1 * g1


def plot_synth_boundary(net: ScalarMLP | None, x: np.ndarray, y: np.ndarray, ax=None,
                        resolution: int = 100):
    """What a 2-input ``net`` predicts over the plane (shaded) with the points ``x: (N, 2)``,
    ``y: (N,)`` on top, the true boundary x·A·x = 0.6 of ``load_synth`` (black) and the line
    where each hidden unit switches, k_j = 0 (grey, dashed): the net bends those lines into its
    boundary. ``net=None`` shades the true classes instead. ``resolution``² forward passes in
    pure Python: keep it about 100.
    """
    def predict(grid: np.ndarray) -> np.ndarray:
        if net is None:
            return (_synth_polynomial(grid[:, 0], grid[:, 1]) > THRESHOLD).astype(int)
        return np.array([net.predict(p) for p in grid.tolist()])

    ax = plot_decision_boundary(predict, x, y, ax=ax, resolution=resolution)
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
                                     description="learning rate"),
        "hidden": widgets.IntSlider(value=hidden, min=1, max=10, description="hidden units"),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=5, description="epochs"),
        "seed": widgets.IntSlider(value=seed, min=0, max=9, description="seed"),
    }
    button = widgets.Button(description="Train", button_style="primary", icon="play")

    def draw(fig: Figure, lr: float, hidden: int, epochs: int, seed: int) -> None:
        net = ScalarMLP(2, hidden, 2, seed=seed)
        history = net.fit(x, c, epochs=epochs, lr=lr, seed=seed, x_val=x_val, y_val=c_val,
                          progress=False)
        ax_loss, ax_boundary = fig.subplots(1, 2)
        plot_windowed(history.iteration_loss, window, ax=ax_loss)
        ax_loss.set_title(f"2-{hidden}-2 net (seed {seed}), learning rate {lr:.3g}, "
                          f"{epochs * n_train} updates")
        plot_synth_boundary(net, x_val[:600], c_val[:600], ax=ax_boundary, resolution=80)
        ax_boundary.set_title(f"validation accuracy {history.val_acc[-1]:.1%}")

    return Explorer(controls, draw, Figure(figsize=(10, 4.2), layout="constrained"), button)
