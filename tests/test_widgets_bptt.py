"""Lesson 9's gradient-flow explorer, driven without a browser: its curve is autograd's, and it moves
the way the recursion says."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib import nn  # noqa: E402
from course_lib.widgets.bptt import gradient_flow_explorer, gradient_per_token  # noqa: E402


@pytest.mark.parametrize("cell", ["RNN, tanh", "RNN, relu", "LSTM"])
def test_the_curve_is_the_norm_of_torch_autograds_input_gradient(cell):
    T, B, H, scale, forget_bias = 12, 4, 6, 1.7, 1.5
    ours = gradient_per_token(cell, scale, forget_bias, T=T, B=B, H=H, seed=3)
    rng = np.random.default_rng(3)  # the same draws, in the same order, as gradient_per_token
    if cell == "LSTM":
        layer = nn.LSTM(H, H, rng=rng, dtype=np.float64)
        twin = torch.nn.LSTM(H, H, batch_first=True, dtype=torch.float64)
    else:
        nonlinearity = cell.split(", ")[1]
        layer = nn.RNN(H, H, nonlinearity=nonlinearity, rng=rng, dtype=np.float64)
        twin = torch.nn.RNN(H, H, nonlinearity=nonlinearity, batch_first=True, dtype=torch.float64)
    x = torch.tensor(rng.standard_normal((B, T, H)), requires_grad=True)
    with torch.no_grad():
        for name, p in twin.named_parameters():
            value = getattr(layer, name).value
            p.copy_(torch.from_numpy(value.T if name in layer.torch_transposed else value))
        twin.weight_hh_l0 *= scale
        if cell == "LSTM":
            twin.bias_ih_l0[H:2 * H] += forget_bias
    out, last = twin(x)
    (last[0] if cell == "LSTM" else last).sum().backward()
    np.testing.assert_allclose(ours, x.grad.norm(dim=(0, 2)).numpy(), rtol=1e-10)


def test_small_recurrent_weights_make_the_gradient_vanish_and_large_relu_ones_explode():
    vanishing = gradient_per_token("RNN, tanh", scale=0.5)
    exploding = gradient_per_token("RNN, relu", scale=4.0)
    assert vanishing[0] / vanishing[-1] < 1e-20
    assert exploding[0] / exploding[-1] > 1e3


def test_a_positive_forget_bias_lets_the_lstm_carry_the_gradient_further_back():
    closed, open_ = gradient_per_token("LSTM", forget_bias=0.0), gradient_per_token("LSTM", forget_bias=3.0)
    assert open_[0] / open_[-1] > 1e6 * closed[0] / closed[-1]


def test_moving_a_control_redraws_the_picture():
    explorer = gradient_flow_explorer(T=30)
    title, png = explorer.figure.axes[0].get_title(), explorer.png()
    explorer.controls["scale"].value = 4.0  # what dragging the slider does
    assert explorer.figure.axes[0].get_title() != title and explorer.png() != png
    explorer.update(cell="LSTM", forget_bias=3.0)
    assert "forget bias +3" in explorer.figure.axes[0].get_legend().get_texts()[1].get_text()


def test_unknown_controls_and_cells_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose from"):
        gradient_flow_explorer(T=10).update(lr=0.1)
    with pytest.raises(ValueError, match="cell must be one of"):
        gradient_per_token("GRU")
