"""Layers for sequences (lesson 9): Embedding, RNN, MaxOverTime, and clip_grad_norm.

A batch of sequences is a padded rectangle, batch first as ``torch.nn.RNN(batch_first=True)``:
word ids ``(B, T)``, vectors ``(B, T, n)``. ``lengths`` (B,) says how many steps of each row are
real, the rest being padding at the end. A padded step changes neither the state nor any
gradient, so a sequence gets the same output and gradients alone or in a padded batch.

The recurrent layers keep the framework's ``x @ W`` convention (see :class:`RNN`); the LSTM is in
``lstm.py``. ``load_torch_state_dict`` copies the weights of the torch module of the same name.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .init import _uniform
from .module import Module, Parameter, ShapeError


class TorchTwin(Module):
    """A module whose parameters are named as a torch module's ``state_dict()`` keys.

    ``torch_transposed`` lists the parameters stored as the transpose of torch's (``x @ W``
    layout); every other parameter has torch's shape.
    """

    torch_transposed: tuple[str, ...] = ()

    def load_torch_state_dict(self, state_dict) -> None:
        """Copy a torch module's ``state_dict()`` (tensors or arrays) into these parameters, in
        place and in this module's dtype. A KeyError or ShapeError names both sides of a mismatch."""
        ours = dict(self.named_parameters())
        missing, extra = sorted(set(ours) - set(state_dict)), sorted(set(state_dict) - set(ours))
        if missing or extra:
            raise KeyError(f"{self!r}.load_torch_state_dict: the state dict lacks {missing} and "
                           f"has unexpected {extra}; ours are {list(ours)}, its keys "
                           f"{list(state_dict)}. Is it a one-layer module of this kind?")
        for name, p in ours.items():
            value = state_dict[name]
            value = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
            transposed = name in self.torch_transposed
            if (value.T if transposed else value).shape != p.shape:
                torch_shape = f" (torch's {p.shape[::-1]}, transposed)" if transposed else ""
                raise ShapeError(f"{self!r}.load_torch_state_dict: {name} has shape {p.shape} "
                                 f"here{torch_shape}, the state dict's is {value.shape}")
            p.value[...] = value.T if transposed else value

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)


def _input(layer: Module, x, n: int, dtype) -> np.ndarray:
    """x as an array (B, T, n) in the layer's dtype, or a ShapeError naming the layer."""
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 3 or x.shape[2] != n or x.shape[1] == 0:
        hint = (": a single sequence needs a batch axis, x[None]" if x.ndim == 2 else
                ": at least one time step, T >= 1" if x.ndim == 3 and x.shape[2] == n else
                ": batch first, (batch, time, features), features = input_size")
        detail = f"expected input (B, T, {n}), got {x.shape}{hint}"
        raise ShapeError(f"{layer!r} {detail}", detail)
    return x


def step_mask(layer: Module, lengths, B: int, T: int) -> np.ndarray:
    """(B, T) bool, True at the real steps t < lengths[b] (all True when ``lengths`` is None)."""
    if lengths is None:
        return np.ones((B, T), dtype=bool)
    lengths = np.asarray(lengths)
    if lengths.shape != (B,):
        raise ShapeError(f"{layer!r} expected lengths of shape ({B},), one per sequence, "
                         f"got {lengths.shape}")
    if not np.issubdtype(lengths.dtype, np.integer):
        raise TypeError(f"{layer!r} needs integer lengths, got dtype {lengths.dtype}")
    if B and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"{layer!r} lengths must lie in 0..{T} for a batch of {T} steps, got "
                         f"values from {lengths.min()} to {lengths.max()}")
    return np.arange(T) < lengths[:, None]


def _state(layer: Module, h0, B: int, H: int, dtype, name: str = "h0") -> np.ndarray:
    if h0 is None:
        return np.zeros((B, H), dtype)
    h0 = np.asarray(h0, dtype=dtype)
    if h0.shape != (B, H):
        raise ShapeError(f"{layer!r} expected {name} of shape {(B, H)}, got {h0.shape}"
                         + (" (torch's (1, B, H): pass h0[0])" if h0.shape == (1, B, H) else ""))
    return h0


def _upstream(layer: Module, name: str, dL_dy, shape: tuple[int, ...], dtype) -> np.ndarray:
    """The upstream gradient ``name`` in the layer's dtype (zeros for None), of shape ``shape``."""
    if dL_dy is None:
        return np.zeros(shape, dtype)
    dL_dy = np.asarray(dL_dy, dtype=dtype)
    if dL_dy.shape != shape:
        raise ShapeError(f"{layer!r}.backward expected {name} of shape {shape} like its last "
                         f"forward's output, got {dL_dy.shape}")
    return dL_dy


