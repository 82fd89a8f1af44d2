"""MNIST from the real IDX files in $COURSE_DATA_DIR (../shared/data/mnist)."""
import gzip
import shutil

import numpy as np
import pytest

from course_lib.data import DataError, load_mnist
from course_lib.data.download import find_local
from course_lib.data.mnist import FILES, read_idx

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def final():
    return load_mnist(final=True)


def test_final_split_is_60000_train_10000_test(final):
    (xt, yt), (xv, yv), k = final
    assert k == 10
    assert xt.shape == (60_000, 784) and xv.shape == (10_000, 784)
    assert xt.dtype == np.float32 and yt.dtype == np.int64
    assert np.bincount(yt).tolist() == TRAIN_COUNTS
    assert np.bincount(yv).tolist() == TEST_COUNTS


def test_pixels_are_scaled_to_unit_interval(final):
    (xt, _), _, _ = final
    assert xt.min() == 0.0 and xt.max() == 1.0
    assert abs(float(xt.mean()) - 0.1307) < 1e-3


def test_validation_split_holds_out_the_last_5000_training_images(final):
    (xt, yt), (xv, yv), _ = load_mnist(final=False)
    (xall, yall), _, _ = final
    assert xt.shape == (55_000, 784) and xv.shape == (5_000, 784)
    np.testing.assert_array_equal(xv, xall[-5000:])
    np.testing.assert_array_equal(yt, yall[:55_000])


def test_unflattened_images_are_28_by_28(final):
    (xt, _), _, _ = load_mnist(final=True, flatten=False)
    assert xt.shape == (60_000, 28, 28)
    np.testing.assert_array_equal(xt.reshape(60_000, -1), final[0][0])


def test_second_load_uses_the_parsed_cache_and_agrees(final, monkeypatch):
    import course_lib.data.mnist as mnist
    calls = []
    monkeypatch.setattr(mnist, "read_idx", lambda p: calls.append(p))
    (xt, yt), _, _ = load_mnist(final=True)
    assert calls == []
    np.testing.assert_array_equal(xt, final[0][0])


def test_read_idx_rejects_a_file_whose_size_disagrees_with_its_header(tmp_path):
    src = find_local(FILES["test_labels"], "mnist")
    raw = gzip.open(src).read()
    bad = tmp_path / "short.gz"
    bad.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(ValueError, match="header says"):
        read_idx(bad)


def test_corrupt_file_in_data_dir_fails_its_checksum_and_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data" / "mnist"
    data.mkdir(parents=True)
    for spec in FILES.values():
        shutil.copy(find_local(spec, "mnist"), data / spec.name)
    truncated = data / FILES["train_images"].name
    truncated.write_bytes(truncated.read_bytes()[:100_000])
    with pytest.raises(DataError) as err:
        load_mnist(data_dir=tmp_path / "data")
    msg = str(err.value)
    assert FILES["train_images"].name in msg and FILES["train_images"].sha256 in msg
    assert not list(tmp_path.rglob("*.npz"))
