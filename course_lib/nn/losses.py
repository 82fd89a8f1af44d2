"""Losses of the Module framework, averaged exactly like their PyTorch namesakes.

A loss is not a layer: ``forward(pred, target)`` returns a Python float and keeps what
``backward()`` needs; ``backward()`` takes no argument (dL/dL = 1) and returns ``dL_dpred``,
the array to hand to ``model.backward``.
"""
from __future__ import annotations

import numpy as np


def one_hot(y: np.ndarray, n_classes: int, dtype=np.float32) -> np.ndarray:
    """y: (B,) integer labels -> (B, n_classes) rows of zeros with a 1 at column y[i]."""
    y = np.asarray(y)
    out = np.zeros((len(y), n_classes), dtype)
    out[np.arange(len(y)), y] = 1
    return out


class Loss:
    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def _missing_forward(self) -> RuntimeError:
        return RuntimeError(f"{type(self).__name__}.backward() was called before forward(): "
                            "compute the loss first, loss = loss_fn(pred, target)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    """L = mean of (pred - target)**2 over *all* elements (B * C of them), as torch.nn.MSELoss().

    ``target`` has the shape of ``pred``: for classification with C outputs, one-hot encode
    the labels (``one_hot(y, C)``).
    """

    diff: np.ndarray | None = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """pred: (B, C) or (B,), target: same shape -> L (float). Keeps pred - target."""
        pred, target = np.asarray(pred), np.asarray(target)
        if target.shape != pred.shape:
            hint = (f"one-hot encode integer labels, one_hot(y, {pred.shape[1]})"
                    if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] > 1
                    else f"reshape it, target.reshape{pred.shape}")
            raise ValueError(f"MSELoss needs a target of the same shape as pred {pred.shape}, "
                             f"got {target.shape}: {hint}")
        self.diff = pred - target.astype(pred.dtype, copy=False)
        d = self.diff.ravel()
        return float(np.dot(d, d)) / d.size

    def backward(self) -> np.ndarray:
        """-> dL_dpred = 2 (pred - target) / (number of elements), shape of pred."""
        if self.diff is None:
            raise self._missing_forward()
        return self.diff * (2 / self.diff.size)


class CrossEntropyLoss(Loss):
    """L = mean over the batch of -log softmax(z)[target], from logits z, as torch.nn.CrossEntropyLoss().

    ``target`` holds class indices (integers 0..C-1), not one-hot rows.
    """

    p: np.ndarray | None = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        """logits z: (B, C), target: (B,) ints -> L (float). Keeps the softmax p for backward."""
        z, t = np.asarray(logits), np.asarray(target)
        _check_class_indices(z, t)
        z = z - z.max(axis=1, keepdims=True)  # softmax(z) = softmax(z - c): exp cannot overflow
        e = np.exp(z)
        s = e.sum(axis=1)
        rows = np.arange(len(t))
        self.p, self.target = e / s[:, None], t
        return float(np.mean(np.log(s) - z[rows, t]))

    def backward(self) -> np.ndarray:
        """-> dL_dz = (softmax(z) - one_hot(target)) / B: (B, C)."""
        if self.p is None:
            raise self._missing_forward()
        dL_dz = self.p.copy()
        dL_dz[np.arange(len(self.target)), self.target] -= 1
        dL_dz /= len(self.target)
        return dL_dz


def _check_class_indices(z: np.ndarray, t: np.ndarray) -> None:
    if z.ndim != 2:
        raise ValueError(f"CrossEntropyLoss expects logits of shape (B, C), got {z.shape}"
                         + (": add a batch axis, z.reshape(1, -1)" if z.ndim == 1 else ""))
    if t.shape == z.shape:
        raise ValueError(f"CrossEntropyLoss takes class indices (B,), not one-hot targets "
                         f"{t.shape}: pass target.argmax(axis=1), or use MSELoss for one-hot targets")
    if t.shape != (len(z),):
        raise ValueError(f"CrossEntropyLoss expects target of shape ({len(z)},) for logits "
                         f"{z.shape}, got {t.shape}")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"CrossEntropyLoss needs integer class indices, got dtype {t.dtype}: "
                        "pass target.astype(np.int64)")
    if len(t) and (t.min() < 0 or t.max() >= z.shape[1]):
        raise ValueError(f"CrossEntropyLoss targets must lie in 0..{z.shape[1] - 1} for "
                         f"{z.shape[1]} classes, got values from {t.min()} to {t.max()}")
