"""The "disk" set: points in the unit square, labelled by a circle of half its area (lesson 4)."""
from __future__ import annotations

import math

import numpy as np

CENTER = (0.5, 0.5)
RADIUS = 1 / math.sqrt(2 * math.pi)  # pi r^2 = 1/2: the two classes are balanced


def load_disk(n: int = 1000, seed: int = 0):
    """``n`` points uniform in [0, 1]², label 1 inside the disk of radius 1/√(2π) at (0.5, 0.5).

    Returns ``(x, c)`` with x: (n, 2) float32 and labels c: (n,) int64.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, 2)).astype(np.float32)
    dist2 = ((x - np.float32(0.5)) ** 2).sum(axis=1)
    c = (dist2 < np.float32(RADIUS**2)).astype(np.int64)
    return x, c
