"""IMDb: 50,000 labelled movie reviews (Maas et al., 2011) as word-id sequences (lesson 10).

The reviews are read straight from the tarball (no 100,000 loose files), tokenised once and
cached as one flat token array; every later load only re-ranks the vocabulary for the
requested split, which takes about a second.

Either packaging is accepted: the course's repack of the labelled part,
``aclImdb_labeled.tar.gz`` (smaller, used when on disk), or the original
``aclImdb_v1.tar.gz``, the only one that can be downloaded. Both give identical data: reviews
are put in a fixed order (split, label, id) whatever the order inside the tarball.
"""
from __future__ import annotations

import os
import re
import tarfile
from collections import defaultdict
from itertools import chain
from pathlib import Path

import numpy as np

from .download import DataError, RemoteFile, derived_cache, locate_any, save_atomic_npz

ORIGINAL = RemoteFile(
    "aclImdb_v1.tar.gz", "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",), 84_125_825)
REPACK = RemoteFile(  # the labelled part only, same layout; not downloadable
    "aclImdb_labeled.tar.gz", "3c27c84c5b647935a2b44ee9c5b3fc302d26b6d268caf4c6a360aa7cb1f5fce7",
    (), 28_631_016)

SPECIALS = [".pad", ".start", ".end", ".unk"]
PAD, START, END, UNK = range(len(SPECIALS))
NUM_PER_SPLIT = 25_000
TOKENIZER_VERSION = 1  # bump whenever tokenize() changes: it is part of the cache key

_BREAK = re.compile(r"<br\s*/?>")
# A word is a run of letters/digits, with inner apostrophes kept ("don't", "director's");
# every other non-space character is a token of its own.
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
_MEMBER = re.compile(r"(?:^|/)(train|test)/(neg|pos)/(\d+)_\d+\.txt$")


def tokenize(text: str) -> list[str]:
    """Lower-case ``text``, drop ``<br />`` line breaks, and split punctuation from words.

    >>> tokenize("Great film!<br /><br />Don't miss it.")
    ['great', 'film', '!', "don't", 'miss', 'it', '.']
    """
    return _TOKEN.findall(_BREAK.sub(" ", text.lower()))


