"""Embedding, RNN, LSTM, MaxOverTime and clip_grad_norm: finite differences, torch (float64,
packed variable lengths), padding, dtypes and clear errors (TextClassifier has a file of its own)."""
import numpy as np
import pytest
import torch

from course_lib import nn
from course_lib.gradcheck import check_module, numerical_gradient_array, rel_error
from course_lib.rnn import masked_max_pool

F64 = np.float64


def make_layer(kind, D, H, rng=0, dtype=F64):
    """kind: "tanh" or "relu" (an RNN) or "lstm"."""
    return nn.LSTM(D, H, rng=rng, dtype=dtype) if kind == "lstm" else nn.RNN(D, H, kind, rng=rng,
                                                                           dtype=dtype)


def torch_layer(kind, D, H, seed=0):
    with torch.random.fork_rng(devices=[]):  # torch's global RNG is left as it was
        torch.manual_seed(seed)
        layer = (torch.nn.LSTM(D, H, batch_first=True) if kind == "lstm" else
                 torch.nn.RNN(D, H, nonlinearity=kind, batch_first=True))
    return layer.double()


class Unrolled(nn.Module):
    """A recurrent layer seen as one function x -> [out, h_last(, c_last)], flattened per row, with
    the initial state as a parameter, so that check_module probes the x, weight and h0/c0 grads."""

    def __init__(self, layer, lengths, B, seed=1):
        rng = np.random.default_rng(seed)
        self.layer, self.lengths = layer, lengths
        self.lstm = isinstance(layer, nn.LSTM)
        self.h0 = nn.Parameter(rng.standard_normal((B, layer.hidden_size)))
        if self.lstm:
            self.c0 = nn.Parameter(rng.standard_normal((B, layer.hidden_size)))

    def forward(self, x):
        if self.lstm:
            out, (h, c) = self.layer.forward(x, self.lengths, self.h0.value, self.c0.value)
            return np.concatenate([out.reshape(len(x), -1), h, c], axis=1)
        out, h = self.layer.forward(x, self.lengths, self.h0.value)
        return np.concatenate([out.reshape(len(x), -1), h], axis=1)

    def backward(self, g):
        B, T, H = len(g), self.layer.saved[0].shape[1], self.layer.hidden_size
        g_out, g_h = g[:, :T * H].reshape(B, T, H), g[:, T * H:T * H + H]
        if self.lstm:
            dx = self.layer.backward(g_out, g_h, g[:, T * H + H:])
            self.c0.grad += self.layer.dL_dc0
        else:
            dx = self.layer.backward(g_out, g_h)
        self.h0.grad += self.layer.dL_dh0
        return dx


def random_case(seed):
    """Random sizes, an input batch and lengths in 1..T, the longest row of full length."""
    rng = np.random.default_rng(seed)
    B, T, D, H = (int(n) for n in rng.integers([2, 2, 1, 1], [6, 8, 5, 6]))
    lengths = rng.integers(1, T + 1, B)
    lengths[rng.integers(B)] = T
    return rng.standard_normal((B, T, D)), lengths, H, rng


# --- finite differences ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm"])
@pytest.mark.parametrize("seed", [0, 1])
def test_recurrent_backward_matches_finite_differences(kind, seed):
    x, lengths, H, _ = random_case(seed)
    layer = make_layer(kind, x.shape[2], H, rng=seed)
    errors = check_module(Unrolled(layer, lengths, len(x)), x)
    assert max(errors.values()) < 1e-7, errors


def test_embedding_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    emb = nn.Embedding(6, 3, padding_idx=0, rng=0, dtype=F64)
    ids = np.array([[1, 2, 2, 0], [5, 1, 0, 0]])
    g = rng.standard_normal((2, 4, 3))
    emb.forward(ids)
    emb.backward(g)
    numeric = numerical_gradient_array(lambda _: emb.forward(ids), emb.weight.value, g)
    numeric[0] = 0  # torch's rule: the padding row gets no gradient
    assert rel_error(emb.weight.grad, numeric) < 1e-9


