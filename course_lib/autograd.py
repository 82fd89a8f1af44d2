"""Tensor: a small reverse-mode automatic differentiation engine over NumPy arrays (lesson 5).

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    loss = ((x @ W + b).tanh() * 2 - x.sum()).mean()
    loss.backward()          # fills x.grad (and W.grad, b.grad if they require grad)

micrograd's design with arrays and PyTorch's names. Each op computes its output with NumPy and
records on it the parents and a backward closure written beside the forward: given g = dL/d(out)
it returns one gradient per parent, "local gradient × gradient from above" (lesson 4's backward
methods, in one line). ``backward()`` orders the graph once (an iterative depth-first search: an
RNN unrolled over 200 steps does not hit Python's recursion limit) and walks it from the loss to
the leaves, where two rules do the rest: a tensor used more than once *adds* the gradients of its
uses, and a broadcast operand's gradient is summed over the broadcast axes (``_unbroadcast``).

dtype: a float array keeps its dtype (and its memory, like ``torch.from_numpy``); numbers, lists
and integer arrays become float32, torch's default. A number or array meeting a tensor takes the
tensor's dtype (``x * 0.5`` stays float32), and so does a gradient.

As in torch: ``.grad`` is kept on leaves that require grad (and tensors that called
``retain_grad()``) and accumulates over calls until set to None; ``backward()`` frees the graph's
closures unless ``retain_graph=True``; ``no_grad()`` records nothing; ``grad_fn`` is torch's name
for the op that made a tensor (``"MulBackward0"``; None for a leaf), except that all indexing is
``"IndexBackward0"`` and ``2 - x`` is ``"SubBackward0"``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


class no_grad:
    """``with no_grad():`` ops inside record no graph, as ``torch.no_grad`` (updates, eval)."""

    enabled = True  # read by every operation: record the graph or not

    def __enter__(self) -> None:
        self._previous, no_grad.enabled = no_grad.enabled, False

    def __exit__(self, *exc) -> None:
        no_grad.enabled = self._previous


def _freed(g):
    raise RuntimeError("Trying to backward through the graph a second time: the first backward() "
                       "freed its saved values. Call backward(retain_graph=True) the first time "
                       "if you need to backward twice, or build the graph again (run the forward).")


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes broadcasting added (leading) or stretched (size 1) -> ``shape``:
    a broadcast entry is used once per copy, so its gradient is the sum over the copies."""
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def _expand(g: np.ndarray, axis, keepdims: bool, shape: tuple) -> np.ndarray:
    """The gradient of a sum over ``axis`` copied back over the summed axes: (..) -> ``shape``."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


class Tensor:
    """An array ``data``, its ``grad`` (same shape, or None), the op that made it (``grad_fn``)."""

    __array_ufunc__ = None  # so ndarray + Tensor calls Tensor.__radd__, not an elementwise loop

    def __init__(self, data, requires_grad: bool = False):
        keep = isinstance(data, (np.ndarray, np.generic)) and np.issubdtype(data.dtype, np.floating)
        self.data: np.ndarray = np.asarray(data, dtype=None if keep else np.float32)
        self.requires_grad = requires_grad
        self.grad: np.ndarray | None = None
        self.grad_fn: str | None = None  # the op's name; None for a leaf
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable | None = None  # g -> one gradient per parent
        self._retains_grad = False

    # -- recording ---------------------------------------------------------------------------
    def _lift(self, other) -> Tensor:
        """A number or array as a constant Tensor of this tensor's dtype."""
        return other if isinstance(other, Tensor) else Tensor(np.asarray(other, self.data.dtype))

    @staticmethod
    def _record(data: np.ndarray, parents: tuple[Tensor, ...], backward: Callable,
                name: str) -> Tensor:
        """The output of an op: keeps its parents and backward only if a gradient will need them."""
        out = Tensor(data)
        if no_grad.enabled and any(p.requires_grad for p in parents):
            out.requires_grad, out.grad_fn = True, name
            out._parents, out._backward = parents, backward
        return out

    # -- arithmetic, broadcasting: closures return full-size gradients, the walk unbroadcasts --
    def __add__(self, other) -> Tensor:
        other = self._lift(other)
        a, b = self.data, other.data
        return self._record(a + b, (self, other), lambda g: (g, g), "AddBackward0")

    def __sub__(self, other) -> Tensor:
        other = self._lift(other)
        a, b = self.data, other.data
        return self._record(a - b, (self, other), lambda g: (g, -g), "SubBackward0")

    def __mul__(self, other) -> Tensor:
        other = self._lift(other)
        a, b = self.data, other.data
        return self._record(a * b, (self, other), lambda g: (g * b, g * a), "MulBackward0")

    def __truediv__(self, other) -> Tensor:
        other = self._lift(other)
        a, b = self.data, other.data
        return self._record(a / b, (self, other), lambda g: (g / b, -g * a / b**2), "DivBackward0")

    def __matmul__(self, other) -> Tensor:
        """``(B, n) @ (n, m) -> (B, m)``; both operands must be matrices."""
        other = self._lift(other)
        a, b = self.data, other.data
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: cannot multiply shapes {a.shape} and {b.shape}; expected "
                             "(B, n) @ (n, m). A transposed weight (use .T)? One example x needs "
                             "x.reshape(1, -1).")
        return self._record(a @ b, (self, other), lambda g: (g @ b.T, a.T @ g), "MmBackward0")

    def __pow__(self, p: float) -> Tensor:
        if isinstance(p, Tensor):
            raise TypeError("Tensor ** Tensor is not supported: the exponent must be a number")
        a, p = self.data, float(p)  # a Python float: a float32 tensor stays float32
        return self._record(a**p, (self,), lambda g: (g * p * a ** (p - 1),), "PowBackward0")

    def __neg__(self) -> Tensor:
        return self._record(-self.data, (self,), lambda g: (-g,), "NegBackward0")

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other) -> Tensor:
        return self._lift(other) - self

    def __rtruediv__(self, other) -> Tensor:
        return self._lift(other) / self

    def __rmatmul__(self, other) -> Tensor:
        return self._lift(other) @ self

    # -- elementwise functions: the local derivative times g -----------------------------------
    def exp(self) -> Tensor:
        e = np.exp(self.data)
        return self._record(e, (self,), lambda g: (g * e,), "ExpBackward0")

    def log(self) -> Tensor:
        a = self.data
        return self._record(np.log(a), (self,), lambda g: (g / a,), "LogBackward0")

    def relu(self) -> Tensor:
        a = self.data
        return self._record(np.maximum(a, 0), (self,), lambda g: (g * (a > 0),), "ReluBackward0")

    def sigmoid(self) -> Tensor:
        s = np.exp(-np.logaddexp(0, -self.data))  # 1 / (1 + e^-a) without overflow for a << 0
        return self._record(s, (self,), lambda g: (g * s * (1 - s),), "SigmoidBackward0")

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)
        return self._record(t, (self,), lambda g: (g * (1 - t**2),), "TanhBackward0")

    # -- reductions and shapes --------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (an int, a tuple, or None for all); each entry gets g back."""
        shape = self.shape
        return self._record(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                            lambda g: (_expand(g, axis, keepdims, shape),),
                            "SumBackward0" if axis is None else "SumBackward1")

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``: a sum divided by the n entries it averages; each gets g / n."""
        shape, m = self.shape, self.data.mean(axis=axis, keepdims=keepdims)
        n = self.data.size // max(m.size, 1)
        return self._record(m, (self,), lambda g: (_expand(g, axis, keepdims, shape) / n,),
                            "MeanBackward0" if axis is None else "MeanBackward1")

    @property
    def T(self) -> Tensor:
        return self._record(self.data.T, (self,), lambda g: (g.T,), "PermuteBackward0")

    def reshape(self, *shape) -> Tensor:
        """``reshape(2, 3)`` or ``reshape((2, 3))``; -1 infers one size, as in NumPy."""
        old = self.shape
        return self._record(self.data.reshape(*shape), (self,), lambda g: (g.reshape(old),),
                            "ViewBackward0")

    def __getitem__(self, index) -> Tensor:
        """NumPy indexing: ``Y[np.arange(B), c]`` picks one entry per row. The backward adds g
        into zeros at the picked places (``np.add.at``), so a repeated index gets the sum."""
        shape, dtype = self.shape, self.data.dtype

        def backward(g):
            full = np.zeros(shape, dtype)
            np.add.at(full, index, g)
            return (full,)
        return self._record(self.data[index], (self,), backward, "IndexBackward0")

    # -- the backward pass ------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Add dL/d(leaf) to ``.grad`` of every leaf below this tensor L that requires grad.

        ``grad``: dL/d(this tensor), needed unless this is a scalar (then 1). The graph's closures
        are freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad: no tensor it was "
                               "computed from has requires_grad=True, or it was computed under "
                               "no_grad()")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs: this "
                                   f"tensor has shape {self.shape}; reduce it first (.sum() or "
                                   f".mean()) or pass backward(grad) with a gradient of that shape")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward(grad): grad has shape {grad.shape}, but the tensor has "
                             f"shape {self.shape}; they must match")

        order = topological_order(self)
        grads = {self: grad}  # dL/d(node), complete once every use of the node has been visited
        for node in reversed(order):  # from the loss towards the leaves: uses before the used
            g = grads.pop(node, None)
            if g is None:  # a constant: nothing to pass on
                continue
            if node._retains_grad or node._backward is None:  # a leaf, or asked to keep it
                g_kept = np.array(g, node.dtype)  # a copy: other nodes may share the array g
                node.grad = g_kept if node.grad is None else node.grad + g_kept
            if node._backward is None:
                continue
            for parent, g_parent in zip(node._parents, node._backward(g)):
                if parent.requires_grad:
                    g_parent = _unbroadcast(g_parent, parent.shape)
                    # A tensor used more than once adds the gradients of its uses.
                    grads[parent] = grads[parent] + g_parent if parent in grads else g_parent
            if not retain_graph:
                node._backward = _freed

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor too at the next backward (as torch)."""
        self._retains_grad = True

    # -- small conveniences ------------------------------------------------------------------------
    def detach(self) -> Tensor:
        """The same data, cut from the graph (no grad)."""
        return Tensor(self.data)

    def item(self) -> float:
        return self.data.item()

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        text = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        if self.data.dtype != np.float32:
            text += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            text += f", grad_fn=<{self.grad_fn}>"
        elif self.requires_grad:
            text += ", requires_grad=True"
        return f"tensor({text})"


def topological_order(root: Tensor) -> list[Tensor]:
    """The tensors ``root`` was computed from, each after all of its parents, ``root`` last.

    Iterative depth-first search: a node is appended once all its parents have been.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if p not in seen)
    return order


def trace(root: Tensor) -> tuple[list[Tensor], list[tuple[Tensor, Tensor]]]:
    """The graph below ``root`` for drawing: (nodes in topological order, edges (parent, child))."""
    nodes = topological_order(root)
    return nodes, [(parent, child) for child in nodes for parent in child._parents]
