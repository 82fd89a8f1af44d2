"""Recurrent sentiment classifiers in PyTorch (lesson 10).

Every model reads a padded batch of word ids ``x: (B, T)`` the same way:

    embedding (B, T, emb) → body (B, T, hidden) → max over time (padding masked) → Linear (B, 2)

and differs only in its body: a per-token MLP (no recurrence at all), the Elman RNN written
here as a Python loop over time, or PyTorch's own ``nn.RNN`` / ``nn.LSTM``.

Training: :func:`fit` (Adam or SGD, optional gradient clipping, running averages for plots,
the same NaN stop as the NumPy lessons), :func:`train_epoch`, :func:`evaluate`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .train import History, TrainingDiverged, check_finite, progress_bar

KINDS = ("mlp", "elman", "rnn", "lstm")
RESIDUALS = (None, "around", "inside")
NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


class ElmanRNN(nn.Module):
    """One Elman layer, written as a loop over time steps: the PyTorch twin of lesson 9's NumPy
    :class:`course_lib.nn.RNN`, whose backward pass through time is written by hand; here autograd
    does it, and with the same weights both give the same gradients (``tests/test_nn_recurrent.py``).

        h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)               (residual=False)
        h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) + h_{t-1}     (residual=True)

    with h_0 = 0 (or ``h0``). ``residual=True`` is the residual *inside* the recurrence
    (``SentimentClassifier(residual="inside")``). The residual form gives the gradient a path back through time
    that no saturating ``f`` and no small ``W_hh`` can shrink; the price is that the state
    accumulates (|h_T| can grow like T), which on 256-token reviews trains worse than the plain
    form and makes a ReLU version overflow at once. Parameter names, shapes and
    initialisation are those of ``torch.nn.RNN(batch_first=True)``, so
    ``elman.load_state_dict(rnn.state_dict())`` copies a one-layer ``nn.RNN``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 residual: bool = False):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {sorted(NONLINEARITIES)}, "
                             f"got {nonlinearity!r}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.nonlinearity, self.residual = nonlinearity, residual
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(hidden_size))
        self.bias_hh_l0 = nn.Parameter(torch.empty(hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, input_size), h0: (1, B, hidden) or None
        → (all states h: (B, T, hidden), last state h_T: (1, B, hidden)), as ``nn.RNN``."""
        f = NONLINEARITIES[self.nonlinearity]
        B = x.shape[0]
        h = x.new_zeros(B, self.hidden_size) if h0 is None else h0[0]
        # The terms that do not depend on h, for every time step at once: one product, not T.
        x_proj = x @ self.weight_ih_l0.T + self.bias_ih_l0 + self.bias_hh_l0  # (B, T, hidden)
        hs = []
        for x_t in x_proj.unbind(1):  # unbind, not x_proj[:, t]: cheaper to backpropagate
            h_new = f(x_t + h @ self.weight_hh_l0.T)
            h = h_new + h if self.residual else h_new
            hs.append(h)
        out = torch.stack(hs, 1) if hs else x.new_zeros(B, 0, self.hidden_size)
        return out, h.unsqueeze(0)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}, "
                f"residual={self.residual}")


def masked_max_pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time of the real (``mask`` True) positions only.

    h: (B, T, H), mask: (B, T) bool → (B, H). Padded positions are set to -inf first, so
    whatever a model computes there cannot win the max; a row with no real position gives 0.
    """
    pooled = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
    return pooled.masked_fill(~mask.any(dim=1, keepdim=True), 0.0)


class SentimentClassifier(nn.Module):
    """Embedding → body → masked global max pool → Linear(hidden, 2).

    kind: "mlp" (Linear(emb, hidden) + ReLU on each token separately), "elman"
    (:class:`ElmanRNN`, any ``nonlinearity``), "rnn" (``nn.RNN``: tanh or relu) or "lstm"
    (``nn.LSTM``). ``residual``: None; "inside" the recurrence, h_t = f(a_t) + h_{t-1} (kind
    "elman" only: :class:`ElmanRNN` with ``residual=True``), which gives the gradient an identity
    path back through time; or "around" the recurrent body, its output plus its input e + body(e)
    as report C built it (any recurrent kind, emb == hidden), which gives every token's embedding
    a direct path to the max pool but leaves the path through time as it was. Word id 0 is padding: its embedding is zero and
    its positions are left out of the max. ``dropout`` is applied to the embeddings during
    training. Weights are initialised from ``seed`` without touching torch's global RNG.
    """

    def __init__(self, vocab_size: int, kind: str, emb: int = 300, hidden: int = 300,
                 residual: str | None = None, nonlinearity: str = "tanh", dropout: float = 0.0,
                 seed: int = 0):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if residual not in RESIDUALS:
            raise ValueError(f"residual must be one of {RESIDUALS}, got {residual!r}")
        if residual == "inside" and kind != "elman":
            raise ValueError(f"residual='inside' changes the recurrence itself, which only "
                             f"kind='elman' (the self-built RNN) exposes, got kind={kind!r}; "
                             f"residual='around' works for every recurrent kind")
        if residual == "around" and (kind == "mlp" or emb != hidden):
            raise ValueError(f"residual='around' adds a recurrent body's output to its input, so it "
                             f"needs a recurrent kind and emb == hidden, got kind={kind!r}, "
                             f"emb={emb}, hidden={hidden}")
        if kind == "rnn" and nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"torch.nn.RNN supports nonlinearity 'tanh' or 'relu', not "
                             f"{nonlinearity!r}; use kind='elman' for {nonlinearity!r}")
        self.kind, self.residual = kind, residual
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.embedding = nn.Embedding(vocab_size, emb, padding_idx=0)
            self.dropout = nn.Dropout(dropout)
            if kind == "mlp":
                self.body = nn.Sequential(nn.Linear(emb, hidden), nn.ReLU())
            elif kind == "elman":
                self.body = ElmanRNN(emb, hidden, nonlinearity, residual == "inside")
            elif kind == "rnn":
                self.body = nn.RNN(emb, hidden, nonlinearity=nonlinearity, batch_first=True)
            else:
                self.body = nn.LSTM(emb, hidden, batch_first=True)
            self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T) int64 word ids, 0 = padding → logits (B, 2)."""
        e = self.dropout(self.embedding(x))
        h = self.body(e) if self.kind == "mlp" else self.body(e)[0]
        if self.residual == "around":
            h = e + h
        return self.out(masked_max_pool(h, x != 0))


# --- training ------------------------------------------------------------------------

Batch = tuple[torch.Tensor, torch.Tensor]  # x: (B, T) int64 word ids, c: (B,) int64 labels


@dataclass
class RNNHistory(History):
    """Per-epoch curves (from :class:`History`) plus one entry per training step:
    ``batch_loss``/``batch_acc`` of that step's batch, and ``running_loss``/``running_acc``,
    the averages over all sequences seen so far in the epoch (what a progress bar shows)."""
    batch_loss: list[float] = field(default_factory=list)
    batch_acc: list[float] = field(default_factory=list)
    running_loss: list[float] = field(default_factory=list)
    running_acc: list[float] = field(default_factory=list)


def make_optimizer(model: nn.Module, name: str, lr: float) -> torch.optim.Optimizer:
    """"adam" (fused kernel where this torch has one on CPU: a few percent faster, most of the
    work being the large embedding's update) or plain "sgd" over ``model``'s parameters."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    if name != "adam":
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {name!r}")
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # older torch: no fused Adam on CPU
        return torch.optim.Adam(model.parameters(), lr=lr)


def evaluate(model: nn.Module, batches: Iterable[Batch]) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over all sequences in ``batches`` (no dropout, no grad)."""
    was_training = model.training
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    try:
        with torch.inference_mode():
            for x, c in batches:
                logits = model(x)
                loss_sum += F.cross_entropy(logits, c, reduction="sum").item()
                correct += int((logits.argmax(1) == c).sum())
                n += len(c)
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate() got no batches; is the data (or the generator) empty?")
    return loss_sum / n, correct / n


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[Batch],
                clip: float | None = None, history: RNNHistory | None = None, epoch: int = 0,
                progress: bool = True) -> tuple[float, float]:
    """One pass over ``batches``; returns the epoch's mean training (loss, accuracy).

    ``clip`` rescales the gradient to norm at most ``clip`` before each step. Raises
    :class:`TrainingDiverged` as soon as a batch loss is NaN or infinite.
    """
    model.train()
    history = history if history is not None else RNNHistory()
    loss_sum, correct, n = 0.0, 0, 0
    bar = progress_bar(batches, progress, desc=f"epoch {epoch + 1}", leave=False)
    for step, (x, c) in enumerate(bar):
        logits = model(x)
        loss = F.cross_entropy(logits, c)
        batch_loss = check_finite(loss.item(), f"epoch {epoch + 1}, step {step + 1}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()

        batch_correct = int((logits.argmax(1) == c).sum())
        loss_sum += batch_loss * len(c)
        correct += batch_correct
        n += len(c)
        history.batch_loss.append(batch_loss)
        history.batch_acc.append(batch_correct / len(c))
        history.running_loss.append(loss_sum / n)
        history.running_acc.append(correct / n)
        if progress and step % 20 == 0:
            bar.set_postfix(loss=f"{loss_sum / n:.3f}", acc=f"{correct / n:.3f}")
    if n == 0:
        raise ValueError("train_epoch() got no batches; is the data (or the generator) empty?")
    return loss_sum / n, correct / n


def fit(model: nn.Module, train_batches_fn: Callable[[int], Iterable[Batch]],
        val_batches: Sequence[Batch] | None = None, epochs: int = 1, lr: float = 1e-3,
        clip: float | None = None, optimizer: str = "adam", lr_decay: float = 1.0,
        seed: int = 0, progress: bool = True) -> RNNHistory:
    """Train ``model`` for ``epochs`` epochs with Adam (or plain SGD); returns its history.

    ``train_batches_fn(epoch)`` makes that epoch's batches, e.g.
    ``lambda e: batch_by_tokens(x, c, 8192, seed=e, max_len=256)``; ``val_batches`` is a list
    of batches evaluated after every epoch. The learning rate is multiplied by ``lr_decay``
    after every epoch (0.5 steadies the max-pool models late in training). ``seed`` fixes
    dropout. Denormal floats are flushed
    to zero for the whole process: tanh/sigmoid gradients that decay towards 0 through time
    would otherwise become denormals, on which the CPU is ~100x slower (RNN epochs 5-6x).

    On a NaN/inf loss, :class:`TrainingDiverged` is raised with the history so far attached
    as ``err.history``, to plot how it blew up.
    """
    if val_batches is not None and iter(val_batches) is val_batches:
        raise TypeError("val_batches must be a list of batches, not a generator that is used "
                        "up after one epoch: wrap it as list(batch_by_tokens(...))")
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    opt = make_optimizer(model, optimizer, lr)
    history = RNNHistory()
    for epoch in range(epochs):
        try:
            train_loss, train_acc = train_epoch(model, opt, train_batches_fn(epoch), clip,
                                                history, epoch, progress)
        except TrainingDiverged as err:
            err.history = history
            raise
        for group in opt.param_groups:
            group["lr"] *= lr_decay
        val_loss, val_acc = evaluate(model, val_batches) if val_batches else (math.nan, math.nan)
        history.append(train_loss, train_acc, val_loss, val_acc)
        if progress:
            print(f"epoch {epoch + 1}: train loss {train_loss:.4f} acc {train_acc:.4f}"
                  + (f" | val loss {val_loss:.4f} acc {val_acc:.4f}" if val_batches else ""))
    return history
