"""Plots: the numbers they draw (window means) and that each draws what it says."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import plots  # noqa: E402
from course_lib.train import History  # noqa: E402


def teardown_function():
    plt.close("all")


def test_window_average_means_consecutive_windows_and_drops_the_tail():
    centres, means = plots.window_average([1, 3, 5, 7, 100], window=2)
    np.testing.assert_allclose(means, [2, 6])
    np.testing.assert_allclose(centres, [1, 3])


def test_window_average_needs_one_full_window():
    with pytest.raises(ValueError, match="at least 10"):
        plots.window_average([1, 2], 10)


def test_plot_history_draws_train_and_validation_per_run():
    h = History()
    for i in range(3):
        h.append(1.0 / (i + 1), 0.5, 1.2 / (i + 1), 0.4)
    ax = plots.plot_history({"a": h, "b": h}, metric="loss")
    assert len(ax.lines) == 4
    np.testing.assert_allclose(ax.lines[0].get_ydata(), h.train_loss)


def test_plot_history_skips_unmeasured_validation():
    h = History()
    h.append(1.0)
    assert len(plots.plot_history(h).lines) == 1


def test_decision_boundary_shades_the_predicted_classes():
    x = np.array([[0, 0], [1, 1]], dtype=np.float32)
    ax = plots.plot_decision_boundary(lambda g: (g[:, 0] > 0.5).astype(int), x, np.array([0, 1]),
                                      resolution=20)
    assert ax.collections  # the filled contour and the scatter


def test_plot_mistakes_counts_the_misclassified_points_in_the_legend():
    x = np.random.default_rng(0).uniform(size=(10, 2))
    y = np.zeros(10, dtype=int)
    pred = y.copy()
    pred[:3] = 1
    ax = plots.plot_mistakes(x, y, pred, circle=((0.5, 0.5), 0.4))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "misclassified (3 of 10)" in labels and "true boundary" in labels


def test_mean_std_band():
    ax = plots.plot_mean_std(np.array([[1.0, 2.0], [3.0, 4.0]]), "runs")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2, 3])


def test_plot_confusion_matrix_writes_every_count_and_colours_only_the_mistakes():
    cm = np.array([[50, 2, 0], [5, 40, 1], [0, 0, 30]])
    ax = plots.plot_confusion_matrix(cm, class_names=["a", "b", "c"])
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(cm.ravel().tolist())
    coloured = ax.images[0].get_array()
    assert np.ma.is_masked(coloured[0, 0]) or np.isnan(coloured[0, 0])  # the diagonal: no colour
    assert coloured[1, 0] == 5 and ax.images[0].get_clim()[1] == 5  # the scale: the largest mistake
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]


def test_plot_gap_draws_both_curves_and_shades_the_gap():
    ax = plots.plot_gap([0.0, 0.1, 0.5], [1.0, 0.9, 0.6], [0.8, 0.8, 0.58], xlabel="λ")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.9, 0.6])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.8, 0.8, 0.58])
    assert ax.collections and ax.get_xlabel() == "λ"
