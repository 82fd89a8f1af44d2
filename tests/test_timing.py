"""The timing helpers of lesson 6 and benchmarks/numpy_vs_torch.py: same work on both sides."""
import numpy as np
import torch

from course_lib import nn
from course_lib.timing import median_seconds, numpy_epoch, seconds, torch_epoch


def test_numpy_and_torch_epochs_train_the_same_network_to_the_same_loss():
    rng = np.random.default_rng(0)
    x, c = rng.random((96, 5), dtype=np.float32), rng.integers(0, 3, 96)
    ours = nn.Sequential(nn.Linear(5, 4, rng=0), nn.ReLU(), nn.Linear(4, 3, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        for mine, t_layer in zip([ours[0], ours[2]], [theirs[0], theirs[2]]):
            t_layer.weight.copy_(torch.from_numpy(mine.weight.value.T))
            t_layer.bias.copy_(torch.from_numpy(mine.bias.value))
    order = rng.permutation(96)
    loss = numpy_epoch(ours, nn.CrossEntropyLoss(), nn.SGD(ours.parameters(), lr=0.1), x, c,
                       order, 16)
    t_loss = torch_epoch(theirs, torch.nn.CrossEntropyLoss(),
                         torch.optim.SGD(theirs.parameters(), lr=0.1), torch.from_numpy(x),
                         torch.from_numpy(c), order, 16)
    assert abs(loss - t_loss) < 1e-5


def test_median_seconds_calls_every_run_on_the_same_fresh_orders():
    seen = {"a": [], "b": []}
    medians = median_seconds({name: seen[name].append for name in seen}, n_data=10, repeats=3,
                             rng=np.random.default_rng(0), n=4, warm_up=2)
    assert set(medians) == {"a", "b"} and all(s >= 0 for s in medians.values())
    assert [len(o) for o in seen["a"]] == [2, 4, 4, 4]
    assert all(np.array_equal(a, b) for a, b in zip(seen["a"][1:], seen["b"][1:]))
    assert seconds(sum, [1, 2]) >= 0
