"""Padded batches: token budget, every sequence once, labels kept, little padding."""
import numpy as np
import pytest
import torch

from course_lib.data.batching import batch_by_tokens, batch_fixed, padding_fraction


def reviews(n=500, seed=0):
    """Sequences with a review-like (log-normal, long-tailed) length distribution; each
    sequence is its own index repeated, so a batch row tells which sequence it is."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(5.3, 0.7, n).astype(int), 5, 2500)
    seqs = [[i + 1] * int(k) for i, k in enumerate(lengths)]
    return seqs, [i % 2 for i in range(n)]


def rows(batches):
    """(sequence index, its unpadded length, label) for every row of every batch."""
    out = []
    for x, y in batches:
        for row, label in zip(x.tolist(), y.tolist()):
            out.append((row[0] - 1, sum(t != 0 for t in row), label))
    return out


BATCHERS = [lambda s, l, **kw: batch_by_tokens(s, l, max_tokens=4096, **kw),
            lambda s, l, **kw: batch_fixed(s, l, batch_size=16, **kw)]


@pytest.mark.parametrize("batcher", BATCHERS, ids=["by_tokens", "fixed"])
def test_every_sequence_once_with_its_label(batcher):
    seqs, labels = reviews()
    seen = rows(batcher(seqs, labels))
    assert sorted(i for i, _, _ in seen) == list(range(len(seqs)))
    assert all(n == len(seqs[i]) and label == labels[i] for i, n, label in seen)


@pytest.mark.parametrize("batcher", BATCHERS, ids=["by_tokens", "fixed"])
def test_batches_are_int64_tensors(batcher):
    seqs, labels = reviews(50)
    x, y = next(iter(batcher(seqs, labels)))
    assert x.dtype == y.dtype == torch.int64 and x.ndim == 2 and y.shape == (x.shape[0],)


@pytest.mark.parametrize("batcher", BATCHERS, ids=["by_tokens", "fixed"])
def test_max_len_cuts_sequences_to_their_first_tokens(batcher):
    seqs, labels = reviews()
    seqs = [[i + 1] + list(range(1000, 1000 + len(s) - 1)) for i, s in enumerate(seqs)]
    batches = list(batcher(seqs, labels, max_len=100))
    assert max(x.shape[1] for x, _ in batches) == 100
    for x, _ in batches:
        for row in x.tolist():
            original = seqs[row[0] - 1]
            assert row[:min(len(original), 100)] == original[:100]


@pytest.mark.parametrize("batcher", BATCHERS, ids=["by_tokens", "fixed"])
def test_empty_input_yields_nothing(batcher):
    assert list(batcher([], [])) == []


@pytest.mark.parametrize("batcher", BATCHERS, ids=["by_tokens", "fixed"])
def test_same_seed_same_batches_other_seed_other_order(batcher):
    seqs, labels = reviews()
    a, b, c = (list(batcher(seqs, labels, seed=s)) for s in (0, 0, 1))
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert [x.shape for x, _ in a] != [x.shape for x, _ in c] or not all(
        torch.equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))


def test_token_budget_holds_padding_included():
    seqs, labels = reviews()
    for x, _ in batch_by_tokens(seqs, labels, max_tokens=4096):
        assert x.numel() <= 4096 or x.shape[0] == 1


def test_a_review_longer_than_the_budget_is_a_batch_of_one():
    seqs, labels = [[5] * 30, [6] * 3, [7] * 4], [1, 0, 1]
    batches = list(batch_by_tokens(seqs, labels, max_tokens=10, shuffle=False))
    assert [tuple(x.shape) for x, _ in batches] == [(2, 4), (1, 30)]
    assert batches[1][1].tolist() == [1]


def test_without_shuffle_batches_come_shortest_first():
    seqs, labels = reviews()
    widths = [x.shape[1] for x, _ in batch_by_tokens(seqs, labels, 4096, shuffle=False)]
    assert widths == sorted(widths)


def test_padding_is_small_by_tokens_and_large_for_fixed_batches():
    seqs, labels = reviews(2000)
    assert padding_fraction(batch_by_tokens(seqs, labels, max_tokens=8192)) < 0.05
    assert padding_fraction(batch_fixed(seqs, labels, batch_size=32)) > 0.3


def test_empty_sequence_still_makes_a_valid_batch():
    (x, y), = batch_by_tokens([[], [4, 5]], [0, 1], max_tokens=100, shuffle=False)
    assert x.tolist() == [[0, 0], [4, 5]] and y.tolist() == [0, 1]


def test_mismatched_labels_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="labels"):
        batch_by_tokens([[1], [2]], [0], max_tokens=10)
    with pytest.raises(ValueError, match="max_tokens"):
        batch_by_tokens([[1]], [0], max_tokens=0)
    with pytest.raises(ValueError, match="batch_size"):
        batch_fixed([[1]], [0], batch_size=0)
    with pytest.raises(ValueError, match="max_len"):
        batch_fixed([[1]], [0], batch_size=1, max_len=0)


def test_padding_fraction_counts_pad_slots():
    x = torch.tensor([[1, 2, 0, 0], [3, 4, 5, 6]])
    assert padding_fraction([(x, torch.tensor([0, 1]))]) == 0.25
    assert padding_fraction([]) == 0.0
