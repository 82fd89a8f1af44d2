"""The LSTM layer (lesson 9), with the same contract as :class:`course_lib.nn.recurrent.RNN`."""
from __future__ import annotations

import math

import numpy as np

from .init import _uniform
from .module import Parameter
from .recurrent import TorchTwin, _input, _state, _upstream, step_mask


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * a))  # = 1 / (1 + exp(-a)), and cannot overflow


class LSTM(TorchTwin):
    """One LSTM layer over time, batch first, as ``torch.nn.LSTM(D, H, batch_first=True)``::

        a_t = x_t W_ih + b_ih + h_{t-1} W_hh + b_hh          (B, 4H): four blocks of H, in
        i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o)       torch's order i, f, g, o
        c_t = f * c_{t-1} + i * g,     h_t = o * tanh(c_t)

    with h_{-1} = h0 and c_{-1} = c0 (zero by default). ``weight_ih_l0`` (D, 4H) and
    ``weight_hh_l0`` (H, 4H) are the *transposes* of torch's; the biases (4H,) are torch's; all
    start U(-1/sqrt(H), 1/sqrt(H)). After ``backward``, ``dL_dh0`` and ``dL_dc0`` (B, H) hold the
    gradients of h0 and c0.
    """

    torch_transposed = ("weight_ih_l0", "weight_hh_l0")

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=np.float32) -> None:
        self.input_size, self.hidden_size = input_size, hidden_size
        rng, bound = np.random.default_rng(rng), 1 / math.sqrt(hidden_size)
        D, H = input_size, hidden_size
        self.weight_ih_l0 = Parameter(_uniform((D, 4 * H), bound, rng, dtype))
        self.weight_hh_l0 = Parameter(_uniform((H, 4 * H), bound, rng, dtype))
        self.bias_ih_l0 = Parameter(_uniform((4 * H,), bound, rng, dtype))
        self.bias_hh_l0 = Parameter(_uniform((4 * H,), bound, rng, dtype))
        self.saved: tuple | None = None
        self.dL_dh0: np.ndarray | None = None
        self.dL_dc0: np.ndarray | None = None

    def forward(self, x, lengths=None, h0=None, c0=None
                ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """x: (B, T, D), lengths: (B,) ints in 0..T or None, h0, c0: (B, H) or None (zeros)
        -> out: (B, T, H), zero at padded steps; (h_last, c_last), each (B, H), every row's state
        after its last real step. Keeps x, the mask, gates, cells and states for backward."""
        W_ih, W_hh = self.weight_ih_l0.value, self.weight_hh_l0.value
        x = _input(self, x, self.input_size, W_ih.dtype)
        (B, T, _), H = x.shape, self.hidden_size
        mask = step_mask(self, lengths, B, T)
        h0 = _state(self, h0, B, H, W_ih.dtype)
        c0 = _state(self, c0, B, H, W_ih.dtype, name="c0")
        x_proj = x @ W_ih + (self.bias_ih_l0.value + self.bias_hh_l0.value)  # (B, T, 4H)
        gates = np.empty((B, T, 4 * H), W_ih.dtype)  # i, f, g, o at every step
        hs, cs = np.empty((B, T, H), W_ih.dtype), np.empty((B, T, H), W_ih.dtype)
        h, c = h0, c0
        for t in range(T):
            a = x_proj[:, t] + h @ W_hh
            ifgo = _sigmoid(a)
            ifgo[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
            i, f, g, o = np.split(ifgo, 4, axis=1)
            c_new = f * c + i * g
            real = mask[:, t, None]  # a padded step keeps the state
            c = np.where(real, c_new, c)
            h = np.where(real, o * np.tanh(c_new), h)
            gates[:, t], cs[:, t], hs[:, t] = ifgo, c, h
        self.saved = (x, mask, h0, c0, gates, hs, cs)
        return hs * mask[..., None], (h, c)

    def backward(self, dL_dout, dL_dh_last=None, dL_dc_last=None) -> np.ndarray:
        """dL_dout: (B, T, H), dL_dh_last, dL_dc_last: (B, H) or None -> dL_dx: (B, T, D), zero at
        padded steps. From the last step to the first, with dh, dc the gradients of h_t, c_t::

            dh = dL_dout_t + dh_next                     dh_next = da_{t+1} W_hh^T
            dc = dc_next + dh * o * (1 - tanh(c_t)^2)    dc_next = dc * f
            d(i, f, g, o) = (dc * g, dc * c_{t-1}, dc * i, dh * tanh(c_t))
            da_t = d(i, f, g, o) * (i(1-i), f(1-f), 1-g^2, o(1-o))

        The weights' gradients are summed over time as in :meth:`RNN.backward`. Sets
        ``self.dL_dh0`` and ``self.dL_dc0`` (B, H).
        """
        if self.saved is None:
            raise self._missing_forward()
        x, mask, h0, c0, gates, hs, cs = self.saved
        W_ih, W_hh = self.weight_ih_l0.value, self.weight_hh_l0.value
        B, T, H = hs.shape
        # out is zero at padded steps whatever the state: no gradient reaches the state there.
        dL_dout = _upstream(self, "dL_dout", dL_dout, (B, T, H), W_ih.dtype) * mask[..., None]
        dh_next = _upstream(self, "dL_dh_last", dL_dh_last, (B, H), W_ih.dtype)
        dc_next = _upstream(self, "dL_dc_last", dL_dc_last, (B, H), W_ih.dtype)
        # What does not depend on the gradient, for all steps at once: the gates' derivatives
        # σ' = σ(1 - σ) and tanh' = 1 - g^2 (zero at padded steps), tanh(c_t), and dh_t/dc_t.
        gates_prime = gates * (1 - gates) * mask[..., None]
        gates_prime[..., 2 * H:3 * H] = (1 - gates[..., 2 * H:3 * H] ** 2) * mask[..., None]
        tanh_cs = np.tanh(cs)
        dh_dc = gates[..., 3 * H:] * (1 - tanh_cs * tanh_cs)
        c_prev = np.concatenate([c0[:, None], cs[:, :-1]], axis=1)  # c_{t-1}: (B, T, H)
        das = np.empty_like(gates)
        for t in reversed(range(T)):
            i, f, g, _ = np.split(gates[:, t], 4, axis=1)
            dh = dL_dout[:, t] + dh_next
            dc = dc_next + dh * dh_dc[:, t]
            d_ifgo = np.concatenate([dc * g, dc * c_prev[:, t], dc * i, dh * tanh_cs[:, t]], axis=1)
            das[:, t] = d_ifgo * gates_prime[:, t]
            real = mask[:, t, None]  # a padded step passes both gradients through
            dh_next = np.where(real, das[:, t] @ W_hh.T, dh)
            dc_next = np.where(real, dc * f, dc_next)
        self.dL_dh0, self.dL_dc0 = dh_next, dc_next
        h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)  # h_{t-1}: (B, T, H)
        self.weight_ih_l0.grad += x.reshape(-1, self.input_size).T @ das.reshape(-1, 4 * H)
        self.weight_hh_l0.grad += h_prev.reshape(-1, H).T @ das.reshape(-1, 4 * H)
        self.bias_ih_l0.grad += das.sum(axis=(0, 1))
        self.bias_hh_l0.grad += das.sum(axis=(0, 1))
        return das @ W_ih.T

    def __repr__(self) -> str:
        return f"LSTM({self.input_size}, {self.hidden_size})"
