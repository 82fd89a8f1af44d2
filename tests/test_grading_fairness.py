"""Fairness where nbgrader's rule does not fit the course's checks (issue 21, section 5).

A warning does not fail a cell that values decide; "no libraries" reads the code, not its
comments; a "task" cell is never given an automatic 0.
"""
from __future__ import annotations

import csv
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.__main__ import main
from course_lib.checks import library_calls

pytestmark = pytest.mark.notebooks


def _cell(kind, source, gid, role, points=0):
    """A cell with nbgrader metadata; ``role`` is answer, test, manual or task."""
    cell = (new_markdown_cell if kind == "markdown" else new_code_cell)(source)
    cell.metadata.nbgrader = {"grade_id": gid, "schema_version": 3, "locked": role in ("test", "task"),
                              "solution": role in ("answer", "manual"), "task": role == "task",
                              "grade": role in ("test", "manual", "task")}
    if cell.metadata.nbgrader["grade"]:
        cell.metadata.nbgrader["points"] = points
    return cell


# The student's functions compute the right values, but each also computes an unused np.exp
# that overflows (a RuntimeWarning on stderr), and one mentions torch.nn.Linear in its docstring.
STUDENT_F = ('def f(x):\n    """Like torch.nn.Linear(1, 1) without bias, by hand."""\n'
             '    np.exp(np.array([1000.0]))  # unused, and it overflows\n    return 2 * x')
STUDENT_G = "def g(x):\n    np.exp(np.array([1000.0]))\n    return 3 * x"


def _set(f_body: str, g_body: str, answer: str) -> nbformat.NotebookNode:
    return new_notebook(cells=[
        _cell("code", "import numpy as np\nfrom course_lib.checks import expect_close, expect_equal, library_calls",
              "imports", "test"),
        _cell("code", f_body, "f", "answer"),
        _cell("code", "expect_close('ex_f', f(np.arange(3.0)))\n"
                      "expect_equal('ex_f', library_calls(f, ('torch', 'nn.Linear')), what='use of a library')",
              "values", "test", 2),
        _cell("code", g_body, "g", "answer"),
        _cell("code", "assert g(1) == 3", "asserts", "test", 1),
        _cell("markdown", answer, "explain", "manual", 1),
        _cell("markdown", "Task: plot f and g (graded by hand).", "plot", "task", 2),
    ])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class of one graded once: (report, manual template rows, feedback page)."""
    root = tmp_path_factory.mktemp("fairness")
    source = root / "fair_set.ipynb"
    nbformat.write(_set("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                        "def g(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION",
                        "### BEGIN SOLUTION\nf doubles.\n### END SOLUTION"), str(source))
    nbformat.write(_set(STUDENT_F, STUDENT_G, "YOUR ANSWER HERE"), str(root / "ann.ipynb"))
    assert main(["grade", "--source", str(source), "--timeout", "20", "--json", str(root / "g.json"),
                 "--manual-template", str(root / "manual.csv"), "--feedback", str(root / "fb"),
                 str(root / "ann.ipynb")]) == 0
    report = json.loads((root / "g.json").read_text())["submissions"][0]
    with open(root / "manual.csv", newline="") as f:
        rows = {row["grade_id"]: row for row in csv.DictReader(f)}
    return report, rows, (root / "fb" / "ann.html").read_text(encoding="utf-8")


def test_a_warning_does_not_fail_a_value_check_and_is_shown(graded):
    tests = {t["grade_id"]: t for t in graded[0]["tests"]}
    assert tests["values"]["status"] == "passed" and tests["values"]["points"] == 2
    assert "not counted" in tests["values"]["message"] and "overflow" in tests["values"]["message"]
    assert "not counted, since its checks" in graded[2]


def test_a_plain_assert_cell_keeps_nbgraders_stderr_rule(graded):
    asserts = {t["grade_id"]: t for t in graded[0]["tests"]}["asserts"]
    assert asserts["status"] == "failed" and asserts["points"] == 0
    assert "nbgrader counts as a failure" in asserts["message"] and "overflow" in asserts["message"]


def test_only_an_unchanged_answer_cell_is_prefilled_with_zero(graded):
    rows = graded[1]
    assert (rows["explain"]["points"], rows["explain"]["comment"]) == ("0", "left as in the exercise")
    assert (rows["plot"]["points"], rows["plot"]["comment"]) == ("", "")


def _documented(x):
    """Does what torch.nn.Linear does, and torch.exp, without either."""
    # import torch would be easier; nn.Linear(3, 2) too
    return "torch.nn.Linear" and x


def _imports(x):
    import torch

    return torch.as_tensor(x)


class _Layer:
    def backward(self, x):
        """A docstring whose lines start at column 0:
torch.nn.Linear
"""
        return nn.Linear(x, 2)  # noqa: F821 (read, never run)


def _optimiser(optimizer):
    return optimizer.step()


def _reaches(x):
    return __import__("torch").as_tensor(x)


def test_library_calls_read_the_code_not_its_comments_or_strings():
    words = ("torch", "nn.Linear", "optim")
    assert library_calls(_documented, words) == []
    assert library_calls(_optimiser, words) == []  # a word is a whole name, not part of one
    assert library_calls(_imports, words) == ["torch"]
    assert library_calls(_Layer.backward, words) == ["nn.Linear"]
    assert library_calls(_reaches, words) == ["torch"]
    assert library_calls(len, words) == []  # no source to read
