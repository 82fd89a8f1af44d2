from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_lib.gradcheck import (check_module, compare_to_torch, numerical_gradient,
                                  numerical_gradient_array, rel_error)


class FakeLinear:
    """y = x @ W + b with a hand-written backward, in the duck-typed Module API; ``bug`` breaks it."""

    def __init__(self, n_in=3, n_out=3, bug=None, seed=0):
        rng = np.random.default_rng(seed)
        self.W = SimpleNamespace(value=rng.standard_normal((n_in, n_out)), grad=np.zeros((n_in, n_out)))
        self.b = SimpleNamespace(value=rng.standard_normal(n_out), grad=np.zeros(n_out))
        self.bug = bug

    def named_parameters(self):
        yield "W", self.W
        yield "b", self.b

    def forward(self, x):
        self.x = x
        return x @ self.W.value + self.b.value

    def backward(self, grad_out):
        # Accumulates, as a framework with zero_grad does: check_module must start from zero.
        self.W.grad += self.x.T @ grad_out * (0.5 if self.bug == "half dW" else 1.0)
        self.b.grad += grad_out.sum(axis=0)
        W = self.W.value if self.bug == "W not transposed" else self.W.value.T
        return grad_out @ W


class FakeDropout:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def named_parameters(self):
        return iter(())

    def forward(self, x):
        self.mask = self.rng.random(x.shape) > 0.5
        return x * self.mask

    def backward(self, grad_out):
        return grad_out * self.mask


X = np.random.default_rng(1).standard_normal((4, 3))


def test_numerical_gradient_of_sum_of_squares_is_2x():
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v ** 2), x), 2 * x, rtol=1e-8)


def test_numerical_gradient_restores_x_exactly():
    x = np.array([0.1, 0.7, 1e-3, 3.3])  # x + h - h != x in floating point for these
    before = x.copy()
    numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_rejects_integer_arrays():
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(lambda v: float(np.sum(v)), np.arange(3))


def test_numerical_gradient_array_is_gradient_of_weighted_sum():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(5), rng.standard_normal(5)
    np.testing.assert_allclose(numerical_gradient_array(lambda v: v ** 3, x, g), 3 * x ** 2 * g,
                               rtol=1e-8)
    A, W, G = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    np.testing.assert_allclose(numerical_gradient_array(lambda w: A @ w, W, G), A.T @ G, rtol=1e-8)


def test_rel_error_is_zero_for_identical_and_positive_for_different():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a.copy()) == 0.0
    assert rel_error(a, a + np.array([0, 1e-3, 0])) > 1e-5
    assert rel_error(a, -a) == 1.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_rel_error_is_not_dominated_by_tiny_noisy_entries():
    a = np.array([1.0, 1e-12])
    assert rel_error(a, np.array([1.0, 3e-12])) < 1e-11


def test_rel_error_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(1, 3\)"):
        rel_error(np.zeros(3), np.zeros((1, 3)))


def test_check_module_passes_a_correct_layer_even_with_stale_grads():
    layer = FakeLinear(4, 2)
    layer.W.grad += 100.0  # left over from an earlier backward
    errors = check_module(layer, np.random.default_rng(2).standard_normal((5, 4)))
    assert set(errors) == {"input", "W", "b"}
    assert max(errors.values()) < 1e-8


@pytest.mark.parametrize("bug, wrong", [("W not transposed", "input"), ("half dW", "W")])
def test_check_module_catches_a_wrong_backward(bug, wrong):
    errors = check_module(FakeLinear(bug=bug), X)
    assert errors[wrong] > 1e-2
    assert all(err < 1e-8 for name, err in errors.items() if name != wrong)


def test_check_module_leaves_parameters_and_input_unchanged():
    layer, x = FakeLinear(), X.copy()
    W = layer.W.value.copy()
    check_module(layer, x)
    np.testing.assert_array_equal(layer.W.value, W)
    np.testing.assert_array_equal(x, X)


def test_check_module_refuses_a_random_forward():
    with pytest.raises(ValueError, match="eval mode"):
        check_module(FakeDropout(), X)


def test_compare_to_torch_prints_one_line_and_returns_true_on_match(capsys):
    t = torch.tensor(X, requires_grad=True)
    (t ** 2).sum().backward()
    assert compare_to_torch("dX", 2 * X, t.grad)
    assert compare_to_torch("X", X, t)  # a tensor that requires grad is detached
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("dX ") and "exact:" in line and "approximate: True" in line
    assert "maxdiff" in line


def test_compare_to_torch_returns_false_on_mismatch(capsys):
    assert not compare_to_torch("dW1", X + 1e-3, torch.tensor(X))
    assert "approximate: False" in capsys.readouterr().out


def test_compare_to_torch_names_both_shapes_when_they_differ():
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3, 4\)"):
        compare_to_torch("dW", X, torch.tensor(X.T), verbose=False)


def test_compare_to_torch_explains_a_missing_grad():
    with pytest.raises(ValueError, match="backward"):
        compare_to_torch("dW", X, torch.tensor(X).grad, verbose=False)


def test_numerical_gradient_asks_for_float64_and_says_how():
    with pytest.raises(TypeError, match=r"float64.*astype\(np.float64\)"):
        numerical_gradient(lambda v: float(np.sum(v ** 2)), np.ones(3, np.float32))
