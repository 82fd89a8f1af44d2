"""Plots the lessons show: learning curves, windowed losses, decision boundaries, mistakes.

Every function draws on an ``ax`` (a new figure when none is given) and returns it, so a lesson
can compose several in one figure.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .train import History


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] = (6, 4)) -> plt.Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def window_average(values: Sequence[float], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Means over consecutive windows of ``window`` values: returns (window centres, means).

    Per-sample SGD losses jump around too much to read; their window means show the trend.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v) // window
    if n == 0:
        raise ValueError(f"need at least {window} values to average over windows of {window}")
    means = v[: n * window].reshape(n, window).mean(axis=1)
    centres = np.arange(n) * window + window / 2
    return centres, means


def plot_windowed(values: Sequence[float] | Mapping[str, Sequence[float]], window: int,
                  ax: plt.Axes | None = None, ylabel: str = "loss") -> plt.Axes:
    """Window-averaged curve(s) of per-iteration values; a dict plots one labelled curve each."""
    ax = _axes(ax)
    series = values if isinstance(values, Mapping) else {None: values}
    for label, vals in series.items():
        x, m = window_average(vals, window)
        ax.plot(x, m, label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"{ylabel} (mean over {window} iterations)")
    if any(label is not None for label in series):
        ax.legend()
    return ax


def plot_history(histories: History | Mapping[str, History], metric: str = "loss",
                 ax: plt.Axes | None = None) -> plt.Axes:
    """Train (solid) and validation (dashed) curves of ``metric`` ("loss" or "acc") per epoch."""
    ax = _axes(ax)
    runs = histories if isinstance(histories, Mapping) else {"": histories}
    for i, (name, h) in enumerate(runs.items()):
        colour = f"C{i}"
        epochs = np.arange(1, len(h) + 1)
        train, val = getattr(h, f"train_{metric}"), getattr(h, f"val_{metric}")
        ax.plot(epochs, train, "-", color=colour, label=f"{name} train".strip())
        if not np.all(np.isnan(val)):
            ax.plot(epochs, val, "--", color=colour, label=f"{name} validation".strip())
    ax.set_xlabel("epoch")
    ax.set_ylabel({"loss": "loss", "acc": "accuracy"}.get(metric, metric))
    ax.legend(fontsize="small")
    return ax


def plot_mean_std(curves: np.ndarray, label: str, ax: plt.Axes | None = None) -> plt.Axes:
    """Mean ± one standard deviation band of several runs. curves: (runs, epochs)."""
    ax = _axes(ax)
    curves = np.asarray(curves, dtype=np.float64)
    epochs = np.arange(1, curves.shape[1] + 1)
    mean, std = curves.mean(axis=0), curves.std(axis=0)
    line, = ax.plot(epochs, mean, label=label)
    ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.legend(fontsize="small")
    return ax


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                           c: np.ndarray, ax: plt.Axes | None = None, resolution: int = 200,
                           margin: float = 0.1) -> plt.Axes:
    """Shade the class ``predict`` gives each point of a grid; scatter the data on top.

    predict: (N, 2) float32 -> (N,) int labels.  x: (N, 2), c: (N,).
    """
    ax = _axes(ax, (5, 5))
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1).astype(np.float32)
    z = np.asarray(predict(grid)).reshape(g0.shape)
    ax.contourf(g0, g1, z, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"], alpha=0.8)
    ax.scatter(x[:, 0], x[:, 1], c=c, cmap="coolwarm", s=6, edgecolors="none")
    ax.set_aspect("equal")
    return ax


def plot_mistakes(x: np.ndarray, c: np.ndarray, c_pred: np.ndarray, ax: plt.Axes | None = None,
                  circle: tuple[tuple[float, float], float] | None = None) -> plt.Axes:
    """Correct points faint, misclassified ones as red crosses; optionally the true circle.

    circle: ((cx, cy), radius), e.g. the disk set's boundary.
    """
    ax = _axes(ax, (5, 5))
    wrong = c_pred != c
    ax.scatter(x[~wrong, 0], x[~wrong, 1], c=c[~wrong], cmap="coolwarm", s=8, alpha=0.4,
               edgecolors="none")
    ax.scatter(x[wrong, 0], x[wrong, 1], marker="x", color="red", s=40,
               label=f"misclassified ({int(wrong.sum())} of {len(c)})")
    if circle is not None:
        (cx, cy), r = circle
        ax.add_patch(plt.Circle((cx, cy), r, fill=False, color="black", lw=1.5, label="true boundary"))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_confusion_matrix(cm: np.ndarray, ax: plt.Axes | None = None,
                          class_names: Sequence[str] | None = None) -> plt.Axes:
    """Draw a confusion matrix cm: (C, C), rows the true class, columns the predicted one.

    Only the mistakes are coloured (the diagonal, mostly correct answers, would swamp the colour
    scale); every cell shows its count, the diagonal in grey.
    """
    cm = np.asarray(cm)
    C = len(cm)
    ax = _axes(ax, (6, 5.5))
    mistakes = np.where(np.eye(C, dtype=bool), np.nan, cm).astype(np.float64)
    image = ax.imshow(mistakes, cmap="Reds", vmin=0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="mistakes")
    top = np.nanmax(mistakes) if C > 1 else 0
    for i in range(C):
        for j in range(C):
            colour = "grey" if i == j else ("white" if cm[i, j] > 0.6 * top else "black")
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize="small", color=colour)
    names = list(class_names) if class_names is not None else [str(k) for k in range(C)]
    ax.set_xticks(range(C), names)
    ax.set_yticks(range(C), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    return ax


def plot_gap(x: Sequence[float], train: Sequence[float], val: Sequence[float],
             ax: plt.Axes | None = None, xlabel: str = "", ylabel: str = "accuracy") -> plt.Axes:
    """Training and validation values over a swept setting x, the gap between them shaded.

    x, train, val: (K,) for the K settings of a sweep (e.g. weight decays, hidden sizes).
    """
    ax = _axes(ax)
    ax.plot(x, train, "o-", label="training")
    ax.plot(x, val, "s--", label="validation")
    ax.fill_between(x, train, val, color="grey", alpha=0.2, label="gap")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize="small")
    return ax
