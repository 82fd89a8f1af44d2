"""Training-loop pieces shared by every model in the course.

The scalar MLP (lesson 2), the batched MLP (lesson 3) and the Module framework (lessons 4, 6-9)
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


def progress_bar(iterable: Iterable[T], enable: bool = True, **tqdm_kwargs) -> Iterable[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar (a widget in Jupyter, text in a terminal)."""
    if not enable:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, **tqdm_kwargs)


@dataclass
class History:
    """Per-epoch learning curves (``nan`` where a quantity was not measured), plus the loss of
    every single update where a loop records it: per-sample SGD curves are read as window means
    of ``iteration_loss`` (``plots.window_average``)."""
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    iteration_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # set by fit(patience=...): the epoch whose weights were kept

    def append(self, train_loss: float, train_acc: float = math.nan,
               val_loss: float = math.nan, val_acc: float = math.nan) -> None:
        self.train_loss.append(float(train_loss))
        self.train_acc.append(float(train_acc))
        self.val_loss.append(float(val_loss))
        self.val_acc.append(float(val_acc))

    def __len__(self) -> int:
        return len(self.train_loss)


def _n_correct(out: np.ndarray, t: np.ndarray) -> float:
    """How many rows of ``out`` (B, C) have their argmax at the label: t (B,) ints or one-hot (B, C)."""
    if out.ndim != 2 or out.shape[1] < 2:
        return math.nan  # a single output has no argmax to compare
    c = t if t.ndim == 1 else t.argmax(axis=1)
    return float(np.count_nonzero(out.argmax(axis=1) == c))


def _check_data(x: np.ndarray, t: np.ndarray, name: str) -> None:
    if len(x) != len(t):
        raise ValueError(f"{name} has {len(x)} inputs but {len(t)} targets: pass {name}=(x, t) "
                         "with one target row per input row")
    if len(x) == 0:
        raise ValueError(f"{name} is empty")


