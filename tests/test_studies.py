"""course_lib.studies: the pieces of lesson 3 and 6's MLP studies and benchmarks/mlp_studies.py."""
import numpy as np
import pytest
import torch

from course_lib import studies
from course_lib.data import load_mnist
from course_lib.disk_net import build_disk_net


@pytest.fixture(scope="module")
def mnist_small():
    (x, c), (xv, cv), _ = load_mnist()
    return (x[:300], c[:300]), (xv[:300], cv[:300])


def test_mlp_has_one_linear_per_layer_and_relu_between():
    model = studies.mlp(5, [4, 3], 2, seed=0)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert studies.n_parameters(model) == (5 + 1) * 4 + (4 + 1) * 3 + (3 + 1) * 2


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("budget", [25_000, 100_000, 400_000])
def test_width_for_budget_spends_the_budget_to_within_one_unit(depth, budget):
    w = studies.width_for_budget(budget, depth)
    params = [studies.n_parameters(studies.mlp(784, [v] * depth, 10)) for v in (w - 1, w, w + 1)]
    assert params[0] < params[1] < params[2]
    assert abs(params[1] - budget) <= (params[2] - params[0]) / 2  # no other width comes closer


def test_wide_vs_deep_trains_the_grid_and_one_net_per_depth_and_budget(mnist_small):
    rows = studies.wide_vs_deep(mnist_small, widths=(8, 16), depths=(1, 2), budgets=(10_000,),
                                n_train=300, epochs=1, progress=False)
    assert [(r["width"], r["depth"], r["budget"]) for r in rows[:4]] == [
        (8, 1, None), (16, 1, None), (8, 2, None), (16, 2, None)]
    budget_rows = rows[4:]
    assert [r["depth"] for r in budget_rows] == [1, 2]
    assert all(abs(r["parameters"] - 10_000) < 1_000 for r in budget_rows)
    assert all(0.0 <= r["val_acc"] <= 1.0 and r["s_per_epoch"] > 0 for r in rows)


def test_gap_sweep_reports_train_minus_validation_accuracy(mnist_small):
    rows = studies.gap_sweep(mnist_small, [dict(hidden=16, weight_decay=0.0),
                                           dict(hidden=16, weight_decay=0.5)],
                             n_train=300, epochs=3, progress=False)
    assert [r["weight_decay"] for r in rows] == [0.0, 0.5]
    for r in rows:
        assert r["gap"] == pytest.approx(r["train_acc"] - r["val_acc"])
    assert rows[1]["train_loss"] > rows[0]["train_loss"]  # a strong L2 penalty holds the fit back


def test_early_stopping_study_keeps_the_chosen_epoch_of_the_full_run(mnist_small):
    test = mnist_small[1]
    r = studies.early_stopping(mnist_small, test, hidden=32, n_train=300, max_epochs=30, patience=3)
    assert r["best_epoch"] == int(np.argmin(r["val_loss"][:r["stopped_after"]])) + 1
    assert r["stopped_after"] == r["best_epoch"] + 3 <= 30
    # the early-stopped run is the full run up to where it stopped: same seeds, same epochs
    assert r["val_acc_best"] == r["val_acc"][r["best_epoch"] - 1]
    assert r["val_acc_last"] == r["val_acc"][-1] and len(r["val_acc"]) == 30


def test_uniform_unit_draws_weights_and_biases_in_minus_one_to_one():
    W, b = studies.uniform_unit(200, 300, rng=0)
    assert W.shape == (200, 300) and b.shape == (300,) and W.dtype == np.float32
    assert -1 <= W.min() < -0.99 and 0.99 < W.max() <= 1 and -1 <= b.min() and b.max() <= 1


def test_torch_twin_computes_the_same_function():
    ours = build_disk_net(seed=3)
    theirs = studies.torch_twin(ours)
    x = np.random.default_rng(0).random((64, 2), dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(theirs(torch.from_numpy(x)).numpy(), ours(x), rtol=1e-5,
                                   atol=1e-6)


def test_disk_twins_learn_alike_from_the_same_weights_and_batches():
    r = studies.disk_twins("course", epochs=30, progress=False)
    ours, theirs = r["numpy"]["val_acc"], r["torch"]["val_acc"]
    assert len(ours) == len(theirs) == 30
    assert np.abs(np.array(ours[:10]) - np.array(theirs[:10])).max() < 0.01  # float32 rounding only
    assert r["numpy"]["s_per_epoch"] > 0 and r["torch"]["s_per_epoch"] > 0
