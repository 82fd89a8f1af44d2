import warnings

import numpy as np
import pytest
import torch

from course_lib import functions
from course_lib.gradcheck import numerical_gradient, rel_error

RNG = np.random.default_rng(0)
O = RNG.standard_normal(5)                # one example, K = 5
O_BATCH = RNG.standard_normal((4, 5))     # B = 4
C_BATCH = np.array([0, 3, 4, 3])


def numerical_jacobian(f, o):
    """J[i, j] = d f(o)_i / d o_j, one row per output by finite differences."""
    o = o.copy()
    return np.stack([numerical_gradient(lambda v: f(v)[i], o) for i in range(len(f(o)))])


def test_softmax_rows_sum_to_one_and_are_positive():
    assert functions.softmax(O).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(functions.softmax(O_BATCH).sum(axis=1), np.ones(4))
    assert (functions.softmax(O_BATCH) > 0).all()


def test_softmax_matches_torch_and_its_definition():
    np.testing.assert_allclose(functions.softmax(O_BATCH),
                               torch.softmax(torch.tensor(O_BATCH), -1).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(functions.softmax(O), np.exp(O) / np.exp(O).sum(), rtol=1e-12)


def test_softmax_is_stable_on_large_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(functions.softmax(np.array([1000.0, 0.0])), [1.0, 0.0])
        np.testing.assert_allclose(functions.softmax(np.array([-1000.0, -1000.0])), [0.5, 0.5])
        np.testing.assert_allclose(functions.softmax(O + 500.0), functions.softmax(O), rtol=1e-12)
        assert np.isfinite(functions.log_softmax(np.array([1000.0, 0.0]))).all()


def test_log_softmax_is_log_of_softmax():
    np.testing.assert_allclose(functions.log_softmax(O_BATCH), np.log(functions.softmax(O_BATCH)),
                               rtol=1e-12)


def test_softmax_keeps_float32():
    assert functions.softmax(O_BATCH.astype(np.float32)).dtype == np.float32


def test_one_hot_of_a_label_and_of_a_batch_is_float32_like_the_network():
    np.testing.assert_array_equal(functions.one_hot(2, 4), [0, 0, 1, 0])
    np.testing.assert_array_equal(functions.one_hot(np.array([1, 0]), 3), [[0, 1, 0], [1, 0, 0]])
    assert functions.one_hot(np.array([1]), 2).dtype == np.float32
    assert functions.one_hot(1, 2, np.float64).dtype == np.float64


def test_one_hot_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match=r"0\.\.2 for 3 classes"):
        functions.one_hot(np.array([0, 3]), 3)


def test_cross_entropy_is_minus_log_of_true_class_and_batch_mean():
    y = functions.softmax(O_BATCH)
    assert functions.cross_entropy(y[0], 0) == pytest.approx(-np.log(y[0, 0]))
    per_example = [functions.cross_entropy(y[b], C_BATCH[b]) for b in range(4)]
    assert functions.cross_entropy(y, C_BATCH) == pytest.approx(np.mean(per_example))


def test_cross_entropy_from_logits_matches_softmax_version_and_torch():
    assert functions.cross_entropy_from_logits(O_BATCH, C_BATCH) == pytest.approx(
        functions.cross_entropy(functions.softmax(O_BATCH), C_BATCH), rel=1e-12)
    expected = torch.nn.functional.cross_entropy(torch.tensor(O_BATCH), torch.tensor(C_BATCH))
    loss = functions.cross_entropy_from_logits(O_BATCH, C_BATCH)
    assert loss == pytest.approx(expected.item(), rel=1e-12)


def test_cross_entropy_of_zero_probability_is_inf_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert functions.cross_entropy(np.array([1.0, 0.0]), 1) == np.inf
        loss = functions.cross_entropy_from_logits(np.array([1000.0, 0.0]), 1)
        assert loss == pytest.approx(1000.0)


@pytest.mark.parametrize("c, error", [(np.array([0.0, 1.0, 0.0, 0.0]), TypeError),
                                      (np.array([0, 1]), ValueError),
                                      (np.array([0, 1, 5, 2]), ValueError)])
def test_cross_entropy_rejects_bad_labels_with_a_hint(c, error):
    with pytest.raises(error, match="label"):
        functions.cross_entropy_from_logits(O_BATCH, c)


@pytest.mark.parametrize("o, c", [(O, 2), (O_BATCH, C_BATCH)])
def test_cross_entropy_grad_matches_finite_differences(o, c):
    y = functions.softmax(o)
    numeric = numerical_gradient(lambda v: functions.cross_entropy(v, c), y.copy())
    assert rel_error(functions.cross_entropy_grad(y, c), numeric) < 1e-8


def test_softmax_jacobian_matches_finite_differences_and_torch():
    J = functions.softmax_jacobian(functions.softmax(O))
    assert J.shape == (5, 5)
    assert rel_error(J, numerical_jacobian(functions.softmax, O)) < 1e-8
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), torch.tensor(O))
    np.testing.assert_allclose(J, expected.numpy(), rtol=1e-10, atol=1e-14)


def test_batched_softmax_jacobian_is_one_matrix_per_example():
    J = functions.softmax_jacobian(functions.softmax(O_BATCH))
    assert J.shape == (4, 5, 5)
    for b in range(4):
        one = functions.softmax_jacobian(functions.softmax(O_BATCH[b]))
        np.testing.assert_allclose(J[b], one, rtol=1e-12)


def test_softmax_cross_entropy_grad_is_jacobian_transpose_times_ce_grad():
    y, c = functions.softmax(O), 3
    chain_rule = functions.softmax_jacobian(y).T @ functions.cross_entropy_grad(y, c)
    np.testing.assert_allclose(functions.softmax_cross_entropy_grad(O, c), chain_rule, rtol=1e-10)
    np.testing.assert_allclose(functions.softmax_cross_entropy_grad(O, c), y - functions.one_hot(c, 5),
                               rtol=1e-12)


def test_batched_softmax_cross_entropy_grad_is_divided_by_batch_size():
    grad = functions.softmax_cross_entropy_grad(O_BATCH, C_BATCH)
    expected = (functions.softmax(O_BATCH) - functions.one_hot(C_BATCH, 5)) / 4
    np.testing.assert_allclose(grad, expected, rtol=1e-12)
    numeric = numerical_gradient(lambda o: functions.cross_entropy_from_logits(o, C_BATCH),
                                 O_BATCH.copy())
    assert rel_error(grad, numeric) < 1e-8
    o = torch.tensor(O_BATCH, requires_grad=True)
    torch.nn.functional.cross_entropy(o, torch.tensor(C_BATCH)).backward()
    np.testing.assert_allclose(grad, o.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_sigmoid_matches_definition_and_does_not_overflow():
    x = np.linspace(-20, 20, 41)
    np.testing.assert_allclose(functions.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(functions.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_grad_matches_finite_differences(name):
    f, f_grad = functions.ACTIVATIONS[name]
    x = np.array([-3.0, -1.2, -0.3, 0.4, 0.9, 2.5])  # away from relu's kink at 0
    numeric = numerical_gradient(lambda v: np.sum(f(v) * np.arange(1, 7)), x.copy())
    np.testing.assert_allclose(f_grad(x) * np.arange(1, 7), numeric, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(f_grad(x, f(x)), f_grad(x))
    assert f_grad(x).shape == x.shape


def test_relu_grad_is_zero_at_the_kink_like_torch():
    t = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    torch.relu(t).backward()
    assert functions.relu_grad(np.array([0.0]))[0] == t.grad.item() == 0.0