def evaluate(model, loss_fn, x: np.ndarray, t: np.ndarray, batch_size: int = 1024
             ) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on (x, t), in eval mode (Dropout off), without gradients.

    x: (N, ...) inputs; t: (N,) integer labels or (N, C) one-hot targets, whatever ``loss_fn``
    takes. Accuracy is the fraction of rows whose output argmax is the label (the argmax of a
    one-hot row); nan for a model with a single output. Batch losses are weighted by batch size,
    so the result equals the loss of one big batch for losses that average over the batch.
    The model's train/eval mode is restored afterwards.
    """
    _check_data(x, t, "evaluate's data")
    was_training = model.training
    model.eval()
    try:
        total_loss = correct = 0.0
        for start in range(0, len(x), batch_size):
            xb, tb = x[start:start + batch_size], t[start:start + batch_size]
            out = model.forward(xb)
            total_loss += loss_fn(out, tb) * len(xb)
            correct += _n_correct(out, tb)
    finally:
        model.train(was_training)
    return total_loss / len(x), correct / len(x)


def fit(model, loss_fn, optimizer, train: tuple[np.ndarray, np.ndarray],
        val: tuple[np.ndarray, np.ndarray] | None = None, epochs: int = 10, batch_size: int = 32,
        seed: int = 0, scheduler=None, progress: bool = True, patience: int | None = None
        ) -> History:
    """Train a Module with minibatch SGD; returns the per-epoch :class:`History`.

    train, val: ``(x, t)`` with x: (N, ...) and targets t: (N,) integer labels c or (N, C) rows.
    The targets go to ``loss_fn`` unchanged: for MSELoss on classes pass one-hot rows,
    ``train=(x, one_hot(c, C))``; accuracy compares argmaxes either way.

    Each epoch shuffles with a generator seeded by ``seed`` (same seed, same model seeds: the
    same run, bit for bit), runs forward / loss / zero_grad / backward / step per batch in
    training mode, then evaluates ``val`` in eval mode and calls ``scheduler.step()``.
    ``train_loss``/``train_acc`` average the batches of the epoch as they were seen (the weights
    change during the epoch), so they are not an eval-mode measurement of the final weights.
    A NaN or infinite batch loss raises :class:`TrainingDiverged` with hints. The model is left
    in eval mode.

    Early stopping, with ``patience=p``: after each epoch, if the validation loss is the lowest
    so far, keep a copy of the weights; stop once ``p`` epochs in a row have not lowered it, and
    put the kept weights back. ``history.best_epoch`` (1-based) names the epoch they come from;
    the history still records every epoch that was run.
    """
    x, t = train
    _check_data(x, t, "train")
    if val is not None:
        _check_data(*val, "val")
    if patience is not None and (val is None or patience < 1):
        raise ValueError("early stopping watches the validation loss: pass val=(x_val, t_val) "
                         f"and patience >= 1 (epochs to wait for a new best), got patience={patience}"
                         + (" without val" if val is None else ""))
    best = _BestWeights(model) if patience is not None else None
    rng = np.random.default_rng(seed)
    history = History()
    bar = progress_bar(range(epochs), enable=progress, desc="fit", unit="epoch")
    for epoch in bar:
        model.train()
        total_loss = correct = 0.0
        for i, idx in enumerate(minibatch_indices(len(x), batch_size, rng)):
            xb, tb = x[idx], t[idx]
            out = model.forward(xb)
            loss = check_finite(loss_fn(out, tb), f"epoch {epoch + 1}, batch {i + 1}")
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
            history.iteration_loss.append(loss)
            total_loss += loss * len(idx)
            correct += _n_correct(out, tb)
        val_loss, val_acc = evaluate(model, loss_fn, *val) if val is not None else (math.nan,) * 2
        history.append(total_loss / len(x), correct / len(x), val_loss, val_acc)
        if scheduler is not None:
            scheduler.step()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(train_loss=f"{history.train_loss[-1]:.4f}",
                            val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.4f}")
        if best is not None and best.update(val_loss, epoch + 1) >= patience:
            break
    if best is not None:
        history.best_epoch = best.restore()
    model.eval()
    return history


class _BestWeights:
    """The weights of the epoch with the lowest validation loss so far (fit's early stopping)."""

    def __init__(self, model) -> None:
        self.params = model.parameters()
        self.values: list[np.ndarray] = []
        self.loss, self.epoch, self.waited = math.inf, 0, 0

    def update(self, val_loss: float, epoch: int) -> int:
        """Keep the weights if ``val_loss`` is a new best; return the epochs since the best."""
        if val_loss < self.loss:
            self.loss, self.epoch, self.waited = val_loss, epoch, 0
            self.values = [p.value.copy() for p in self.params]
        else:
            self.waited += 1
        return self.waited

    def restore(self) -> int:
        """Copy the kept weights back into the model; return the epoch they come from."""
        for p, value in zip(self.params, self.values):
            p.value[...] = value
        return self.epoch


def confusion_matrix(c: np.ndarray, c_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class): entry [i, j] is how many examples of class i were
    predicted as j. c, c_pred: (N,) ints in 0..n_classes-1 -> (n_classes, n_classes) int64.

    Row i sums to the number of examples of class i; the diagonal holds the correct ones, so
    ``diag / row sums`` is each class's accuracy (its recall).
    """
    c, c_pred = np.asarray(c), np.asarray(c_pred)
    if c.shape != c_pred.shape or c.ndim != 1:
        raise ValueError(f"need one predicted label per true label, both (N,), got {c.shape} "
                         f"and {c_pred.shape}: pass labels, e.g. model(x).argmax(axis=1)")
    if len(c) and (min(c.min(), c_pred.min()) < 0 or max(c.max(), c_pred.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1} for {n_classes} classes")
    return np.bincount(c * n_classes + c_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def top_confusions(cm: np.ndarray, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest mistakes of a confusion matrix cm: (C, C), as (true, predicted, count),
    largest first (ties in row-major order)."""
    mistakes = np.where(np.eye(len(cm), dtype=bool), -1, cm)
    flat = np.argsort(-mistakes, axis=None, kind="stable")[:k]
    return [(int(i), int(j), int(cm[i, j])) for i, j in zip(*np.unravel_index(flat, cm.shape))]
