"""Explorers of lessons 8 and 10, driven without a browser: neighbours, token contributions, redraws."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.data.imdb import SPECIALS, UNK  # noqa: E402
from course_lib.rnn import KINDS, SentimentClassifier  # noqa: E402
from course_lib.widgets.text import (  # noqa: E402
    nearest_words, neighbours_explorer, review_explorer, token_contributions)

WORDS = SPECIALS + ["good", "great", "bad", "awful", "film", "the"]
W2I = {w: i for i, w in enumerate(WORDS)}


def embeddings() -> np.ndarray:
    E = np.zeros((len(WORDS), 3))
    E[W2I["good"]], E[W2I["great"]] = [1, 0.1, 0], [2, 0.3, 0]   # same direction, other length
    E[W2I["bad"]], E[W2I["awful"]] = [-1, 0, 0.1], [-1, 0.1, 0.2]
    E[W2I["film"]], E[W2I["the"]] = [0, 1, 0], [0, 0.5, 1]
    E[UNK] = [0.1, 0.1, 0.1]
    return E


def test_nearest_words_rank_by_cosine_not_by_length_and_exclude_the_word_itself():
    E = embeddings()
    ids, sims = nearest_words(E, W2I["good"], k=3)
    assert W2I["good"] not in ids and ids[0] == W2I["great"]
    assert np.all(np.diff(sims) <= 0)
    expected = E[ids] @ E[W2I["good"]] / (np.linalg.norm(E[ids], axis=1) * np.linalg.norm(E[W2I["good"]]))
    np.testing.assert_allclose(sims, expected, rtol=1e-12)


def test_nearest_words_of_a_zero_row_are_all_zero_similar():
    ids, sims = nearest_words(embeddings(), 0, k=4)  # .pad is the zero vector
    assert 0 not in ids and np.all(sims == 0)


def test_neighbours_explorer_shows_the_typed_word_and_falls_back_to_unk():
    explorer = neighbours_explorer(embeddings(), WORDS, W2I, word="bad", k=3)
    ax = explorer.figure.axes[0]
    top = max(ax.get_yticklabels(), key=lambda t: t.get_position()[1])  # bars run top down
    assert top.get_text() == "awful"
    png = explorer.png()
    explorer.update(word="Zebra")  # not in the vocabulary; case is folded like the tokenizer
    assert "not in the vocabulary" in explorer.figure.axes[0].get_title()
    assert explorer.png() != png


def test_neighbours_explorer_switches_between_embeddings():
    E = embeddings()
    flipped = E.copy()
    flipped[W2I["awful"]] *= -1  # now "awful" points like "good"
    explorer = neighbours_explorer({"first": E, "second": flipped}, WORDS, W2I, word="good", k=2)
    labels = lambda: {t.get_text() for t in explorer.figure.axes[0].get_yticklabels()}  # noqa: E731
    assert "awful" not in labels()
    explorer.update(embedding="second")
    assert "awful" in labels() and "second" in explorer.figure.axes[0].get_title()


def tiny_model(kind: str) -> SentimentClassifier:
    return SentimentClassifier(len(WORDS), kind, emb=5, hidden=4, seed=1).double()


@pytest.mark.parametrize("kind", KINDS)
def test_token_contributions_add_up_to_the_models_logit_difference(kind):
    model = tiny_model(kind)
    ids = [W2I["the"], W2I["film"], W2I["great"], UNK, W2I["bad"]]
    p, c = token_contributions(model, ids)
    logits = model(torch.tensor([ids]))[0].detach()
    bias = float(model.out.bias.detach()[1] - model.out.bias.detach()[0])
    assert c.shape == (len(ids),)
    np.testing.assert_allclose(c.sum() + bias, float(logits[1] - logits[0]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p, float(torch.softmax(logits, 0)[1]), rtol=1e-10)


def test_token_contributions_leave_the_model_in_training_mode_and_handle_an_empty_review():
    model = tiny_model("lstm")
    p, c = token_contributions(model, [])
    assert model.training and c.shape == (0,)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-float(model.out.bias.detach()[1] - model.out.bias.detach()[0]))))


def test_review_explorer_marks_unknown_words_and_updates_on_new_text():
    explorer = review_explorer(tiny_model("mlp"), W2I, text="The film was great!")
    assert explorer.tokens == ["the", "film", "was", "great", "!"]
    assert explorer.ids[2] == UNK and explorer.ids[4] == UNK
    assert explorer.html().count("<sub>.unk</sub>") == 2
    p_before = explorer.probability
    explorer.update(text="awful awful bad")
    assert explorer.tokens == ["awful", "awful", "bad"] and UNK not in explorer.ids
    assert explorer.probability != p_before
    explorer.controls["text"].value = "good"  # what typing in the box does
    assert explorer.tokens == ["good"]


def test_review_explorer_escapes_html_in_the_review():
    explorer = review_explorer(tiny_model("rnn"), W2I, text="<script>")
    assert "<script>" not in explorer.html().split("</p>", 1)[1]
