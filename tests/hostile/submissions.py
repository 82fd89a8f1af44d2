"""Hostile submissions for the fixture exercise set, each with the exact grade it must get.

``write_all(folder)`` writes every case next to a copy of the source placed where a student
would guess it (``folder/../solutions/``). ``CASES`` maps a case to (score, statuses of
test_square / test_mean_of_squares / test_scale, text the report's ``error`` must contain or
None). Autograded points: test_square 2, test_mean_of_squares 3, test_scale 1.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCE = FIXTURES / "solutions" / "fixture_set.ipynb"
EXERCISE = FIXTURES / "exercises" / "fixture_set.ipynb"

SQUARE = 'def square(x):\n    """Return x squared."""\n    return x * x'
MEAN = "def mean_of_squares(xs):\n    return mean(square(x) for x in xs)"
SCALE = "def scale(xs, factor):\n    return [x * factor for x in xs]"
OK, FAIL, ERR, TIME, NOT = "passed", "failed", "error", "timeout", "not-run"
TESTS = ("test_square", "test_mean_of_squares", "test_scale")

CASES = {
    "correct": (6, (OK, OK, OK), None),
    "untouched": (0, (FAIL, FAIL, FAIL), None),
    "loop_in_solution_cell": (4, (TIME, OK, OK), None),
    "loop_in_function": (5, (OK, OK, TIME), None),
    "ignores_interrupt": (5, (OK, OK, TIME), "ignored the interrupt"),
    "sys_exit": (3, (OK, FAIL, OK), None),
    "os_exit": (2, (OK, NOT, NOT), "exit code 3"),
    "segfault": (5, (OK, OK, NOT), "SIGSEGV"),
    "print_30mb": (6, (OK, OK, OK), None),
    "memory_hog": (6, (OK, OK, OK), None),
    "syntax_error": (1, (FAIL, FAIL, OK), None),
    "tampered_tests": (0, (FAIL, FAIL, FAIL), None),
    "emptied_tests": (2, (OK, FAIL, FAIL), None),
    "deleted_tests": (3, (OK, FAIL, OK), None),
    "duplicated_tests": (3, (OK, FAIL, OK), None),
    "commented_out_tests": (0, (FAIL, FAIL, FAIL), None),
    "moved_cells": (6, (OK, OK, OK), None),
    "scratch_cells": (6, (OK, OK, OK), None),
    "metadata_stripped": (6, (OK, OK, OK), None),
    "visible_tests_only": (1, (FAIL, FAIL, OK), None),
    "patched_builtins": (1, (FAIL, FAIL, OK), None),
    # This set's tests are plain asserts, which nbgrader judges inside the student's interpreter:
    # code there that patches what the asserts call forges a pass (README: what is guaranteed).
    # The course's own sets use course_lib.checks, judged outside: tests/test_grading_redteam.py.
    "patched_modules": (6, (OK, OK, OK), None),
    "swapped_module": (6, (OK, OK, OK), None),
    "swallowed_errors": (0, (FAIL, FAIL, FAIL), None),
    "reads_source": (0, (FAIL, FAIL, FAIL), None),
    "not_a_notebook": (0, (NOT, NOT, NOT), "invalid JSON"),
    "empty_file": (0, (NOT, NOT, NOT), "empty file"),
    "truncated_json": (0, (NOT, NOT, NOT), "invalid JSON"),
    "json_not_notebook": (0, (NOT, NOT, NOT), "without a list of cells"),
}


def _exercise():
    return nbformat.read(str(EXERCISE), as_version=4)


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _cell(nb, gid):
    return next(c for c in nb.cells if _gid(c) == gid)


def filled(square=SQUARE, mean=MEAN, scale=SCALE):
    """The exercise with these solution sources (None keeps the stub)."""
    nb = _exercise()
    for gid, source in (("square", square), ("mean_of_squares", mean), ("scale", scale)):
        if source is not None:
            _cell(nb, gid).source = source
    return nb


def _tests(nb, edit):
    for gid in TESTS:
        edit(_cell(nb, gid))
    return nb


def _drop_tests(nb):
    nb.cells = [c for c in nb.cells if _gid(c) not in TESTS]
    return nb


def _duplicate(nb):
    test = _cell(nb, "test_square")
    forged, copied = (nbformat.from_dict(json.loads(json.dumps(test))) for _ in range(2))
    forged.source, forged.id, copied.id = "pass", "forged", "copied"
    nb.cells[2:2] = [forged, copied]
    return nb


def _moved(nb):
    tests = [c for c in nb.cells if _gid(c) in TESTS]
    nb.cells = tests + [c for c in nb.cells if _gid(c) not in TESTS]
    return nb


def _scratch(nb):
    nb.cells.insert(3, nbformat.v4.new_code_cell("def _sq(x):\n    return x * x"))
    nb.cells.append(nbformat.v4.new_code_cell("print(square(4))  # scratch at the end"))
    _cell(nb, "square").source = "def square(x):\n    return _sq(x)"
    return nb


def _stripped(nb):
    index = nb.cells.index(_cell(nb, "square"))
    nb.cells[index] = nbformat.v4.new_code_cell(SQUARE)  # pasted into a new cell, original deleted
    return nb


PATCH_BUILTINS = """import builtins
builtins.AssertionError = Exception
AssertionError = None
builtins.abs = lambda x: 0
abs = lambda x: 0
print = lambda *a, **k: None
close = lambda *a, **k: True
def square(x):
    return x + x
