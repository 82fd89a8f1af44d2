"""The Module framework built in lessons 4, 6-7 and 9 (recurrent layers), with PyTorch's user-facing names and defaults.

    model = Sequential(Linear(784, 300), ReLU(), Linear(300, 10))
    loss_fn, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = loss_fn(model(x), c); opt.zero_grad(); model.backward(loss_fn.backward()); opt.step()

module.py: Parameter, Module, Sequential · layers.py: Linear, ReLU, Sigmoid, Tanh, Dropout ·
losses.py: MSELoss, CrossEntropyLoss · optim.py: SGD, Adam, ExponentialLR · init.py: schemes ·
recurrent.py: Embedding, RNN, MaxOverTime, clip_grad_norm · lstm.py: LSTM ·
text_classifier.py: TextClassifier (lesson 9) ·
``one_hot`` is :func:`course_lib.functions.one_hot`. Parameters are float32 unless asked otherwise.
"""
from ..functions import one_hot
from . import init
from .layers import Dropout, Linear, ReLU, Sigmoid, Tanh
from .losses import CrossEntropyLoss, Loss, MSELoss
from .lstm import LSTM
from .module import Module, Parameter, Sequential, ShapeError
from .optim import SGD, Adam, ExponentialLR
from .recurrent import RNN, Embedding, MaxOverTime, clip_grad_norm
from .text_classifier import TextClassifier

__all__ = ["init", "Module", "Parameter", "Sequential", "ShapeError", "Linear", "ReLU", "Sigmoid",
           "Tanh", "Dropout", "Loss", "MSELoss", "CrossEntropyLoss", "one_hot", "SGD",
           "Adam", "ExponentialLR", "Embedding", "RNN", "LSTM", "MaxOverTime", "clip_grad_norm",
           "TextClassifier"]
