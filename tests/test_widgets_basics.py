"""Explorers of lessons 1-2, driven without a browser: what they draw and when they redraw."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.widgets.basics import (  # noqa: E402
    Explorer, plot_synth_boundary, softmax_explorer, training_explorer)


def bar_heights(ax) -> np.ndarray:
    return np.array([patch.get_height() for patch in ax.patches])


def test_softmax_bars_are_the_probabilities_of_the_slider_logits():
    explorer = softmax_explorer(logits=(1.0, -0.5, 2.0), c=2)
    probs = bar_heights(explorer.figure.axes[0])
    expected = torch.softmax(torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64), 0).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-12)


def test_gradient_bars_match_autograd_including_the_temperature():
    o = torch.tensor([0.3, -1.2, 2.5, 0.0], dtype=torch.float64, requires_grad=True)
    T = 2.0
    torch.nn.functional.cross_entropy((o / T)[None], torch.tensor([1])).backward()
    explorer = softmax_explorer(logits=o.detach().tolist(), c=1, T=T)
    np.testing.assert_allclose(bar_heights(explorer.figure.axes[1]), o.grad.numpy(), rtol=1e-10)


def test_moving_a_logit_changes_probabilities_loss_and_picture():
    explorer = softmax_explorer()
    before = bar_heights(explorer.figure.axes[0])
    title, png = explorer.figure.axes[0].get_title(), explorer.png()
    explorer.update(o0=6.0)
    after = bar_heights(explorer.figure.axes[0])
    assert after[0] > before[0] and np.all(after[1:] < before[1:])
    assert explorer.figure.axes[0].get_title() != title
    assert explorer.png() != png


def test_moving_a_slider_redraws_without_calling_update():
    explorer = softmax_explorer()
    explorer.controls["o3"].value = 7.5  # what dragging the slider does
    assert np.argmax(bar_heights(explorer.figure.axes[0])) == 3


def test_choosing_the_true_class_moves_the_negative_gradient_bar():
    explorer = softmax_explorer(logits=(0.0, 0.0, 0.0))
    explorer.update(c=2)
    grad = bar_heights(explorer.figure.axes[1])
    np.testing.assert_allclose(grad, [1 / 3, 1 / 3, -2 / 3])
    assert "y_2" in explorer.figure.axes[0].get_title()


def test_high_temperature_flattens_the_probabilities():
    explorer = softmax_explorer()
    sharp = bar_heights(explorer.figure.axes[0])
    explorer.update(T=10.0)
    flat = bar_heights(explorer.figure.axes[0])
    assert flat.max() - flat.min() < sharp.max() - sharp.min()
    np.testing.assert_allclose(flat.sum(), 1.0)


def test_update_names_the_controls_it_does_not_know():
    with pytest.raises(ValueError, match="o0"):
        softmax_explorer().update(logit0=1.0)


def test_a_true_class_outside_the_logits_is_refused():
    with pytest.raises(ValueError, match="0..2"):
        softmax_explorer(logits=(1.0, 2.0, 3.0), c=3)


@pytest.fixture(scope="module")
def trainer() -> Explorer:
    return training_explorer(n_train=600, n_val=200, window=50)


def loss_curve(explorer: Explorer) -> np.ndarray:
    return explorer.figure.axes[0].lines[0].get_ydata()


def test_training_explorer_draws_a_falling_windowed_loss(trainer):
    trainer.update(lr=0.1, hidden=3, epochs=1)
    curve = loss_curve(trainer)
    assert len(curve) == 600 // 50
    assert curve[-3:].mean() < curve[:3].mean()


def test_sliders_alone_do_not_retrain_but_train_does(trainer):
    trainer.update(lr=0.1, hidden=3, epochs=1)
    before = loss_curve(trainer).copy()
    trainer.controls["lr"].value = 1.0  # a slider twitch: nothing retrains yet
    np.testing.assert_array_equal(loss_curve(trainer), before)
    trainer.update()  # what the Train button does
    assert not np.allclose(loss_curve(trainer), before)


def test_hidden_size_and_epochs_reach_the_network(trainer):
    trainer.update(lr=0.1, hidden=5, epochs=2)
    assert "2-5-2" in trainer.figure.axes[0].get_title()
    assert len(loss_curve(trainer)) == 2 * 600 // 50
    assert "validation accuracy" in trainer.figure.axes[1].get_title()


def test_synth_boundary_shades_what_the_net_predicts():
    from course_lib.scalar import ScalarMLP
    # One hidden unit that is on for x0 > 0 and votes for class 1: the boundary is x0 = 0.
    net = ScalarMLP.from_params({"W1": [[50.0], [0.0]], "b1": [0.0],
                                 "W2": [[-10.0, 10.0]], "b2": [5.0, -5.0]})
    x = np.array([[-1.0, -1.0], [1.0, 1.0]], dtype=np.float32)
    ax = plot_synth_boundary(net, x, np.array([0, 1]), resolution=20)
    class_regions = ax.collections[0].get_paths()  # one per class, empty if never predicted
    assert len(class_regions) == 2 and all(len(region.vertices) for region in class_regions)
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {
        "true boundary", "hidden unit: $k_j = 0$"}


def test_synth_boundary_without_a_net_shades_the_true_classes():
    x = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]], dtype=np.float32)
    ax = plot_synth_boundary(None, x, np.array([1, 0, 1]), resolution=30)
    class_regions = ax.collections[0].get_paths()  # x·A·x > 0.6 at both ends, not in the middle
    assert len(class_regions) == 2 and all(len(region.vertices) for region in class_regions)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["true boundary"]
