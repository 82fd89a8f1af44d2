"""fit / evaluate for Modules, and the shared pieces they use (minibatches, NaN stop)."""
import math

import numpy as np
import pytest

from course_lib.data import load_disk
from course_lib.nn import (SGD, CrossEntropyLoss, Dropout, ExponentialLR, Linear, Module, MSELoss,
                           ReLU, Sequential, Tanh, one_hot)
from course_lib.train import (History, TrainingDiverged, check_finite, confusion_matrix, evaluate,
                              fit, minibatch_indices, top_confusions)


def disk_net(seed=0, p=0.0):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(2, 16, rng=rng), ReLU(), Dropout(p, rng=rng), Linear(16, 16, rng=rng),
                      Tanh(), Linear(16, 2, rng=rng))


@pytest.fixture(scope="module")
def disk():
    return load_disk(n=400, seed=0), load_disk(n=400, seed=1000)


def train_disk(disk, model_seed=0, fit_seed=0, epochs=5, lr=0.05, p=0.0, **kw):
    model = disk_net(model_seed, p)
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    return model, fit(model, CrossEntropyLoss(), opt, disk[0], disk[1], epochs=epochs,
                      batch_size=16, seed=fit_seed, progress=False, **kw)


def test_fit_learns_the_disk(disk):
    _, h = train_disk(disk, epochs=40)
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.val_acc[-1] > 0.9 and h.train_acc[-1] > 0.9


def test_fit_with_mse_on_one_hot_targets_reports_accuracy(disk):
    (x, y), (xv, yv) = disk
    model = disk_net()
    h = fit(model, MSELoss(), SGD(model.parameters(), lr=0.1, momentum=0.9), (x, one_hot(y, 2)),
            (xv, one_hot(yv, 2)), epochs=30, batch_size=16, progress=False)
    assert h.val_acc[-1] > 0.9 and h.val_loss[-1] < h.val_loss[0]


def test_same_seeds_reproduce_bit_for_bit_and_other_seeds_differ(disk):
    (m1, h1), (m2, h2) = train_disk(disk, p=0.2), train_disk(disk, p=0.2)
    assert h1 == h2
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    assert train_disk(disk, fit_seed=1, p=0.2)[1].train_loss != h1.train_loss


def test_history_has_one_entry_per_epoch_and_nan_without_val(disk):
    model = disk_net()
    h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), disk[0], epochs=3,
            progress=False)
    assert len(h) == 3
    assert all(len(v) == 3 for v in (h.train_loss, h.train_acc, h.val_loss, h.val_acc))
    assert len(h.iteration_loss) == 3 * math.ceil(len(disk[0][0]) / 32)
    assert all(math.isnan(v) for v in h.val_loss + h.val_acc)


def test_scheduler_steps_once_per_epoch(disk):
    model = disk_net()
    opt = SGD(model.parameters(), lr=0.1)
    fit(model, CrossEntropyLoss(), opt, disk[0], epochs=4, scheduler=ExponentialLR(opt, 0.5),
        progress=False)
    assert opt.lr == pytest.approx(0.1 * 0.5 ** 4)


def test_huge_learning_rate_stops_with_hints(disk):
    model = Sequential(Linear(2, 16, rng=0, dtype=np.float32), ReLU(),
                       Linear(16, 2, rng=1, dtype=np.float32))
    (x, y), _ = disk
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            TrainingDiverged, match=r"(?s)became (nan|inf) at epoch \d+, batch \d+.*lower the learning rate"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=100.0), (x, one_hot(y, 2)), epochs=5,
            progress=False)


class ModeSpy(Module):
    def __init__(self):
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x

    def backward(self, dL_dy):
        return dL_dy


def test_fit_trains_in_train_mode_and_evaluates_in_eval_mode(disk):
    spy = ModeSpy()
    model = Sequential(Linear(2, 2), spy)
    (x, y), val = disk
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), (x, y), val, epochs=2,
        batch_size=100, progress=False)
    # per epoch: 4 training batches, then 1 validation batch (evaluate's batch_size is 1024)
    assert spy.modes == [True] * 4 + [False] + [True] * 4 + [False]
    assert not model.training  # fit leaves the model ready for predictions


