"""The sentiment classifier of lesson 9, built only from the framework: NumPy's twin of
``course_lib.rnn.SentimentClassifier(kind="rnn" or "lstm")``."""
from __future__ import annotations

import numpy as np

from .layers import Dropout, Linear
from .lstm import LSTM
from .recurrent import RNN, Embedding, MaxOverTime, TorchTwin


class TextClassifier(TorchTwin):
    """Embedding → Dropout → RNN or LSTM → MaxOverTime → Linear(hidden, 2): ids (B, T) -> (B, 2).

    Word id 0 is padding (its embedding row is zero and learns nothing); padding comes at the end
    of each row, as ``course_lib.data.batching`` pads. ``dropout`` acts on the embeddings in
    training mode. Parameter names are those of the torch twin's ``state_dict()``
    (``embedding.weight``, ``body.weight_ih_l0``, ..., ``out.weight``, ``out.bias``), so
    ``load_torch_state_dict`` copies it; in eval mode both compute the same function.

        model = TextClassifier(V, 64, 64, kind="lstm", rng=0)
        loss = loss_fn(model(ids, lengths), c); opt.zero_grad(); model.backward(loss_fn.backward())
    """

    def __init__(self, vocab_size: int, emb: int, hidden: int, kind: str = "rnn",
                 nonlinearity: str = "tanh", dropout: float = 0.0, rng=None,
                 dtype=np.float32) -> None:
        if kind not in ("rnn", "lstm"):
            raise ValueError(f"TextClassifier kind must be 'rnn' or 'lstm', got {kind!r}")
        if kind == "lstm" and nonlinearity != "tanh":
            raise ValueError(f"an LSTM has no choice of nonlinearity, got {nonlinearity!r}")
        rng = np.random.default_rng(rng)
        self.kind = kind
        self.embedding = Embedding(vocab_size, emb, padding_idx=0, rng=rng, dtype=dtype)
        self.dropout = Dropout(dropout, rng=rng)
        self.body = (RNN(emb, hidden, nonlinearity, rng=rng, dtype=dtype) if kind == "rnn"
                     else LSTM(emb, hidden, rng=rng, dtype=dtype))
        self.pool = MaxOverTime()
        self.out = Linear(hidden, 2, rng=rng, dtype=dtype)
        self.torch_transposed = ("out.weight",) + tuple("body." + name for name in
                                                       self.body.torch_transposed)

    def forward(self, ids, lengths=None) -> np.ndarray:
        """ids: (B, T) ints, 0 = padding at the end; lengths: (B,) or None (the non-zero ids of
        each row) -> logits: (B, 2)."""
        ids = np.asarray(ids)
        if lengths is None and ids.ndim == 2:
            lengths = (ids != 0).sum(axis=1)
        e = self.dropout.forward(self.embedding.forward(ids))
        h = self.body.forward(e, lengths)[0]
        return self.out.forward(self.pool.forward(h, lengths))

    def backward(self, dL_dlogits: np.ndarray) -> None:
        """dL_dlogits: (B, 2). Adds into every parameter's .grad; returns None (ids have none)."""
        dL_dh = self.pool.backward(self.out.backward(dL_dlogits))
        dL_de = self.body.backward(dL_dh)
        self.embedding.backward(self.dropout.backward(dL_de))

    def __repr__(self) -> str:
        return (f"TextClassifier({self.embedding!r} -> {self.body!r} -> MaxOverTime -> "
                f"{self.out!r}, dropout={self.dropout.p})")
