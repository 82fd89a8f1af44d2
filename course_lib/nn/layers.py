"""Layers of the Module framework: Linear, the activations ReLU / Sigmoid / Tanh, and Dropout.

Each layer is a forward/backward pair. ``forward`` keeps what ``backward`` needs (the input for
Linear, the output for the activations, the mask for Dropout); ``backward(dL_dy)`` returns
``dL_dx`` and *adds* the parameter gradients to ``.grad``. Shapes: ``B`` is the batch size.

Parameters are float32 by default, as in PyTorch; ``dtype=np.float64`` is there for exact
comparisons. A Linear layer computes in its weights' dtype (a float64 input to a float32 layer is
converted once, as it enters), and the activations keep the dtype they are given.
"""
from __future__ import annotations

import numpy as np

from . import init as _init
from .module import Module, Parameter, ShapeError


class Linear(Module):
    """Fully connected layer ``y = x @ W + b``; W: (in_features, out_features), b: (out_features,).

    ``init`` names a scheme of :mod:`course_lib.nn.init` ("torch" = PyTorch's default) or is such
    a function; ``rng`` is a Generator, an int seed or None. Note ``W`` is the transpose of
    ``torch.nn.Linear.weight`` (out, in): rows here are inputs, so a batch multiplies from the left.
    """

    def __init__(self, in_features: int, out_features: int, init="torch", rng=None,
                 dtype=np.float32) -> None:
        W, b = _init.resolve(init)(in_features, out_features, rng=rng, dtype=dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight, self.bias = Parameter(W), Parameter(b)
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (B, in_features) -> y = x @ W + b: (B, out_features). Keeps x for backward."""
        W = self.weight.value
        x = np.asarray(x, dtype=W.dtype)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            detail = f"expected input (B, {self.in_features}), got {x.shape}" + _shape_hint(x)
            raise ShapeError(f"{self!r} {detail}", detail)
        self.x = x
        return x @ W + self.bias.value

    def backward(self, dL_dy: np.ndarray) -> np.ndarray | None:
        """dL_dy: (B, out_features) -> dL_dx = dL_dy @ W.T: (B, in_features), or None if not needed.

        Adds dL_dW = x.T @ dL_dy (in, out) and dL_db = dL_dy summed over the batch (out,).
        """
        x, W = self._saved_input(), self.weight.value
        dL_dy = self._upstream(dL_dy, len(x))
        self.weight.grad += x.T @ dL_dy
        self.bias.grad += dL_dy.sum(axis=0)
        return dL_dy @ W.T if self.needs_input_grad else None

    def _saved_input(self) -> np.ndarray:
        if self.x is None:
            raise self._missing_forward()
        return self.x

    def _upstream(self, dL_dy: np.ndarray, B: int) -> np.ndarray:
        """dL_dy in the weights' dtype, checked against the shape of the last output (B, out)."""
        dL_dy = np.asarray(dL_dy, dtype=self.weight.value.dtype)
        if dL_dy.shape != (B, self.out_features):
            raise ShapeError(f"{self!r}.backward expected dL_dy of shape "
                             f"{(B, self.out_features)} like its last output, got {dL_dy.shape}")
        return dL_dy

    def __repr__(self) -> str:
        return f"Linear(in={self.in_features}, out={self.out_features})"


def _shape_hint(x: np.ndarray) -> str:
    if x.ndim == 1:
        return ": a single example needs a batch axis, x.reshape(1, -1)"
    if x.ndim > 2:
        return ": flatten each example first, x.reshape(len(x), -1)"
    return ": check in_features against the data or the previous layer's out_features"


class _Activation(Module):
    """An elementwise layer whose derivative is written with its output y (saved in forward)."""

    y: np.ndarray | None = None

    def _saved_output(self) -> np.ndarray:
        if self.y is None:
            raise self._missing_forward()
        return self.y


class ReLU(_Activation):
    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n) -> y = max(x, 0): (B, n)."""
        self.y = np.maximum(x, 0)
        return self.y

    def backward(self, dL_dy: np.ndarray) -> np.ndarray:
        """dL_dy: (B, n) -> dL_dx = dL_dy * [y > 0]: (B, n)."""
        return dL_dy * (self._saved_output() > 0)


class Sigmoid(_Activation):
    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n) -> y = 1 / (1 + exp(-x)): (B, n)."""
        e = np.exp(-np.abs(x))  # exp of a non-positive number cannot overflow
        self.y = np.where(x >= 0, 1, e) / (1 + e)
        return self.y

    def backward(self, dL_dy: np.ndarray) -> np.ndarray:
        """dL_dy: (B, n) -> dL_dx = dL_dy * y * (1 - y): (B, n)."""
        y = self._saved_output()
        return dL_dy * y * (1 - y)


class Tanh(_Activation):
    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n) -> y = tanh(x): (B, n)."""
        self.y = np.tanh(x)
        return self.y

    def backward(self, dL_dy: np.ndarray) -> np.ndarray:
        """dL_dy: (B, n) -> dL_dx = dL_dy * (1 - y**2): (B, n)."""
        y = self._saved_output()
        return dL_dy * (1 - y * y)


class Dropout(Module):
    """Inverted dropout: in training mode zero each unit with probability ``p`` and scale the kept
    ones by 1 / (1 - p), so the expected output equals the input; in eval mode the identity.

    The scaled mask of the last training forward is kept in ``self.mask`` (B, n).
    """

    def __init__(self, p: float = 0.5, rng=None) -> None:
        if not 0 <= p < 1:
            raise ValueError(f"Dropout p is the probability of dropping a unit: need 0 <= p < 1, "
                             f"got {p}" + (" (p = 1 would drop everything)" if p == 1 else ""))
        self.p = float(p)
        self.rng = np.random.default_rng(rng)
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n) -> y = x * mask: (B, n), mask = [u >= p] / (1 - p) with u ~ U[0, 1)."""
        if not self.training or self.p == 0:
            self.mask = None
            return x
        x = np.asarray(x)
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep.astype(x.dtype) / (1 - self.p)
        return x * self.mask

    def backward(self, dL_dy: np.ndarray) -> np.ndarray:
        """dL_dy: (B, n) -> dL_dx = dL_dy * mask (eval mode: dL_dy unchanged)."""
        return dL_dy if self.mask is None else dL_dy * self.mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
