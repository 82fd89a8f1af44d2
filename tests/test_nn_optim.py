"""SGD follows torch.optim.SGD step for step; ExponentialLR follows torch's ExponentialLR."""
import numpy as np
import pytest
import torch

from course_lib.nn import SGD, ExponentialLR, Linear, Parameter


def track_torch(steps=6, seed=0, **options):
    """Run our SGD and torch's on the same parameters and the same sequence of gradients."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    ours = [Parameter(v.copy()) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    opt, topt = SGD(ours, **options), torch.optim.SGD(theirs, **options)
    for _ in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        for p, t in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad += g
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    return ours


@pytest.mark.parametrize("options", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=1e-3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
], ids=str)
def test_sgd_tracks_torch(options):
    track_torch(**options)


def test_step_leaves_grad_unchanged():
    p = Parameter(np.ones(3))
    p.grad[:] = [1.0, 2.0, 3.0]
    SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5).step()
    np.testing.assert_array_equal(p.grad, [1.0, 2.0, 3.0])


def test_zero_grad_clears_every_parameter():
    lin = Linear(3, 2)
    lin.weight.grad[:] = 1
    lin.bias.grad[:] = 1
    SGD(lin.parameters(), lr=0.1).zero_grad()
    assert not lin.weight.grad.any() and not lin.bias.grad.any()


def test_lr_attribute_changes_the_next_step():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=1.0)
    p.grad[:] = 1
    opt.step()
    opt.lr = 0.5
    opt.step()
    np.testing.assert_allclose(p.value, [-1.5])


def test_float32_parameters_stay_float32_with_a_numpy_float64_lr():
    p = Parameter(np.ones(3, np.float32))
    p.grad[:] = 1
    opt = SGD([p], lr=np.float64(0.1), momentum=0.9, weight_decay=np.float64(0.01))
    opt.step()
    opt.step()
    assert p.value.dtype == np.float32 and opt.velocity[0].dtype == np.float32


@pytest.mark.parametrize("options,match", [
    (dict(lr=-1.0), "lr must be >= 0"),
    (dict(lr=0.1, momentum=-0.5), "momentum must be >= 0"),
    (dict(lr=0.1, nesterov=True), "Nesterov"),
])
def test_sgd_rejects_bad_settings(options, match):
    with pytest.raises(ValueError, match=match):
        SGD([Parameter(np.zeros(1))], **options)


def test_sgd_without_parameters_says_what_to_pass():
    with pytest.raises(ValueError, match="model.parameters()"):
        SGD([], lr=0.1)


def test_exponential_lr_matches_torch_exponential_lr():
    opt = SGD([Parameter(np.zeros(1))], lr=0.3)
    sched = ExponentialLR(opt, gamma=0.9)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    tsched = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.9)
    for _ in range(12):
        topt.step()
        sched.step()
        tsched.step()
        assert opt.lr == pytest.approx(tsched.get_last_lr()[0], rel=1e-14)
    assert opt.lr == pytest.approx(0.3 * 0.9 ** 12) and sched.epoch == 12


def test_exponential_lr_rejects_gamma_outside_zero_one():
    with pytest.raises(ValueError, match="gamma"):
        ExponentialLR(SGD([Parameter(np.zeros(1))], lr=0.1), gamma=1.5)
