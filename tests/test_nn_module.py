"""Parameter, Module and Sequential: naming, modes, gradient accumulation, shape errors, and
random networks that must match the same torch network exactly (float64)."""
import numpy as np
import pytest
import torch

from course_lib.gradcheck import check_module, rel_error
from course_lib.nn import (CrossEntropyLoss, Dropout, Linear, Module, MSELoss, Parameter, ReLU,
                           Sequential, ShapeError, Sigmoid, Tanh, one_hot)


def small_net(seed=0):
    return Sequential(Linear(3, 4, rng=seed), ReLU(), Dropout(0.5, rng=seed), Linear(4, 2, rng=seed + 1))


def test_parameter_grad_starts_at_zero_with_value_shape():
    p = Parameter(np.ones((3, 2), np.float32))
    assert p.grad.shape == (3, 2) and p.grad.dtype == np.float32 and not p.grad.any()


def test_named_parameters_are_prefixed_by_layer_index():
    names = [n for n, _ in small_net().named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert [n for n, _ in Linear(2, 3).named_parameters()] == ["weight", "bias"]


def test_parameters_are_the_layers_arrays():
    net = small_net()
    assert net.parameters()[0] is net[0].weight and net.parameters()[3] is net[3].bias


def test_train_and_eval_reach_every_layer():
    net = Sequential(small_net(), Tanh())
    net.eval()
    assert not net.training and not any(m.training for m in net[0])
    assert net.train() is net and all(m.training for m in net[0])


def test_backward_accumulates_until_zero_grad():
    net = Sequential(Linear(3, 2, rng=0))
    x = np.random.default_rng(1).standard_normal((5, 3))
    g = np.ones((5, 2))
    net(x)
    net.backward(g)
    once = net[0].weight.grad.copy()
    net(x)
    net.backward(g)
    np.testing.assert_allclose(net[0].weight.grad, 2 * once)
    net.zero_grad()
    assert not net[0].weight.grad.any() and not net[0].bias.grad.any()


def test_gradient_written_by_hand_after_zero_grad_is_kept_by_backward():
    lin = Linear(3, 2, rng=0)
    x, g = np.ones((4, 3)), np.ones((4, 2))
    lin(x)
    lin.backward(g)
    lin.zero_grad()
    assert not lin.weight.grad.any()  # zero_grad is visible at once
    lin.weight.grad += 1.0  # a hand-made gradient (e.g. a penalty) before the backward pass
    lin.backward(g)
    np.testing.assert_allclose(lin.weight.grad, 1.0 + x.T @ g)


def test_zero_grad_clears_grad_in_place():
    p = Parameter(np.zeros((2, 2)))
    grad = p.grad
    grad += 1.0
    p.zero_grad()
    assert p.grad is grad and not grad.any()


def test_layers_default_to_float32_like_pytorch():
    net = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    assert all(p.value.dtype == np.float32 == p.grad.dtype for p in net.parameters())


def test_sequential_refuses_layers_of_different_dtypes():
    with pytest.raises(TypeError, match=r"layer 2 .*float64.*layer 0 .*float32.*dtype="):
        Sequential(Linear(3, 4), ReLU(), Linear(4, 2, dtype=np.float64))


def test_check_module_checks_a_float32_network_in_float64_and_hands_it_back():
    net = Sequential(Linear(3, 5, rng=0), Tanh(), Linear(5, 2, rng=1), needs_input_grad=True)
    before = [p.value for p in net.parameters()]
    errors = check_module(net, np.random.default_rng(3).standard_normal((4, 3)))
    assert max(errors.values()) < 1e-7, errors
    assert all(p.value is v and p.value.dtype == np.float32 == p.grad.dtype
               for p, v in zip(net.parameters(), before))


def test_first_layer_skips_input_gradient_unless_asked():
    x = np.random.default_rng(0).standard_normal((4, 3))
    net = small_net().eval()
    net(x)
    assert net.backward(np.ones((4, 2))) is None
    grads = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net.needs_input_grad = True
    net(x)
    assert net.backward(np.ones((4, 2))).shape == (4, 3)
    for p, g in zip(net.parameters(), grads):  # parameter gradients do not depend on the flag
        np.testing.assert_array_equal(p.grad, g)


def test_sequential_passes_the_finite_difference_check():
    net = Sequential(Linear(3, 5, rng=0), Tanh(), Linear(5, 4, rng=1), Sigmoid(), Linear(4, 2, rng=2),
                     needs_input_grad=True)
    errors = check_module(net, np.random.default_rng(3).standard_normal((6, 3)))
    assert max(errors.values()) < 1e-7, errors


def test_mismatched_linear_sizes_fail_at_build_naming_both_layers():
    with pytest.raises(ValueError) as e:
        Sequential(Linear(2, 25), ReLU(), Linear(25, 25), Tanh(), Linear(30, 2))
    msg = str(e.value)
    assert "layer 4 (Linear(in=30, out=2))" in msg and "layer 2 (Linear(in=25, out=25))" in msg
    assert "30 inputs" in msg and "25 outputs" in msg


def test_wrong_input_shape_names_layer_and_both_shapes():
    net = Sequential(Linear(30, 25), ReLU(), Linear(25, 25))
    net.layers[0] = Linear(30, 30)  # after the build check: layer 2 now receives 30 features
    with pytest.raises(ShapeError, match=r"Sequential layer 2 \(Linear\(in=25, out=25\)\) "
                                         r"expected input \(B, 25\), got \(32, 30\)"):
        net(np.zeros((32, 30)))


def test_linear_alone_names_itself_and_suggests_a_batch_axis():
    with pytest.raises(ShapeError, match=r"Linear\(in=3, out=2\) expected input \(B, 3\), got \(3,\).*reshape"):
        Linear(3, 2)(np.zeros(3))


def test_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(3, 2).backward(np.zeros((1, 2)))


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="not a Module"):
        Sequential([Linear(2, 2)])


