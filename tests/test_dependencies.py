"""A failing check names the earlier exercise it relies on, found in the student's own code;
an exercise still holding its stub reads "not solved yet"."""
from __future__ import annotations

import hashlib
import textwrap

import pytest

from course_lib import checks, dependencies
from course_lib.checks import CheckFailed

SETUP = "import numpy as np\nfrom course_lib.checks import call, expect_close, expect_equal"
DOUBLE_WRONG = "def double(x):\n    return x + 2"  # exercise 1: 2 x
DOUBLE_RIGHT = "def double(x):\n    return 2 * x"
SIX_TIMES = "def six_times(x):\n    return 3 * double(x)"  # exercise 2 calls exercise 1
STUB = "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
CHECK_1 = 'expect_close("ex_double", double(np.arange(3.0)), [0.0, 2.0, 4.0], hints=["double it"])'
CHECK_1_CALL = 'expect_close("ex_double", call("ex_double", double, np.arange(3.0)), [0.0, 2.0, 4.0])'
CHECK_2 = 'expect_close("ex_six", six_times(np.arange(3.0)), [0.0, 6.0, 12.0], hints=["a hint about six_times"])'


class Kernel:
    """Cells run one by one in a namespace named __main__, as a notebook's kernel runs them."""

    def __init__(self):
        dependencies.reset()
        self.namespace = {"__name__": "__main__"}
        self.run(SETUP)

    def run(self, source: str) -> None:
        source = textwrap.dedent(source)  # a cell's code is named after its text, as in Jupyter
        exec(compile(source, f"<cell {hashlib.sha256(source.encode()).hexdigest()[:12]}>", "exec"), self.namespace)

    def fails(self, source: str) -> str:
        with pytest.raises(CheckFailed) as failed:
            self.run(source)
        return str(failed.value)


def test_a_check_that_calls_a_wrong_earlier_exercise_says_fix_it_first_and_no_hint_of_its_own():
    k = Kernel()
    k.run(DOUBLE_WRONG)
    assert "hint: double it" in k.fails(CHECK_1)
    k.run(SIX_TIMES)
    message = k.fails(CHECK_2)
    assert message.splitlines()[0] == ("[ex_six] exercise 1 (`double`) is wrong (its own check fails): fix it "
                                       "first, then run this check again; this check calls it")
    assert "max abs error" in message and "six_times" not in message and "hint" not in message


def test_once_the_earlier_exercise_passes_the_check_hints_at_its_own_exercise():
    k = Kernel()
    k.run(DOUBLE_WRONG)
    k.fails(CHECK_1)
    k.run(DOUBLE_RIGHT)
    k.run(CHECK_1)  # fixed and checked again
    k.run("def six_times(x):\n    return 2 * double(x)")
    message = k.fails(CHECK_2)
    assert "fix it first" not in message and "hint: a hint about six_times" in message


def test_a_dependency_is_followed_through_the_students_helpers_and_classes():
    k = Kernel()
    k.run(DOUBLE_WRONG)
    k.fails(CHECK_1)
    k.run("""
        class Model:
            def forward(self, x):
                return helper(x)

        def helper(x):
            return [3 * v for v in double(x)]
    """)
    message = k.fails('expect_close("ex_model", Model().forward(np.arange(3.0)), [0.0, 6.0, 12.0])')
    assert "exercise 1 (`double`) is wrong" in message


def test_the_sets_own_helpers_and_a_checks_own_functions_are_nobodys_exercise():
    k = Kernel()
    k.run("def given_scale(x):\n    return 3 * x")  # the set's setup, before exercise 1
    k.run(DOUBLE_WRONG)
    k.fails('def reference(x):\n    return 2 * x\n\n' + CHECK_1.replace("[0.0, 2.0, 4.0]", "reference(np.arange(3.0))")
            + "\ngiven_scale(1)")
    assert "double" in dependencies.OWNER and "reference" not in dependencies.OWNER  # the check's own: nobody's
    k.run("def triple(x):\n    return given_scale(x) + 1")
    message = k.fails('expect_close("ex_triple", triple(np.arange(3.0)), [0.0, 3.0, 6.0], hints=["triple hint"])')
    assert "fix it first" not in message and "hint: triple hint" in message


