"""MSELoss and CrossEntropyLoss: torch's values and gradients, finite differences, clear errors."""
import numpy as np
import pytest
import torch

from course_lib.gradcheck import numerical_gradient, rel_error
from course_lib.nn import CrossEntropyLoss, MSELoss, one_hot


def case(loss_name, B, C, seed):
    rng = np.random.default_rng(seed)
    pred = 3 * rng.standard_normal((B, C))
    if loss_name == "ce":
        return CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), pred, rng.integers(0, C, B)
    return MSELoss(), torch.nn.MSELoss(), pred, rng.standard_normal((B, C))


@pytest.mark.parametrize("loss_name", ["ce", "mse"])
@pytest.mark.parametrize("B,C", [(1, 2), (1, 5), (7, 3), (32, 10)])
def test_loss_and_gradient_match_torch(loss_name, B, C):
    ours, theirs, pred, target = case(loss_name, B, C, seed=B * C)
    loss = ours(pred, target)
    tp = torch.from_numpy(pred).requires_grad_()
    tl = theirs(tp, torch.from_numpy(target))
    tl.backward()
    assert isinstance(loss, float)
    assert abs(loss - tl.item()) <= 1e-12 * abs(tl.item())
    assert rel_error(ours.backward(), tp.grad.numpy()) < 1e-12


@pytest.mark.parametrize("loss_name", ["ce", "mse"])
def test_loss_gradient_matches_finite_differences(loss_name):
    ours, _, pred, target = case(loss_name, 6, 4, seed=1)
    ours(pred, target)
    analytic = ours.backward()
    assert rel_error(analytic, numerical_gradient(lambda p: ours(p, target), pred)) < 1e-8


def test_cross_entropy_is_stable_for_huge_logits():
    loss_fn = CrossEntropyLoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = loss_fn(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 0]))
    assert loss == pytest.approx(500.0)
    assert np.isfinite(loss_fn.backward()).all()


def test_mse_accepts_one_hot_targets_and_averages_over_all_elements():
    pred = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert MSELoss()(pred, one_hot(np.array([0, 1]), 2)) == pytest.approx(1 / 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_keep_the_prediction_dtype(dtype):
    pred = np.ones((4, 3), dtype)
    for loss_fn, target in [(MSELoss(), np.zeros((4, 3))), (CrossEntropyLoss(), np.array([0, 1, 2, 0]))]:
        loss_fn(pred, target)
        assert loss_fn.backward().dtype == dtype


def test_cross_entropy_rejects_one_hot_targets_and_says_to_pass_indices():
    with pytest.raises(ValueError, match="class indices.*argmax"):
        CrossEntropyLoss()(np.zeros((3, 4)), one_hot(np.array([0, 1, 2]), 4))


def test_cross_entropy_rejects_float_targets():
    with pytest.raises(TypeError, match="integer class indices.*astype"):
        CrossEntropyLoss()(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]))


def test_cross_entropy_rejects_out_of_range_and_misaligned_targets():
    with pytest.raises(ValueError, match=r"0\.\.3"):
        CrossEntropyLoss()(np.zeros((2, 4)), np.array([0, 4]))
    with pytest.raises(ValueError, match=r"target of shape \(2,\)"):
        CrossEntropyLoss()(np.zeros((2, 4)), np.array([0, 1, 2]))


def test_mse_shape_mismatch_suggests_one_hot_for_labels():
    with pytest.raises(ValueError, match=r"same shape as pred \(3, 2\).*one_hot\(c, 2\)"):
        MSELoss()(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="reshape"):
        MSELoss()(np.zeros((3, 1)), np.zeros(3))


def test_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match="before forward"):
        MSELoss().backward()


def test_one_hot_is_the_one_of_course_lib_functions():
    from course_lib import functions
    assert one_hot is functions.one_hot