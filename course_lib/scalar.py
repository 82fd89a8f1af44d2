"""ScalarMLP: a one-hidden-layer network written with Python lists and floats only (lesson 2).

    k_j = Σ_i x_i W1[i][j] + b1[j]      h_j = σ(k_j)           (hidden layer, sigmoid)
    o_m = Σ_j h_j W2[j][m] + b2[m]      y_m = softmax(o)_m     (output layer)
    L   = -log y_c                                             (cross-entropy, true class c)

Every sum is a visible loop, so the backward pass reads as the chain rule, one line per step.
No NumPy here on purpose; ``course_lib.mlp.MLP`` is the same network on arrays.
"""
from __future__ import annotations

import math
import random

from .train import History, check_finite, progress_bar


def sigmoid(k: float) -> float:
    """σ(k) = 1 / (1 + exp(-k)), with exp of a non-positive number only, so it never overflows."""
    if k >= 0:
        return 1.0 / (1.0 + math.exp(-k))
    e = math.exp(k)
    return e / (1.0 + e)


def softmax(o: list[float]) -> list[float]:
    """y_m = exp(o_m - max o) / Σ_n exp(o_n - max o): the max cancels and keeps exp <= 1."""
    top = max(o)
    e = [math.exp(o_m - top) for o_m in o]
    total = sum(e)
    return [e_m / total for e_m in e]


def _argmax(values: list[float]) -> int:
    """Index of the largest value (the first one on a tie, like NumPy's argmax)."""
    return max(range(len(values)), key=values.__getitem__)


