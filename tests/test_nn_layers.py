"""Each layer: finite-difference gradient check, shapes, dtype kept, Dropout semantics."""
import numpy as np
import pytest

from course_lib.gradcheck import check_module
from course_lib.nn import Dropout, Linear, Module, ReLU, Sequential, Sigmoid, Tanh


def away_from_zero(shape, seed=0):
    """Inputs with |x| >= 0.1, so no finite-difference probe crosses ReLU's kink."""
    rng = np.random.default_rng(seed)
    return np.sign(rng.standard_normal(shape)) * (0.1 + np.abs(rng.standard_normal(shape)))


@pytest.mark.parametrize("layer", [Linear(4, 3, rng=0), Linear(1, 5, init="xavier", rng=1),
                                   ReLU(), Sigmoid(), Tanh(), Dropout(0.3, rng=0).eval()],
                         ids=repr)
@pytest.mark.parametrize("batch", [1, 5])
def test_layer_backward_matches_finite_differences(layer, batch):
    n_in = getattr(layer, "in_features", 4)
    errors = check_module(layer, away_from_zero((batch, n_in)))
    assert max(errors.values()) < 1e-8, errors


class FixedMaskDropout(Module):
    """Dropout in training mode that redraws the same mask on every forward (re-seeded)."""

    def __init__(self, p):
        self.dropout = Dropout(p)

    def forward(self, x):
        self.dropout.rng = np.random.default_rng(7)
        return self.dropout.forward(x)

    def backward(self, dL_dy):
        return self.dropout.backward(dL_dy)


def test_dropout_in_training_mode_passes_finite_differences():
    errors = check_module(FixedMaskDropout(0.4), away_from_zero((6, 5)))
    assert errors["input"] < 1e-8


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = Sigmoid()(np.array([[-1000.0, 0.0, 1000.0]]))
    np.testing.assert_array_equal(y, [[0.0, 0.5, 1.0]])


def test_linear_computes_x_W_plus_b():
    lin = Linear(3, 2, rng=0)
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(lin(x), x @ lin.weight.value + lin.bias.value)
    assert lin.weight.shape == (3, 2) and lin.bias.shape == (2,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32_through_forward_and_backward(dtype):
    net = Sequential(Linear(4, 5, dtype=dtype, rng=0), ReLU(), Linear(5, 5, dtype=dtype, rng=1),
                     Sigmoid(), Dropout(0.5, rng=0), Linear(5, 3, dtype=dtype, rng=2), Tanh(),
                     Linear(3, 2, dtype=dtype, rng=3), needs_input_grad=True)
    y = net(np.ones((8, 4), dtype))
    assert y.dtype == dtype
    assert net.backward(np.ones((8, 2), dtype)).dtype == dtype
    assert all(p.value.dtype == dtype and p.grad.dtype == dtype for p in net.parameters())


def test_linear_casts_input_to_its_dtype():
    lin = Linear(2, 2, dtype=np.float32)
    assert lin(np.ones((1, 2))).dtype == np.float32
    assert lin([[1, 2]]).shape == (1, 2)


def test_linear_rejects_wrong_upstream_gradient_shape():
    lin = Linear(3, 2)
    lin(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected dL_dy of shape \(4, 2\)"):
        lin.backward(np.ones((4, 3)))


def test_linear_without_input_grad_returns_none_but_fills_grads():
    lin = Linear(3, 2, rng=0)
    lin.needs_input_grad = False
    lin(np.ones((4, 3)))
    assert lin.backward(np.ones((4, 2))) is None
    np.testing.assert_allclose(lin.weight.grad, np.full((3, 2), 4.0))
    np.testing.assert_allclose(lin.bias.grad, [4.0, 4.0])


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_p_out_of_range(p):
    with pytest.raises(ValueError, match="0 <= p < 1"):
        Dropout(p)


def test_dropout_is_identity_in_eval_mode_and_for_p_zero():
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0)(x) is x
    d = Dropout(0.5).eval()
    d(x)
    g = np.ones((4, 3))
    assert d.backward(g) is g


def test_dropout_scales_kept_units_and_keeps_the_mean():
    d = Dropout(0.25, rng=0)
    y = d(np.ones((2000, 50)))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.01 and abs(y.mean() - 1) < 0.02


def test_dropout_backward_uses_the_forward_mask():
    d = Dropout(0.5, rng=1)
    y = d(np.ones((10, 10)))
    np.testing.assert_array_equal(d.backward(np.ones((10, 10))), y)


def test_dropout_seed_reproduces_masks_and_draws_fresh_ones_each_call():
    a, b = Dropout(0.5, rng=3), Dropout(0.5, rng=3)
    x = np.ones((5, 5))
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))
