"""Training-loop pieces shared by every model in the course.

The scalar MLP (lesson 2), the batched MLP (lesson 3) and the Module framework (lessons 4-6)
each have their own update rule, but they all shuffle minibatches the same way, keep the same
history for plots, and stop the same way when the loss blows up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, TypeVar

import numpy as np

T = TypeVar("T")

DIVERGENCE_HINTS = (
    "  - lower the learning rate (try 10x smaller);\n"
    "  - check the weight initialisation (too large a scale saturates or explodes activations);\n"
    "  - clip gradients, or add a residual connection in deep/recurrent nets;\n"
    "  - look for log(0) or division by zero in a hand-written loss."
)


class TrainingDiverged(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


def check_finite(loss: float, where: str) -> float:
    """Return ``loss`` unchanged, or raise :class:`TrainingDiverged` naming ``where`` it happened."""
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"Training stopped: the loss became {loss} at {where}. The usual causes:\n"
            + DIVERGENCE_HINTS)
    return loss


def minibatch_indices(n: int, batch_size: int, rng: np.random.Generator | None = None
                      ) -> Iterator[np.ndarray]:
    """Yield index arrays that cover ``range(n)`` once, in batches of ``batch_size``.

    With an ``rng`` the order is a fresh permutation (one per call, i.e. per epoch);
    without one it is ``0..n-1``. The last batch may be smaller.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def progress(iterable: Iterable[T], enable: bool = True, **tqdm_kwargs) -> Iterable[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar (a widget in Jupyter, text in a terminal)."""
    if not enable:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, **tqdm_kwargs)


@dataclass
class History:
    """Per-epoch learning curves; ``nan`` where a quantity was not measured."""
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    def append(self, train_loss: float, train_acc: float = math.nan,
               val_loss: float = math.nan, val_acc: float = math.nan) -> None:
        self.train_loss.append(float(train_loss))
        self.train_acc.append(float(train_acc))
        self.val_loss.append(float(val_loss))
        self.val_acc.append(float(val_acc))

    def __len__(self) -> int:
        return len(self.train_loss)
