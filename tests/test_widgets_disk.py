"""The disk explorer, driven from code as the Train button would drive it."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from course_lib.widgets.disk import DEFAULTS, disk_explorer, train_disk  # noqa: E402
from course_lib.widgets.explorer import Explorer  # noqa: E402

FAST = dict(epochs=10)  # enough to separate good settings from bad ones, a fraction of a second


def curve_data(explorer) -> np.ndarray:
    """The y-values of the learning-curve lines in the last figure drawn."""
    ax = explorer.figure.axes[2]
    return np.concatenate([line.get_ydata() for line in ax.get_lines()])


def test_explorer_trains_and_draws_on_creation():
    explorer = disk_explorer(**FAST)
    assert explorer.run is not None and len(explorer.run.history) == 10
    assert "validation accuracy" in explorer.status.value
    assert len(explorer.figure.axes) == 3
    assert explorer.bar.value == explorer.bar.max == 10


def test_explorer_is_an_explorer_whose_picture_is_a_png():
    explorer = disk_explorer(**FAST)
    assert isinstance(explorer, Explorer)
    assert explorer.png().startswith(b"\x89PNG")
    assert "validation accuracy" in repr(explorer)


def test_explorer_without_train_now_waits_for_the_button():
    explorer = disk_explorer(train_now=False)
    assert explorer.run is None and not explorer.figure.axes
    assert "not trained" in repr(explorer)
    explorer.button.click()
    assert explorer.run is not None and len(explorer.figure.axes) == 3


def test_changing_the_init_changes_the_printed_accuracy_and_the_plot():
    explorer = disk_explorer(**FAST)
    before_status, before_curve = explorer.status.value, curve_data(explorer)
    run = explorer.train(init="zeros")
    assert explorer.controls["init"].value == "zeros"
    assert explorer.status.value != before_status
    assert not np.array_equal(curve_data(explorer), before_curve)
    # All-zero weights: every hidden unit gets zero gradient, the net predicts one class.
    assert run.val_acc < 0.6


def test_same_settings_give_the_same_run():
    a = train_disk(**FAST)
    b = train_disk(**FAST)
    assert a.history.val_loss == b.history.val_loss
    assert np.array_equal(a.val_pred, b.val_pred)


def test_default_settings_learn_the_disk_quickly():
    run = train_disk()
    assert run.val_acc > 0.96
    assert run.history.val_loss[-1] < run.history.val_loss[0]


def test_settings_that_are_not_controls_can_still_be_changed():
    explorer = disk_explorer(show=("lr",), **FAST)
    assert set(explorer.controls) == {"lr"}
    run = explorer.train(depth=1, hidden=5)
    assert run.settings["depth"] == 1 and run.settings["hidden"] == 5
    assert len(run.model) == 3  # Linear, activation, Linear


def test_a_diverging_run_says_so_instead_of_crashing():
    explorer = disk_explorer(**FAST)
    assert explorer.train(lr=1.0, init="xavier", batch_size=10) is None
    assert "blew up" in explorer.status.value
    assert explorer.run is None


def test_unknown_settings_and_controls_are_rejected_with_the_choices_like_every_explorer():
    with pytest.raises(ValueError, match="choose from"):
        disk_explorer(learning_rate=0.1)
    with pytest.raises(ValueError, match="choose from"):
        disk_explorer(show=("width",), train_now=False)
    explorer = disk_explorer(train_now=False)
    with pytest.raises(ValueError, match="lr"):
        explorer.train(alpha=0.1)
    with pytest.raises(ValueError, match="choose from"):
        explorer.update(depth=2)  # a setting, but not a control of this explorer


def test_defaults_cover_every_setting_of_train_disk():
    import inspect
    params = set(inspect.signature(train_disk).parameters) - {"data", "on_progress"}
    assert params == set(DEFAULTS)