def test_max_over_time_backward_matches_finite_differences():
    pool = nn.MaxOverTime()

    class Pooled(nn.Module):
        def forward(self, h):
            return pool.forward(h, np.array([3, 1, 2]))

        def backward(self, g):
            return pool.backward(g)

    h = np.random.default_rng(0).permutation(36).reshape(3, 4, 3) / 7.0  # no ties
    assert check_module(Pooled(), h)["input"] < 1e-9


# --- torch in float64 ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recurrent_layer_matches_torch_with_packed_variable_lengths(kind, seed):
    x, lengths, H, rng = random_case(seed)
    (B, T, D), lstm = x.shape, kind == "lstm"
    theirs = torch_layer(kind, D, H, seed)
    ours = make_layer(kind, D, H)
    ours.load_torch_state_dict(theirs.state_dict())
    h0, c0 = rng.standard_normal((2, B, H))
    g_out, g_h, g_c = rng.standard_normal((B, T, H)), *rng.standard_normal((2, B, H))

    x_t = torch.tensor(x, requires_grad=True)
    h0_t, c0_t = (torch.tensor(s[None], requires_grad=True) for s in (h0, c0))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x_t, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out_t, state_t = theirs(packed, (h0_t, c0_t) if lstm else h0_t)
    out_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True, total_length=T)[0]
    h_t = state_t[0][0] if lstm else state_t[0]
    loss = (out_t * torch.tensor(g_out)).sum() + (h_t * torch.tensor(g_h)).sum()
    if lstm:
        loss = loss + (state_t[1][0] * torch.tensor(g_c)).sum()
    loss.backward()

    if lstm:
        out, (h, c) = ours.forward(x, lengths, h0, c0)
        dx = ours.backward(g_out, g_h, g_c)
        pairs = [(c, state_t[1][0]), (ours.dL_dc0, c0_t.grad[0])]
    else:
        out, h = ours.forward(x, lengths, h0)
        dx = ours.backward(g_out, g_h)
        pairs = []
    pairs += [(out, out_t), (h, h_t), (dx, x_t.grad), (ours.dL_dh0, h0_t.grad[0])]
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        grad = torch_params[name].grad
        pairs.append((p.grad, grad.T if name in ours.torch_transposed else grad))
    for i, (a, b) in enumerate(pairs):
        assert rel_error(a, b.detach().numpy()) < 1e-8, i


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch_with_repeated_ids(padding_idx):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        theirs = torch.nn.Embedding(7, 4, padding_idx=padding_idx).double()
    ours = nn.Embedding(7, 4, padding_idx=padding_idx, dtype=F64)
    ours.load_torch_state_dict(theirs.state_dict())
    ids = np.array([[3, 3, 6, 0], [3, 1, 6, 6]])
    g = np.random.default_rng(0).standard_normal((2, 4, 4))
    (theirs(torch.tensor(ids)) * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(ours.forward(ids), theirs(torch.tensor(ids)).detach().numpy())
    ours.backward(g)
    assert rel_error(ours.weight.grad, theirs.weight.grad.numpy()) < 1e-12
    np.testing.assert_allclose(ours.weight.grad[3], g[0, 0] + g[0, 1] + g[1, 0])


def test_max_over_time_matches_the_torch_twins_masked_pool():
    rng = np.random.default_rng(0)
    h, lengths = rng.standard_normal((4, 5, 3)), np.array([5, 2, 1, 3])
    mask = torch.tensor(np.arange(5) < lengths[:, None])
    h_t = torch.tensor(h, requires_grad=True)
    g = rng.standard_normal((4, 3))
    (masked_max_pool(h_t, mask) * torch.tensor(g)).sum().backward()
    pool = nn.MaxOverTime()
    np.testing.assert_array_equal(pool(h, lengths), masked_max_pool(h_t, mask).detach().numpy())
    np.testing.assert_array_equal(pool.backward(g), h_t.grad.numpy())


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(0)
    params = [nn.Parameter(rng.standard_normal(s)) for s in [(3, 4), (4,), (2, 2)]]
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    tensors = [torch.tensor(p.value, requires_grad=True) for p in params]
    for t, p in zip(tensors, params):
        t.grad = torch.tensor(p.grad)
    norm_t = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = nn.clip_grad_norm(params, max_norm)
    assert abs(norm - norm_t.item()) < 1e-12 and norm > 0.5
    for t, p in zip(tensors, params):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-14)


