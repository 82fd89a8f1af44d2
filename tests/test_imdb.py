"""IMDb loader: tokenizer, vocabulary, splits and cache, on the real tarball."""
import io
import tarfile
from collections import Counter

import pytest

from course_lib.data import download
from course_lib.data import imdb as imdb_module
from course_lib.data.download import DataError
from course_lib.data.imdb import ORIGINAL, REPACK, SPECIALS, UNK, load_imdb, tokenize

SOURCE = download.find_local(REPACK, "imdb") or download.find_local(ORIGINAL, "imdb")
pytestmark = pytest.mark.skipif(SOURCE is None, reason="no IMDb tarball under COURSE_DATA_DIR")


@pytest.fixture(scope="module")
def imdb():
    return load_imdb(vocab_size=10_000)


@pytest.fixture(scope="module")
def imdb_final():
    return load_imdb(final=True)


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("Great film, GREAT cast!") == ["great", "film", ",", "great", "cast", "!"]


def test_tokenize_drops_line_breaks_and_keeps_inner_apostrophes():
    assert tokenize("Don't.<br /><br />It's 'fine'") == ["don't", ".", "it's", "'", "fine", "'"]
    assert tokenize("a<br/>b<BR />c") == ["a", "b", "c"]
    assert tokenize("") == []


def test_sizes_and_labels_of_the_default_split(imdb):
    (x_train, y_train), (x_val, y_val), (i2w, w2i), num_classes = imdb
    assert (len(x_train), len(y_train), len(x_val), len(y_val)) == (20_000, 20_000, 5_000, 5_000)
    assert num_classes == 2
    assert set(y_train) | set(y_val) == {0, 1}
    assert all(type(t) is int for t in x_train[0]) and type(y_train[0]) is int


def test_vocab_starts_with_specials_and_is_capped(imdb):
    (x_train, _), (x_val, _), (i2w, w2i), _ = imdb
    assert i2w[:4] == SPECIALS == [".pad", ".start", ".end", ".unk"]
    assert len(i2w) == 10_000 and all(w2i[w] == i for i, w in enumerate(i2w))
    assert max(max(s) for s in x_train + x_val) < 10_000
    assert min(min(s) for s in x_train + x_val) >= 3  # no padding or markers inside reviews
    assert sum(s.count(UNK) for s in x_train) > 0  # rarer words became .unk


def test_vocab_is_ranked_by_training_frequency(imdb):
    (x_train, _), _, (i2w, _), _ = imdb
    counts = Counter(t for s in x_train for t in s)
    assert i2w[4:8] == ["the", ".", ",", "and"]
    freq = [counts[i] for i in range(4, len(i2w))]
    assert freq == sorted(freq, reverse=True)


def test_reviews_are_their_tokenised_text(imdb_final):
    with tarfile.open(SOURCE, "r|gz") as tar:  # the repack starts with test/neg: a short read
        member = next(m for m in tar if "/test/neg/" in m.name)
        text = tar.extractfile(member).read().decode("utf-8")
    (x_test, y_test), (_, w2i) = imdb_final[1], imdb_final[2]
    expected = [w2i.get(w, UNK) for w in tokenize(text)]
    assert len(expected) > 10 and y_test[x_test.index(expected)] == 0


def test_read_reviews_takes_labelled_reviews_in_a_fixed_order(tmp_path, monkeypatch):
    monkeypatch.setattr(imdb_module, "NUM_PER_SPLIT", 3)
    files = {"aclImdb/train/pos/1_9.txt": "p1", "aclImdb/train/neg/10_2.txt": "n10",
             "aclImdb/test/pos/0_7.txt": "tp0", "aclImdb/train/neg/9_1.txt": "n9",
             "aclImdb/train/unsup/0_0.txt": "u", "aclImdb/train/urls_pos.txt": "x",
             "aclImdb/test/neg/3_4.txt": "tn3", "aclImdb/test/pos/12_8.txt": "tp12",
             "aclImdb/README": "r"}
    path = tmp_path / "tiny.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    texts, split, label = imdb_module.read_reviews(path)
    assert texts == ["n9", "n10", "p1", "tn3", "tp0", "tp12"]  # split, label, numeric id
    assert split.tolist() == [0, 0, 0, 1, 1, 1] and label.tolist() == [0, 0, 1, 0, 1, 1]
    monkeypatch.setattr(imdb_module, "NUM_PER_SPLIT", 4)
    with pytest.raises(DataError, match="expected 4"):
        imdb_module.read_reviews(path)

def test_same_seed_same_split_other_seed_other_split(imdb):
    (x_train, y_train), (x_val, _), (i2w, _), _ = imdb
    (x2, y2), (xv2, _), (i2w2, _), _ = load_imdb(vocab_size=10_000, seed=0)
    assert x2 == x_train and y2 == y_train and xv2 == x_val and i2w2 == i2w
    (_, _), (xv3, _), _, _ = load_imdb(vocab_size=10_000, seed=1)
    assert xv3 != x_val


def test_val_controls_the_held_out_count():
    (x_train, _), (x_val, _), _, _ = load_imdb(val=1000, vocab_size=100)
    assert (len(x_train), len(x_val)) == (24_000, 1_000)
    with pytest.raises(ValueError, match="val must be"):
        load_imdb(val=0)


def test_final_is_25000_train_and_25000_test_balanced(imdb_final):
    (x_train, y_train), (x_test, y_test), (i2w, _), _ = imdb_final
    assert (len(x_train), len(x_test)) == (25_000, 25_000)
    assert sum(y_train) == 12_500 and sum(y_test) == 12_500
    assert y_train[:100].count(1) not in (0, 100)  # shuffled, not grouped by label
    assert len(i2w) > 50_000  # no cap: every training word
    assert sum(s.count(UNK) for s in x_train) == 0  # every training word has its own id
    assert sum(s.count(UNK) for s in x_test) > 0  # words seen only in test do not


def test_vocab_size_must_leave_room_for_words():
    with pytest.raises(ValueError, match="vocab_size"):
        load_imdb(vocab_size=4)


def test_corrupt_tarball_fails_its_checksum_and_is_not_cached(tmp_path):
    source = download.find_local(REPACK, "imdb")
    if source is None:
        pytest.skip("the course repack is not on disk")
    with open(source, "rb") as f:
        (tmp_path / REPACK.name).write_bytes(f.read(1_000_000))
    before = set(download.cache_dir().rglob("*"))
    with pytest.raises(DataError, match="corrupt"):
        load_imdb(data_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPACK.name]
    assert set(download.cache_dir().rglob("*")) == before
