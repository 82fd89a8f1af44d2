"""TextClassifier, the framework's sentiment model: its torch twin's loss and gradients; training."""
import numpy as np
import pytest
import torch

from course_lib import nn
from course_lib.gradcheck import rel_error
from course_lib.rnn import SentimentClassifier


def padded_batch(rng, V=30, B=5, T=7):
    lengths = rng.integers(1, T + 1, B)
    ids = np.where(np.arange(T) < lengths[:, None], rng.integers(1, V, (B, T)), 0)
    return ids, rng.integers(0, 2, B)


@pytest.mark.parametrize("kind, nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh")])
def test_text_classifier_gives_its_torch_twins_loss_and_gradients(kind, nonlinearity):
    ids, c = padded_batch(np.random.default_rng(0))
    twin = SentimentClassifier(30, kind, emb=4, hidden=6, nonlinearity=nonlinearity, dropout=0.5,
                               seed=1).double().eval()
    ours = nn.TextClassifier(30, 4, 6, kind, nonlinearity, dropout=0.5, dtype=np.float64).eval()
    ours.load_torch_state_dict(twin.state_dict())
    loss_t = torch.nn.functional.cross_entropy(twin(torch.tensor(ids)), torch.tensor(c))
    loss_t.backward()
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(ours(ids), c)
    ours.backward(loss_fn.backward())
    assert abs(loss - loss_t.item()) < 1e-12
    twin_params = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        grad = twin_params[name].grad.numpy()
        assert rel_error(p.grad, grad.T if name in ours.torch_transposed else grad) < 1e-8, name


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_a_few_adam_steps_lower_the_training_loss(kind):
    rng = np.random.default_rng(0)
    ids, c = padded_batch(rng, V=50, B=16, T=10)
    model = nn.TextClassifier(50, 8, 8, kind, dropout=0.2, rng=0)
    loss_fn, opt = nn.CrossEntropyLoss(), nn.Adam(model.parameters(), lr=1e-2)
    first = loss_fn(model.eval()(ids), c)
    model.train()
    for _ in range(20):
        loss_fn(model(ids), c)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        nn.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
    assert loss_fn(model.eval()(ids), c) < 0.8 * first
    assert not model.embedding.weight.value[0].any()  # the padding row stayed zero


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_training_follows_its_torch_twin_step_for_step_in_float64(kind):
    """Same weights, batches, clipping and Adam: the two runs are one run (benchmarks/bptt_imdb.py
    trains them side by side in float32, where rounding alone makes them drift apart)."""
    rng = np.random.default_rng(2)
    batches = [padded_batch(rng, V=40, B=6, T=9) for _ in range(25)]
    twin = SentimentClassifier(40, kind, emb=5, hidden=7, seed=3).double()
    ours = nn.TextClassifier(40, 5, 7, kind, dtype=np.float64)
    ours.load_torch_state_dict(twin.state_dict())
    opt_t, opt = torch.optim.Adam(twin.parameters(), lr=1e-2), nn.Adam(ours.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for ids, c in batches:
        loss = loss_fn(ours(ids), c)
        opt.zero_grad()
        ours.backward(loss_fn.backward())
        nn.clip_grad_norm(ours.parameters(), 0.5)
        opt.step()
        loss_t = torch.nn.functional.cross_entropy(twin(torch.tensor(ids)), torch.tensor(c))
        opt_t.zero_grad()
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.5)
        opt_t.step()
        assert abs(loss - loss_t.item()) < 1e-10
    for name, p in ours.named_parameters():
        theirs = twin.state_dict()[name].numpy()
        assert rel_error(p.value, theirs.T if name in ours.torch_transposed else theirs) < 1e-10, name
