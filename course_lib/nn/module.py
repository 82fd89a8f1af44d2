"""The Module framework of lesson 4: parameters, the Module interface, and Sequential.

A module is a function with a memory: ``forward(x)`` computes the output and keeps what the
backward pass will need; ``backward(dL_dy)`` receives the gradient of the loss with respect to
that output and returns the gradient with respect to the input, after adding the gradients of
its own parameters to their ``.grad``. The names follow PyTorch (``Module``, ``Sequential``,
``parameters()``, ``train()``/``eval()``, ``zero_grad()``) so that the switch to ``torch.nn``
in lesson 6 changes the imports, not the ideas.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np


class ShapeError(ValueError):
    """An input whose shape does not fit a layer. ``detail`` is the message without the layer name."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = message if detail is None else detail


class Parameter:
    """A learnable array ``value`` and ``grad``, the gradient of the loss with respect to it.

    ``grad`` has the shape and dtype of ``value`` and starts at zero. Backward passes *add* to it
    (as in PyTorch), so call ``zero_grad()`` (or the optimizer's) before each backward pass unless
    you mean to accumulate over several batches.
    """

    def __init__(self, value: np.ndarray) -> None:
        self.value = np.asarray(value)
        self.grad = np.zeros_like(self.value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    def zero_grad(self) -> None:
        self.grad[...] = 0  # in place: code holding a reference to grad sees the zeros

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"


class Module:
    """Base class: subclasses define ``forward`` and ``backward``.

    ``backward`` *adds* to each parameter's ``.grad`` (as ``loss.backward()`` does in PyTorch):
    gradients of several batches sum up until ``zero_grad()`` resets them.
    Parameters and sub-modules are found by looking at the instance's attributes, so a layer
    only has to store them (``self.weight = Parameter(...)``); ``named_parameters()`` names them
    by attribute path (``"weight"``, ``"0.bias"`` inside a Sequential).
    """

    training: bool = True
    # A layer may skip computing dL_dx when nothing upstream needs it (the first layer of a
    # network: the data are not learned). Sequential sets this; backward then returns None.
    needs_input_grad: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def backward(self, dL_dy: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError(f"{type(self).__name__} must define backward(dL_dy)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, Parameter)`` for this module's parameters, then its children's."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its children to training mode (``mode=False``: evaluation)."""
        self.training = mode
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def _missing_forward(self) -> RuntimeError:
        return RuntimeError(f"{self!r}.backward() was called before forward(): run a forward "
                            "pass first, the backward pass needs its saved input")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 25), ReLU(), Linear(25, 2))``.

    Adjacent Linear layers are checked when the network is built (sizes, and one dtype for all
    parameters: a float64 layer would silently upcast a float32 network), and an input that does
    not fit names the layer it reached. The first layer computes no gradient for the network input
    unless ``needs_input_grad`` is set (as in PyTorch, where the data do not require grad):
    ``backward`` then returns None. Set it to True to get dL_dx (e.g. for a gradient check).
    """

    def __init__(self, *modules: Module, needs_input_grad: bool = False) -> None:
        if not modules:
            raise ValueError("Sequential needs at least one module, e.g. Sequential(Linear(2, 1))")
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential argument {i} is {m!r}, not a Module: pass layers "
                                "as separate arguments, Sequential(Linear(2, 3), ReLU())")
        _check_sizes(modules)
        _check_dtypes(modules)
        self.layers = list(modules)
        for m in self.layers[1:]:
            m.needs_input_grad = True
        self.needs_input_grad = needs_input_grad

    @property
    def needs_input_grad(self) -> bool:  # type: ignore[override]
        return self.layers[0].needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value: bool) -> None:
        self.layers[0].needs_input_grad = value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, m in enumerate(self.layers):
            yield str(i), m

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n_in) -> y: (B, n_out) of the last layer."""
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ShapeError as e:
                raise ShapeError(f"Sequential layer {i} ({layer!r}) {e.detail}", e.detail) from None
        return x

    def backward(self, dL_dy: np.ndarray) -> np.ndarray | None:
        """dL_dy: (B, n_out) -> dL_dx: (B, n_in), or None when ``needs_input_grad`` is False."""
        for layer in reversed(self.layers):
            dL_dy = layer.backward(dL_dy)
        return dL_dy

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({i}): {m!r}".replace("\n", "\n  ") for i, m in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


def _check_sizes(modules: tuple[Module, ...]) -> None:
    """Raise if a layer's ``in_features`` differs from the previous sized layer's ``out_features``.

    Activations and Dropout keep the shape, so they are skipped over.
    """
    prev: tuple[int, Module] | None = None
    for i, m in enumerate(modules):
        n_in, n_out = getattr(m, "in_features", None), getattr(m, "out_features", None)
        if prev is not None and n_in is not None and n_in != prev[1].out_features:
            j, p = prev
            raise ValueError(
                f"Sequential layer {i} ({m!r}) takes {n_in} inputs, but layer {j} ({p!r}) gives "
                f"{p.out_features} outputs: make them agree, e.g. layer {i} = "
                f"Linear({p.out_features}, {n_out})")
        if n_out is not None:
            prev = (i, m)


def _check_dtypes(modules: tuple[Module, ...]) -> None:
    """Raise if the modules' parameters do not all share one dtype."""
    first: tuple[int, Module, np.dtype] | None = None
    for i, m in enumerate(modules):
        for _, p in m.named_parameters():
            if first is None:
                first = (i, m, p.value.dtype)
            elif p.value.dtype != first[2]:
                j, f, dtype = first
                raise TypeError(
                    f"Sequential layer {i} ({m!r}) has {p.value.dtype} parameters, but layer {j} "
                    f"({f!r}) has {dtype}: one network computes in one dtype. Build every layer "
                    f"with the same dtype= (the default, float32, unless you are checking gradients)")
