"""Timing a training epoch fairly, the NumPy framework against PyTorch (lesson 6).

Lesson 6 and ``benchmarks/numpy_vs_torch.py`` time with these same functions. Both sides run the
same loop per minibatch, forward, loss, zero_grad, backward, step; the PyTorch side slices its
tensors directly (a ``DataLoader`` alone doubles its epoch time on a network this small).
``median_seconds`` alternates between the sides and takes medians, so that a burst of load on a
shared machine hits both and a single slow run does not decide.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np


def seconds(f: Callable[..., Any], *args) -> float:
    """Wall-clock seconds of one call ``f(*args)``."""
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def numpy_epoch(model, loss_fn, optimizer, x: np.ndarray, c: np.ndarray, order: np.ndarray,
                batch_size: int) -> float:
    """One epoch of a ``course_lib.nn`` model over ``x[order]``, ``c[order]`` in minibatches of
    ``batch_size``; x: (N, n_in), c: (N,) labels. Returns the last batch loss."""
    model.train()
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        loss = loss_fn(model(x[idx]), c[idx])
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
    return loss


def torch_epoch(model, loss_fn, optimizer, x, c, order: np.ndarray, batch_size: int) -> float:
    """The same epoch for a ``torch.nn`` model, with x: (N, n_in) and c: (N,) tensors and autograd
    doing the backward pass. Returns the last batch loss."""
    import torch

    model.train()
    order = torch.from_numpy(order)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        loss = loss_fn(model(x[idx]), c[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def median_seconds(runs: dict[str, Callable[[np.ndarray], Any]], n_data: int, repeats: int,
                   rng: np.random.Generator, n: int | None = None, warm_up: int = 0
                   ) -> dict[str, float]:
    """Median seconds of each ``runs[name](order)`` over ``repeats`` rounds.

    Each round draws one fresh order, the first ``n`` (all, by default) of a permutation of
    ``range(n_data)``, and calls every run on it in turn. First every run is called once on
    ``warm_up`` indices (0: no warm-up): first calls allocate memory, start thread pools and
    fill caches, which is not what we want to time.
    """
    if warm_up:
        for f in runs.values():
            f(rng.permutation(n_data)[:warm_up])
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        order = rng.permutation(n_data)[:n]
        for name, f in runs.items():
            times[name].append(seconds(f, order))
    return {name: float(np.median(t)) for name, t in times.items()}
