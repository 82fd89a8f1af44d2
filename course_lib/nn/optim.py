"""SGD and Adam with torch.optim's exact update rules, and ExponentialLR.

SGD, for each parameter ``w`` with gradient ``g`` (μ = momentum, λ = weight_decay, τ = dampening)::

    g = g + λ w                            # weight decay (L2 penalty λ/2 |w|², also on biases)
    v = g            on the first step     # the velocity (torch: "momentum buffer")
    v = μ v + (1 - τ) g   afterwards
    g = g + μ v  if nesterov  else  v
    w = w - lr g

Adam (lesson 7) is written out in :class:`Adam`'s docstring. In both, ``lr`` is a plain
attribute: a schedule (or you) may change it between steps.
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


class Adam:
    """Adam (Kingma & Ba, 2015) with torch.optim.Adam's update rule and defaults (lesson 7).

    For each parameter ``w`` with gradient ``g``, at step t = 1, 2, ... (η = lr,
    β₁, β₂ = betas, ε = eps, λ = weight_decay)::

        g = g + λ w                            # L2 added to the gradient, as torch.optim.Adam
        m = β₁ m + (1 - β₁) g                  # running mean of g         (m = 0 before step 1)
        v = β₂ v + (1 - β₂) g²                 # running mean of g², entry by entry  (v = 0 too)
        m̂ = m / (1 - β₁ᵗ)                      # bias correction: m and v started at 0
        v̂ = v / (1 - β₂ᵗ)
        w = w - η m̂ / (√v̂ + ε)

    At step 1, m̂ = g and v̂ = g², so every weight moves by about η·sign(g). ``m`` and ``v``
    have the shape and dtype of ``w``; ``t`` counts the steps taken. ``lr`` may be changed
    between steps (by :class:`ExponentialLR`, say). ``weight_decay`` is the L2 penalty of
    torch.optim.Adam, scaled by 1/√v̂ like the gradient; the decoupled kind is torch's AdamW.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("Adam got no parameters: pass model.parameters()")
        for name, v in [("lr", lr), ("eps", eps), ("weight_decay", weight_decay)]:
            if v < 0:
                raise ValueError(f"Adam {name} must be >= 0, got {v}")
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"Adam betas[{i}] must lie in [0, 1) (a running average's "
                                 f"weight on the past, e.g. 0.9 or 0.999), got {beta}")
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its ``.grad`` (which is left unchanged)."""
        # Python floats keep float32 weights in float32; a np.float64 lr would upcast them.
        lr, eps, wd = float(self.lr), float(self.eps), float(self.weight_decay)
        beta1, beta2 = (float(b) for b in self.betas)
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.value if wd else p.grad
            self.m[i] = beta1 * self.m[i] + (1 - beta1) * g
            self.v[i] = beta2 * self.v[i] + (1 - beta2) * g ** 2
            m_hat = self.m[i] / (1 - beta1 ** self.t)
            v_hat = self.v[i] / (1 - beta2 ** self.t)
            p.value -= lr * m_hat / (np.sqrt(v_hat) + eps)

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")


class ExponentialLR:
    """Multiply the optimizer's ``lr`` by ``gamma`` at each ``step()`` (call it once per epoch):
    lr_epoch = lr_0 * gamma**epoch, as torch.optim.lr_scheduler.ExponentialLR."""

    def __init__(self, optimizer: SGD | Adam, gamma: float) -> None:
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
