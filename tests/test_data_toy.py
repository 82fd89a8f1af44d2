"""The toy sets: synthetic quadratic-boundary data (lesson 2) and the disk (lesson 4)."""
import math

import numpy as np
import pytest

from course_lib.data import load_disk, load_synth
from course_lib.data.synth import A, THRESHOLD


def test_synth_shapes_dtypes_and_classes():
    (xt, yt), (xv, yv), k = load_synth(num_train=1000, num_val=200)
    assert k == 2
    assert xt.shape == (1000, 2) and xv.shape == (200, 2)
    assert xt.dtype == np.float32 and yt.dtype == np.int64
    assert set(np.unique(yt)) == {0, 1}


def test_synth_labels_follow_the_quadratic_rule():
    (x, y), _, _ = load_synth(num_train=5000, num_val=0, seed=3)
    x64 = x.astype(np.float64)
    score = np.einsum("ni,ij,nj->n", x64, A, x64)
    far = np.abs(score - THRESHOLD) > 1e-4  # float32 rounding may flip points on the curve
    np.testing.assert_array_equal(y[far], (score[far] > THRESHOLD).astype(np.int64))


def test_synth_seed_reproduces_and_differs():
    a = load_synth(500, 100, seed=7)
    b = load_synth(500, 100, seed=7)
    c = load_synth(500, 100, seed=8)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[0][0], c[0][0])


def test_synth_leaves_global_numpy_state_alone():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    load_synth(100, 10)
    assert np.random.random() == before


def test_synth_rejects_negative_sizes():
    with pytest.raises(ValueError, match="num_train"):
        load_synth(num_train=-1)


def test_disk_shapes_dtypes_and_range():
    x, y = load_disk(n=1000)
    assert x.shape == (1000, 2) and x.dtype == np.float32
    assert y.shape == (1000,) and y.dtype == np.int64
    assert x.min() >= 0 and x.max() <= 1


def test_disk_labels_follow_the_radius_rule():
    x, y = load_disk(n=20_000, seed=1)
    r = np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5).astype(np.float64)
    radius = 1 / math.sqrt(2 * math.pi)
    far = np.abs(r - radius) > 1e-6
    np.testing.assert_array_equal(y[far], (r[far] < radius).astype(np.int64))


def test_disk_is_balanced_because_the_disk_has_half_the_area():
    _, y = load_disk(n=100_000, seed=2)
    assert abs(y.mean() - 0.5) < 0.01


def test_disk_seed_reproduces():
    np.testing.assert_array_equal(load_disk(50, seed=4)[0], load_disk(50, seed=4)[0])
    assert not np.array_equal(load_disk(50, seed=4)[0], load_disk(50, seed=5)[0])