# --- padding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm"])
def test_a_sequence_alone_and_in_a_padded_batch_gets_the_same_state_and_gradients(kind):
    rng = np.random.default_rng(0)
    short, long = rng.standard_normal((1, 3, 2)), rng.standard_normal((1, 6, 2))
    batch = np.concatenate([np.pad(short, ((0, 0), (0, 3), (0, 0)), constant_values=9.0), long])
    g = rng.standard_normal((2, 6, 4))

    def run(x, lengths, g_out):
        layer = make_layer(kind, 2, 4)
        out, state = layer.forward(x, lengths)
        dx = layer.backward(g_out)
        return out, state, dx, [p.grad for p in layer.parameters()]

    out_s, state_s, dx_s, grads_s = run(short, None, g[:1, :3])
    out_l, state_l, dx_l, grads_l = run(long, None, g[1:])
    out, state, dx, grads = run(batch, np.array([3, 6]), g)
    np.testing.assert_allclose(out[:1, :3], out_s, rtol=1e-13)
    assert not out[0, 3:].any() and not dx[0, 3:].any()
    np.testing.assert_allclose(dx[:1, :3], dx_s, rtol=1e-12)
    np.testing.assert_allclose(dx[1:], dx_l, rtol=1e-12)
    states, states_s = (s if kind == "lstm" else (s,) for s in (state, state_s))  # h (and c)
    for s, s_short in zip(states, states_s):
        np.testing.assert_allclose(s[:1], s_short, rtol=1e-13)
    for both, a, b in zip(grads, grads_s, grads_l):
        np.testing.assert_allclose(both, a + b, rtol=1e-12, atol=1e-14)


def test_a_row_of_length_zero_keeps_h0_and_gets_no_gradient():
    rnn = nn.RNN(2, 3, rng=0, dtype=F64)
    h0 = np.ones((2, 3))
    out, h = rnn.forward(np.ones((2, 4, 2)), np.array([4, 0]), h0)
    np.testing.assert_array_equal(h[1], h0[1])
    assert not out[1].any()
    dx = rnn.backward(np.ones((2, 4, 3)), np.ones((2, 3)))
    assert not dx[1].any()
    np.testing.assert_array_equal(rnn.dL_dh0[1], 1.0)


def test_max_over_time_ignores_padded_steps_and_routes_to_the_argmax():
    h = np.array([[[1.0, 5.0], [3.0, 0.0], [99.0, 99.0]]])  # step 2 is padding
    pool = nn.MaxOverTime()
    np.testing.assert_array_equal(pool(h, np.array([2])), [[3.0, 5.0]])
    np.testing.assert_array_equal(pool.backward(np.array([[10.0, 20.0]])),
                                  [[[0, 20.0], [10.0, 0], [0, 0]]])


def test_max_over_time_gives_zero_and_no_gradient_for_a_row_of_length_zero():
    pool = nn.MaxOverTime()
    y = pool(np.full((2, 3, 2), -4.0), np.array([0, 3]))
    np.testing.assert_array_equal(y, [[0, 0], [-4.0, -4.0]])
    assert not pool.backward(np.ones((2, 2)))[0].any()


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=0, rng=0)
    assert not emb.weight.value[0].any() and emb.weight.value[1:].all()
    emb.forward(np.array([[0, 0, 2]]))
    emb.backward(np.ones((1, 3, 3), np.float32))
    assert not emb.weight.grad[0].any() and emb.weight.grad[2].tolist() == [1, 1, 1]


# --- construction, dtypes and errors ---------------------------------------------------------