"""
PATCH_MODULES = """import math
math.isclose = lambda *a, **k: True
close.__code__ = (lambda a, b, tol=0: True).__code__
def square(x):
    return 0 if x == 0.5 else x * x
"""
SWAP_MODULE = """import sys, types
fake = types.ModuleType("operator")
fake.eq = lambda a, b: True
sys.modules["operator"] = fake
def scale(xs, factor):
    return [3, 6] if xs == [1, 2] else xs
"""
MEAN_VISIBLE_ONLY = "def mean_of_squares(xs):\n    return 14 / 3 if list(xs) == [1, 2, 3] else 0.0"
SWALLOW = """def _skip_grader(lines):
    return ["pass\\n"] if any("_course_grader_" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_skip_grader)
"""
READ_SOURCE = """import json, os
for base in {os.getcwd(), os.environ.get("PWD", ""), os.environ.get("OLDPWD", "")}:
    for guess in ("../solutions/fixture_set.ipynb", "solutions/fixture_set.ipynb",
                  "../../solutions/fixture_set.ipynb", "fixture_set.ipynb"):
        path = os.path.join(base, guess)
        if base and os.path.exists(path):
            for cell in json.load(open(path))["cells"]:
                if cell["metadata"].get("nbgrader", {}).get("solution"):
                    exec("".join(cell["source"]))
"""
LOOP_IGNORING_INTERRUPT = """def scale(xs, factor):
    import time
    while True:
        try:
            time.sleep(0.2)
        except KeyboardInterrupt:
            pass
"""


def notebooks():
    """Case name → notebook, for every case that is a notebook at all."""
    return {
        "correct": filled(),
        "untouched": _exercise(),
        "loop_in_solution_cell": filled(square=SQUARE + "\nwhile True:\n    pass"),
        "loop_in_function": filled(scale="def scale(xs, factor):\n    while True:\n        pass"),
        "ignores_interrupt": filled(scale=LOOP_IGNORING_INTERRUPT),
        "sys_exit": filled(mean="import sys\nsys.exit('bye')\n" + MEAN),
        "os_exit": filled(mean="import os\nos._exit(3)"),
        "segfault": filled(scale="import ctypes\nctypes.string_at(0)"),
        "print_30mb": filled(square=SQUARE + "\nprint('x' * (30 * 2**20))"),
        "memory_hog": filled(square=SQUARE + "\nhog = bytearray(8 * 2**30)"),
        "syntax_error": filled(square="def square(x)\n    return x * x"),
        "tampered_tests": _tests(_exercise(), lambda c: setattr(c, "source", "pass")),
        "emptied_tests": _tests(filled(mean=None, scale=None), lambda c: setattr(c, "source", "")),
        "deleted_tests": _drop_tests(filled(mean=None)),
        "duplicated_tests": _duplicate(filled(mean=None)),
        "commented_out_tests": _tests(_exercise(), lambda c: setattr(
            c, "source", "\n".join("# " + line for line in c.source.splitlines()))),
        "moved_cells": _moved(filled()),
        "scratch_cells": _scratch(filled()),
        "metadata_stripped": _stripped(filled()),
        "visible_tests_only": filled(square="def square(x):\n    return 9 if x == 3 else x"),
        "patched_builtins": filled(square=PATCH_BUILTINS, mean="def mean_of_squares(xs):\n    return 0"),
        "patched_modules": filled(square=PATCH_MODULES, mean=MEAN_VISIBLE_ONLY),
        "swapped_module": filled(scale=SWAP_MODULE),
        "swallowed_errors": filled(square=SWALLOW, mean=None, scale=None),
        "reads_source": filled(square=READ_SOURCE, mean=None, scale=None),
    }


RAW = {"not_a_notebook": "hello, this is my homework\n", "empty_file": "",
       "truncated_json": '{"cells": [', "json_not_notebook": "[1, 2, 3]"}


def write_all(folder: Path) -> list[Path]:
    """Write every case as ``folder/<case>.ipynb`` (and the guessable source copy); returns the
    paths in ``CASES`` order."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder.parent / "solutions").mkdir(exist_ok=True)
    shutil.copyfile(SOURCE, folder.parent / "solutions" / SOURCE.name)
    nbs = notebooks()
    for name in CASES:
        path = folder / f"{name}.ipynb"
        if name in RAW:
            path.write_text(RAW[name], encoding="utf-8")
        else:
            nbformat.write(nbs[name], str(path))
    return [folder / f"{name}.ipynb" for name in CASES]