class ScalarMLP:
    """n_in -> n_hidden (sigmoid) -> n_out (softmax) with cross-entropy loss, one example at a time.

    ``params``: {"W1": n_in x n_hidden, "b1": n_hidden, "W2": n_hidden x n_out, "b2": n_out} as
    nested lists; W[i][j] connects unit i of one layer to unit j of the next (like ``x @ W``).
    Init: W ~ normal(0, 1/sqrt(fan_in)) from ``random.Random(seed)``, b = 0. A std of 1/sqrt(fan_in)
    keeps k of order 1 whatever n_in is (sigmoid not saturated); for the 2-3-2 net it is close to
    the std of 1 that report E used.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, seed: int = 0):
        rng = random.Random(seed)
        self.params = {
            "W1": [[rng.gauss(0.0, 1 / math.sqrt(n_in)) for _ in range(n_hidden)]
                   for _ in range(n_in)],
            "b1": [0.0] * n_hidden,
            "W2": [[rng.gauss(0.0, 1 / math.sqrt(n_hidden)) for _ in range(n_out)]
                   for _ in range(n_hidden)],
            "b2": [0.0] * n_out,
        }
        self.n_in, self.n_hidden, self.n_out = n_in, n_hidden, n_out

    @classmethod
    def from_params(cls, params: dict) -> ScalarMLP:
        """A network with the given weights (copied), e.g. lesson 2's hand-worked example."""
        W1, W2 = ([[float(w) for w in row] for row in params[name]] for name in ("W1", "W2"))
        b1, b2 = ([float(b) for b in params[name]] for name in ("b1", "b2"))
        n_in, n_hidden, n_out = len(W1), len(b1), len(b2)
        shapes_ok = (all(len(row) == n_hidden for row in W1) and len(W2) == n_hidden
                     and all(len(row) == n_out for row in W2))
        if not shapes_ok:
            raise ValueError(f"expected W1: n_in x {n_hidden}, W2: {n_hidden} x {n_out} (from b1, b2), "
                             f"got W1 rows {[len(r) for r in W1]}, W2 rows {[len(r) for r in W2]}")
        net = cls.__new__(cls)
        net.params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        net.n_in, net.n_hidden, net.n_out = n_in, n_hidden, n_out
        return net

    def forward(self, x: list[float], c: int | None = None) -> dict:
        """One example ``x`` (n_in floats) -> {"x", "k", "h", "o", "y"} (lists), plus "loss" if ``c``.

        The loss is computed as log Σ_m exp(o_m) - o_c, which equals -log y_c but stays finite
        when y_c rounds to 0.
        """
        W1, b1, W2, b2 = (self.params[n] for n in ("W1", "b1", "W2", "b2"))
        if len(x) != self.n_in:
            raise ValueError(f"expected an input of {self.n_in} numbers, got {len(x)}")
        x = [float(x_i) for x_i in x]  # Python floats even if given a NumPy row
        k = [sum(x[i] * W1[i][j] for i in range(self.n_in)) + b1[j] for j in range(self.n_hidden)]
        h = [sigmoid(k_j) for k_j in k]
        o = [sum(h[j] * W2[j][m] for j in range(self.n_hidden)) + b2[m] for m in range(self.n_out)]
        y = softmax(o)
        cache = {"x": x, "k": k, "h": h, "o": o, "y": y}
        if c is not None:
            top = max(o)
            cache["loss"] = top + math.log(sum(math.exp(o_m - top) for o_m in o)) - o[c]
        return cache

    def backward(self, cache: dict, c: int) -> dict:
        """Gradients of L = -log y_c w.r.t. every parameter, from the intermediates of ``forward``."""
        x, h, y = cache["x"], cache["h"], cache["y"]
        W2 = self.params["W2"]
        # dL/do_m = y_m - [m == c]: the softmax Jacobian times dL/dy = -1/y_c (lesson 1).
        dL_do = [y[m] - (1.0 if m == c else 0.0) for m in range(self.n_out)]
        # o_m = Σ_j h_j W2[j][m] + b2[m], so do_m/dW2[j][m] = h_j and do_m/db2[m] = 1.
        dL_dW2 = [[dL_do[m] * h[j] for m in range(self.n_out)] for j in range(self.n_hidden)]
        dL_db2 = list(dL_do)
        # h_j feeds every o_m: sum over m.
        dL_dh = [sum(dL_do[m] * W2[j][m] for m in range(self.n_out)) for j in range(self.n_hidden)]
        # h_j = σ(k_j), dσ/dk = σ(k)(1 - σ(k)) = h_j (1 - h_j).
        dL_dk = [dL_dh[j] * h[j] * (1 - h[j]) for j in range(self.n_hidden)]
        dL_dW1 = [[dL_dk[j] * x[i] for j in range(self.n_hidden)] for i in range(self.n_in)]
        dL_db1 = list(dL_dk)
        return {"W1": dL_dW1, "b1": dL_db1, "W2": dL_dW2, "b2": dL_db2}

    def loss_and_grads(self, x: list[float], c: int) -> tuple[float, dict]:
        """(L, grads) for one example; grads has the keys and nested shapes of ``params``."""
        cache = self.forward(x, c)
        return cache["loss"], self.backward(cache, c)

    def step(self, grads: dict, lr: float) -> None:
        """Gradient descent in place: p <- p - lr * dL/dp for every weight and bias.

        The gradients are passed in (not remembered from the last backward) so that one step is
        visibly "the update with these gradients".
        """
        for name in ("W1", "W2"):
            W, dW = self.params[name], grads[name]
            for i in range(len(W)):
                for j in range(len(W[i])):
                    W[i][j] -= lr * dW[i][j]
        for name in ("b1", "b2"):
            b, db = self.params[name], grads[name]
            for j in range(len(b)):
                b[j] -= lr * db[j]

    def predict(self, x: list[float]) -> int:
        """The class with the largest output o_m (the same as the largest probability y_m)."""
        return _argmax(self.forward(x)["o"])

    def evaluate(self, xs, cs) -> tuple[float, float]:
        """(mean loss, accuracy) over examples ``xs: (N, n_in)``, labels ``cs: (N,)``."""
        xs, cs = _as_lists(xs, cs)
        total, correct = 0.0, 0
        for x, c in zip(xs, cs):
            cache = self.forward(x, c)
            total += cache["loss"]
            correct += _argmax(cache["o"]) == c
        return total / max(len(cs), 1), correct / max(len(cs), 1)

    def fit(self, x_train, c_train, epochs: int = 1, lr: float = 0.01, seed: int = 0,
            x_val=None, c_val=None, progress: bool = True, log_every: int = 1000
            ) -> History:
        """Stochastic gradient descent, one example per update, in a fresh shuffled order each epoch.

        ``x_train: (N, n_in)`` and ``c_train: (N,)`` int labels, as NumPy arrays or lists.
        Returns per-update losses (``iteration_loss``) and per-epoch train loss/accuracy (measured
        on each example just before its update) and validation loss/accuracy (after the epoch).
        The progress bar shows the mean loss of the last ``log_every`` updates.
        """
        xs, cs = _as_lists(x_train, c_train)
        if not xs:
            raise ValueError("fit needs at least one training example, got 0")
        val = _as_lists(x_val, c_val) if x_val is not None else None
        order = list(range(len(xs)))
        rng = random.Random(seed)
        history = History()
        bar = progress_bar(range(epochs), progress, desc="epochs", unit="epoch")
        for epoch in bar:
            rng.shuffle(order)
            total, correct = 0.0, 0
            for step, n in enumerate(order, 1):
                cache = self.forward(xs[n], cs[n])
                loss = check_finite(cache["loss"], f"epoch {epoch + 1}, update {step}")
                self.step(self.backward(cache, cs[n]), lr)
                history.iteration_loss.append(loss)
                total += loss
                correct += _argmax(cache["o"]) == cs[n]
                if log_every and step % log_every == 0 and hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{sum(history.iteration_loss[-log_every:]) / log_every:.4f}")
            val_loss, val_acc = self.evaluate(*val) if val else (math.nan, math.nan)
            history.append(total / len(xs), correct / len(xs), val_loss, val_acc)
        return history


def _as_lists(xs, cs) -> tuple[list[list[float]], list[int]]:
    """Rows of floats and int labels from arrays (via ``.tolist()``) or nested sequences."""
    xs = xs.tolist() if hasattr(xs, "tolist") else [list(map(float, x)) for x in xs]
    cs = [int(c) for c in (cs.tolist() if hasattr(cs, "tolist") else cs)]
    if len(xs) != len(cs):
        raise ValueError(f"got {len(xs)} inputs but {len(cs)} labels")
    return xs, cs