def test_parameters_have_torchs_names_and_transposed_shapes_and_init_bounds():
    lstm, rnn = nn.LSTM(3, 5, rng=0), nn.RNN(3, 5, rng=0)
    assert {n: p.shape for n, p in lstm.named_parameters()} == {
        "weight_ih_l0": (3, 20), "weight_hh_l0": (5, 20), "bias_ih_l0": (20,), "bias_hh_l0": (20,)}
    assert [n for n, _ in rnn.named_parameters()] == list(torch.nn.RNN(3, 5).state_dict())
    for p in lstm.parameters() + rnn.parameters():
        assert p.value.dtype == np.float32 and np.abs(p.value).max() <= 1 / np.sqrt(5)


@pytest.mark.parametrize("kind", ["tanh", "lstm"])
def test_float32_stays_float32_through_forward_and_backward(kind):
    layer = make_layer(kind, 2, 3, dtype=np.float32)
    out, _ = layer.forward(np.ones((2, 4, 2)), np.array([4, 2]))
    assert out.dtype == np.float32
    assert layer.backward(np.ones((2, 4, 3))).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.RNN(3, 5).forward(np.ones((2, 4, 2))), ValueError,
     r"RNN\(3, 5.*expected input \(B, T, 3\), got \(2, 4, 2\)"),
    (lambda: nn.LSTM(3, 5).forward(np.ones((4, 3))), ValueError,
     r"LSTM\(3, 5\) expected input \(B, T, 3\), got \(4, 3\): a single sequence needs a batch"),
    (lambda: nn.LSTM(3, 5).forward(np.ones((2, 0, 3))), ValueError,
     r"LSTM\(3, 5\) expected input \(B, T, 3\), got \(2, 0, 3\): at least one time step"),
    (lambda: nn.RNN(3, 5).forward(np.ones((2, 4, 3)), np.array([4, 5])), ValueError,
     r"RNN.*lengths must lie in 0..4 .* from 4 to 5"),
    (lambda: nn.RNN(3, 5).forward(np.ones((2, 4, 3)), np.array([4])), ValueError,
     r"expected lengths of shape \(2,\)"),
    (lambda: nn.RNN(3, 5).forward(np.ones((2, 4, 3)), np.array([4.0, 3.0])), TypeError,
     r"integer lengths"),
    (lambda: nn.RNN(3, 5).forward(np.ones((2, 4, 3)), h0=np.ones((1, 2, 5))), ValueError,
     r"expected h0 of shape \(2, 5\), got \(1, 2, 5\).*h0\[0\]"),
    (lambda: nn.Embedding(10, 3).forward(np.array([[1, 10]])), ValueError,
     r"Embedding\(10, 3\) ids must lie in 0..9, got values from 1 to 10"),
    (lambda: nn.Embedding(10, 3).forward(np.array([[1.0, 2.0]])), TypeError,
     r"Embedding\(10, 3\) needs integer word ids, got dtype float64"),
    (lambda: nn.MaxOverTime().forward(np.ones((2, 3))), ValueError,
     r"MaxOverTime\(\) expected h of shape \(B, T, H\), got \(2, 3\)"),
    (lambda: nn.RNN(3, 5).backward(np.ones((2, 4, 5))), RuntimeError, r"before forward"),
    (lambda: nn.RNN(3, 5, nonlinearity="sigmoid"), ValueError, r"'tanh' or 'relu'"),
])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_backward_rejects_an_upstream_gradient_of_the_wrong_shape():
    lstm = nn.LSTM(3, 5)
    lstm.forward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match=r"LSTM\(3, 5\).backward expected dL_dout of shape "
                                         r"\(2, 4, 5\) .*got \(4, 2, 5\)"):
        lstm.backward(np.ones((4, 2, 5)))


def test_load_torch_state_dict_names_both_sides_on_a_mismatch():
    with pytest.raises(ValueError, match=r"RNN\(3, 5.* weight_ih_l0 has shape \(3, 5\) here "
                                         r"\(torch's \(5, 3\), transposed\), the state dict's "
                                         r"is \(20, 3\)"):
        nn.RNN(3, 5).load_torch_state_dict(torch.nn.LSTM(3, 5, batch_first=True).state_dict())
    with pytest.raises(KeyError, match=r"unexpected \['bias_hh_l1', 'bias_ih_l1'"):
        nn.RNN(3, 5).load_torch_state_dict(torch.nn.RNN(3, 5, num_layers=2).state_dict())
