"""MNIST: the 70,000 real handwritten digits, parsed from the four original IDX files."""
from __future__ import annotations

import gzip
import os

import numpy as np

from .download import RemoteFile, derived_cache, locate, save_atomic_npz

_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/")


def _remote(name: str, sha256: str, size: int) -> RemoteFile:
    return RemoteFile(name, sha256, tuple(m + name for m in _MIRRORS), size)


FILES = {
    "train_images": _remote("train-images-idx3-ubyte.gz",
                            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train_labels": _remote("train-labels-idx1-ubyte.gz",
                            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "test_images": _remote("t10k-images-idx3-ubyte.gz",
                           "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "test_labels": _remote("t10k-labels-idx1-ubyte.gz",
                           "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}
NUM_VAL = 5_000


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse a (gzipped) IDX file: a big-endian header, then the raw uint8 array.

    Magic number = 0x0000 (2 bytes), dtype code (0x08 = uint8), number of dimensions d;
    then d big-endian int32 sizes; then the data, row-major. Returns (n, ...) uint8.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise ValueError(f"{path} is not a uint8 IDX file (header {raw[:4].hex()})")
    shape = tuple(np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} values")
    return data.reshape(shape)


def _load_uint8(data_dir: str | os.PathLike | None) -> dict[str, np.ndarray]:
    """All four arrays as uint8, from the parsed cache when there is one."""
    paths = dict(zip(FILES, locate(list(FILES.values()), "mnist", data_dir)))
    cache = derived_cache(paths["train_images"], "v1-" + FILES["train_images"].sha256[:12])
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in FILES}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    try:
        save_atomic_npz(cache, **arrays)
    except OSError:
        pass  # a read-only cache only costs a re-parse next time
    return arrays


def load_mnist(final: bool = False, flatten: bool = True, data_dir: str | os.PathLike | None = None):
    """Load MNIST as float32 in [0, 1].

    Returns ``(x_train, c_train), (x_val, c_val), 10``:

    * ``final=False``: 55,000 training images and the last 5,000 training images as validation;
    * ``final=True``: all 60,000 training images and the 10,000 test images.

    x: (N, 784) float32, or (N, 28, 28) with ``flatten=False``; c: (N,) int64 labels in 0..9.
    """
    a = _load_uint8(data_dir)
    if final:
        x_train, c_train, x_val, c_val = a["train_images"], a["train_labels"], a["test_images"], a["test_labels"]
    else:
        x_train, c_train = a["train_images"][:-NUM_VAL], a["train_labels"][:-NUM_VAL]
        x_val, c_val = a["train_images"][-NUM_VAL:], a["train_labels"][-NUM_VAL:]

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32)
        x *= np.float32(1 / 255)  # in place and in float32: no float64 copy of 200 MB
        return x.reshape(len(x), -1) if flatten else x

    return (images(x_train), c_train.astype(np.int64)), (images(x_val), c_val.astype(np.int64)), 10
