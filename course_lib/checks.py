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

When an earlier exercise that this check's code calls is wrong (its own check failed) or not
solved, the message leads with "exercise N (`name`) ... fix it first" and gives no hint about
this exercise (:mod:`course_lib.dependencies` finds the dependency in the student's code). An
exercise still holding its stub says "not solved yet", in a check and in Jupyter, without a
traceback. ``DIAGNOSE = False`` leaves out every hint, the dependency included: a message then
says only what differs, which is how the tests prove each hint comes from a diagnosis.
"""
from __future__ import annotations

import ast
import inspect
import types
from typing import Any, Callable, Sequence

import numpy as np

from . import dependencies

#: A check's mistakes: ``(hint, value)`` pairs, the value that usual mistake returns on the
#: check's input. The hint is shown only when ``got`` equals that value.
Mistakes = Sequence[tuple[str, Any]]

#: Properties a right result has: ``(statement, holds)``, e.g. ``("each row sums to 1",
#: lambda got: np.allclose(got.sum(axis=1), 1))``; a failing check names each one ``got`` breaks.
Properties = Sequence[tuple[str, Callable[[np.ndarray], bool]]]

#: Called as ``observer(kind, exercise, got, params)`` by every check, before it decides.
OBSERVERS: list[Callable[[str, str, Any, dict], None]] = []
#: False: messages say what differs and nothing else (no hint, no "fix exercise N first").
DIAGNOSE = True
REPLACE_STUB = "replace `raise NotImplementedError()` with your code"
NOT_SOLVED = f"not solved yet: {REPLACE_STUB}"  # also what the grader's reports say


def _observe(kind: str, exercise: str, got: Any, **params: Any) -> None:
    for observer in OBSERVERS:
        observer(kind, exercise, got, params)


class CheckFailed(AssertionError):
    """An exercise check failed; the message is written for the student.

    In IPython and Jupyter the message is all a failed check shows (``_render_traceback_``): no
    traceback through this module. When the student's own code raised (see :func:`call`), its
    traceback follows the message, so the student's lines stay visible. ``%tb verbose`` shows
    the full traceback.
    """

    def _render_traceback_(self) -> list[str]:
        first, *rest = str(self).splitlines() or [""]
        lines = [f"\x1b[1;31mCheckFailed\x1b[0m \x1b[1m{first}\x1b[0m", *rest]
        shell = _ipython()
        tb = getattr(shell, "InteractiveTB", None)
        cause = self.__cause__
        if tb is not None and cause is not None:
            lines += ["", "Your code raised it here:"]
            lines += tb.structured_traceback(type(cause), cause, cause.__traceback__, tb_offset=1)
        if tb is not None and getattr(tb, "mode", "") == "Verbose":
            lines += ["", *tb.structured_traceback(type(self), self, self.__traceback__)]
        else:
            lines.append("\x1b[2m(the full traceback: run %tb verbose in a new cell)\x1b[0m")
        return lines


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def call(exercise: str, function: Callable, *args: Any, errors: Mistakes = (),
         **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, turning a usual mistake's exception into a course message.

    ``errors`` holds ``(hint, text)`` pairs: when the call raises and ``"Type: message"`` of the
    exception contains ``text``, a :class:`CheckFailed` names the exercise and gives ``hint``,
    with the student's traceback under it. Any other exception passes unchanged.
    """
    try:
        return function(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 (re-raised unchanged unless a rule fits)
        cell = dependencies.check_cell(inspect.currentframe())
        if (stub := not_solved(err)) is not None:
            dependencies.record(exercise, "not solved", cell)
            dependencies.not_solved(stub)
            raise CheckFailed(f"[{exercise}] {stub}: {NOT_SOLVED}") from None
        dependencies.record(exercise, "failed", cell)
        said = f"{type(err).__name__}: {err}"
        cause = dependencies.broken_before(exercise, cell) if DIAGNOSE else None
        fits = [hint for hint, text in errors if text in said] if DIAGNOSE else []
        if not fits and cause is None:
            raise
        name = getattr(function, "__qualname__", "your code").rsplit("<locals>.", 1)[-1]
        lines = ([f"[{exercise}] {cause.lead()}", f"  {name} raised {said}"] if cause else
                 [f"[{exercise}] {name} raised {said}", *(f"  hint: {h}" for h in fits)])
        raise CheckFailed("\n".join(lines)) from err


def not_solved(err: BaseException) -> str | None:
    """The name of the student's function whose stub raised ``err``, if a stub did: a bare
    ``NotImplementedError()`` raised in a function of ``__main__``."""
    if type(err) is not NotImplementedError or err.args:
        return None
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code if tb is not None else None
    if code is None or code.co_name == "<module>" or tb.tb_frame.f_globals.get("__name__") != "__main__":
        return None
    return getattr(code, "co_qualname", code.co_name)


def _show_not_solved(shell: Any, etype: type, value: BaseException, tb: types.TracebackType,
                     tb_offset: int | None = None) -> None:
    """IPython's handler for NotImplementedError: a stub's shows as one line, any other as usual.
    The cell still counts as failed (Run All stops there)."""
    stub = not_solved(value)
    if stub is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return
    dependencies.not_solved(stub)
    shell._showtraceback(etype, value, [f"\x1b[1;31mNot solved yet\x1b[0m \x1b[1m{stub}\x1b[0m: {REPLACE_STUB}, "
                                        "then run this cell again"])


def _same(got: np.ndarray, value: Any, rtol: float, atol: float) -> bool:
    """Whether ``got`` equals a mistake's ``value`` (NaN equals NaN)."""
    try:
        v = _as_array("", value)
    except CheckFailed:  # a mistake with no value on this input
        return False
    return got.shape == v.shape and bool(np.allclose(got, v, rtol=rtol, atol=atol, equal_nan=True))


def _as_array(exercise: str, got: Any) -> np.ndarray:
    if got is None:
        raise CheckFailed(f"[{exercise}] your code returned None" + (": did you forget `return`?" if DIAGNOSE else ""))
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
    if mask.sum() > 1:  # one number is always some factor times another: no diagnosis
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
                 atol: float = 1e-8, hints: Sequence[str] = (), mistakes: Mistakes = (),
                 properties: Properties = ()) -> None:
    """Raise :class:`CheckFailed` unless ``got`` equals ``expected`` within tolerance.

    The message names ``exercise``, both shapes, the max error, and then the likely cause: an
    earlier exercise this check's code calls that is wrong ("fix it first", nothing else); else
    the hint of each of ``mistakes`` whose value ``got`` equals; when none fits, each of
    ``properties`` that ``got`` breaks, detected mistakes (transpose, constant factor, sign) and
    the given ``hints``. ``mistakes`` and ``properties`` are not reported to
    ``OBSERVERS``: they only shape the message.
    Without ``expected`` (hidden tests) only a grader can judge ``got``: here it must merely be
    an array of finite numbers.
    """
    _observe("close", exercise, got, rtol=rtol, atol=atol, hints=list(hints))
    with _recorded(exercise) as cell:
        g = _as_array(exercise, got)
        if expected is None:
            if not np.all(np.isfinite(g)):
                _fail(exercise, cell, [f"[{exercise}] your result contains NaN or inf"],
                      ["look for log(0), exp overflow or 0/0"])
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
        fits = [hint for hint, value in mistakes if _same(g, value, rtol, atol)]
        _fail(exercise, cell, lines, fits or [*_broken(g, properties), *found, *hints])


def _broken(got: np.ndarray, properties: Properties) -> list[str]:
    """The statements of ``properties`` that ``got`` breaks (one that raises is broken too)."""
    broken = []
    for statement, holds in properties:
        try:
            ok = bool(holds(got))
        except Exception:  # noqa: BLE001 (a result too wrong to test has not got the property)
            ok = False
        if not ok:
            broken.append(f"your result breaks this property: {statement}")
    return broken


class _recorded:
    """``with _recorded(exercise) as cell:`` a check; its outcome is recorded on the way out
    (:mod:`.dependencies`); ``cell`` is the notebook cell that runs the check."""

    def __init__(self, exercise: str):
        self.exercise = exercise
        self.cell = dependencies.check_cell(inspect.currentframe())

    def __enter__(self) -> types.FrameType | None:
        return self.cell

    def __exit__(self, kind: type | None, *_: Any) -> None:
        if kind is None or issubclass(kind, CheckFailed):
            dependencies.record(self.exercise, "passed" if kind is None else "failed", self.cell)


def _fail(exercise: str, cell: types.FrameType | None, lines: list[str], hints: Sequence[str]) -> None:
    """Raise the CheckFailed of ``lines``: led by a wrong earlier exercise when this check's code
    calls one (then no hint about this exercise), else followed by ``hints``; with neither when
    ``DIAGNOSE`` is off."""
    cause = dependencies.broken_before(exercise, cell) if DIAGNOSE else None
    if cause is not None:
        lines = [f"[{exercise}] {cause.lead()}", *("  " + line.removeprefix(f"[{exercise}] ").strip()
                                                    if i == 0 else line for i, line in enumerate(lines))]
    elif DIAGNOSE:
        lines = [*lines, *(f"  hint: {hint}" for hint in hints)]
    raise CheckFailed("\n".join(lines))


def expect_equal(exercise: str, got: Any, expected: Any = None, what: str = "result",
                 mistakes: Mistakes = ()) -> None:
    """Exact equality for integers, shapes, labels and the like (``expected=None``: see above);
    ``mistakes``: ``(hint, value)`` pairs, each hint shown when ``got`` equals its value."""
    _observe("equal", exercise, got, what=what)
    if expected is None:
        return
    with _recorded(exercise) as cell:
        if not _equal(got, expected):
            _fail(exercise, cell, [f"[{exercise}] wrong {what}: expected {expected!r}, got {got!r}"],
                  [hint for hint, value in mistakes if _equal(got, value)])


def _equal(got: Any, expected: Any) -> bool:
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        return bool(np.array_equal(np.asarray(got), np.asarray(expected)))
    return bool(got == expected)


def library_calls(function: Callable, words: Sequence[str] = ("torch", "course_lib")) -> list[str]:
    """The words of ``words`` (names, dotted or not: ``"torch"``, ``"nn.Linear"``) that the code
    of ``function`` uses, for the checks that say "no libraries".

    Read from the code's syntax tree: a word is used when its parts are consecutive parts of an
    imported module or name, or of a name with its attributes (``torch.nn.Linear(3, 2)`` uses
    ``torch``, ``nn.Linear`` and ``nn``, not ``Lin``), or a module named to ``__import__`` or
    ``import_module``. Comments, docstrings and other strings count for nothing. A source that
    does not parse on its own (a lambda cut out of a longer line) is read as text, comments left
    out; one that cannot be read, [].
    """
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return []
    try:  # an indented method parses as the body of `if 1:`, whatever its strings' lines hold
        names = _dotted_names(ast.parse("if 1:\n" + source if source[:1].isspace() else source))
    except SyntaxError:
        code = [line.split("#")[0] for line in source.splitlines()]
        return [w for w in words if any(w in line for line in code)]
    return [w for w in words if any(_runs_in(w.split("."), name) for name in names)]


def _dotted_names(tree: ast.AST) -> list[list[str]]:
    """Every name, attribute chain and imported module or name in ``tree``, as lists of parts."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")
            names += [module + alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.Name):
            names.append([node.id])
        elif isinstance(node, ast.Attribute):
            parts, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                parts.insert(0, base.attr)
                base = base.value
            names.append(([base.id] if isinstance(base, ast.Name) else []) + parts)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if called in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                names.append(node.args[0].value.split("."))
    return names


def _runs_in(parts: list[str], name: list[str]) -> bool:
    return any(name[i:i + len(parts)] == parts for i in range(len(name) - len(parts) + 1))


def _install_not_solved() -> None:
    """In a Jupyter kernel, show a stub's NotImplementedError as "not solved yet", in one line
    (the grader's worker keeps its own error handling)."""
    shell = _ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.set_custom_exc((NotImplementedError,), _show_not_solved)


_install_not_solved()
