"""nbgrader conformance: per autograded test cell, ``grade`` gives exactly the points nbgrader gives.

The notebooks are nbgrader's own test and documentation notebooks (BSD-3, copied into
``tests/fixtures/nbgrader_conformance``; its README gives source, commit and license), sources
derived from them (``derived/``) and a few written here (``own/``). A derived source has the same
test and locked cells as nbgrader's file and a working solution: the grader runs the source
first and refuses one that fails its own tests (nbgrader's submitted-unchanged.ipynb is a student
copy, test-hidden-tests.ipynb fails its hidden tests on purpose, timeout.ipynb sleeps 5 s), and
nbgrader never reads a source's solution when it grades. Every expected number below was
confirmed by running nbgrader 0.9.6 (``generate_assignment`` then ``autograde``, per-cell
``auto_score`` from its gradebook) on exactly these source/submission pairs; the ``evidence``
column says what in nbgrader's repository states it independently.

nbgrader's rule (``nbgrader/utils.py: determine_grade``), applied to the outputs of each grade
cell that is not also a solution cell, after the whole notebook ran top to bottom in one kernel
(errors do not stop the run):

* an ``error`` output, or any ``stream`` output on ``stderr`` (a printed warning too): 0;
* else the first ``execute_result`` (the value of the cell's last expression; ``display()``
  output does not count): ``float(text/plain)``; a number in [0, points] is the score; a
  negative number or text that is not a float (``'ok'``, ``False``, ``[0.5]``, ``nan``) gives full
  points; a number above points makes nbgrader fail the whole notebook (no case here);
* else (no output, stdout only): full points.

Grade cells that are also solution cells (code or Markdown answers) and task cells are graded by
hand: the grader lists them as ``manual``. nbgrader gives them an auto score of 0 when the
student left them unchanged and none otherwise; neither counts here, as manual rows carry no
points. nbgrader's notebook ``max_score`` includes them; the grader's ``max_score`` (autograded
tests only) does not, hence the ``auto max`` column.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course_lib.__main__ import main

pytestmark = pytest.mark.notebooks

FIX = Path(__file__).resolve().parent / "fixtures" / "nbgrader_conformance"
APPS = "apps_files"            # nbgrader/tests/apps/files/
GUIDE = "user_guide"           # nbgrader/docs/source/user_guide/
DERIVED = "derived"            # made from the files above, partly by nbgrader 0.9.6 (README)
OWN = "own"                    # written for this repository

# key: (source notebook, extra CLI arguments, auto max, manually graded grade_ids in source order)
SOURCES: dict[str, tuple[str, tuple[str, ...], float, tuple[str, ...]]] = {
    "p1": (f"{DERIVED}/p1-source.ipynb", (), 2.0, ("baz", "quux")),
    "hidden-tests": (f"{DERIVED}/test-hidden-tests-source.ipynb", (), 3.0, ()),
    "ps1-problem1": (f"{GUIDE}/source/ps1/problem1.ipynb", (), 3.0,
                     ("sum_of_squares_equation", "sum_of_squares_application", "cell-938593c4a215c6cc")),
    "envvar": (f"{OWN}/nbgrader_execution.ipynb", (), 1.0, ()),
    "timeout-30s": (f"{DERIVED}/timeout-source.ipynb", ("--timeout", "30"), 1.0, ()),
    "timeout-2s": (f"{DERIVED}/timeout-source.ipynb", ("--timeout", "2"), 1.0, ()),
    "autotest-simple": (f"{DERIVED}/autotest-simple-instantiated.ipynb", (), 1.0, ()),
    "autotest-hashed": (f"{DERIVED}/autotest-hashed-instantiated.ipynb", (), 1.0, ()),
    "autotest-multi": (f"{DERIVED}/autotest-multi-instantiated.ipynb", (), 4.0, ()),
    "autotest-hidden": (f"{DERIVED}/autotest-hidden-instantiated.ipynb", (), 1.0, ()),
    "determine-grade": (f"{OWN}/determine_grade.ipynb", (), 36.0, ()),
}

# "autograde" = nbgrader/tests/apps/test_nbgrader_autograde.py; its asserts give notebook totals
# only (nbgrader's score, which adds the 0 of unanswered manual cells). The split per cell comes
# from nbgrader's semantics applied by hand (noted) and was confirmed by running nbgrader 0.9.6.
_P1 = "foo: print('Success!') passes; bar: assert a == 1, a set by the set_a solution cell"
CASES: list[tuple[str, str, dict[str, float], str]] = [
    # (source key, submission, {grade_id: nbgrader points}, evidence)
    ("p1", f"{APPS}/submitted-unchanged.ipynb", {"foo": 1.0, "bar": 0.0},
     f"autograde test_grade: score 1 of 7. {_P1}; set_a raises NotImplementedError -> NameError"),
    ("p1", f"{APPS}/submitted-changed.ipynb", {"foo": 1.0, "bar": 1.0},
     f"autograde test_grade: score 2 of 7. {_P1}; the student wrote a = 1"),
    ("p1", f"{APPS}/submitted-cheat-attempt.ipynb", {"foo": 1.0, "bar": 0.0},
     "autograde test_showtraceback_exploit: score 1 of 7; showtraceback replaced by a no-op "
     "still fails bar (NameError reply)"),
    ("p1", f"{APPS}/submitted-cheat-attempt-alternative.ipynb", {"foo": 1.0, "bar": 0.0},
     "autograde test_showtraceback_exploit: score 1 of 7; showtraceback = None"),
    ("p1", f"{APPS}/submitted-grade-cell-changed.ipynb", {"foo": 1.0, "bar": 0.0},
     "no autograde assert (file used by nbgrader's validate/overwrite tests); bar was commented "
     "out by the student, nbgrader's OverwriteCells restores it: NameError -> 0"),
    ("p1", f"{APPS}/submitted-locked-cell-changed.ipynb", {"foo": 1.0, "bar": 0.0},
     "no autograde assert; a locked cell was edited (restored, no effect on points)"),
    ("hidden-tests", f"{DERIVED}/test-hidden-tests-release.ipynb",
     {"correct_squares": 0.0, "squares_invalid_input": 1.0,
      "correct_sum_of_squares": 0.0, "sum_of_squares_uses_squares": 0.5},
     "autograde test_hidden_tests_single_notebook: score 1.5; the released stubs pass the visible "
     "asserts and fail the hidden ones (squares(11), sum_of_squares(11))"),
    ("ps1-problem1", f"{GUIDE}/submitted/bitdiddle/ps1/problem1.ipynb",
     {"correct_squares": 0.0, "squares_invalid_input": 1.0,
      "correct_sum_of_squares": 0.0, "sum_of_squares_uses_squares": 0.5},
     "docs grades.csv raw_score 1.5; docs autograded/bitdiddle/ps1/problem1.ipynb holds "
     "AssertionError outputs in correct_squares and correct_sum_of_squares (squares starts at 0; "
     "the student commented out correct_squares and emptied squares_invalid_input: restored)"),
    ("ps1-problem1", f"{GUIDE}/submitted/hacker/ps1/problem1.ipynb",
     {"correct_squares": 1.0, "squares_invalid_input": 1.0,
      "correct_sum_of_squares": 0.5, "sum_of_squares_uses_squares": 0.5},
     "docs grades.csv raw_score 3.0; docs autograded/hacker/ps1/problem1.ipynb: no error output"),
    ("envvar", f"{OWN}/nbgrader_execution-submission.ipynb", {"not_under_autograde": 0.0},
     "autograde test_grade_with_validating_envvar: score 0; nbgrader runs the kernel with "
     "NBGRADER_EXECUTION=autograde (here the student's cell reads it, the test asserts it is not)"),
    ("timeout-30s", f"{APPS}/timeout.ipynb", {"correct_squares": 1.0},
     "autograde test_autograde_timeout: score 1 with the default 30 s cell timeout (foo sleeps 5 s)"),
    ("timeout-2s", f"{APPS}/timeout.ipynb", {"correct_squares": 0.0},
     "autograde test_autograde_timeout: score 0 with --Execute.timeout=2"),
    ("autotest-simple", f"{APPS}/autotest-simple-unchanged.ipynb", {"test_simple": 0.0},
     "autograde test_grade_autotest: score 0 of 1 (solution left as NotImplementedError)"),
    ("autotest-simple", f"{APPS}/autotest-simple-changed.ipynb", {"test_simple": 1.0},
     "autograde test_grade_autotest: score 1 of 1"),
    ("autotest-hashed", f"{APPS}/autotest-hashed-unchanged.ipynb", {"test_hashed": 0.0},
     "autograde test_grade_hashed_autotest: score 0 of 1"),
    ("autotest-hashed", f"{APPS}/autotest-hashed-changed.ipynb", {"test_hashed": 1.0},
     "autograde test_grade_hashed_autotest: score 1 of 1"),
    ("autotest-multi", f"{APPS}/autotest-multi-unchanged.ipynb",
     {"test_multi": 0.0, "cell-f2803ba7c42d03ab": 0.0, "cell-693350420ec62f1b": 0.0,
      "cell-13479eb0e5fff152": 0.0},
     "autograde test_grade_complex_autotest: score 0 of 4"),
    ("autotest-multi", f"{APPS}/autotest-multi-changed.ipynb",
     {"test_multi": 1.0, "cell-f2803ba7c42d03ab": 1.0, "cell-693350420ec62f1b": 0.0,
      "cell-13479eb0e5fff152": 1.0},
     "autograde test_grade_complex_autotest: score 3 of 4; d, e and f are wrong on purpose and "
     "only cell-693350420ec62f1b checks them"),
    ("autotest-hidden", f"{APPS}/autotest-hidden-unchanged.ipynb", {"test_hidden": 0.0},
     "autograde test_hidden_tests_autotest: score 0"),
    ("autotest-hidden", f"{APPS}/autotest-hidden-changed-wrong.ipynb", {"test_hidden": 0.0},
     "autograde test_hidden_tests_autotest: score 0 (right types, wrong values: hidden checks fail)"),
    ("autotest-hidden", f"{APPS}/autotest-hidden-changed-right.ipynb", {"test_hidden": 1.0},
     "autograde test_hidden_tests_autotest: score 1"),
    # Each cell's outputs decide (rules in the module docstring); every cell is worth 2 points.
    ("determine-grade", f"{OWN}/determine_grade-submission.ipynb",
     {"passes_silently": 2.0,       # no output: full points
      "fails_assert": 0.0,          # error output
      "stderr_print": 0.0,          # print(..., file=sys.stderr): any stderr output is 0
      "warning_issued": 0.0,        # warnings.warn(...) is printed on stderr
      "stdout_print": 2.0,          # print("0"): stdout is never read
      "result_half": 0.5,           # 0.5 -> partial credit 0.5
      "result_int_one": 1.0,        # 1 -> 1.0
      "result_zero": 0.0,           # 0 -> 0.0 (an expression that evaluates to 0 scores 0)
      "result_max": 2.0,            # 2.0 == points
      "result_negative": 2.0,       # -1: below 0 -> full points (nbgrader logs a warning)
      "result_false": 2.0,          # text/plain 'False' is not a float -> full points
      "result_string": 2.0,         # text/plain "'0.5'" (quoted) is not a float -> full points
      "result_list": 2.0,           # '[0.5]' -> full points
      "result_nan": 2.0,            # float('nan'): nan >= 0 is False -> full points
      "result_after_print": 0.5,    # stdout then execute_result 0.5 -> 0.5
      "result_silenced": 2.0,       # '0;' has no execute_result -> full points
      "display_zero": 2.0,          # display(0) is display_data, not execute_result -> full
      "result_none": 2.0},          # None has no execute_result -> full points
     "nbgrader/utils.py determine_grade and get_partial_grade; run through nbgrader 0.9.6"),
]

# Every graded cell of nbgrader's docs problem2 is a Markdown answer graded by hand.
ALL_MANUAL = (f"{GUIDE}/source/ps1/problem2.ipynb", f"{GUIDE}/submitted/hacker/ps1/problem2.ipynb",
              ("part-a", "part-b"))

# Sources that use nbgrader's AUTOTEST directive with no autotests.yml beside them (nor in the
# current folder): refused. With one, they are expanded as nbgrader does (test_grading_autotest.py).
AUTOTEST_SOURCES = [f"{OWN}/autotest-tiny.ipynb"]


def _same(a: str, b: Path) -> bool:
    return Path(a).resolve() == b.resolve()


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, tuple[int, dict]]:
    """One CLI call per source key with all its submissions: key -> (exit status, JSON report).

    Two calls run at a time: each call's reference run alone would leave a core idle."""
    root = tmp_path_factory.mktemp("nbgrader-conformance")

    def grade(key: str) -> tuple[int, dict]:
        source, args, _, _ = SOURCES[key]
        subs = [str(FIX / sub) for k, sub, _, _ in CASES if k == key]
        out = root / f"{key}.json"
        status = main(["grade", "--source", str(FIX / source), *args, "--jobs", "2",
                       "--json", str(out), *subs])
        return status, json.loads(out.read_text()) if out.exists() else {}

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(SOURCES, pool.map(grade, SOURCES)))


