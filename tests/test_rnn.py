"""Sentiment classifiers: the self-built Elman RNN, masked max pooling, the training loop."""
import math

import pytest
import torch

from course_lib.data.batching import batch_by_tokens
from course_lib.rnn import (ElmanRNN, RNNHistory, SentimentClassifier, evaluate, fit,
                            masked_max_pool)
from course_lib.train import TrainingDiverged


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Two torch threads crawl on a busy 2-core machine; these models are too small to gain."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_elman_with_tanh_equals_torch_rnn_on_the_same_weights():
    torch.manual_seed(0)
    reference = torch.nn.RNN(5, 7, batch_first=True).double()
    elman = ElmanRNN(5, 7).double()
    elman.load_state_dict(reference.state_dict())
    x, h0 = torch.randn(3, 11, 5, dtype=torch.float64), torch.randn(1, 3, 7, dtype=torch.float64)
    for args in [(x,), (x, h0)]:
        (out, h_T), (ref_out, ref_h_T) = elman(*args), reference(*args)
        assert torch.allclose(out, ref_out, rtol=0, atol=1e-10)
        assert torch.allclose(h_T, ref_h_T, rtol=0, atol=1e-10)


def test_elman_gradients_equal_torch_rnn_gradients():
    torch.manual_seed(1)
    reference = torch.nn.RNN(4, 6, nonlinearity="relu", batch_first=True).double()
    elman = ElmanRNN(4, 6, nonlinearity="relu").double()
    elman.load_state_dict(reference.state_dict())
    x = torch.randn(2, 9, 4, dtype=torch.float64)
    elman(x)[0].square().sum().backward()
    reference(x)[0].square().sum().backward()
    for (name, p), q in zip(elman.named_parameters(), reference.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=1e-10), name


def test_residual_elman_adds_the_previous_state():
    torch.manual_seed(2)
    plain, residual = ElmanRNN(3, 4, "sigmoid").double(), ElmanRNN(3, 4, "sigmoid", residual=True)
    residual = residual.double()
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 1, 3, dtype=torch.float64)
    h0 = torch.randn(1, 2, 4, dtype=torch.float64)
    f_h0 = torch.sigmoid(x[:, 0] @ plain.weight_ih_l0.T + plain.bias_ih_l0
                         + h0[0] @ plain.weight_hh_l0.T + plain.bias_hh_l0)
    assert torch.allclose(residual(x, h0)[0][:, 0], f_h0 + h0[0])
    assert torch.allclose(plain(x, h0)[0][:, 0], f_h0)


def test_elman_equals_torch_rnn_only_when_torch_reads_time_from_axis_1():
    """Report C's pitfall: nn.RNN without batch_first=True reads a (B, T, e) batch as
    (T, B, e), running the recurrence over the batch axis. The outputs keep the (B, T, H) shape,
    so only the values (or the last state's shape) give the mistake away."""
    torch.manual_seed(5)
    elman = ElmanRNN(4, 6).double()
    right, pitfall = (torch.nn.RNN(4, 6, batch_first=b).double() for b in (True, False))
    right.load_state_dict(elman.state_dict())
    pitfall.load_state_dict(elman.state_dict())
    x = torch.randn(3, 8, 4, dtype=torch.float64)
    (out, h_T), (right_out, _), (pitfall_out, pitfall_h_T) = elman(x), right(x), pitfall(x)
    assert torch.allclose(out, right_out, rtol=0, atol=1e-10)
    assert pitfall_out.shape == out.shape == (3, 8, 6)
    assert not torch.allclose(out, pitfall_out, rtol=0, atol=1e-3)
    # Batch row 0 is "time step" 0: each of its tokens is read alone, from h_0 = 0, no memory.
    tokens_alone = elman(x[0].unsqueeze(1))[0][:, 0]
    assert torch.allclose(pitfall_out[0], tokens_alone, rtol=0, atol=1e-10)
    assert h_T.shape == (1, 3, 6) and pitfall_h_T.shape == (1, 8, 6)


def test_residual_around_adds_the_embedding_to_the_recurrent_output():
    model = SentimentClassifier(40, "rnn", emb=5, hidden=5, residual="around", seed=3).eval()
    x = torch.tensor([[4, 9, 2, 0], [7, 1, 3, 8]])
    e = model.embedding(x)
    expected = model.out(masked_max_pool(e + model.body(e)[0], x != 0))
    assert torch.allclose(model(x), expected, atol=1e-6)
    plain = SentimentClassifier(40, "rnn", emb=5, hidden=5, seed=3).eval()
    assert not torch.allclose(plain(x), expected, atol=1e-3)


@pytest.mark.parametrize("residual, inside", [(None, False), ("around", False),
                                              ("inside", True)])
def test_only_the_inside_residual_changes_the_recurrence(residual, inside):
    model = SentimentClassifier(20, "elman", emb=4, hidden=4, residual=residual)
    assert model.body.residual is inside


def test_masked_max_pool_is_the_max_of_the_unpadded_part():
    torch.manual_seed(3)
    h = torch.randn(3, 5, 4)
    lengths = [5, 2, 1]
    mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]
    pooled = masked_max_pool(h, mask)
    for b, n in enumerate(lengths):
        assert torch.equal(pooled[b], h[b, :n].max(dim=0).values)


