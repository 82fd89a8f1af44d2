"""Explorers for lessons 8 and 10: word embeddings and a review classifier, driven by typed text.

``neighbours_explorer``: type a word, see its nearest neighbours in an embedding matrix.
``review_explorer``: type a review, see its tokens (unknown words marked), the model's
P(positive), and how much each token contributed through the max pool.
Both are Explorers (``.update(word=...)``, ``.update(text=...)``) and expose the numbers they show.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..data.imdb import UNK, tokenize
from .explorer import Explorer

if TYPE_CHECKING:
    import torch


def nearest_words(E: np.ndarray, word_id: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``E: (V, d)`` most cosine-similar to row ``word_id`` (itself excluded).

    Returns ``(ids: (k,), similarities: (k,))``, most similar first. A zero row (padding) has
    similarity 0 to everything.
    """
    norms = np.linalg.norm(E, axis=1)
    sims = E @ E[word_id] / np.maximum(norms * norms[word_id], 1e-12)
    sims[word_id] = -np.inf
    ids = np.argsort(-sims, kind="stable")[:k]
    return ids, sims[ids]


def neighbours_explorer(E: np.ndarray | dict[str, np.ndarray], i2w: Sequence[str],
                        w2i: dict[str, int], word: str = "great", k: int = 10) -> Explorer:
    """Lesson 8: a text box for a word and a bar chart of its ``k`` nearest neighbours in an
    embedding matrix ``E: (V, d)`` (cosine similarity). A dict ``{name: E}`` adds a menu to
    switch between embeddings. A word outside the vocabulary shows the neighbours of ``.unk``,
    as a model would see it. Controls: ``word`` (redraws on Enter) and, for a dict, ``embedding``.
    """
    matrices = E if isinstance(E, dict) else {"embedding": E}
    controls: dict[str, widgets.ValueWidget] = {
        "word": widgets.Text(value=word, description="word", continuous_update=False)}
    if len(matrices) > 1:
        controls["embedding"] = widgets.Dropdown(options=list(matrices), description="embedding")

    def draw(fig: Figure, word: str, embedding: str = next(iter(matrices))) -> None:
        typed = word.strip().lower()
        word_id = w2i.get(typed, UNK)
        ids, sims = nearest_words(matrices[embedding], word_id, k)
        ax = fig.subplots()
        ax.barh(range(k)[::-1], sims, color=["C2" if s > 0 else "C3" for s in sims])
        ax.set_yticks(range(k)[::-1], [i2w[i] for i in ids])
        ax.set_xlim(min(0.0, float(sims.min()) - 0.05), 1)
        ax.set_xlabel("cosine similarity")
        shown = typed if word_id != UNK else f"{typed!r} is not in the vocabulary: .unk"
        ax.set_title(f"nearest neighbours of {shown}"
                     + (f"\n({embedding})" if len(matrices) > 1 else ""))

    return Explorer(controls, draw, Figure(figsize=(5, 0.3 * k + 1.4), layout="constrained"))


def token_contributions(model: "torch.nn.Module", ids: Sequence[int]) -> tuple[float, np.ndarray]:
    """P(positive) of a :class:`course_lib.rnn.SentimentClassifier` for one review, and each
    token's share of the logit difference ``d = logit_pos - logit_neg``.

    With max pooling every hidden unit j takes its value from one time step t_j, so
    ``d = sum_j (W_out[1, j] - W_out[0, j]) h[t_j, j] + b_out[1] - b_out[0]`` splits exactly into
    one part per token (the units it won) plus the bias difference: ``contributions: (T,)``
    sums to ``d - (b_out[1] - b_out[0])``, and P(positive) = sigmoid(d) = softmax(logits)[1].
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            w = model.out.weight[1] - model.out.weight[0]
            bias = float(model.out.bias[1] - model.out.bias[0])
            contributions = torch.zeros(len(ids), dtype=w.dtype)
            if len(ids):  # an empty review pools to 0 (and nn.RNN rejects length 0)
                e = model.embedding(torch.as_tensor(np.asarray(ids, dtype=np.int64))[None])
                h = (model.body(e) if model.kind == "mlp" else model.body(e)[0])[0]  # (T, H)
                pooled, winner = h.max(dim=0)
                contributions.index_add_(0, winner, w * pooled)
    finally:
        model.train(was_training)
    d = float(contributions.sum()) + bias
    return float(1 / (1 + np.exp(-d))), contributions.numpy().astype(np.float64)


class ReviewExplorer(Explorer):
    """A text area for a review and, below it, the review as the model sees it: each token
    shaded by its contribution (green towards positive, red towards negative), unknown words
    struck through as ``.unk``, and P(positive) on top.

    An :class:`~course_lib.widgets.explorer.Explorer` whose picture is HTML, not a figure:
    ``.update(text=...)`` re-reads the review; ``.tokens``, ``.ids``, ``.probability`` and
    ``.contributions`` hold what is shown, ``.html()`` the rendering.
    """

    def __init__(self, model: "torch.nn.Module", w2i: dict[str, int], text: str):
        self.model, self.w2i = model, w2i
        box = widgets.Textarea(value=text, description="review", continuous_update=False,
                               layout=widgets.Layout(width="95%", height="5em"))
        super().__init__({"text": box}, self._read, figure=None)

    def _read(self, _figure, text: str) -> None:
        self.tokens = tokenize(text)
        self.ids = [self.w2i.get(t, UNK) for t in self.tokens]
        self.probability, self.contributions = token_contributions(self.model, self.ids)

    def view(self):
        from IPython.display import HTML
        return HTML(self.html())

    def html(self) -> str:
        """The review's tokens as coloured HTML spans, with P(positive) and a legend."""
        scale = max(float(np.abs(self.contributions).max(initial=0.0)), 1e-9)
        spans = []
        for token, i, share in zip(self.tokens, self.ids, self.contributions):
            alpha = min(abs(share) / scale, 1.0)
            rgb = "0,160,0" if share > 0 else "220,0,0"
            style = f"background: rgba({rgb},{alpha:.2f}); padding: 1px 2px; border-radius: 3px;"
            shown = html.escape(token)
            if i == UNK:
                style += " color: #888; text-decoration: line-through;"
                shown += "<sub>.unk</sub>"
            spans.append(f'<span style="{style}" title="{share:+.3f}">{shown}</span>')
        p = self.probability
        verdict = "positive" if p >= 0.5 else "negative"
        n_unk = sum(i == UNK for i in self.ids)
        return (f"<p><b>P(positive) = {p:.3f}</b> → {verdict} · {len(self.tokens)} tokens, "
                f"{n_unk} unknown (struck through) · shading: contribution through the max pool "
                f"(<span style='background: rgba(0,160,0,0.6)'>positive</span> / "
                f"<span style='background: rgba(220,0,0,0.6)'>negative</span>; hover for the "
                f"value)</p><p style='line-height: 1.8'>{' '.join(spans)}</p>")


def review_explorer(model: "torch.nn.Module", w2i: dict[str, int],
                    text: str = "A wonderful film, though the ending was a bit predictable."
                    ) -> ReviewExplorer:
    """Lesson 10: type a review, see how a trained ``SentimentClassifier`` reads it."""
    return ReviewExplorer(model, w2i, text)