def _report(graded, key: str, sub: str) -> dict:
    status, doc = graded[key]
    assert status == 0, f"grade exited {status} for source {SOURCES[key][0]}"
    found = [s for s in doc["submissions"] if _same(s["path"], FIX / sub)]
    assert len(found) == 1, f"no single report for {sub}"
    return found[0]


_PER_CELL = [pytest.param(key, sub, gid, pts, id=f"{key}:{Path(sub).stem}:{gid}")
             for key, sub, cells, _ in CASES for gid, pts in cells.items()]


@pytest.mark.slow
@pytest.mark.parametrize(("key", "sub", "grade_id", "points"), _PER_CELL)
def test_points_per_autograded_cell_match_nbgrader(graded, key, sub, grade_id, points):
    report = _report(graded, key, sub)
    tests = {t["grade_id"]: t for t in report["tests"]}
    assert grade_id in tests, f"{grade_id} missing from the report"
    test = tests[grade_id]
    assert test["status"] != "manual"
    assert test["points"] == pytest.approx(points), f"{test['status']}: {test['message']}"


@pytest.mark.slow
@pytest.mark.parametrize(("key", "sub", "cells"),
                         [pytest.param(k, s, c, id=f"{k}:{Path(s).stem}") for k, s, c, _ in CASES])