def test_a_check_cell_is_one_exercise_whatever_its_labels_and_fails_when_any_check_fails():
    k = Kernel()
    k.run(DOUBLE_WRONG)
    k.fails('expect_close("double: at 0", double(0.0), 0.0, atol=9)\nexpect_close("double: at 1", double(1.0), 2.0)')
    k.run(SIX_TIMES)
    assert "exercise 1 (`double`) is wrong" in k.fails(CHECK_2)


def test_an_exercise_whose_check_never_failed_is_not_blamed():
    k = Kernel()
    k.run(DOUBLE_RIGHT)
    k.run(CHECK_1)
    k.run("def six_times(x):\n    return 2 * double(x)")
    assert "fix it first" not in k.fails(CHECK_2)


def test_a_stub_reads_not_solved_yet_without_a_traceback_and_blocks_the_next_check():
    k = Kernel()
    k.run(STUB)
    with pytest.raises(CheckFailed) as failed:
        k.run(CHECK_1_CALL)
    assert str(failed.value) == ("[ex_double] double: not solved yet: replace `raise NotImplementedError()` "
                                 "with your code")
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    k.run(SIX_TIMES)
    message = k.fails('call("ex_six", six_times, np.arange(3.0))')
    assert message == "[ex_six] double: not solved yet: replace `raise NotImplementedError()` with your code"
    k.run(DOUBLE_WRONG)  # solved, wrongly, and its check not run again yet
    assert "exercise 1 (`double`) has not passed its own check yet: fix it first" in k.fails(CHECK_2)
    k.fails(CHECK_1_CALL)  # its check run again
    assert "exercise 1 (`double`) is wrong" in k.fails(CHECK_2)


def test_a_broken_property_is_named_when_no_mistake_fits():
    rows = "[('each row sums to 1', lambda got: np.allclose(got.sum(axis=1), 1))]"
    k = Kernel()
    message = k.fails(f"expect_close('ex_softmax', np.full((2, 3), 0.5), np.full((2, 3), 1 / 3), properties={rows})")
    assert "hint: your result breaks this property: each row sums to 1" in message
    message = k.fails(f"expect_close('ex_softmax', np.full((2, 3), 0.5), np.full((2, 3), 1 / 3), properties={rows}, "
                      "mistakes=[('you divided by 2', np.full((2, 3), 0.5))])")
    assert "you divided by 2" in message and "breaks" not in message


def test_expect_equal_names_a_mistake_whose_value_it_got():
    k = Kernel()
    message = k.fails("expect_equal('ex_shape', (3, 2), (2, 3), what='shape', "
                      "mistakes=[('you transposed W', (3, 2))])")
    assert message == "[ex_shape] wrong shape: expected (2, 3), got (3, 2)\n  hint: you transposed W"


def test_without_the_diagnosis_a_message_says_only_what_differs(monkeypatch):
    monkeypatch.setattr(checks, "DIAGNOSE", False)
    k = Kernel()
    k.run(DOUBLE_WRONG)
    assert "hint" not in k.fails(CHECK_1)
    k.run(SIX_TIMES)
    message = k.fails(CHECK_2)
    assert message.startswith("[ex_six] does not match") and "fix it first" not in message
    assert "hint" not in k.fails("expect_equal('ex', 1, 2, mistakes=[('m', 1)])")
    assert "did you forget" not in k.fails("expect_close('ex', None, 1.0)")


@pytest.mark.notebooks
def test_in_jupyter_a_stub_shows_one_line_and_no_traceback():
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("import course_lib.checks"), new_code_cell(STUB),
                             new_code_cell("double(1)")])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    error, = (out for out in nb.cells[2].outputs if out.output_type == "error")
    text = "\n".join(error.traceback)
    assert "Not solved yet" in text and "double" in text and "replace `raise NotImplementedError()`" in text
    assert "Traceback" not in text and "File " not in text and len(error.traceback) == 1
    assert nbformat.validate(nb) is None
