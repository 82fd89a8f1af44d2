"""Weight initialisation schemes for a Linear layer ``y = x @ W + b``, ``W: (n_in, n_out)``.

Each scheme is a function ``scheme(n_in, n_out, rng=None, dtype=np.float32) -> (W, b)`` that can
be called on its own or named in ``Linear(..., init="xavier")``; float32 by default, as in
PyTorch. ``k = n_in`` is the fan-in. Only ``torch`` draws the bias; the others start it at zero.

``rng`` is a ``np.random.Generator``, an int seed, or None (fresh entropy: not reproducible).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

Init = Callable[..., tuple[np.ndarray, np.ndarray]]


def _draw_normal(n_in: int, n_out: int, std: float, rng, dtype) -> tuple[np.ndarray, np.ndarray]:
    W = np.random.default_rng(rng).standard_normal((n_in, n_out), dtype=dtype) * std
    return W, np.zeros(n_out, dtype)


def _uniform(shape: tuple[int, ...], bound: float, rng: np.random.Generator, dtype) -> np.ndarray:
    """U(-bound, bound), drawn in ``dtype`` (a Python float ``bound`` keeps it there)."""
    return rng.random(shape, dtype=dtype) * (2 * bound) - bound


def zeros(n_in: int, n_out: int, rng=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """W = 0, b = 0: every hidden unit computes the same thing and gets the same update."""
    return np.zeros((n_in, n_out), dtype), np.zeros(n_out, dtype)


def random(n_in: int, n_out: int, rng=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """W ~ N(0, 1): activations grow like sqrt(n_in) per layer."""
    return _draw_normal(n_in, n_out, 1.0, rng, dtype)


def scaled(n_in: int, n_out: int, rng=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """W ~ 0.01 * N(0, 1): small enough not to saturate, but the signal fades in deep nets."""
    return _draw_normal(n_in, n_out, 0.01, rng, dtype)


def normal(n_in: int, n_out: int, rng=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """W ~ N(0, 1/k), k = n_in: keeps the variance of x @ W equal to that of x (LeCun)."""
    return _draw_normal(n_in, n_out, 1.0 / math.sqrt(n_in), rng, dtype)


def xavier(n_in: int, n_out: int, rng=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Glorot *uniform*: W ~ U(-a, a), a = sqrt(6 / (n_in + n_out)), so Var W = 2 / (n_in + n_out).

    The same as ``torch.nn.init.xavier_uniform_`` with gain 1; balances forward and backward variance.
    """
    W = _uniform((n_in, n_out), math.sqrt(6.0 / (n_in + n_out)), np.random.default_rng(rng), dtype)
    return W, np.zeros(n_out, dtype)


def torch(n_in: int, n_out: int, rng=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's default for ``nn.Linear``: W and b both ~ U(-1/sqrt(k), 1/sqrt(k)), k = n_in."""
    rng = np.random.default_rng(rng)
    bound = 1.0 / math.sqrt(n_in)
    return _uniform((n_in, n_out), bound, rng, dtype), _uniform((n_out,), bound, rng, dtype)


INITS: dict[str, Init] = {f.__name__: f for f in (zeros, random, scaled, normal, xavier, torch)}


def resolve(init: str | Init) -> Init:
    """Return the scheme named ``init`` (or ``init`` itself when it is already a function)."""
    if callable(init):
        return init
    try:
        return INITS[init]
    except KeyError:
        raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}, "
                         "or pass a function (n_in, n_out, rng, dtype) -> (W, b)") from None
