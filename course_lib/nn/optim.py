"""Stochastic gradient descent with torch.optim.SGD's exact update rule, and ExponentialLR.

For each parameter ``w`` with gradient ``g`` (μ = momentum, λ = weight_decay, τ = dampening)::

    g = g + λ w                            # weight decay (L2 penalty λ/2 |w|², also on biases)
    v = g            on the first step     # the velocity (torch: "momentum buffer")
    v = μ v + (1 - τ) g   afterwards
    g = g + μ v  if nesterov  else  v
    w = w - lr g

``lr`` is a plain attribute: a schedule (or you) may change it between steps.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .module import Parameter


class SGD:
    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, dampening: float = 0.0, nesterov: bool = False) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got no parameters: pass model.parameters()")
        for name, v in [("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)]:
            if v < 0:
                raise ValueError(f"SGD {name} must be >= 0, got {v}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.dampening, self.nesterov = dampening, nesterov
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its ``.grad`` (which is left unchanged)."""
        # Python floats keep float32 weights in float32; a np.float64 lr would upcast them.
        lr, mu, wd = float(self.lr), float(self.momentum), float(self.weight_decay)
        tau = float(self.dampening)
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.value if wd else p.grad
            if mu:
                v = self.velocity[i]
                v = g.copy() if v is None else mu * v + (1 - tau) * g
                self.velocity[i] = v
                g = g + mu * v if self.nesterov else v
            p.value -= lr * g

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay}"
                + (", nesterov=True" if self.nesterov else "") + ")")


class ExponentialLR:
    """Multiply the optimizer's ``lr`` by ``gamma`` at each ``step()`` (call it once per epoch):
    lr_epoch = lr_0 * gamma**epoch, as torch.optim.lr_scheduler.ExponentialLR."""

    def __init__(self, optimizer: SGD, gamma: float) -> None:
        if not 0 < gamma <= 1:
            raise ValueError(f"ExponentialLR gamma should lie in (0, 1] (0.9 shrinks lr by 10% an "
                             f"epoch), got {gamma}")
        self.optimizer, self.gamma = optimizer, float(gamma)
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.lr *= self.gamma

    def __repr__(self) -> str:
        return f"ExponentialLR(gamma={self.gamma}, epoch={self.epoch}, lr={self.optimizer.lr})"