def read_reviews(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Stream the labelled reviews out of an aclImdb tarball (``unsup/`` and other files skipped).

    Returns ``(texts, split, label)`` with split 0 = train, 1 = test and label 0 = neg, 1 = pos,
    sorted by (split, label, review id). All three have length 50,000.
    """
    found = []
    with tarfile.open(path, "r|gz") as tar:
        for member in tar:
            m = _MEMBER.search(member.name)
            if m and member.isfile():
                text = tar.extractfile(member).read().decode("utf-8")
                found.append((m[1] == "test", m[2] == "pos", int(m[3]), text))
    found.sort(key=lambda r: r[:3])
    split = np.array([r[0] for r in found], dtype=np.int8)
    n_test = int(split.sum())
    if (len(found) - n_test, n_test) != (NUM_PER_SPLIT, NUM_PER_SPLIT):
        raise DataError(f"{path} holds {len(found) - n_test} training and {n_test} test reviews; "
                        f"expected {NUM_PER_SPLIT:,} of each. Is it an aclImdb tarball?")
    return [r[3] for r in found], split, np.array([r[1] for r in found], dtype=np.int8)


def _tokenise_all(path: Path) -> dict[str, np.ndarray]:
    """All reviews as one flat array of word ids, ids = alphabetical rank in ``words``."""
    texts, split, label = read_reviews(path)
    docs = [tokenize(t) for t in texts]
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    # One pass numbers the words as they first appear (a missing word gets id len(index))...
    index = defaultdict(int)
    index.default_factory = index.__len__
    tokens = np.fromiter(map(index.__getitem__, chain.from_iterable(docs)), dtype=np.int32,
                         count=int(lengths.sum()))
    # ...then ids are renumbered to alphabetical order, so that ties in frequency sort by word.
    words = sorted(index)
    alphabetical = np.empty(len(words), dtype=np.int32)
    alphabetical[[index[w] for w in words]] = np.arange(len(words), dtype=np.int32)
    tokens = alphabetical[tokens]
    # Tokens never hold whitespace, so a newline-joined UTF-8 blob stores the words compactly
    # (a fixed-width unicode array would be as wide as the longest "word").
    blob = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)
    return {"tokens": tokens, "offsets": np.concatenate([[0], np.cumsum(lengths)]),
            "split": split, "label": label, "words": blob}


def _load_tokenised(data_dir: str | os.PathLike | None) -> dict[str, np.ndarray]:
    path = locate_any([REPACK, ORIGINAL], "imdb", data_dir)
    sha = REPACK.sha256 if path.name == REPACK.name else ORIGINAL.sha256
    cache = derived_cache(path, f"tok{TOKENIZER_VERSION}-{sha[:12]}")
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    arrays = _tokenise_all(path)
    try:
        save_atomic_npz(cache, **arrays)
    except OSError:
        pass  # a read-only cache only costs a re-tokenisation next time
    return arrays


def _vocabulary(counts: np.ndarray, vocab_size: int | None) -> np.ndarray:
    """Word ids (into the cached alphabetical list) kept in the vocabulary, most frequent
    first; ties keep alphabetical order because the sort is stable."""
    ranked = np.argsort(-counts, kind="stable")[:np.count_nonzero(counts)]
    return ranked if vocab_size is None else ranked[:vocab_size - len(SPECIALS)]


def load_imdb(final: bool = False, val: int = 5000, seed: int = 0, vocab_size: int | None = None,
              data_dir: str | os.PathLike | None = None):
    """Load the IMDb sentiment reviews as lists of word ids.

    Returns ``(x_train, c_train), (x_val, c_val), (i2w, w2i), 2``:

    * ``final=False``: the 25,000 training reviews split at random (``seed``) into
      ``25,000 - val`` for training and ``val`` held out for validation;
    * ``final=True``: all 25,000 training reviews and the 25,000 test reviews.

    x: list of N reviews, each a list of int word ids (no ``.start``/``.end`` markers: a
    classifier that pools over time does not need them). c: list of N int labels, 0 = negative,
    1 = positive. Both parts come in a seeded random order, never grouped by label.

    The vocabulary is built from the returned training reviews only (so validation/test words
    never leak into it): ``i2w`` lists ``.pad`` (id 0), ``.start``, ``.end``, ``.unk``, then the
    words by decreasing frequency, ties alphabetically; ``w2i`` is its inverse. ``vocab_size``
    caps ``len(i2w)`` (specials included); rarer words, and words unseen in training, map to
    ``.unk`` (id 3).
    """
    if vocab_size is not None and vocab_size <= len(SPECIALS):
        raise ValueError(f"vocab_size must be more than the {len(SPECIALS)} special tokens "
                         f"{SPECIALS}, got {vocab_size}; try 20_000, or None for all words")
    if not final and not 0 < val < NUM_PER_SPLIT:
        raise ValueError(f"val must be between 1 and {NUM_PER_SPLIT - 1} reviews held out for "
                         f"validation, got {val}; use final=True to train on all of them")
    c = _load_tokenised(data_dir)
    tokens, offsets = c["tokens"], c["offsets"]
    words = bytes(c["words"]).decode("utf-8").split("\n")

    rng = np.random.default_rng(seed)
    order = rng.permutation(NUM_PER_SPLIT)
    if final:
        train_idx, held_idx = order, NUM_PER_SPLIT + rng.permutation(NUM_PER_SPLIT)
    else:
        train_idx, held_idx = order[val:], order[:val]

    in_train = np.zeros(len(offsets) - 1, dtype=bool)
    in_train[train_idx] = True
    counts = np.bincount(tokens[np.repeat(in_train, np.diff(offsets))], minlength=len(words))
    kept = _vocabulary(counts, vocab_size)
    i2w = SPECIALS + [words[j] for j in kept]
    w2i = {w: i for i, w in enumerate(i2w)}
    new_id = np.full(len(words), UNK, dtype=np.int32)
    new_id[kept] = np.arange(len(SPECIALS), len(i2w), dtype=np.int32)
    flat, off = new_id[tokens].tolist(), offsets.tolist()

    def part(idx: np.ndarray) -> tuple[list[list[int]], list[int]]:
        x = [flat[off[i]:off[i + 1]] for i in idx.tolist()]
        return x, c["label"][idx].astype(int).tolist()

    return part(train_idx), part(held_idx), (i2w, w2i), 2
