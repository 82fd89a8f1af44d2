"""grade / check: hostile submissions get exactly the score their solutions deserve."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from course_lib.__main__ import main
from course_lib.grading import load_source
from course_lib.grading.assemble import assemble
from tests.hostile.submissions import CASES, EXERCISE, SOURCE, TESTS, filled, write_all

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every hostile case graded in one CLI call with two kernels at a time."""
    root = tmp_path_factory.mktemp("course")
    paths = write_all(root / "submitted")
    out_json, out_csv = root / "grades.json", root / "grades.csv"
    args = ["grade", "--source", str(SOURCE), "--timeout", "4", "--jobs", "2", "--memory-mb", "1024",
            "--json", str(out_json), "--csv", str(out_csv), *map(str, paths)]
    status = main(args)
    doc = json.loads(out_json.read_text())
    by_case = {Path(s["path"]).stem: s for s in doc["submissions"]}
    return status, doc, by_case, list(csv.DictReader(out_csv.open()))


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_submission_gets_exactly_its_score(graded, case):
    score, statuses, error = CASES[case]
    report = graded[2][case]
    tests = {t["grade_id"]: t for t in report["tests"]}
    assert (report["score"], report["max_score"]) == (score, 6)
    assert tuple(tests[gid]["status"] for gid in TESTS) == statuses
    assert [t["grade_id"] for t in report["tests"]] == [*TESTS, "explain", "show_work"]
    assert [tests[g]["status"] for g in ("explain", "show_work")] == ["manual", "manual"]
    if error is None:
        assert report["error"] is None
    else:
        assert error in report["error"]


@pytest.mark.slow
def test_grader_exits_zero_and_reports_are_small_and_complete(graded):
    status, doc, by_case, rows = graded
    assert status == 0 and doc["source"] == str(SOURCE) and len(doc["submissions"]) == len(CASES)
    assert len(json.dumps(doc)) < 100_000, "outputs must never reach the report"
    assert max(len(t["message"]) for s in doc["submissions"] for t in s["tests"]) < 1000
    assert by_case["correct"]["manual_max_score"] == 3
    assert by_case["untouched"]["tests"][0]["message"] == ("square: not solved yet: replace `raise "
                                                           "NotImplementedError()` with your code")
    assert by_case["visible_tests_only"]["tests"][0]["message"] == "AssertionError: square(-4) should be 16"
    assert by_case["loop_in_solution_cell"]["tests"][0]["message"] == "not run: solution cell 'square' timed out"
    assert any("'test_square' was missing" in n for n in by_case["deleted_tests"]["notes"])


@pytest.mark.slow
def test_csv_has_a_column_per_graded_cell_plus_total(graded):
    rows = graded[3]
    assert list(rows[0]) == ["student", "path", *TESTS, "explain", "show_work", "total", "max_total", "error"]
    assert {r["student"] for r in rows} == set(CASES)
    row = next(r for r in rows if Path(r["path"]).stem == "loop_in_solution_cell")
    assert (row["test_square"], row["test_mean_of_squares"], row["total"], row["explain"]) == ("0", "3", "4", "")


def test_table_has_one_row_per_submission(tmp_path, capsys):
    good = tmp_path / "alice.ipynb"
    nbformat.write(filled(), str(good))
    (tmp_path / "bob.ipynb").write_text("")
    assert main(["grade", "--source", str(SOURCE), str(good), str(tmp_path / "bob.ipynb")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["student", "score", *TESTS, "explain", "show_work"]
    assert lines[1].split()[1:5] == ["6/6", "ok", "ok", "ok"]
    assert lines[2].split()[:5] == ["bob", "0/6", "-", "-", "-"] and lines[3].endswith("bob.ipynb): empty file")


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "No such file"),
    (lambda p: p.write_text("{oops"), "not a readable notebook"),
    (lambda p: nbformat.write(nbformat.v4.new_notebook(cells=[new_code_cell("x = 1")]), str(p)),
     "no graded cells"),
    (lambda p: p.write_text(SOURCE.read_text().replace("### END SOLUTION", "")), "is never closed"),
])
def test_unusable_source_exits_one_with_a_clear_message(tmp_path, capsys, make, message):
    source = tmp_path / "source.ipynb"
    make(source)
    assert main(["grade", "--source", str(source), str(EXERCISE)]) == 1
    err = capsys.readouterr().err
    assert "the source notebook" in err and message in err


@pytest.mark.parametrize("args", [["--jobs", "0"], ["--timeout", "-1"], ["--json", "/no/such/dir/x.json"], []])
def test_wrong_arguments_exit_two(args, capsys):
    submissions = [str(EXERCISE)] if args else []
    with pytest.raises(SystemExit) as exc:
        main(["grade", "--source", str(SOURCE), *args, *submissions])
    assert exc.value.code == 2


def _assembled(cells):
    nb = nbformat.read(str(EXERCISE), as_version=4)
    nb.cells = cells(nb.cells)
    return assemble(load_source(SOURCE), nb)


def test_source_order_wins_and_scratch_cells_follow_their_anchor():
    scratch = new_code_cell("helper = 1")
    steps, notes, _ = _assembled(lambda cells: [cells[4], scratch] + cells[:4] + cells[5:])
    labels = [s.label for s in steps]
    assert labels[:4] == ["setup", "solution 'square'", "test_square", "student cell after 'test_square'"]
    assert steps[2].kind == "instructor" and "BEGIN HIDDEN TESTS" in steps[2].code
    assert steps[2].depends_on == "square" and notes == []


def test_duplicates_count_once_and_extra_solution_copies_run_as_scratch():
    def duplicate(cells):
        return cells[:4] + [cells[3], cells[4], cells[4]] + cells[4:]
    steps, notes, _ = _assembled(duplicate)
    assert [s.label for s in steps].count("test_square") == 1
    assert "student cell after 'square'" in [s.label for s in steps]
    assert notes.count("extra copy of cell 'test_square' ignored") == 2


def test_markdown_cells_are_not_run_and_missing_solutions_are_noted():
    steps, notes, _ = _assembled(lambda cells: [c for c in cells if c.metadata.get("nbgrader", {})
                                                .get("grade_id") != "scale"] + [new_markdown_cell("x")])
    assert "x" not in [s.code for s in steps]
    assert "solution cell 'scale' is missing from the submission" in notes


def test_check_passes_a_filled_notebook(tmp_path, capsys):
    path = tmp_path / "mine.ipynb"
    nbformat.write(filled(), str(path))
    assert main(["check", str(path), "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert "6/6 points from the visible checks" in out and out.count("PASS") == 3


def test_check_prints_each_failure_in_full_using_only_visible_tests(tmp_path, capsys):
    path = tmp_path / "mine.ipynb"
    nbformat.write(filled(square="def square(x):\n    return 9 if x == 3 else x", mean=None), str(path))
    assert main(["check", str(path), "--timeout", "10"]) == 1
    out = capsys.readouterr().out
    assert "PASS     test_square (2 pt)" in out, "the hidden test that catches it is not in the exercise"
    assert "FAILED   test_mean_of_squares (3 pt)\n           NameError: name 'mean_of_squares' is not defined" in out
