"""Explorer for lesson 9: how much gradient reaches each token, through the hand-written backward.

One :class:`~course_lib.widgets.explorer.Explorer`: pick a cell (tanh or relu RNN, LSTM), scale
its recurrent weights W_hh, shift the LSTM's forget-gate bias, and watch ||dL/dx_t|| against t for a
loss that reads only the last state. The numbers come from ``course_lib.nn``'s own backward pass
(lesson 9's recursion), in float64.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .. import nn
from .basics import LABEL
from .explorer import Explorer

CELLS = ("RNN, tanh", "RNN, relu", "LSTM")


def gradient_per_token(cell: str, scale: float = 1.0, forget_bias: float = 0.0, T: int = 100,
                       B: int = 4, H: int = 32, seed: int = 0) -> np.ndarray:
    """||dL/dx_t|| for t = 1..T (summed over the batch), with L = sum of the last state h_T.

    ``cell`` is one of ``CELLS``; the layer starts at torch's initialisation (``seed``), then its
    ``weight_hh_l0`` is multiplied by ``scale`` and, for the LSTM, ``forget_bias`` is added to the
    forget gate's bias. x: (B, T, H) standard normal, float64. -> (T,)
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    rng = np.random.default_rng(seed)
    if cell == "LSTM":
        layer = nn.LSTM(H, H, rng=rng, dtype=np.float64)
        layer.bias_ih_l0.value[H:2 * H] += forget_bias  # gates i, f, g, o: f is the second block
    else:
        layer = nn.RNN(H, H, nonlinearity=cell.split(", ")[1], rng=rng, dtype=np.float64)
    layer.weight_hh_l0.value *= scale
    x = rng.standard_normal((B, T, H))
    out, last = layer.forward(x)
    h_last = last[0] if cell == "LSTM" else last
    dL_dx = layer.backward(np.zeros_like(out), np.ones_like(h_last))
    return np.linalg.norm(dL_dx, axis=(0, 2))


def gradient_flow_explorer(T: int = 100) -> Explorer:
    """Lesson 9: ||dL/dx_t|| against t, log scale, for the chosen cell, W_hh scale and forget bias.

    Controls: ``cell`` (one of ``CELLS``), ``scale`` (W_hh times 1/4 .. 4), ``forget_bias``
    (added to the LSTM's forget gate; ignored by the RNNs). The grey curve is the tanh RNN at
    torch's initialisation, for comparison.
    """
    controls: dict[str, widgets.ValueWidget] = {
        "cell": widgets.Dropdown(options=CELLS, value=CELLS[0], description="cell", style=LABEL),
        "scale": widgets.FloatLogSlider(value=1.0, base=2, min=-2, max=2, step=0.25,
                                        description="W_hh times", style=LABEL),
        "forget_bias": widgets.FloatSlider(value=0.0, min=-2.0, max=4.0, step=0.5,
                                           description="LSTM forget-gate bias +", style=LABEL)}
    reference = gradient_per_token("RNN, tanh", T=T)
    steps = np.arange(1, T + 1)

    def draw(fig: Figure, cell: str, scale: float, forget_bias: float) -> None:
        norms = gradient_per_token(cell, scale, forget_bias, T=T)
        ax = fig.subplots()
        ax.semilogy(steps, reference, color="0.7", label="RNN, tanh, W_hh as initialised")
        ax.semilogy(steps, np.maximum(norms, 1e-300), color="C1", linewidth=2,
                    label=f"{cell}, W_hh × {scale:g}" + (f", forget bias +{forget_bias:g}"
                                                            if cell == "LSTM" else ""))
        ax.set_xlabel("token t (the loss reads only the state after the last token)")
        ax.set_ylabel(r"$\Vert \partial L / \partial x_t \Vert$")
        ratio = norms[0] / norms[-1] if norms[-1] > 0 else float("nan")
        ax.set_title(f"token 1 gets {ratio:.1e} times the gradient of token {T}")
        ax.legend(loc="lower right")

    return Explorer(controls, draw, Figure(figsize=(9, 3.8), layout="constrained"))
