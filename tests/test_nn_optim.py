"""SGD and Adam follow torch.optim.SGD and torch.optim.Adam step for step; ExponentialLR follows
torch's ExponentialLR."""
import numpy as np
import pytest
import torch

from course_lib.nn import SGD, Adam, ExponentialLR, Linear, Parameter


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


def track_torch_adam(shapes, steps=8, seed=0, dtype=np.float64, grad_scale=1.0, **options):
    """Our Adam and torch's on the same parameters and gradients: the largest |difference| of
    the parameters after each step."""
    rng = np.random.default_rng(seed)
    ours = [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    theirs = [torch.tensor(p.value.copy(), requires_grad=True) for p in ours]
    opt, topt = Adam(ours, **options), torch.optim.Adam(theirs, **options)
    differences = []
    for _ in range(steps):
        opt.zero_grad()
        for p, t in zip(ours, theirs):
            g = (grad_scale * rng.standard_normal(p.shape)).astype(dtype)
            p.grad += g
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        differences.append(max(float(np.abs(p.value - t.detach().numpy()).max())
                               for p, t in zip(ours, theirs)))
    return ours, differences


ADAM_SHAPES = [[(4, 3), (3,)], [(1,)], [(2, 5, 3), (7, 1), (1, 6)]]


@pytest.mark.parametrize("shapes", ADAM_SHAPES, ids=str)
@pytest.mark.parametrize("options", [
    dict(),
    dict(lr=0.05),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3),
    dict(lr=0.01, betas=(0.0, 0.99), weight_decay=1e-2),
], ids=str)
def test_adam_tracks_torch_adam_in_float64(shapes, options):
    _, differences = track_torch_adam(shapes, steps=10, **options)
    assert max(differences) < 1e-12, differences


@pytest.mark.parametrize("options", [dict(), dict(lr=0.01, weight_decay=0.1)], ids=str)
def test_adam_tracks_torch_adam_in_float32_and_stays_float32(options):
    ours, differences = track_torch_adam(ADAM_SHAPES[2], steps=10, dtype=np.float32, **options)
    assert max(differences) < 1e-6, differences
    assert all(p.value.dtype == np.float32 for p in ours)


def test_adam_tracks_torch_adam_on_tiny_gradients_where_eps_matters():
    _, differences = track_torch_adam(ADAM_SHAPES[0], steps=10, grad_scale=1e-8, lr=0.01)
    assert max(differences) < 1e-12, differences


def test_adam_keeps_float32_with_numpy_float64_settings():
    p = Parameter(np.ones(3, np.float32))
    p.grad[:] = 1
    opt = Adam([p], lr=np.float64(0.1), betas=(np.float64(0.9), np.float64(0.99)),
               weight_decay=np.float64(0.01))
    opt.step()
    opt.step()
    assert p.value.dtype == opt.m[0].dtype == opt.v[0].dtype == np.float32


def test_adam_first_step_moves_each_weight_by_lr_against_the_sign_of_its_gradient():
    # Bias correction: m̂ = g and v̂ = g² at step 1, whatever the gradient's size.
    p = Parameter(np.zeros(6))
    p.grad[:] = [3e-4, -2.0, 50.0, -1e-3, 7.0, -0.1]
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.value, -0.01 * np.sign(p.grad), rtol=1e-4)


def test_adam_on_a_constant_gradient_steps_lr_every_time():
    # m̂ = g and v̂ = g² at every step when g never changes: the bias correction is exact.
    p = Parameter(np.zeros(2))
    opt = Adam([p], lr=0.1, eps=0.0)
    for _ in range(5):
        p.grad[:] = [2.0, -0.5]
        opt.step()
    np.testing.assert_allclose(p.value, [-0.5, 0.5], rtol=1e-12)
    assert opt.t == 5


def test_adam_step_leaves_grad_unchanged():
    p = Parameter(np.ones(3))
    p.grad[:] = [1.0, 2.0, 3.0]
    Adam([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_array_equal(p.grad, [1.0, 2.0, 3.0])


def test_adam_zero_grad_clears_every_parameter():
    lin = Linear(3, 2)
    lin.weight.grad[:] = 1
    lin.bias.grad[:] = 1
    Adam(lin.parameters()).zero_grad()
    assert not lin.weight.grad.any() and not lin.bias.grad.any()


def test_exponential_lr_schedules_adam_as_torch_does():
    rng = np.random.default_rng(3)
    p = Parameter(rng.standard_normal(4))
    t = torch.tensor(p.value.copy(), requires_grad=True)
    opt, topt = Adam([p], lr=0.05), torch.optim.Adam([t], lr=0.05)
    sched = ExponentialLR(opt, gamma=0.8)
    tsched = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.8)
    for _ in range(6):
        g = rng.standard_normal(4)
        p.grad[:] = g
        t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    assert opt.lr == pytest.approx(tsched.get_last_lr()[0], rel=1e-14)
    np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("options,match", [
    (dict(lr=-1e-3), "lr must be >= 0"),
    (dict(eps=-1.0), "eps must be >= 0"),
    (dict(weight_decay=-0.1), "weight_decay must be >= 0"),
    (dict(betas=(1.0, 0.999)), r"betas\[0\] must lie in \[0, 1\)"),
    (dict(betas=(0.9, -0.1)), r"betas\[1\] must lie in \[0, 1\)"),
], ids=str)
def test_adam_rejects_bad_settings_as_torch_does(options, match):
    with pytest.raises(ValueError):  # torch refuses the same settings
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], **options)
    with pytest.raises(ValueError, match=match):
        Adam([Parameter(np.zeros(1))], **options)


def test_adam_without_parameters_says_what_to_pass():
    with pytest.raises(ValueError, match="model.parameters()"):
        Adam([])
