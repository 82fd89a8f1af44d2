"""Exercise checks that say what went wrong, not just that something did.

A failing check names the exercise, shows expected vs got (shape, max error), and, when the
mismatch has a recognisable shape (a constant factor, a transpose, a flipped sign), says which
usual mistake produces it.

Every check also reports the value it was given (``got``) to the functions in ``OBSERVERS``.
Nobody listens in a lesson; when a notebook is graded, the grader's worker listens, and the
grader, in its own process, compares each reported value with the value the same check
received when the instructor's solution ran (:mod:`course_lib.grading.verdict`). That
comparison, not the check's own verdict inside the student's interpreter, decides the points.

A check called without ``expected`` (the form hidden tests use) has no reference inside the
notebook at all: only the grader knows the right value, so code that rebinds or wraps the
check cannot copy it.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

#: Called as ``observer(kind, exercise, got, params)`` by every check, before it decides.
OBSERVERS: list[Callable[[str, str, Any, dict], None]] = []


def _observe(kind: str, exercise: str, got: Any, **params: Any) -> None:
    for observer in OBSERVERS:
        observer(kind, exercise, got, params)


class CheckFailed(AssertionError):
    """An exercise check failed; the message is written for the student."""


def _as_array(exercise: str, got: Any) -> np.ndarray:
    if got is None:
        raise CheckFailed(f"[{exercise}] your code returned None: did you forget `return`?")
    if hasattr(got, "detach"):  # a torch tensor
        got = got.detach().cpu().numpy()
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CheckFailed(f"[{exercise}] expected an array of numbers, got {type(got).__name__}: "
                          f"{err}") from None


def diagnose(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> list[str]:
    """Guess the usual mistake behind a mismatch of equal shapes."""
    hints = []
    if np.allclose(got, -expected, rtol=rtol, atol=atol):
        return ["the sign is flipped (gradient ascent instead of descent, or y - t vs t - y?)"]
    mask = np.abs(expected) > 1e-12
    if mask.any():
        with np.errstate(invalid="ignore", over="ignore"):
            ratios = got[mask] / expected[mask]
        factor = float(np.median(ratios))
        if (np.isfinite(factor) and abs(factor - 1) > 1e-3 and abs(factor) > 1e-12
                and np.allclose(got, factor * expected, rtol=max(rtol, 1e-6), atol=atol)):
            hints.append(f"every entry is {factor:.6g} times the expected one: a missing or extra "
                         "constant, e.g. averaging over the batch (1/B), the 1/(1-p) of dropout, "
                         "or the 2 in d(x^2)/dx")
    return hints


def expect_close(exercise: str, got: Any, expected: Any = None, rtol: float = 1e-6,
                 atol: float = 1e-8, hints: Sequence[str] = ()) -> None:
    """Raise :class:`CheckFailed` unless ``got`` equals ``expected`` within tolerance.

    The message names ``exercise``, both shapes, the max error, and likely mistakes:
    detected ones (transpose, constant factor, sign) first, then the given ``hints``.
    Without ``expected`` (hidden tests) only a grader can judge ``got``: here it must merely be
    an array of finite numbers.
    """
    _observe("close", exercise, got, rtol=rtol, atol=atol, hints=list(hints))
    g = _as_array(exercise, got)
    if expected is None:
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"[{exercise}] your result contains NaN or inf: look for log(0), "
                              "exp overflow or 0/0")
        return
    e = _as_array(exercise, expected)
    lines = [f"[{exercise}] does not match the expected result."]
    found: list[str] = []
    if g.shape != e.shape:
        lines.append(f"  expected shape {e.shape}, got shape {g.shape}")
        if g.ndim == 2 and g.shape == e.shape[::-1]:
            found.append("the shape is transposed: check the order in the matrix product "
                         "(x @ W vs W @ x) or a missing .T")
        elif g.size == e.size:
            found.append("same number of entries in another shape: check reshape/transpose")
    else:
        if np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=False) and np.all(np.isfinite(g)):
            return
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(g - e)
        bad = ~np.isfinite(err)
        if bad.any():
            found.append("your result contains NaN or inf: look for log(0), exp overflow or 0/0")
            worst = np.unravel_index(int(np.argmax(bad)), e.shape)
        else:
            worst = np.unravel_index(int(np.argmax(err)), e.shape)
        lines.append(f"  shape {e.shape}; max abs error {err[worst]:.3g} at index "
                     f"{tuple(int(i) for i in worst)}: expected {e[worst]:.6g}, got {g[worst]:.6g}")
        if g.ndim == 2 and g.shape[0] == g.shape[1] and np.allclose(g, e.T, rtol=rtol, atol=atol):
            found.append("you returned the transpose of the expected matrix")
        found += diagnose(g, e, rtol, atol)
    for hint in [*found, *hints]:
        lines.append(f"  hint: {hint}")
    raise CheckFailed("\n".join(lines))


def expect_equal(exercise: str, got: Any, expected: Any = None, what: str = "result") -> None:
    """Exact equality for integers, shapes, labels and the like (``expected=None``: see above)."""
    _observe("equal", exercise, got, what=what)
    if expected is None:
        return
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        same = np.array_equal(np.asarray(got), np.asarray(expected))
    else:
        same = got == expected
    if not same:
        raise CheckFailed(f"[{exercise}] wrong {what}: expected {expected!r}, got {got!r}")
