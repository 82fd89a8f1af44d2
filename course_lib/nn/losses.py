"""Losses of the Module framework, averaged exactly like their PyTorch namesakes.

A loss is not a layer: ``forward(pred, target)`` returns a Python float and keeps what
``backward()`` needs; ``backward()`` takes no argument (dL/dL = 1) and returns ``dL_dpred``,
the array to hand to ``model.backward``.
"""
from __future__ import annotations

import numpy as np

from ..functions import cross_entropy_from_logits, one_hot, softmax


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
    """L = mean of (ŷ - t)**2 over *all* elements (B * C of them), as torch.nn.MSELoss().

    The target ``t`` has the shape of the prediction ``ŷ``: for classification with C outputs,
    one-hot encode the labels (``one_hot(c, C)``).
    """

    diff: np.ndarray | None = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """pred ŷ: (B, C) or (B,), target t: same shape -> L (float). Keeps ŷ - t."""
        pred, target = np.asarray(pred), np.asarray(target)
        if target.shape != pred.shape:
            hint = (f"one-hot encode integer labels, one_hot(c, {pred.shape[1]})"
                    if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] > 1
                    else f"reshape it, target.reshape{pred.shape}")
            raise ValueError(f"MSELoss needs a target of the same shape as pred {pred.shape}, "
                             f"got {target.shape}: {hint}")
        self.diff = pred - target.astype(pred.dtype)  # the prediction's dtype, not the target's
        return float(np.mean(self.diff ** 2))

    def backward(self) -> np.ndarray:
        """-> dL_dpred = 2 (ŷ - t) / (number of elements), shape of ŷ."""
        if self.diff is None:
            raise self._missing_forward()
        return (2 / self.diff.size) * self.diff


class CrossEntropyLoss(Loss):
    """L = mean over the batch of -log softmax(o)[c], from logits o, as torch.nn.CrossEntropyLoss().

    ``target`` holds the labels c, class indices (integers 0..C-1), not one-hot rows.
    """

    y: np.ndarray | None = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        """logits o: (B, C), target c: (B,) ints -> L (float). Keeps y = softmax(o) for backward."""
        o, c = np.asarray(logits), np.asarray(target)
        _check_class_indices(o, c)
        self.y, self.c = softmax(o), c
        return cross_entropy_from_logits(o, c)

    def backward(self) -> np.ndarray:
        """-> dL_do = (y - onehot(c)) / B: (B, C), y = softmax(o)."""
        if self.y is None:
            raise self._missing_forward()
        return (self.y - one_hot(self.c, self.y.shape[1], self.y.dtype)) / len(self.c)


def _check_class_indices(o: np.ndarray, c: np.ndarray) -> None:
    if o.ndim != 2:
        raise ValueError(f"CrossEntropyLoss expects logits of shape (B, C), got {o.shape}"
                         + (": add a batch axis, o.reshape(1, -1)" if o.ndim == 1 else ""))
    if c.shape == o.shape:
        raise ValueError(f"CrossEntropyLoss takes class indices (B,), not one-hot targets "
                         f"{c.shape}: pass target.argmax(axis=1), or use MSELoss for one-hot targets")
    if c.shape != (len(o),):
        raise ValueError(f"CrossEntropyLoss expects target of shape ({len(o)},) for logits "
                         f"{o.shape}, got {c.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"CrossEntropyLoss needs integer class indices, got dtype {c.dtype}: "
                        "pass target.astype(np.int64)")
    if len(c) and (c.min() < 0 or c.max() >= o.shape[1]):
        raise ValueError(f"CrossEntropyLoss targets must lie in 0..{o.shape[1] - 1} for "
                         f"{o.shape[1]} classes, got values from {c.min()} to {c.max()}")
