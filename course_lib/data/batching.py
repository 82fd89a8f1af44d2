"""Padded minibatches of variable-length sequences (lesson 10).

A batch of sequences must be a rectangle, so shorter sequences are padded up to the longest.
Fixed-size batches of random reviews waste much of their compute on padding; batches of
reviews of similar length (``batch_by_tokens``) waste almost none, and holding about the same
number of tokens each, every step costs about the same.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch

Batch = tuple["torch.Tensor", "torch.Tensor"]  # x: (B, T) int64 word ids, c: (B,) int64 labels


def _lengths(seqs: Sequence[Sequence[int]], labels: Sequence[int], max_len: int | None
             ) -> np.ndarray:
    if len(seqs) != len(labels):
        raise ValueError(f"got {len(seqs)} sequences but {len(labels)} labels; "
                         "they must pair up one to one")
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be >= 1 (or None for no cap), got {max_len}")
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    return lengths if max_len is None else np.minimum(lengths, max_len)


def _pad(seqs: Sequence[Sequence[int]], labels: Sequence[int], idx: np.ndarray,
         lengths: np.ndarray, pad_id: int) -> Batch:
    """Sequences ``idx`` right-padded (and cut) to the longest of their ``lengths``.
    At least one column, so that an empty sequence still makes a valid (B, 1) batch."""
    import torch

    x = np.full((len(idx), max(int(lengths[idx].max()), 1)), pad_id, dtype=np.int64)
    for row, i in enumerate(idx.tolist()):
        n = int(lengths[i])
        x[row, :n] = seqs[i][:n]
    c = np.fromiter((labels[i] for i in idx.tolist()), dtype=np.int64, count=len(idx))
    return torch.from_numpy(x), torch.from_numpy(c)


def batch_by_tokens(seqs: Sequence[Sequence[int]], labels: Sequence[int], max_tokens: int,
                    pad_id: int = 0, shuffle: bool = True, seed: int = 0,
                    max_len: int | None = None) -> Iterator[Batch]:
    """Batches ``(x: (B, T) int64, c: (B,) int64)`` of similar-length sequences, padded
    lazily as they are iterated (arguments are checked at once).

    Sequences are sorted by length and cut into consecutive runs, each as long as it can be with
    ``B * T <= max_tokens`` (padding included; T = its longest sequence), so B varies: many short
    reviews or a few long ones. A sequence longer than ``max_tokens`` on its own is a batch of 1.
    Every sequence appears exactly once; ``max_len`` cuts sequences to their first ``max_len``
    tokens. With ``shuffle`` the batch order, and which equal-length sequences share a batch,
    are random but fixed by ``seed`` (pass the epoch number for a new order each epoch);
    without it, batches come shortest first.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}; try 8192")
    lengths = _lengths(seqs, labels, max_len)
    rng = np.random.default_rng(seed)
    start_order = rng.permutation(len(seqs)) if shuffle else np.arange(len(seqs))
    order = start_order[np.argsort(lengths[start_order], kind="stable")]
    batches, start = [], 0
    for end, n in enumerate(lengths[order].tolist(), start=1):
        # Sorted ascending, so the newest sequence sets T for the whole run start..end.
        if (end - start) * max(n, 1) > max_tokens and end - 1 > start:
            batches.append(order[start:end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    batch_order = rng.permutation(len(batches)) if shuffle else range(len(batches))
    return (_pad(seqs, labels, batches[b], lengths, pad_id) for b in batch_order)


def batch_fixed(seqs: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int,
                pad_id: int = 0, shuffle: bool = True, seed: int = 0,
                max_len: int | None = None) -> Iterator[Batch]:
    """Batches ``(x: (B, T) int64, c: (B,) int64)`` of ``batch_size`` sequences (the last may be
    smaller), each padded to its longest sequence (after cutting to ``max_len``).

    The plain way, for comparison with :func:`batch_by_tokens`: a random (``seed``) order with
    ``shuffle``, the given order without.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    lengths = _lengths(seqs, labels, max_len)
    order = np.random.default_rng(seed).permutation(len(seqs)) if shuffle else np.arange(len(seqs))
    return (_pad(seqs, labels, order[start:start + batch_size], lengths, pad_id)
            for start in range(0, len(order), batch_size))


def padding_fraction(batches: Iterable[Batch], pad_id: int = 0) -> float:
    """The fraction of all token slots in ``batches`` that hold ``pad_id``: compute wasted."""
    padded = total = 0
    for x, _ in batches:
        padded += int((x == pad_id).sum())
        total += x.numel()
    return padded / total if total else 0.0
