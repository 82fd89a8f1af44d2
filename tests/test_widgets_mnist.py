"""The MNIST explorer of lesson 3, driven from code as the Train button would drive it.

Small subsets (500 training, 200 validation images) keep each retrain to a fraction of a second.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib.data import load_mnist  # noqa: E402
from course_lib.mlp import MLP  # noqa: E402
from course_lib.widgets.mnist import (  # noqa: E402
    DEFAULTS, hidden_diagnosis, mnist_explorer, train_mnist)


@pytest.fixture(scope="module")
def mnist():
    (x_train, c_train), (x_val, c_val), _ = load_mnist()
    return x_train[:500], c_train[:500], x_val[:200], c_val[:200]


def loss_curves(explorer) -> list[np.ndarray]:
    """The y-values of the labelled curves on the loss axes: [previous run,] this run."""
    return [line.get_ydata() for line in explorer.figure.axes[0].get_lines()
            if not line.get_label().startswith("_")]


def loss_curve(explorer) -> np.ndarray:
    return loss_curves(explorer)[-1]


def title(explorer) -> str:
    return explorer.figure.axes[0].get_title()


def test_explorer_trains_and_draws_on_creation(mnist):
    explorer = mnist_explorer(*mnist)
    run = explorer.run
    assert run is not None and run.settings == DEFAULTS
    assert len(run.history.iteration_loss) == 16  # ceil(500 / 32) updates
    assert f"validation accuracy {run.val_acc:.1%}" in title(explorer)
    assert "validation accuracy" in explorer.status.value
    n_wrong = int(np.sum(run.val_pred != mnist[3]))
    shown = [ax for ax in explorer.figure.axes[1:] if ax.images]
    assert len(shown) == min(18, n_wrong)
    first = np.flatnonzero(run.val_pred != mnist[3])[0]
    assert shown[0].get_title() == f"{mnist[3][first]} → {run.val_pred[first]}"


def test_the_stored_picture_is_a_png(mnist):
    assert mnist_explorer(*mnist).png().startswith(b"\x89PNG")


def test_changing_the_batch_size_and_training_changes_accuracy_and_curve(mnist):
    explorer = mnist_explorer(*mnist)
    before_title, before_curve = title(explorer), loss_curve(explorer)
    run = explorer.train(batch_size=8)
    assert explorer.controls["batch_size"].value == 8
    assert len(run.history.iteration_loss) == 63  # ceil(500 / 8)
    assert title(explorer) != before_title
    assert not np.array_equal(loss_curve(explorer), before_curve)
    # The previous run stays on the plot, in grey, for comparison.
    np.testing.assert_array_equal(loss_curves(explorer)[0], before_curve)


def test_the_same_seed_reproduces_the_run_and_another_seed_does_not(mnist):
    a = mnist_explorer(*mnist, seed=3)
    b = mnist_explorer(*mnist, seed=3)
    assert a.run.history.iteration_loss == b.run.history.iteration_loss
    np.testing.assert_array_equal(a.run.val_pred, b.run.val_pred)
    other = b.train(seed=4).history.iteration_loss
    assert other != a.run.history.iteration_loss
    assert b.train(seed=3).history.iteration_loss == a.run.history.iteration_loss


def test_moving_a_slider_alone_does_not_retrain_but_pressing_train_does(mnist):
    explorer = mnist_explorer(*mnist)
    run, picture = explorer.run, title(explorer)
    explorer.controls["lr"].value = 0.01  # what dragging the slider does
    explorer.controls["hidden"].value = 16
    assert explorer.run is run and title(explorer) == picture
    explorer.button.click()
    assert explorer.run is not run
    assert explorer.run.settings["lr"] == 0.01 and explorer.run.model.params["b1"].shape == (16,)


def test_a_loss_that_blows_up_shows_the_message_instead_of_raising(mnist):
    x_train, c_train, x_val, c_val = mnist
    # Pixels far outside [0, 1] overflow float32 in the second update.
    explorer = mnist_explorer(x_train * np.float32(1e20), c_train, x_val, c_val)
    assert explorer.run is None
    assert "blew up" in explorer.status.value and "nan" in explorer.status.value
    assert any("smaller learning rate" in t.get_text() for t in explorer.figure.texts)
    assert "diverged" in repr(explorer)
    assert explorer.train(lr=0.001) is None  # still the same data: reported again, no exception


def test_too_large_steps_kill_relu_units_and_the_title_says_so(mnist):
    explorer = mnist_explorer(*mnist)
    healthy = explorer.run
    dead = explorer.train(lr=1.0, batch_size=1)
    assert dead.val_acc < 0.3 < healthy.val_acc
    assert "dead ReLU units" in title(explorer)
    count = int(dead.diagnosis.split(": ")[1].split(" of ")[0])
    assert count > 64, dead.diagnosis


def test_hidden_diagnosis_counts_dead_relus_and_saturated_outputs():
    X = np.random.default_rng(0).uniform(0, 1, (20, 6)).astype(np.float32)
    relu = MLP(6, 4, 3, "relu", seed=0)
    relu.params["W1"][:, :3] = -1.0  # inputs are >= 0: these three units never fire
    relu.params["W1"][:, 3] = 1.0
    assert hidden_diagnosis(relu, X) == "dead ReLU units (0 for every image): 3 of 4"
    tanh = MLP(6, 4, 3, "tanh", seed=0)
    tanh.params["b1"][:] = 100.0  # tanh = 1, tanh' = 0 everywhere
    assert hidden_diagnosis(tanh, X).endswith(": 100%")
    sigmoid = MLP(6, 4, 3, "sigmoid", seed=0)
    sigmoid.params["W1"][:] = 0.0  # sigmoid(0): the largest slope
    assert hidden_diagnosis(sigmoid, X).endswith(": 0%")


def test_train_mnist_needs_no_widget(mnist):
    x_train, c_train, x_val, c_val = mnist
    run = train_mnist(((x_train, c_train), (x_val, c_val)), activation="tanh", hidden=16, epochs=2)
    assert run.model.activation == "tanh" and len(run.history.val_acc) == 2
    assert run.val_acc == pytest.approx(np.mean(run.val_pred == c_val))


def test_unknown_settings_and_controls_are_rejected_with_the_choices(mnist):
    with pytest.raises(ValueError, match="choose from"):
        mnist_explorer(*mnist, learning_rate=0.1)
    explorer = mnist_explorer(*mnist)
    with pytest.raises(ValueError, match="batch_size"):
        explorer.train(batchsize=8)
