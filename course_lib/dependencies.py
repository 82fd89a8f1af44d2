"""Which earlier exercise a failing check relies on, found in the student's own code.

A check cell names the student's functions (and classes) it tests. The first check to name one
owns it: exercise 1's check names ``softmax`` first, so ``softmax`` is exercise 1's. Every check
records how its exercise did (:func:`record`). When a later check fails, :func:`broken_before`
follows the names its cell uses, and the names the code of those functions uses in turn, to
the functions of earlier exercises: one whose own check failed the last time it ran (or that
is not solved yet) is the cause, and the check says "fix it first" instead of hinting at the
wrong place. Nothing is written per exercise: the dependencies are read from the code.

A check cell is the nearest ``<module>`` frame of ``__main__`` above the check (a notebook cell
in Jupyter, or a cell ``exec``'d in a namespace named ``__main__`` by the tests).
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

#: Exercises in the order their checks first ran (exercise N is ``ORDER[N - 1]``).
ORDER: list[str] = []
#: How each exercise's check did the last time it ran: "passed", "failed" or "not solved".
OUTCOME: dict[str, str] = {}
#: The exercise whose check first named each of the student's functions and classes.
OWNER: dict[str, str] = {}


@dataclass(frozen=True)
class Cause:
    """An earlier exercise that is wrong: its number, its name, the student's function in it."""

    number: int
    exercise: str
    name: str
    outcome: str

    def lead(self) -> str:
        """The line a failing check opens with."""
        state = ("has not passed its own check yet" if self.outcome == "not solved"
                 else "is wrong (its own check fails)")
        return (f"exercise {self.number} (`{self.name}`) {state}: fix it first, then run this check "
                "again; this check calls it")


def reset() -> None:
    """Forget every exercise (a new kernel starts with nothing recorded)."""
    ORDER.clear()
    OUTCOME.clear()
    OWNER.clear()


def check_cell(frame: types.FrameType | None) -> types.FrameType | None:
    """The frame of the notebook cell that ``frame`` runs in, if any: the nearest ``<module>``
    frame of ``__main__`` (further out there may be the kernel's own launcher)."""
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__":
            return frame
        frame = frame.f_back
    return None


def _is_students(obj: Any) -> bool:
    return isinstance(obj, (types.FunctionType, type)) and getattr(obj, "__module__", None) == "__main__"


def _codes(obj: Any) -> list[types.CodeType]:
    """The code of a function, or of a class's methods."""
    if isinstance(obj, types.FunctionType):
        return [obj.__code__]
    return [f.__code__ for f in vars(obj).values() if isinstance(f, types.FunctionType)]


def _names(code: types.CodeType) -> set[str]:
    """The global names ``code`` uses, nested functions and comprehensions included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _students(code: types.CodeType, namespace: dict) -> list[str]:
    return sorted(n for n in _names(code) if _is_students(namespace.get(n)))


def record(exercise: str, outcome: str, cell: types.FrameType | None) -> None:
    """Note that ``exercise``'s check (running in ``cell``) ended with ``outcome``; the student's
    functions its cell names and no earlier check named become this exercise's."""
    if exercise not in ORDER:
        ORDER.append(exercise)
    if cell is not None:
        for name in _students(cell.f_code, cell.f_globals):
            OWNER.setdefault(name, exercise)
    OUTCOME[exercise] = outcome


def not_solved(name: str) -> None:
    """Note that the student's function ``name`` still raises its stub's NotImplementedError."""
    if name in OWNER:
        OUTCOME[OWNER[name]] = "not solved"


def broken_before(exercise: str, cell: types.FrameType | None) -> Cause | None:
    """The first earlier exercise that ``exercise``'s check (in ``cell``) relies on and that is
    wrong or not solved, if there is one."""
    if cell is None:
        return None
    namespace, seen = cell.f_globals, set()
    todo = _students(cell.f_code, namespace)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [n for code in _codes(namespace[name]) for n in _students(code, namespace)]
    here = ORDER.index(exercise) if exercise in ORDER else len(ORDER)
    causes = [Cause(ORDER.index(owner) + 1, owner, name, OUTCOME[owner]) for name in seen
              if (owner := OWNER.get(name)) in ORDER and ORDER.index(owner) < here
              and OUTCOME.get(owner) in ("failed", "not solved")]
    return min(causes, key=lambda c: (c.number, c.name), default=None)
