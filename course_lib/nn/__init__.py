"""The Module framework built in lessons 4-5, with PyTorch's user-facing names.

    model = Sequential(Linear(784, 300), ReLU(), Linear(300, 10))
    loss_fn, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = loss_fn(model(x), y); opt.zero_grad(); model.backward(loss_fn.backward()); opt.step()

module.py: Parameter, Module, Sequential · layers.py: Linear, ReLU, Sigmoid, Tanh, Dropout ·
losses.py: MSELoss, CrossEntropyLoss, one_hot · optim.py: SGD, StepDecay · init.py: schemes.
"""
from . import init
from .layers import Dropout, Linear, ReLU, Sigmoid, Tanh
from .losses import CrossEntropyLoss, Loss, MSELoss, one_hot
from .module import Module, Parameter, Sequential, ShapeError
from .optim import SGD, ExponentialLR, StepDecay

__all__ = ["init", "Module", "Parameter", "Sequential", "ShapeError", "Linear", "ReLU", "Sigmoid",
           "Tanh", "Dropout", "Loss", "MSELoss", "CrossEntropyLoss", "one_hot", "SGD",
           "StepDecay", "ExponentialLR"]