class Embedding(TorchTwin):
    """A lookup table: row ``ids[b, t]`` of ``weight`` (num_embeddings, embedding_dim), as torch's.

    ``weight`` starts N(0, 1) as in torch. The row ``padding_idx`` starts at zero and never gets a
    gradient, so it stays zero under any optimizer without weight decay.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng=None, dtype=np.float32) -> None:
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"padding_idx must lie in -{num_embeddings}..{num_embeddings - 1}, "
                             f"got {padding_idx}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        W = np.random.default_rng(rng).standard_normal((num_embeddings, embedding_dim), dtype=dtype)
        if self.padding_idx is not None:
            W[self.padding_idx] = 0
        self.weight = Parameter(W)
        self.ids: np.ndarray | None = None

    def forward(self, ids) -> np.ndarray:
        """ids: (B, T) integers in 0..num_embeddings-1 -> e = weight[ids]: (B, T, embedding_dim)."""
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{self!r} needs integer word ids, got dtype {ids.dtype}: pass "
                            "ids.astype(np.int64)")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"{self!r} ids must lie in 0..{self.num_embeddings - 1}, got values "
                             f"from {ids.min()} to {ids.max()}: is the vocabulary larger than "
                             "num_embeddings?")
        self.ids = ids
        return self.weight.value[ids]

    def backward(self, dL_de: np.ndarray) -> None:
        """dL_de: (B, T, embedding_dim). Adds dL_de[b, t] to row ids[b, t] of weight.grad, with
        np.add.at so that a word used twice gets both; returns None (ids have no gradient)."""
        if self.ids is None:
            raise self._missing_forward()
        ids, W = self.ids, self.weight.value
        dL_de = _upstream(self, "dL_de", dL_de, ids.shape + (self.embedding_dim,), W.dtype)
        if self.padding_idx is not None:
            real = ids != self.padding_idx
            ids, dL_de = ids[real], dL_de[real]
        np.add.at(self.weight.grad, ids, dL_de)
        return None

    def __repr__(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}{pad})"


class RNN(TorchTwin):
    """One Elman layer over time, batch first, as ``torch.nn.RNN(D, H, batch_first=True)``::

        a_t = x_t W_ih + b_ih + h_{t-1} W_hh + b_hh,    h_t = f(a_t),    f = tanh or relu

    with h_{-1} = h0 (zero by default). ``weight_ih_l0`` (D, H) and ``weight_hh_l0`` (H, H) are the
    *transposes* of torch's (the framework's ``x @ W``); ``bias_ih_l0``, ``bias_hh_l0`` (H,) are
    torch's. All four start U(-1/sqrt(H), 1/sqrt(H)) as in torch. h0 and h_last are (B, H), torch's
    (1, B, H) without the layer axis. After ``backward``, ``dL_dh0`` holds the gradient of h0.
    """

    torch_transposed = ("weight_ih_l0", "weight_hh_l0")

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", rng=None,
                 dtype=np.float32) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN nonlinearity must be 'tanh' or 'relu' (torch's choices), got "
                             f"{nonlinearity!r}")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        rng, bound = np.random.default_rng(rng), 1 / math.sqrt(hidden_size)
        D, H = input_size, hidden_size
        self.weight_ih_l0 = Parameter(_uniform((D, H), bound, rng, dtype))
        self.weight_hh_l0 = Parameter(_uniform((H, H), bound, rng, dtype))
        self.bias_ih_l0 = Parameter(_uniform((H,), bound, rng, dtype))
        self.bias_hh_l0 = Parameter(_uniform((H,), bound, rng, dtype))
        self.saved: tuple | None = None
        self.dL_dh0: np.ndarray | None = None

    def forward(self, x, lengths=None, h0=None) -> tuple[np.ndarray, np.ndarray]:
        """x: (B, T, D), lengths: (B,) ints in 0..T or None (all T), h0: (B, H) or None
        -> out: (B, T, H), zero at padded steps; h_last: (B, H), each row's state after its last
        real step (h0 for a row of length 0). Keeps x, the mask and all states for backward."""
        W_ih, W_hh = self.weight_ih_l0.value, self.weight_hh_l0.value
        x = _input(self, x, self.input_size, W_ih.dtype)
        B, T, _ = x.shape
        mask = step_mask(self, lengths, B, T)
        h0 = _state(self, h0, B, self.hidden_size, W_ih.dtype)
        f = np.tanh if self.nonlinearity == "tanh" else (lambda a: np.maximum(a, 0))
        # The terms that do not depend on h, for every step at once: one product, not T.
        x_proj = x @ W_ih + (self.bias_ih_l0.value + self.bias_hh_l0.value)  # (B, T, H)
        hs = np.empty((B, T, self.hidden_size), W_ih.dtype)  # h_t, kept for backward
        h = h0
        for t in range(T):
            h_new = f(x_proj[:, t] + h @ W_hh)
            h = np.where(mask[:, t, None], h_new, h)  # a padded step keeps the state
            hs[:, t] = h
        self.saved = (x, mask, h0, hs)
        return hs * mask[..., None], h

    def backward(self, dL_dout, dL_dh_last=None) -> np.ndarray:
        """dL_dout: (B, T, H), dL_dh_last: (B, H) or None -> dL_dx: (B, T, D), zero at padded steps.

        Backward through time, from the last step to the first::

            delta_t = (dL_dout_t + dh_next) * f'(a_t)      dh_next = delta_{t+1} W_hh^T

        where dh_next starts as dL_dh_last; then dL_dW_ih = sum_t x_t^T delta_t, dL_dW_hh =
        sum_t h_{t-1}^T delta_t, both biases sum_t delta_t (over the batch too), dL_dx_t =
        delta_t W_ih^T. Sets ``self.dL_dh0`` (B, H).
        """
        if self.saved is None:
            raise self._missing_forward()
        x, mask, h0, hs = self.saved
        W_ih, W_hh = self.weight_ih_l0.value, self.weight_hh_l0.value
        B, T, H = hs.shape
        # out is zero at padded steps whatever the state: no gradient reaches the state there.
        dL_dout = _upstream(self, "dL_dout", dL_dout, (B, T, H), W_ih.dtype) * mask[..., None]
        dh_next = _upstream(self, "dL_dh_last", dL_dh_last, (B, H), W_ih.dtype)
        # f'(a_t) for all steps at once, written with h_t = f(a_t); zero at padded steps.
        f_prime = (1 - hs * hs if self.nonlinearity == "tanh" else hs > 0) * mask[..., None]
        deltas = np.empty_like(hs)
        for t in reversed(range(T)):
            dL_dh = dL_dout[:, t] + dh_next
            deltas[:, t] = dL_dh * f_prime[:, t]
            # The path to h_{t-1}: through W_hh at a real step; a padded step passes it through.
            dh_next = np.where(mask[:, t, None], deltas[:, t] @ W_hh.T, dL_dh)
        self.dL_dh0 = dh_next
        h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)  # h_{t-1}: (B, T, H)
        # Summing over time and batch in one product each: (D, B*T) @ (B*T, H).
        self.weight_ih_l0.grad += x.reshape(-1, self.input_size).T @ deltas.reshape(-1, H)
        self.weight_hh_l0.grad += h_prev.reshape(-1, H).T @ deltas.reshape(-1, H)
        self.bias_ih_l0.grad += deltas.sum(axis=(0, 1))
        self.bias_hh_l0.grad += deltas.sum(axis=(0, 1))
        return deltas @ W_ih.T

    def __repr__(self) -> str:
        return f"RNN({self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r})"


class MaxOverTime(Module):
    """y[b, j] = max over the real steps t < lengths[b] of h[b, t, j], as course_lib.rnn's masked
    max pool. A row of length 0 gives 0 and gets no gradient (torch's twin does the same). The
    gradient goes to the step that won the max (the first one on a tie)."""

    def __init__(self) -> None:
        self.saved: tuple | None = None

    def forward(self, h, lengths=None) -> np.ndarray:
        """h: (B, T, H), lengths: (B,) ints in 0..T or None -> y: (B, H)."""
        h = np.asarray(h)
        if h.ndim != 3:
            raise ShapeError(f"{self!r} expected h of shape (B, T, H), got {h.shape}")
        mask = step_mask(self, lengths, h.shape[0], h.shape[1])
        winner = np.where(mask[..., None], h, -np.inf).argmax(axis=1)  # (B, H): the step t
        y = np.take_along_axis(h, winner[:, None], axis=1)[:, 0]
        empty = ~mask.any(axis=1)
        y[empty] = 0
        self.saved = (h.shape, h.dtype, winner, empty)
        return y

    def __call__(self, h, lengths=None) -> np.ndarray:
        return self.forward(h, lengths)

    def backward(self, dL_dy) -> np.ndarray:
        """dL_dy: (B, H) -> dL_dh: (B, T, H), dL_dy[b, j] at the winning step, zero elsewhere."""
        if self.saved is None:
            raise self._missing_forward()
        shape, dtype, winner, empty = self.saved
        dL_dy = _upstream(self, "dL_dy", dL_dy, (shape[0], shape[2]), dtype)
        dL_dh = np.zeros(shape, dL_dy.dtype)
        dL_dy = np.where(empty[:, None], 0, dL_dy)
        np.put_along_axis(dL_dh, winner[:, None], dL_dy[:, None], axis=1)
        return dL_dh


def clip_grad_norm(parameters: Iterable[Parameter], max_norm: float) -> float:
    """Scale all gradients by max_norm / (norm + 1e-6) when that is below 1, as
    torch.nn.utils.clip_grad_norm_; norm is the 2-norm of all gradients together, returned as it
    was before clipping."""
    grads = [p.grad for p in parameters]
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))  # vdot: g flattened, g . g
    scale = max_norm / (norm + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return norm
