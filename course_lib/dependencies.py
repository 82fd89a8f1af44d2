"""Which earlier exercise a failing check relies on, found in the student's own code.

An exercise is a check cell: the cell under an exercise whose checks (``expect_close``, ...)
test it, numbered in the order the cells first run. When a check cell first runs, it takes as its
exercise's functions those it names (loads as globals) that are the student's (defined in
``__main__``), are new since the previous check cell first ran, and are not defined in a check
cell: so ``softmax``, defined between the setup and exercise 1's check, is exercise 1's, while
the setup's helpers, seen when exercise 1's check ran, are nobody's. Every check records how its
cell did (:func:`record`): a cell has failed when any check of its latest run failed.

When a later check fails, :func:`broken_before` follows the names its cell loads, and the names
the code of those functions loads in turn (:func:`_reached`), to the functions of earlier
exercises; one whose cell failed the last time it ran
(or that is not solved) is the cause, and the check says "fix it first" instead of hinting at the
wrong place. Nothing is written per exercise: the dependencies are read from the code.

A check cell is the nearest ``<module>`` frame of ``__main__`` above the check (a notebook cell
in Jupyter, or a cell ``exec``'d in a namespace named ``__main__`` by the tests); it is known by
its code's file name (Jupyter names each cell's code after its text).
"""
from __future__ import annotations

import dis
import types
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Exercise:
    """A check cell: its number, the labels its checks used, the student's functions it took,
    and how its latest run went ("passed", "failed" or "not solved")."""

    number: int
    labels: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    outcome: str = "passed"
    run: Any = None  # the frame of its latest run

    def tested(self) -> list[str]:
        """Its functions that its labels name (the ones it tests), else all of them."""
        return [f for f in self.functions if any(f in label for label in self.labels)] or self.functions


#: The check cells by key, in the order they first ran.
EXERCISES: dict[str, Exercise] = {}
#: The check cell that took each of the student's functions.
OWNER: dict[str, str] = {}
#: The student's functions and classes already there when a check cell first ran.
SEEN: set[str] = set()


@dataclass(frozen=True)
class Cause:
    """An earlier exercise that is wrong: its number, the student's function in it, its outcome."""

    number: int
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
    EXERCISES.clear()
    OWNER.clear()
    SEEN.clear()


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


def _defined_in(obj: Any) -> str | None:
    """The file name of the cell that defined a function (or a class's first method)."""
    codes = _codes(obj)
    return codes[0].co_filename if codes else None


def _codes(obj: Any, every_class: bool = False) -> list[types.CodeType]:
    """The code of a function, or of a class's methods."""
    if isinstance(obj, types.FunctionType):
        return [obj.__code__]
    return [f.__code__ for f in vars(obj).values() if isinstance(f, types.FunctionType)]


def _loads(code: types.CodeType) -> set[str]:
    """The global names ``code`` loads (not attribute names), nested functions included."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _loads(const)
    return names


def _students(code: types.CodeType, namespace: dict) -> list[str]:
    return sorted(n for n in _loads(code) if _is_students(namespace.get(n)))


def _key(cell: types.FrameType | None, label: str) -> str:
    return cell.f_code.co_filename if cell is not None else label


def record(label: str, outcome: str, cell: types.FrameType | None) -> None:
    """Note that a check labelled ``label``, run by ``cell``, ended with ``outcome``."""
    key = _key(cell, label)
    exercise = EXERCISES.get(key)
    if exercise is None:
        exercise = EXERCISES[key] = Exercise(len(EXERCISES) + 1)
        if cell is not None:
            namespace = cell.f_globals
            exercise.functions = [n for n in _students(cell.f_code, namespace)
                                  if n not in SEEN and n not in OWNER and _defined_in(namespace[n]) not in EXERCISES]
            OWNER.update((n, key) for n in exercise.functions)
            SEEN.update(n for n, obj in list(namespace.items()) if _is_students(obj))
    if label not in exercise.labels:
        exercise.labels.append(label)
    if cell is None or exercise.run is not cell:  # a new run of the cell
        exercise.run, exercise.outcome = cell, outcome
    elif outcome != "passed":
        exercise.outcome = outcome


def not_solved(name: str) -> None:
    """Note that the student's function ``name`` still raises its stub's NotImplementedError."""
    if name in OWNER:
        EXERCISES[OWNER[name]].outcome = "not solved"


def _reached(cell: types.FrameType) -> set[str]:
    """The student's functions and classes the code of ``cell`` reaches: what it loads, what their
    code loads, and so on. A class's methods are followed when the class is an exercise's or the
    check's own code uses it (a given class used deep inside a given helper would reach every
    exercise, through methods this check never calls)."""
    namespace, checks = cell.f_globals, {*EXERCISES, cell.f_code.co_filename}
    seen: set[str] = set()
    todo = [(name, True) for name in _students(cell.f_code, namespace)]
    while todo:
        name, near = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        obj = namespace[name]
        if isinstance(obj, type) and not near and name not in OWNER:
            continue
        for code in _codes(obj):
            todo += [(n, code.co_filename in checks) for n in _students(code, namespace)]
    return seen


def broken_before(label: str, cell: types.FrameType | None) -> Cause | None:
    """The first earlier exercise that the check labelled ``label`` (in ``cell``) relies on and
    that is wrong or not solved, if there is one."""
    if cell is None:
        return None
    key = _key(cell, label)
    here = EXERCISES[key].number if key in EXERCISES else len(EXERCISES) + 1
    causes = [Cause(earlier.number, name, earlier.outcome) for name in _reached(cell)
              if (owner := OWNER.get(name)) is not None and owner != key
              and (earlier := EXERCISES[owner]).number < here and name in earlier.tested()
              and earlier.outcome in ("failed", "not solved")]
    return min(causes, key=lambda c: (c.number, c.name), default=None)