def test_autograded_cells_and_totals_match_nbgrader(graded, key, sub, cells):
    _, _, auto_max, manual = SOURCES[key]
    report = _report(graded, key, sub)
    assert report["error"] is None
    auto = [t["grade_id"] for t in report["tests"] if t["status"] != "manual"]
    assert sorted(auto) == sorted(cells), "autograded cells differ from nbgrader's"
    assert [t["grade_id"] for t in report["tests"] if t["status"] == "manual"] == list(manual)
    assert report["score"] == pytest.approx(sum(cells.values()))
    assert report["max_score"] == pytest.approx(auto_max)


@pytest.mark.slow
def test_source_with_only_manually_graded_cells_scores_zero_of_zero(tmp_path):
    source, sub, manual = ALL_MANUAL
    out = tmp_path / "grades.json"
    assert main(["grade", "--source", str(FIX / source), "--json", str(out), str(FIX / sub)]) == 0
    [report] = json.loads(out.read_text())["submissions"]
    assert (report["score"], report["max_score"], report["error"]) == (0, 0, None)
    assert [(t["grade_id"], t["status"]) for t in report["tests"]] == [(g, "manual") for g in manual]


@pytest.mark.parametrize("source", AUTOTEST_SOURCES, ids=lambda s: Path(s).stem)
def test_source_using_autotest_is_refused(tmp_path, capsys, source):
    out = tmp_path / "grades.json"
    sub = FIX / source  # any submission: the source is rejected before anything runs
    assert main(["grade", "--source", str(FIX / source), "--json", str(out), str(sub)]) == 1
    captured = capsys.readouterr()
    assert "AUTOTEST" in captured.err + captured.out
    assert not out.exists()
