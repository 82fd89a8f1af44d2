"""Initialisation schemes: shapes, statistics on a large layer, seeds, and Linear(init=...)."""
import math

import numpy as np
import pytest

from course_lib.nn import Linear, init

N_IN, N_OUT = 400, 500  # 200,000 weights: sample statistics within ~1% of the target


@pytest.mark.parametrize("name", list(init.INITS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scheme_shapes_and_dtype(name, dtype):
    W, b = init.INITS[name](3, 5, rng=0, dtype=dtype)
    assert W.shape == (3, 5) and b.shape == (5,)
    assert W.dtype == dtype and b.dtype == dtype


def test_zeros_is_zeros():
    W, b = init.zeros(N_IN, N_OUT)
    assert not W.any() and not b.any()


@pytest.mark.parametrize("name,std", [("random", 1.0), ("scaled", 0.01),
                                      ("normal", 1 / math.sqrt(N_IN))])
def test_gaussian_schemes_have_zero_mean_and_the_right_std(name, std):
    W, b = init.INITS[name](N_IN, N_OUT, rng=1)
    assert abs(W.mean()) < 0.01 * std and abs(W.std() / std - 1) < 0.01
    assert not b.any()


def test_xavier_is_uniform_with_glorot_bound():
    W, b = init.xavier(N_IN, N_OUT, rng=2)
    a = math.sqrt(6 / (N_IN + N_OUT))
    assert -a <= W.min() < -0.99 * a and 0.99 * a < W.max() <= a
    assert abs(W.var() / (2 / (N_IN + N_OUT)) - 1) < 0.02 and not b.any()


def test_torch_draws_weight_and_bias_uniform_in_one_over_sqrt_fan_in():
    W, b = init.torch(N_IN, 20_000, rng=3)
    k = 1 / math.sqrt(N_IN)
    for a in (W, b):
        assert -k <= a.min() < -0.99 * k and 0.99 * k < a.max() <= k
        assert abs(a.mean()) < 0.01 * k and abs(a.std() / (k / math.sqrt(3)) - 1) < 0.02


@pytest.mark.parametrize("name", ["random", "scaled", "normal", "xavier", "torch"])
def test_seeds_reproduce_and_differ(name):
    f = init.INITS[name]
    same = [f(5, 4, rng=s)[0] for s in (7, 7, 8)]
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.array_equal(same[0], same[2])
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(f(5, 4, rng=rng_a)[0], f(5, 4, rng=rng_b)[0])


def test_linear_uses_the_named_scheme_and_seed():
    W, b = init.xavier(6, 3, rng=4, dtype=np.float32)
    lin = Linear(6, 3, init="xavier", rng=4, dtype=np.float32)
    np.testing.assert_array_equal(lin.weight.value, W)
    np.testing.assert_array_equal(lin.bias.value, b)
    assert not Linear(6, 3, init="zeros").weight.value.any()


def test_linear_accepts_an_init_function():
    lin = Linear(2, 2, init=lambda n_in, n_out, rng, dtype: (np.eye(n_in, n_out, dtype=dtype),
                                                             np.ones(n_out, dtype)))
    np.testing.assert_array_equal(lin(np.array([[2.0, 3.0]])), [[3.0, 4.0]])


def test_unknown_init_lists_the_choices():
    with pytest.raises(ValueError, match="zeros, random, scaled, normal, xavier, torch"):
        Linear(2, 2, init="he")
