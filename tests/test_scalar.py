import ast
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib import scalar
from course_lib.data import load_synth
from course_lib.gradcheck import numerical_gradient, rel_error
from course_lib.plots import window_average
from course_lib.scalar import ScalarMLP

# Lesson 2's hand-worked example: a 2-3-2 network, one input, true class 0.
HAND = {"W1": [[1, 1, 1], [-1, -1, -1]], "b1": [0, 0, 0], "W2": [[1, 1], [-1, -1], [-1, -1]], "b2": [0, 0]}
X_HAND, C_HAND = [1.0, -1.0], 0
SIG2 = 1 / (1 + math.exp(-2))  # every k_j is 1*1 + (-1)*(-1) = 2


def random_params(n_in, n_hidden, n_out, seed):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((n_in, n_hidden)).tolist(), "b1": rng.standard_normal(n_hidden).tolist(),
            "W2": rng.standard_normal((n_hidden, n_out)).tolist(), "b2": rng.standard_normal(n_out).tolist()}


def torch_loss_and_grads(params, x, c):
    t = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in params.items()}
    o = torch.sigmoid(torch.tensor([x], dtype=torch.float64) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss = torch.nn.functional.cross_entropy(o, torch.tensor([c]))
    loss.backward()
    return loss.item(), {name: value.grad.numpy() for name, value in t.items()}


def test_hand_example_forward_matches_the_hand_computation():
    cache = ScalarMLP.from_params(HAND).forward(X_HAND, C_HAND)
    assert cache["k"] == [2.0, 2.0, 2.0]
    assert cache["h"] == pytest.approx([SIG2] * 3, rel=1e-15)
    assert cache["o"] == pytest.approx([-SIG2, -SIG2], rel=1e-15)
    assert cache["y"] == pytest.approx([0.5, 0.5], rel=1e-15)
    assert cache["loss"] == pytest.approx(math.log(2), rel=1e-15)


def test_hand_example_gradients_match_the_hand_computation_and_torch():
    loss, grads = ScalarMLP.from_params(HAND).loss_and_grads(X_HAND, C_HAND)
    # dL/do = y - onehot(0) = [-1/2, 1/2]; dL/dh_j = -W2[j][0]/2 + W2[j][1]/2 = 0 for every j.
    assert grads["b2"] == pytest.approx([-0.5, 0.5])
    assert grads["W2"] == [pytest.approx([-SIG2 / 2, SIG2 / 2])] * 3
    assert grads["W1"] == [[0.0] * 3] * 2 and grads["b1"] == [0.0] * 3
    torch_loss, torch_grads = torch_loss_and_grads(HAND, X_HAND, C_HAND)
    assert loss == pytest.approx(torch_loss, rel=1e-14)
    for name, g in torch_grads.items():
        np.testing.assert_allclose(np.array(grads[name]), g, rtol=1e-12, atol=1e-15)


def test_gradients_match_finite_differences_and_torch_on_a_random_network():
    params, x, c = random_params(3, 4, 3, seed=1), [0.3, -1.2, 0.8], 2
    loss, grads = ScalarMLP.from_params(params).loss_and_grads(x, c)
    for name in params:
        value = np.array(params[name])
        numeric = numerical_gradient(
            lambda v: ScalarMLP.from_params({**params, name: v.tolist()}).forward(x, c)["loss"], value)
        assert rel_error(grads[name], numeric) < 1e-8, name
    torch_loss, torch_grads = torch_loss_and_grads(params, x, c)
    assert loss == pytest.approx(torch_loss, rel=1e-13)
    for name, g in torch_grads.items():
        np.testing.assert_allclose(np.array(grads[name]), g, rtol=1e-12, atol=1e-15)


def test_grads_have_the_nested_shapes_of_params():
    net = ScalarMLP(2, 3, 4, seed=0)
    _, grads = net.loss_and_grads([0.5, 0.5], 1)
    for name, value in net.params.items():
        assert np.shape(grads[name]) == np.shape(value) == {"W1": (2, 3), "b1": (3,), "W2": (3, 4),
                                                            "b2": (4,)}[name]


def test_loss_stays_finite_when_the_true_class_probability_underflows():
    net = ScalarMLP.from_params({"W1": [[0.0]], "b1": [0.0], "W2": [[0.0, 0.0]], "b2": [0.0, 2000.0]})
    assert net.forward([1.0], 0)["loss"] == pytest.approx(2000.0)


def test_step_moves_every_parameter_against_its_gradient():
    net = ScalarMLP.from_params(HAND)
    _, grads = net.loss_and_grads(X_HAND, C_HAND)
    net.step(grads, lr=0.1)
    assert net.params["W2"][0] == pytest.approx([1 + 0.1 * SIG2 / 2, 1 - 0.1 * SIG2 / 2])
    assert net.params["b2"] == pytest.approx([0.05, -0.05])
    assert net.params["W1"] == [[1, 1, 1], [-1, -1, -1]]


def test_from_params_copies_and_checks_shapes():
    params = random_params(2, 3, 2, seed=0)
    net = ScalarMLP.from_params(params)
    params["W1"][0][0] = 99.0
    assert net.params["W1"][0][0] != 99.0
    with pytest.raises(ValueError, match="W2"):
        ScalarMLP.from_params({**params, "W2": [[1.0, 2.0]] * 2})


def test_same_seed_same_network_and_training():
    data = load_synth(300, 0, seed=3)[0]
    a, b = ScalarMLP(2, 3, 2, seed=5), ScalarMLP(2, 3, 2, seed=5)
    assert a.params == b.params != ScalarMLP(2, 3, 2, seed=6).params
    assert a.fit(*data, epochs=2, lr=0.1, seed=1, progress=False) == \
        b.fit(*data, epochs=2, lr=0.1, seed=1, progress=False)


def test_short_fit_on_synthetic_data_lowers_the_loss():
    (x_train, c_train), (x_val, c_val), _ = load_synth(2000, 500, seed=0)
    net = ScalarMLP(2, 3, 2, seed=0)
    val_loss_before = net.evaluate(x_val, c_val)[0]
    history = net.fit(x_train, c_train, epochs=3, lr=0.1, x_val=x_val, c_val=c_val, progress=False)
    assert len(history) == 3 and len(history.iteration_loss) == 6000
    _, curve = window_average(history.iteration_loss, 500)
    assert curve[-1] < 0.7 * curve[0]
    assert history.val_loss[-1] < 0.7 * val_loss_before
    assert history.val_acc[-1] > 0.85


def test_fit_accepts_plain_lists():
    history = ScalarMLP(2, 2, 2).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1], epochs=2, progress=False)
    assert len(history.iteration_loss) == 4


def test_scalar_module_imports_no_numpy():
    tree = ast.parse(Path(scalar.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "random", "train"}, imported
