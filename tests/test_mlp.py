import warnings

import numpy as np
import pytest
import torch

from course_lib.data import load_synth
from course_lib.gradcheck import compare_to_torch, numerical_gradient, rel_error
from course_lib.mlp import MLP
from course_lib.scalar import ScalarMLP
from course_lib.train import History, TrainingDiverged

ACTIVATIONS = ["sigmoid", "tanh", "relu"]
RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 4))
C = np.array([0, 2, 1, 2, 2, 0])


def random_params(seed=0, n_in=4, n_hidden=5, n_out=3):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((n_in, n_hidden)), "b1": rng.standard_normal(n_hidden),
            "W2": rng.standard_normal((n_hidden, n_out)), "b2": rng.standard_normal(n_out)}


def test_params_have_the_documented_shapes():
    net = MLP(4, 5, 3)
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (4, 5), "b1": (5,), "W2": (5, 3),
                                                          "b2": (3,)}


def test_equal_to_scalar_mlp_on_the_same_weights_and_sample():
    params = random_params()
    scalar = ScalarMLP.from_params({k: v.tolist() for k, v in params.items()})
    net = MLP.from_params(params, dtype=np.float64)
    for b in range(len(X)):
        expected = scalar.forward(X[b].tolist(), int(C[b]))
        cache = net.forward(X[b:b + 1])
        for name in ["k", "h", "o", "y"]:  # the scalar net's k is row 0 of the batch's K
            np.testing.assert_allclose(cache[name.upper()][0], expected[name], rtol=0, atol=1e-12)
        loss, grads = net.loss_and_grads(X[b:b + 1], C[b:b + 1])
        scalar_loss, scalar_grads = scalar.loss_and_grads(X[b].tolist(), int(C[b]))
        assert abs(loss - scalar_loss) < 1e-12
        for name in params:
            np.testing.assert_allclose(grads[name], scalar_grads[name], rtol=0, atol=1e-12)


def test_batch_gradient_is_the_mean_of_per_example_gradients():
    net = MLP.from_params(random_params(), dtype=np.float64)
    _, grads = net.loss_and_grads(X, C)
    per_example = [net.loss_and_grads(X[b:b + 1], C[b:b + 1])[1] for b in range(len(X))]
    for name in grads:
        np.testing.assert_allclose(grads[name], np.mean([g[name] for g in per_example], axis=0),
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_equal_to_torch_autograd_on_a_batch(activation, capsys):
    params = random_params(seed=1)
    net = MLP.from_params(params, activation=activation, dtype=np.float64)
    loss, grads = net.loss_and_grads(X, C)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    o = act(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    torch_loss = torch.nn.functional.cross_entropy(o, torch.tensor(C))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-13)
    assert compare_to_torch("O", net.forward(X)["O"], o)
    assert all(compare_to_torch(f"d{name}", grads[name], t[name].grad) for name in params)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_finite_differences(activation):
    net = MLP.from_params(random_params(seed=2), activation=activation, dtype=np.float64)
    _, grads = net.loss_and_grads(X, C)
    for name, value in net.params.items():
        numeric = numerical_gradient(lambda _: net.loss_and_grads(X, C)[0], value)
        assert rel_error(grads[name], numeric) < 1e-7, name


def test_float32_by_default_and_float64_inputs_do_not_upcast_it():
    net = MLP(4, 5, 3)
    cache = net.forward(X)  # X is float64
    _, grads = net.loss_and_grads(X, C)
    net.fit(X, C, epochs=1, lr=0.1, batch_size=2, progress=False)
    assert cache["Y"].dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_init_is_seeded_and_scaled_by_fan_in():
    assert all(np.array_equal(MLP(784, 300, 10, seed=3).params[k], MLP(784, 300, 10, seed=3).params[k])
               for k in ["W1", "W2"])
    assert not np.array_equal(MLP(4, 5, 3, seed=0).params["W1"], MLP(4, 5, 3, seed=1).params["W1"])
    assert MLP(784, 300, 10).params["W1"].std() == pytest.approx(np.sqrt(1 / 784), rel=0.02)
    assert MLP(784, 300, 10, activation="relu").params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)


def test_predict_and_accuracy():
    net = MLP.from_params(random_params())
    predicted = net.predict(X)
    assert predicted.shape == (6,)
    np.testing.assert_array_equal(predicted, net.forward(X)["Y"].argmax(axis=1))
    assert net.accuracy(X, predicted) == 1.0
    assert net.accuracy(X, (predicted + 1) % 3) == 0.0


def test_helpful_errors():
    with pytest.raises(ValueError, match="sigmoid"):
        MLP(4, 5, 3, activation="softplus")
    with pytest.raises(ValueError, match=r"\(B, 4\).*X\[None, :\]"):
        MLP(4, 5, 3).forward(X[0])


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_fit_reaches_high_accuracy_on_a_small_2d_problem(activation):
    (x_train, c_train), (x_val, c_val), _ = load_synth(3000, 1000, seed=1)
    net = MLP(2, 16, 2, activation=activation, seed=0)
    history = net.fit(x_train, c_train, epochs=10, lr=1.0 if activation == "sigmoid" else 0.3,
                      batch_size=16, x_val=x_val, c_val=c_val, progress=False)
    assert isinstance(history, History) and len(history) == 10
    assert len(history.iteration_loss) == 10 * 188
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert max(history.val_acc) > 0.95


def test_batch_size_one_is_per_example_sgd():
    history = MLP(4, 5, 3).fit(X, C, epochs=2, lr=0.1, batch_size=1, progress=False)
    assert len(history.iteration_loss) == 12


def test_huge_learning_rate_stops_with_training_diverged_and_no_warning_storm():
    (x_train, c_train), _, _ = load_synth(500, 0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TrainingDiverged, match="epoch 1, batch"):
            MLP(2, 16, 2, activation="relu").fit(x_train, c_train, epochs=3, lr=1e10, batch_size=16,
                                                  progress=False)
