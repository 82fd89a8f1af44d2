"""MLP: lesson 2's network on a batch of B examples at once, with NumPy (lesson 3).

    K = X @ W1 + b1    H = f(K)    O = H @ W2 + b2    Y = softmax(O)    L = mean_b -log Y[b, c_b]

Row b of each matrix is what ``ScalarMLP`` computes for example b; the loops over units became
matrix products, and the loop over examples became the batch axis. Capitals are batches:
X (B, n_in) inputs, K and H (B, n_hidden), O logits and Y probabilities (B, n_out); c (B,) labels.
"""
from __future__ import annotations

import math

import numpy as np

from .functions import ACTIVATIONS, cross_entropy_from_logits, one_hot, softmax
from .train import History, check_finite, minibatch_indices, progress_bar

PARAM_NAMES = ("W1", "b1", "W2", "b2")


class MLP:
    """n_in -> n_hidden (``activation``) -> n_out (softmax), cross-entropy loss, on batches.

    ``params``: W1 (n_in, n_hidden), b1 (n_hidden,), W2 (n_hidden, n_out), b2 (n_out,), all of
    ``dtype``: float32 by default, as in PyTorch; gradient checks ask for ``dtype=np.float64``.
    Init: W ~ normal(0, sqrt(gain / fan_in)) from ``np.random.default_rng(seed)``, gain 2 for relu
    (He: relu zeroes half the units, doubling the variance makes up for it) and 1 for sigmoid/tanh
    (LeCun), b = 0. Either keeps each layer's pre-activations of order 1 for any layer width.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, activation: str = "sigmoid",
                 seed: int = 0, dtype=np.float32):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        gain = 2.0 if activation == "relu" else 1.0
        self.params = {
            "W1": rng.normal(0.0, math.sqrt(gain / n_in), (n_in, n_hidden)).astype(self.dtype),
            "b1": np.zeros(n_hidden, self.dtype),
            "W2": rng.normal(0.0, math.sqrt(gain / n_hidden), (n_hidden, n_out)).astype(self.dtype),
            "b2": np.zeros(n_out, self.dtype),
        }

    @classmethod
    def from_params(cls, params: dict, activation: str = "sigmoid", dtype=np.float32) -> MLP:
        """A network with the given weights (copied; nested lists such as ``ScalarMLP.params`` work)."""
        arrays = {name: np.array(params[name], dtype=dtype) for name in PARAM_NAMES}
        if arrays["W1"].ndim != 2 or arrays["W2"].ndim != 2:
            raise ValueError(f"W1 and W2 must be matrices, got shapes {arrays['W1'].shape} and "
                             f"{arrays['W2'].shape}")
        n_in, n_hidden = arrays["W1"].shape
        n_out = arrays["W2"].shape[1]
        expected = {"W1": (n_in, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, n_out), "b2": (n_out,)}
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{name} should have shape {shape} to match W1 and W2, "
                                 f"got {arrays[name].shape}")
        net = cls(n_in, n_hidden, n_out, activation, dtype=dtype)
        net.params = arrays
        return net

    def _as_batch(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)  # the network's dtype; no copy when X already has it
        n_in = self.params["W1"].shape[0]
        if X.ndim != 2 or X.shape[1] != n_in:
            raise ValueError(f"expected a batch X of shape (B, {n_in}), got {X.shape}; "
                             "for one example use X[None, :].")
        return X

    def forward(self, X) -> dict[str, np.ndarray]:
        """``X: (B, n_in)`` -> the cache {"X", "K": (B, n_hidden), "H", "O": (B, n_out), "Y"}."""
        X = self._as_batch(X)
        f, _ = ACTIVATIONS[self.activation]
        p = self.params
        K = X @ p["W1"] + p["b1"]
        H = f(K)
        O = H @ p["W2"] + p["b2"]
        return {"X": X, "K": K, "H": H, "O": O, "Y": softmax(O)}

    def backward(self, cache: dict[str, np.ndarray], c: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the mean loss w.r.t. W1, b1, W2, b2, from ``forward``'s cache and labels
        ``c: (B,)``: lesson 3's seven lines, each ScalarMLP.backward with the loop over examples
        folded into a matrix product (which also sums the B per-example gradients)."""
        _, f_grad = ACTIVATIONS[self.activation]
        X, K, H, Y = cache["X"], cache["K"], cache["H"], cache["Y"]
        B = len(X)
        dL_dO = (Y - one_hot(c, Y.shape[1])) / B
        dL_dW2 = H.T @ dL_dO
        dL_db2 = dL_dO.sum(axis=0)
        dL_dH = dL_dO @ self.params["W2"].T
        dL_dK = dL_dH * f_grad(K, H)
        dL_dW1 = X.T @ dL_dK
        dL_db1 = dL_dK.sum(axis=0)
        return {"W1": dL_dW1, "b1": dL_db1, "W2": dL_dW2, "b2": dL_db2}

    def loss_and_grads(self, X, c) -> tuple[float, dict[str, np.ndarray]]:
        """(mean cross-entropy over the batch, its gradients) for ``X: (B, n_in)``, labels ``c: (B,)``."""
        cache = self.forward(X)
        return cross_entropy_from_logits(cache["O"], c), self.backward(cache, c)

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """Gradient descent in place: p <- p - lr * grads[p] for W1, b1, W2, b2."""
        for name in PARAM_NAMES:
            self.params[name] -= lr * grads[name]

    def predict(self, X) -> np.ndarray:
        """(B,) ints: the class with the largest logit, for ``X: (B, n_in)``."""
        return self.forward(X)["O"].argmax(axis=1)

    def accuracy(self, X, c) -> float:
        """Fraction of the examples ``X: (B, n_in)`` whose predicted class equals ``c: (B,)``."""
        return float(np.mean(self.predict(X) == np.asarray(c)))

    def evaluate(self, X, c) -> tuple[float, float]:
        """(mean loss, accuracy) on ``X: (B, n_in)``, labels ``c: (B,)``."""
        O = self.forward(X)["O"]
        c = np.asarray(c)
        return cross_entropy_from_logits(O, c), float(np.mean(O.argmax(axis=1) == c))

    def fit(self, x_train, c_train, epochs: int = 5, lr: float = 0.1, batch_size: int = 32,
            seed: int = 0, x_val=None, c_val=None, progress: bool = True) -> History:
        """Minibatch SGD on the mean loss; ``batch_size=1`` is per-example SGD as in ScalarMLP.fit.

        ``x_train: (N, n_in)``, ``c_train: (N,)`` ints; converted to ``dtype`` once (no copy if
        they already are). Each epoch visits a fresh permutation (``np.random.default_rng(seed)``).
        History: per-update batch losses (``iteration_loss``); per epoch the train loss/accuracy
        measured on each batch before its update, and validation loss/accuracy after the epoch.
        """
        X, c = self._as_batch(x_train), np.asarray(c_train)
        if len(X) != len(c) or len(X) == 0:
            raise ValueError(f"need as many labels as inputs (at least one), got {len(X)} and {len(c)}")
        rng = np.random.default_rng(seed)
        history = History()
        bar = progress_bar(range(epochs), progress, desc="epochs", unit="epoch")
        for epoch in bar:
            total, correct = 0.0, 0
            # A diverging run overflows in many places before its loss turns inf or NaN; one
            # TrainingDiverged with hints says more than a screen of RuntimeWarnings.
            with np.errstate(over="ignore", invalid="ignore"):
                for step, idx in enumerate(minibatch_indices(len(X), batch_size, rng), 1):
                    cache, c_batch = self.forward(X[idx]), c[idx]
                    loss = check_finite(cross_entropy_from_logits(cache["O"], c_batch),
                                        f"epoch {epoch + 1}, batch {step}")
                    self.step(self.backward(cache, c_batch), lr)
                    history.iteration_loss.append(loss)
                    total += loss * len(idx)
                    correct += int(np.count_nonzero(cache["O"].argmax(axis=1) == c_batch))
            val_loss, val_acc = (self.evaluate(x_val, c_val) if x_val is not None
                                 else (math.nan, math.nan))
            history.append(total / len(X), correct / len(X), val_loss, val_acc)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total / len(X):.4f}", val_acc=f"{val_acc:.4f}")
        return history
