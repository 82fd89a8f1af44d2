"""Softmax, cross-entropy, activations and their local derivatives (lesson 1).

Every function works on one example (``o: (C,)``) or a batch (``o: (B, C)``, last axis = classes).
Each derivative is the formula of its docstring, written so it can sit next to the hand derivation.

Batch convention: a batched loss is the *mean* over the B examples, so a batched gradient of the
loss carries a factor 1/B. Activations act entry-wise and their derivatives carry no such factor.
"""
from __future__ import annotations

import numpy as np


def _labels(c, y: np.ndarray) -> np.ndarray:
    """Check that the class labels ``c`` fit the scores ``y: (C,) or (B, C)``; return them as ints."""
    c = np.asarray(c)
    if not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"class labels must be integers, got dtype {c.dtype}; "
                        "did you pass one-hot vectors? Use c = onehot.argmax(-1).")
    expected = y.shape[:-1]
    if c.shape != expected:
        raise ValueError(f"scores of shape {y.shape} need labels of shape {expected}, "
                         f"got {c.shape}; a single example takes an int, a batch a (B,) array.")
    C = y.shape[-1]
    if c.size and (c.min() < 0 or c.max() >= C):
        raise ValueError(f"class labels must lie in 0..{C - 1}, got {c.min()}..{c.max()}")
    return c


def _pick(y: np.ndarray, c: np.ndarray) -> np.ndarray:
    """y[c] for one example, y[b, c[b]] for a batch."""
    return y[c] if y.ndim == 1 else y[np.arange(len(c)), c]


def one_hot(c, num_classes: int, dtype=np.float32) -> np.ndarray:
    """onehot(c)_i = δ_ic: (C,) for an int label ``c``, (B, C) for labels ``c: (B,)``, C = num_classes.

    Float32 by default (an MSE target, a term of y - onehot(c)); ``torch.nn.functional.one_hot``
    takes the same arguments and returns integers.
    """
    c = np.asarray(c)
    if c.size and (c.min() < 0 or c.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{num_classes - 1} for {num_classes} "
                         f"classes, got {c.min()}..{c.max()}")
    return (c[..., None] == np.arange(num_classes)).astype(dtype)


def softmax(o: np.ndarray) -> np.ndarray:
    """y_i = exp(o_i) / Σ_j exp(o_j), along the last axis; ``o: (C,) or (B, C)``.

    Subtracting m = max_j o_j first changes nothing (the exp(-m) cancels) but keeps every
    exp(o_i - m) <= 1, so softmax([1000, 0]) = [1, exp(-1000)] = [1, 0] without overflow.
    """
    o = np.asarray(o)
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log y_i = o_i - log Σ_j exp(o_j) = (o_i - m) - log Σ_j exp(o_j - m), m = max_j o_j.

    Finite for any finite ``o``: it never takes the log of an underflowed probability.
    """
    o = np.asarray(o)
    shifted = o - o.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(y: np.ndarray, c) -> float:
    """L = -log y_c for probabilities ``y: (C,)`` and class ``c``; the mean over a batch (B, C).

    A probability of exactly 0 for the true class gives ``inf`` (silently: it is the true value of
    -log 0, and one warning per call would flood a training loop); ``check_finite`` then stops
    training. Softmax rounds small probabilities to 0, so prefer ``cross_entropy_from_logits``.
    """
    y = np.asarray(y)
    p = _pick(y, _labels(c, y))
    with np.errstate(divide="ignore"):
        return float(-np.log(p).mean())


def cross_entropy_from_logits(o: np.ndarray, c) -> float:
    """L = -log softmax(o)_c = log Σ_j exp(o_j) - o_c; the mean over a batch ``o: (B, C)``.

    The same number as ``cross_entropy(softmax(o), c)``, but finite whenever ``o`` is.
    """
    o = np.asarray(o)
    return float(-_pick(log_softmax(o), _labels(c, o)).mean())


def cross_entropy_grad(y: np.ndarray, c) -> np.ndarray:
    """dL/dy_i = -1/y_c if i = c, else 0 (shape of ``y``); divided by B for a batch (mean loss)."""
    y = np.asarray(y)
    c = _labels(c, y)
    grad = np.zeros_like(y)
    batch = y.ndim == 2
    index = (np.arange(len(c)), c) if batch else c
    with np.errstate(divide="ignore"):
        grad[index] = -1.0 / y[index] / (len(c) if batch else 1)
    return grad


def softmax_jacobian(y: np.ndarray) -> np.ndarray:
    """dy_i/do_j = y_i (δ_ij - y_j), from the softmax output ``y``.

    ``y: (C,)`` gives a (C, C) matrix J[i, j]; ``y: (B, C)`` gives one per example, (B, C, C).
    Diagonal: y_i (1 - y_i); off the diagonal: -y_i y_j.
    """
    y = np.asarray(y)
    return y[..., :, None] * (np.eye(y.shape[-1], dtype=y.dtype) - y[..., None, :])


def softmax_cross_entropy_grad(o: np.ndarray, c) -> np.ndarray:
    """dL/do = y - onehot(c) with y = softmax(o): the chain rule J^T dL/dy collapses to this.

    For a batch ``o: (B, C)`` the result is (y - onehot(c)) / B, because the loss is the mean over
    the batch.
    """
    y = softmax(o)
    c = _labels(c, y)
    dL_do = y - one_hot(c, y.shape[-1], dtype=y.dtype)
    return dL_do if y.ndim == 1 else dL_do / len(c)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + exp(-x)) = exp(x) / (1 + exp(x)).

    With z = exp(-|x|) <= 1 (never overflows): σ(x) = 1 / (1 + z) for x >= 0 and z / (1 + z) for
    x < 0, each exact to the last digits, even where σ(x) is tiny.
    """
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, z) / (1 + z)


def sigmoid_grad(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """dσ/dx = σ(x)(1 - σ(x)). Pass the output ``y = σ(x)`` if you have it: the formula needs only y."""
    y = sigmoid(x) if y is None else y
    return y * (1 - y)


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))."""
    return np.tanh(x)


def tanh_grad(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """d tanh/dx = 1 - tanh(x)^2. Pass the output ``y = tanh(x)`` if you have it: 1 - y^2."""
    y = np.tanh(x) if y is None else y
    return 1 - y * y


def relu(x: np.ndarray) -> np.ndarray:
    """relu(x) = max(0, x)."""
    return np.maximum(x, 0)


def relu_grad(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """d relu/dx = 1 if x > 0 else 0 (we pick 0 at the kink x = 0, as PyTorch does).

    ``y`` is accepted for the same call shape as the other activations and not needed.
    """
    x = np.asarray(x)
    return (x > 0).astype(x.dtype)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad), "relu": (relu, relu_grad)}
"""name -> (f, f_grad) with f_grad(x, y=f(x)): what ``MLP(activation=...)`` accepts."""
