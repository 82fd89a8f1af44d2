"""Verdicts decided in the grader's process: a check passes when its value matches the reference.

Each call of a :mod:`course_lib.checks` function reports the value it was given (``got``). When
the instructor's source runs (the reference run), the grader keeps those values per test cell.
A student's test cell then earns its points only if, besides finishing without an error, it
reported the same number of checks, of the same kind and exercise, in the same order, each with
a value that matches the reference value: same shape, and within the reference check's
``rtol``/``atol`` (``expect_close``), or equal (``expect_equal``). Tolerances and hints come from
the reference run, never from the student's process, and the comparison runs here, out of the
student's reach. Test cells without checks (plain ``assert``) are judged by their error status
alone, as nbgrader does.

Output on stderr (a warning) fails a test cell by nbgrader's rule, which stands for cells without
checks. A cell whose reference run reported checks is decided by its values instead: a warning
there (an unused ``np.exp`` overflow in a correct solution) costs nothing and is shown in the
cell's message (:func:`decided_by_values`, :func:`warning_note`).
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..checks import diagnose

MAX_OBSERVATIONS = 10_000


@dataclass
class Observation:
    """One value a check received: ``kind`` is ``close`` or ``equal``; ``value`` an array or text."""

    kind: str
    exercise: str
    value: Any
    params: dict = field(default_factory=dict)


def _value(desc: Any) -> Any:
    if not isinstance(desc, dict):
        raise ValueError("value is not described")
    if "array" in desc:
        shape = desc.get("shape")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError("bad shape")
        raw = base64.b64decode(str(desc["array"]), validate=True)
        if len(raw) != 8 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError("array size does not match its shape")
        return np.frombuffer(raw, dtype=np.float64).reshape(shape)
    if "json" in desc:
        got = desc["json"]
        return tuple(got) if desc.get("tuple") and isinstance(got, list) else got
    return ("text", str(desc.get("text", ""))[:20_000])


def decode(entries: Any) -> list[Observation]:
    """Observations from a worker's reply; ValueError when they are not well formed."""
    if not isinstance(entries, list) or len(entries) > MAX_OBSERVATIONS:
        raise ValueError("observations are not a list")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kind") not in ("close", "equal"):
            raise ValueError("malformed observation")
        try:
            value = _value(entry.get("value"))
        except (ValueError, TypeError, OverflowError, binascii.Error) as err:  # e.g. shape [10**30]
            raise ValueError(f"malformed value: {err}") from None
        params = entry.get("params") if isinstance(entry.get("params"), dict) else {}
        out.append(Observation(entry["kind"], str(entry.get("exercise", ""))[:200], value, params))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True)))
    return type(a) is type(b) and a == b


def _floats(text: str, limit: int = 8) -> str:
    return text if len(text) <= limit + 40 else text[:limit + 40] + "…"


def _close_message(ref: Observation, got: Any) -> str | None:
    rtol, atol = float(ref.params.get("rtol", 1e-6)), float(ref.params.get("atol", 1e-8))
    expected = ref.value
    if not isinstance(got, np.ndarray):
        return "expected an array of numbers, got something else"
    if not isinstance(expected, np.ndarray):
        return "the reference value is not numeric"
    if got.shape != expected.shape:
        msg = f"expected shape {expected.shape}, got shape {got.shape}"
        if got.ndim == 2 and got.shape == expected.shape[::-1]:
            msg += "\n  hint: the shape is transposed: check x @ W vs W @ x, or a missing .T"
        return msg
    if np.all(np.isfinite(got)) and np.allclose(got, expected, rtol=rtol, atol=atol):
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got - expected)
    bad = ~np.isfinite(err)
    worst = np.unravel_index(int(np.argmax(bad if bad.any() else err)), expected.shape) if err.size else ()
    lines = [f"shape {expected.shape}; max abs error {err[worst]:.3g} at index "
             f"{tuple(int(i) for i in worst)}: expected {expected[worst]:.6g}, got {got[worst]:.6g}"]
    hints = ["your result contains NaN or inf: look for log(0), exp overflow or 0/0"] if bad.any() else []
    hints += diagnose(got, expected, rtol, atol)
    hints += [str(h) for h in ref.params.get("hints", []) if isinstance(h, str)]
    lines += [f"  hint: {h}" for h in hints]
    return "\n".join(lines)


def compare(reference: list[Observation], observed: list[Observation]) -> str | None:
    """None when ``observed`` matches ``reference``; otherwise the first difference, for people."""
    for n, ref in enumerate(reference, 1):
        where = f"check {n} of {len(reference)} [{ref.exercise}]"
        if n > len(observed):
            return (f"{where} was never reached: the cell reported {len(observed)} of "
                    f"{len(reference)} checks")
        got = observed[n - 1]
        if (got.kind, got.exercise) != (ref.kind, ref.exercise):
            return f"{where}: a different check ran here ({got.kind} [{got.exercise}])"
        if ref.kind == "close":
            problem = _close_message(ref, got.value)
        else:
            problem = None if _same(got.value, ref.value) else (
                f"wrong {ref.params.get('what', 'result')}: expected {_show(ref.value)}, "
                f"got {_show(got.value)}")
        if problem:
            return f"{where} does not match the instructor's solution: {problem}"
    if len(observed) > len(reference):
        return (f"the cell reported {len(observed)} checks where the instructor's solution "
                f"reported {len(reference)}")
    return None


def decided_by_values(reference: list[Observation] | None, own_observations: Any) -> bool:
    """Whether a test cell is judged by its checks' values rather than by nbgrader's stderr rule:
    its reference run reported checks (``reference``; None in the reference run itself and in
    ``check``, where the cell's ``own_observations`` are the ones to go by)."""
    return bool(reference) if reference is not None else bool(own_observations)


def warning_note(stderr: str, limit: int = 2000) -> str:
    """The message of a value-decided cell that wrote to stderr, or "" when it wrote nothing."""
    text = stderr.strip()
    if not text:
        return ""
    return ("the cell wrote to stderr; not counted, since its checks' values decide it:\n"
            + (text if len(text) <= limit else text[:limit] + " [...]"))


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "text":
        return _floats(value[1], 80)
    return _floats(repr(value), 80)
