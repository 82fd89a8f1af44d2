"""Lesson 4's disk network (report D) and its data: built with ``course_lib.nn``, used by the disk
explorer (lessons 4 and 6), the MLP studies (lesson 6) and lesson 7.

    model = build_disk_net()                    # 2 -> 25 -> 25 -> 25 -> 2: ReLU, ReLU, Tanh
    (x, c), (x_val, c_val) = disk_data()        # 1,000 training and 1,000 validation points
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import nn
from .data import load_disk

LAYERS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
MIXED = "mixed"  # ReLU in all hidden layers but the last, Tanh there: lesson 4's net (report D)


def build_disk_net(hidden: int = 25, depth: int = 3, activation: str = MIXED,
                   init: str = "torch", seed: int = 0) -> nn.Sequential:
    """2 -> ``hidden`` x ``depth`` -> 2: Linear, activation, ..., Linear (no output activation).

    ``activation``: one of relu / tanh / sigmoid for every hidden layer; "mixed" for ReLU in all
    but the last hidden layer and Tanh in the last (lesson 4's ReLU, ReLU, Tanh when depth = 3);
    or a comma-separated list with one name per hidden layer. ``init`` names a scheme of
    :mod:`course_lib.nn.init`. All layers draw from one generator seeded by ``seed``.
    """
    names = (["relu"] * (depth - 1) + ["tanh"] if activation == MIXED
             else [a.strip() for a in activation.split(",")])
    if len(names) == 1:
        names *= depth
    if len(names) != depth or any(a not in LAYERS for a in names):
        raise ValueError(f"activation must be {MIXED!r}, one of {', '.join(LAYERS)}, or {depth} of "
                         f"them separated by commas (one per hidden layer), got {activation!r}")
    rng = np.random.default_rng(seed)
    sizes = [2] + [hidden] * depth
    layers: list[nn.Module] = []
    for n_in, n_out, act in zip(sizes, sizes[1:], names):
        layers += [nn.Linear(n_in, n_out, init=init, rng=rng), LAYERS[act]()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 2, init=init, rng=rng))


@lru_cache(maxsize=4)
def disk_data(n_train: int = 1000) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(x_train, c_train), (x_val, c_val): ``load_disk`` draws with seeds 0 and 1 (1,000 val points).

    x: (N, 2) float32, c: (N,) int64. Lesson 4 keeps seed 2 for its test set.
    """
    return load_disk(n_train, seed=0), load_disk(1000, seed=1)