def test_masked_max_pool_ignores_whatever_is_at_padded_positions():
    torch.manual_seed(4)
    h = torch.randn(2, 6, 3) - 10  # all negative: a padded 0 would win an unmasked max
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    changed = h.clone()
    changed[~mask] = torch.randn(int((~mask).sum()), 3) * 100
    assert torch.equal(masked_max_pool(h, mask), masked_max_pool(changed, mask))
    assert (masked_max_pool(h, mask) < -5).all()


def test_masked_max_pool_of_an_all_padding_row_is_zero():
    assert torch.equal(masked_max_pool(torch.ones(1, 3, 2), torch.zeros(1, 3, dtype=torch.bool)),
                       torch.zeros(1, 2))


@pytest.mark.parametrize("kind", ["mlp", "elman", "rnn", "lstm"])
def test_every_kind_gives_two_logits_that_ignore_padding(kind):
    model = SentimentClassifier(50, kind, emb=8, hidden=6).eval()
    x = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    logits = model(x)
    assert logits.shape == (2, 2)
    assert torch.allclose(model(x[:1, :3]), logits[:1], atol=1e-6)


def test_same_seed_same_weights():
    a, b = (SentimentClassifier(30, "elman", 4, 4, seed=7) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = SentimentClassifier(30, "elman", 4, 4, seed=8)
    assert not torch.equal(a.out.weight, c.out.weight)


def test_invalid_settings_say_what_is_allowed():
    with pytest.raises(ValueError, match="kind"):
        SentimentClassifier(10, "gru")
    with pytest.raises(ValueError, match="residual must be one of"):
        SentimentClassifier(10, "elman", residual=True)
    with pytest.raises(ValueError, match="kind='elman'"):
        SentimentClassifier(10, "lstm", residual="inside")
    with pytest.raises(ValueError, match="emb == hidden"):
        SentimentClassifier(10, "rnn", emb=8, hidden=6, residual="around")
    with pytest.raises(ValueError, match="recurrent kind"):
        SentimentClassifier(10, "mlp", emb=6, hidden=6, residual="around")
    with pytest.raises(ValueError, match="tanh"):
        SentimentClassifier(10, "rnn", nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity"):
        ElmanRNN(3, 3, nonlinearity="swish")


def toy_task(n=256, seed=0):
    """Label 1 iff word 2 appears: learnable in a few steps by any of the models."""
    g = torch.Generator().manual_seed(seed)
    seqs, labels = [], []
    for i in range(n):
        length = int(torch.randint(3, 20, (1,), generator=g))
        seq = torch.randint(3, 20, (length,), generator=g).tolist()
        if i % 2:
            seq[int(torch.randint(0, length, (1,), generator=g))] = 2
        seqs.append(seq)
        labels.append(i % 2)
    return seqs, labels


@pytest.mark.parametrize("kind", ["mlp", "elman", "lstm"])
def test_fit_learns_a_toy_task_and_records_history(kind):
    seqs, labels = toy_task()
    val = list(batch_by_tokens(seqs, labels, 512, shuffle=False))
    model = SentimentClassifier(20, kind, emb=16, hidden=16)
    history = fit(model, lambda e: batch_by_tokens(seqs, labels, 512, seed=e), val, epochs=8,
                  lr=1e-2, progress=False)
    assert isinstance(history, RNNHistory) and len(history) == 8
    assert history.val_acc[-1] > 0.9 and evaluate(model, val)[1] == history.val_acc[-1]
    steps = len(history.batch_loss)
    assert steps == len(history.running_acc) > 8 and 0 <= min(history.running_acc) <= 1


def test_fit_is_reproducible_with_the_same_seed():
    seqs, labels = toy_task(64)
    runs = []
    for _ in range(2):
        model = SentimentClassifier(20, "elman", emb=8, hidden=8, dropout=0.3)
        runs.append(fit(model, lambda e: batch_by_tokens(seqs, labels, 256, seed=e), epochs=2,
                        progress=False).batch_loss)
    assert runs[0] == runs[1]


def test_a_diverging_loss_stops_training_with_a_hint_and_the_history():
    seqs, labels = toy_task(64)
    model = SentimentClassifier(20, "mlp", emb=8, hidden=8)
    with torch.no_grad():
        model.out.bias.fill_(math.inf)
    with pytest.raises(TrainingDiverged, match="learning rate") as err:
        fit(model, lambda e: batch_by_tokens(seqs, labels, 256, seed=e), progress=False)
    assert isinstance(err.value.history, RNNHistory)


def test_clipping_bounds_the_gradient_norm():
    seqs, labels = toy_task(64)
    model = SentimentClassifier(20, "elman", emb=8, hidden=8)
    fit(model, lambda e: batch_by_tokens(seqs, labels, 256, seed=e), lr=0.0, clip=1e-3,
        progress=False)
    last_grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert torch.linalg.vector_norm(torch.cat([g.flatten() for g in last_grads])) <= 1.0001e-3


def test_validation_batches_must_be_a_list():
    with pytest.raises(TypeError, match="list"):
        fit(SentimentClassifier(20, "mlp", 4, 4), lambda e: [], iter([]), progress=False)