def test_dropout_is_off_when_evaluating(disk):
    model, _ = train_disk(disk, p=0.5, epochs=2)
    model.train()
    first = evaluate(model, CrossEntropyLoss(), *disk[1])
    assert first == evaluate(model, CrossEntropyLoss(), *disk[1])
    assert model.training  # evaluate restores the mode it found


def test_evaluate_equals_one_big_batch_and_accepts_one_hot(disk):
    model, _ = train_disk(disk, epochs=2)
    x, y = disk[1]
    out = model(x)
    loss_fn = CrossEntropyLoss()
    big = (loss_fn(out, y), np.mean(out.argmax(1) == y))
    # float32 network: the batch losses add up in another order than one big batch's
    assert evaluate(model, loss_fn, x, y, batch_size=7) == pytest.approx(big, rel=1e-6)
    mse = MSELoss()
    _, acc_one_hot = evaluate(model, mse, x, one_hot(y, 2, np.float64), batch_size=50)
    assert acc_one_hot == pytest.approx(big[1])


def test_fit_rejects_inputs_and_targets_of_different_lengths(disk):
    (x, y), _ = disk
    model = disk_net()
    with pytest.raises(ValueError, match="400 inputs but 399 targets"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), (x, y[:-1]), progress=False)


def test_fit_runs_with_a_progress_bar(disk, capsys):
    model = disk_net()
    h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), disk[0], disk[1],
            epochs=1, progress=True)
    assert len(h) == 1 and "val_acc" in capsys.readouterr().err


def test_minibatch_indices_cover_every_sample_once():
    batches = list(minibatch_indices(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_check_finite_passes_numbers_and_stops_nan():
    assert check_finite(1.5, "here") == 1.5
    with pytest.raises(TrainingDiverged, match="nan at step 3"):
        check_finite(float("nan"), "step 3")


def test_history_append_records_nan_for_missing_values():
    h = History()
    h.append(1.0)
    assert len(h) == 1 and math.isnan(h.val_acc[0])


def test_confusion_matrix_rows_sum_to_class_counts_and_diagonal_counts_hits():
    rng = np.random.default_rng(0)
    c = rng.integers(0, 4, 200)
    c_pred = np.where(rng.random(200) < 0.7, c, rng.integers(0, 4, 200))
    cm = confusion_matrix(c, c_pred, 4)
    assert cm.shape == (4, 4) and cm.dtype.kind == "i"
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(c, minlength=4))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(c_pred, minlength=4))
    assert np.trace(cm) == np.sum(c == c_pred)
    assert cm[2, 3] == np.sum((c == 2) & (c_pred == 3))  # row: true class, column: predicted


def test_confusion_matrix_rejects_unmatched_or_out_of_range_labels():
    with pytest.raises(ValueError, match="one predicted label per true label"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match="0..1 for 2 classes"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)


@pytest.fixture(scope="module")
def tiny_disk():
    # 40 training points: the validation loss soon stops improving
    return load_disk(n=40, seed=0), load_disk(n=400, seed=1000)


def test_early_stopping_keeps_the_best_validation_epoch_and_its_weights(tiny_disk):
    patience, epochs = 10, 300
    model, h = train_disk(tiny_disk, epochs=epochs, lr=0.05, patience=patience)
    best = int(np.argmin(h.val_loss)) + 1
    assert h.best_epoch == best
    assert len(h) == best + patience < epochs  # it stopped, `patience` epochs after the best
    # the same seeds trained for exactly `best` epochs end with the very weights it kept
    same, _ = train_disk(tiny_disk, epochs=best, lr=0.05)
    for kept, expected in zip(model.parameters(), same.parameters()):
        np.testing.assert_array_equal(kept.value, expected.value)
    assert evaluate(model, CrossEntropyLoss(), *tiny_disk[1])[0] == pytest.approx(min(h.val_loss))


def test_early_stopping_needs_validation_data(disk):
    model = disk_net()
    with pytest.raises(ValueError, match="pass val=.*without val"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), disk[0], patience=3,
            progress=False)


def test_top_confusions_skip_the_diagonal_and_sort_by_count():
    c = np.array([0] * 5 + [1] * 5 + [2] * 5)
    c_pred = np.array([0, 0, 0, 1, 2, 1, 1, 0, 0, 0, 2, 2, 2, 2, 1])
    cm = confusion_matrix(c, c_pred, 3)
    assert top_confusions(cm, 3) == [(1, 0, 3), (0, 1, 1), (0, 2, 1)]