def test_module_subclass_without_init_works():
    class Scale(Module):
        def forward(self, x):
            return 2 * x

        def backward(self, dL_dy):
            return 2 * dL_dy

    net = Sequential(Linear(2, 3), Scale(), Linear(3, 1))
    assert net(np.ones((4, 2))).shape == (4, 1) and net.eval().training is False


# ---- random networks against torch (float64) -------------------------------------------------

class TorchMask(torch.nn.Module):
    """Multiplies by the mask our Dropout drew, so both nets drop the same units."""

    def __init__(self, mask):
        super().__init__()
        self.mask = None if mask is None else torch.from_numpy(mask)

    def forward(self, x):
        return x if self.mask is None else x * self.mask


def random_net(rng):
    sizes = [int(n) for n in rng.integers(1, 7, size=rng.integers(2, 5))]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(Linear(n_in, n_out, init=str(rng.choice(["torch", "normal", "xavier"])), rng=rng,
                             dtype=np.float64))
        if i < len(sizes) - 2:
            layers.append(rng.choice([ReLU, Sigmoid, Tanh])())
            if rng.random() < 0.5:
                layers.append(Dropout(float(rng.uniform(0.1, 0.6)), rng=rng))
    return Sequential(*layers, needs_input_grad=True)


def to_torch(net):
    out = []
    for m in net:
        if isinstance(m, Linear):
            t = torch.nn.Linear(m.in_features, m.out_features).double()
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.value.T))
                t.bias.copy_(torch.from_numpy(m.bias.value))
            out.append(t)
        elif isinstance(m, Dropout):
            out.append(TorchMask(m.mask))
        else:
            out.append({ReLU: torch.nn.ReLU, Sigmoid: torch.nn.Sigmoid, Tanh: torch.nn.Tanh}[type(m)]())
    return torch.nn.Sequential(*out)


@pytest.mark.parametrize("trial", range(24))
def test_random_network_matches_torch(trial):
    rng = np.random.default_rng(trial)
    net = random_net(rng)
    train_mode = trial % 2 == 0  # Dropout active (mask shared with torch) or the identity
    net.train(train_mode)
    B = int(rng.integers(1, 9))
    n_in, n_out = net[0].in_features, net[len(net) - 1].out_features
    x = rng.standard_normal((B, n_in))
    if trial % 4 < 2:
        loss_fn, tloss, target = CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), rng.integers(0, n_out, B)
    else:
        loss_fn, tloss = MSELoss(), torch.nn.MSELoss()
        target = one_hot(rng.integers(0, n_out, B), n_out, np.float64)

    loss = loss_fn(net(x), target)
    dL_dx = net.backward(loss_fn.backward())
    tnet = to_torch(net)
    tx = torch.from_numpy(x).requires_grad_()
    tl = tloss(tnet(tx), torch.from_numpy(target))
    tl.backward()

    assert abs(loss - tl.item()) <= 1e-7 * abs(tl.item())
    assert rel_error(dL_dx, tx.grad.numpy()) <= 1e-7
    tparams = [p for p in tnet.parameters()]
    for (name, p), tp in zip(net.named_parameters(), tparams):
        theirs = tp.grad.numpy().T if name.endswith("weight") else tp.grad.numpy()
        assert rel_error(p.grad, theirs) <= 1e-7, name
