"""A 2-D, 2-class toy set whose classes are split by a quadratic curve (lesson 2)."""
from __future__ import annotations

import numpy as np

# x·A·x > THRESHOLD is class 1: an ellipse-like, tilted boundary no straight line can draw.
A = np.array([[0.6, -1.1], [0.3, -0.9]])
THRESHOLD = 0.6


def load_synth(num_train: int = 60_000, num_val: int = 10_000, seed: int = 0):
    """Standard-normal points in 2-D, label 1 where x·A·x > 0.6.

    Returns ``(x_train, c_train), (x_val, c_val), 2`` with x: (N, 2) float32, c: (N,) int64 labels.
    Seeded with its own generator: the same seed always gives the same data.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError(f"num_train and num_val must be >= 0, got {num_train}, {num_val}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_train + num_val, 2))
    c = (np.einsum("ni,ij,nj->n", x, A, x) > THRESHOLD).astype(np.int64)
    x = x.astype(np.float32)
    return (x[:num_train], c[:num_train]), (x[num_train:], c[num_train:]), 2
