"""Check hand-written gradients: finite differences and comparison with torch.autograd (lessons 1-6 and 9).

Central differences, (f(x + h) - f(x - h)) / 2h, have an error of order h^2 (one-sided ones: h),
so in float64 h = 1e-5 .. 1e-6 gives about 1e-9 relative error on smooth functions. Checks need
float64 throughout: in float32 the rounding error of f divided by 2h swamps the derivative. So
``check_module`` and ``compare_to_torch`` convert to float64 themselves (a float32 network is
checked in float64 and handed back unchanged), and ``numerical_gradient`` asks for a float64 ``x``,
as ``torch.autograd.gradcheck`` does.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np


def _probes(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float
            ) -> Iterator[tuple[tuple[int, ...], np.ndarray, np.ndarray]]:
    """For each entry of ``x``: (index, f(x + h e_i), f(x - h e_i)); ``x`` is changed in place and
    restored to the bit-identical original value after each entry."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 ndarray (it is changed in place, and in float32 "
                        f"rounding swamps a step of {h:g}), got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}; pass x.astype(np.float64), or build the "
                        "model with dtype=np.float64 when f reads its weights")
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            # Copies, because f may return a buffer that the next call overwrites.
            plus = np.array(f(x), dtype=np.float64)
            x[index] = original - h
            minus = np.array(f(x), dtype=np.float64)
        finally:
            x[index] = original
        yield index, plus, minus


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
                       ) -> np.ndarray:
    """dL/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h for a scalar ``f``; returns the shape of ``x``.

    ``x`` (a float64 ndarray) is modified in place during the call and restored exactly.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index, plus, minus in _probes(f, x, h):
        if plus.size != 1:
            raise ValueError(f"f must return a scalar, got shape {plus.shape}; "
                             "for an array-valued f use numerical_gradient_array.")
        grad[index] = (plus.item() - minus.item()) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                             grad_out: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of sum(f(x) * grad_out) w.r.t. ``x``: what a layer's backward(grad_out) must return.

    d/dx_i Σ_j f_j(x) g_j ≈ Σ_j (f_j(x + h e_i) - f_j(x - h e_i)) g_j / 2h, with g = ``grad_out``
    of the shape of f(x). The difference is taken before the sum, which loses less precision.
    """
    grad_out = np.asarray(grad_out, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for index, plus, minus in _probes(f, x, h):
        if plus.shape != grad_out.shape:
            raise ValueError(f"grad_out has shape {grad_out.shape} but f(x) has shape {plus.shape}")
        grad[index] = np.sum((plus - minus) * grad_out) / (2 * h)
    return grad


def rel_error(a, b) -> float:
    """max_i |a_i - b_i| / max_i (|a_i| + |b_i|): the worst difference, relative to the largest entry.

    0 for identical arrays, at most 1, 0 when both are all zeros. Unlike a per-entry relative error,
    entries that are near 0 (where finite differences are pure rounding noise) cannot dominate;
    a wrong entry counts in proportion to the array's scale. Rules of thumb in float64 with
    central differences: < 1e-7 correct, 1e-7 .. 1e-4 look closer (kinks such as relu at 0),
    > 1e-4 a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else 0.0


def check_module(module, x: np.ndarray, seed: int = 0, h: float = 1e-6) -> dict[str, float]:
    """Compare ``module.backward`` with finite differences; returns {"input": err, name: err, ...}.

    ``module`` needs ``forward(x) -> y``, ``backward(grad_out) -> grad_in`` and
    ``named_parameters()`` yielding (name, param) with ndarrays ``param.value`` and ``param.grad``.
    The check runs in float64 whatever the module's dtype: each parameter's value is replaced by a
    float64 copy for the check and restored afterwards (the same array, unchanged; ``grad`` is
    left at zero). One forward + backward with a random upstream gradient g (seeded) gives the
    analytic gradients, saved before any probing; then sum(forward(x) * g) is differentiated
    numerically w.r.t. x and every parameter (those probes call forward only, so no gradient
    accumulates). Errors are ``rel_error``. The forward must be deterministic: put Dropout in
    eval mode or fix its mask.
    """
    params = dict(module.named_parameters())
    if "input" in params:
        raise ValueError("a parameter is named 'input', which clashes with the input's key")
    originals = {name: p.value for name, p in params.items()}
    try:
        for p in params.values():
            p.value = np.array(p.value, dtype=np.float64)
            p.grad = np.zeros_like(p.value)  # backward may accumulate into grad; start from 0
        return _check_float64(module, np.array(x, dtype=np.float64), params, seed, h)
    finally:
        for name, p in params.items():
            p.value = originals[name]
            p.grad = np.zeros_like(p.value)


def _check_float64(module, x: np.ndarray, params: dict, seed: int, h: float) -> dict[str, float]:
    y = np.array(module.forward(x), dtype=np.float64)
    if not np.array_equal(y, module.forward(x)):
        raise ValueError("module.forward gave two different outputs for the same input; finite "
                         "differences need a deterministic forward (Dropout in eval mode or a "
                         "fixed mask).")
    grad_out = np.random.default_rng(seed).standard_normal(y.shape)
    analytic = {"input": np.array(module.backward(grad_out), dtype=np.float64)}
    analytic.update({name: np.array(p.grad, dtype=np.float64) for name, p in params.items()})

    errors = {"input": rel_error(analytic["input"],
                                 numerical_gradient_array(module.forward, x, grad_out, h))}
    for name, p in params.items():
        numeric = numerical_gradient_array(lambda _: module.forward(x), p.value, grad_out, h)
        errors[name] = rel_error(analytic[name], numeric)
    return errors


def compare_to_torch(name: str, ours, theirs, rtol: float = 1e-7, atol: float = 1e-10,
                     verbose: bool = True) -> bool:
    """Compare our ndarray with a torch tensor (pass ``t.grad`` for its gradient) in float64.

    Prints ``name | exact: … | approximate: … | maxdiff: …`` when ``verbose``; returns whether
    |ours - theirs| <= atol + rtol |theirs| everywhere. Shapes must match exactly.
    """
    if theirs is None:
        raise ValueError(f"{name}: the torch side is None; for a .grad call loss.backward() "
                         "first, and t.retain_grad() if t is not a leaf tensor.")
    if hasattr(theirs, "detach"):  # a torch tensor, without importing torch here
        theirs = theirs.detach().cpu().numpy()
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"{name}: ours has shape {ours.shape}, torch's has shape "
                         f"{theirs.shape}; a transposed weight or a missing batch axis?")
    exact = bool(np.array_equal(ours, theirs))
    approximate = bool(np.allclose(ours, theirs, rtol=rtol, atol=atol))
    maxdiff = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    if verbose:
        print(f"{name:15s}| exact: {exact!s:5} | approximate: {approximate!s:5} | "
              f"maxdiff: {maxdiff:.1e}")
    return approximate
