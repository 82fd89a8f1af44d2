"""Lesson 4's disk network and data (course_lib.disk_net): what the explorer, the studies and
lesson 7 build on."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import nn
from course_lib.disk_net import build_disk_net, disk_data


def test_build_disk_net_takes_mixed_one_activation_or_one_per_layer():
    mixed = build_disk_net(hidden=4, depth=3, activation="mixed")
    assert [type(m).__name__ for m in mixed] == ["Linear", "ReLU", "Linear", "ReLU", "Linear",
                                                  "Tanh", "Linear"]
    listed = build_disk_net(hidden=4, depth=2, activation="tanh, relu")
    assert [type(m) for m in listed][1::2] == [nn.Tanh, nn.ReLU]
    same = build_disk_net(hidden=4, depth=2, activation="sigmoid")
    assert [type(m) for m in same][1::2] == [nn.Sigmoid, nn.Sigmoid]
    with pytest.raises(ValueError, match="one per hidden layer"):
        build_disk_net(depth=2, activation="relu, tanh, tanh")


def test_disk_data_uses_separate_draws_for_validation():
    (x, c), (x_val, c_val) = disk_data()
    assert x.shape == (1000, 2) and x_val.shape == (1000, 2)
    assert not np.array_equal(x, x_val)
