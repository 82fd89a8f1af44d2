"""The instructor's week: folders in, student ids, feedback pages, hand-graded points, a gradebook."""
from __future__ import annotations

import csv
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.__main__ import main
from course_lib.grading import backend
from course_lib.grading.single import reference_bytes
from course_lib.grading.students import expand
from tests.hostile.submissions import EXERCISE, SOURCE, filled

REPO = Path(__file__).resolve().parents[1]
SET01 = REPO / "solutions" / "01_softmax_cross_entropy.ipynb"
pytestmark = pytest.mark.notebooks


class _Text(HTMLParser):
    """The visible text of an HTML page (script and style left out)."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


# ----- which files, whose ----------------------------------------------------------------------
def test_nbgrader_layout_names_students_by_folder_and_keeps_to_the_set(tmp_path):
    for student in ("alice", "bob"):
        for assignment, name in (("ps1", "problem1.ipynb"), ("ps2", "other.ipynb")):
            path = tmp_path / "submitted" / student / assignment / name
            path.parent.mkdir(parents=True)
            path.write_text("{}")
    skipped = []
    subs = expand([tmp_path / "submitted"], "problem1.ipynb", skipped=skipped)
    assert [(s.student, s.path.parent.name) for s in subs] == [("alice", "ps1"), ("bob", "ps1")]
    assert [(p.parts[-3], p.name) for p in skipped] == [("alice", "other.ipynb"), ("bob", "other.ipynb")]


def test_flat_folders_and_files_name_students_by_stem_and_a_pattern_overrides(tmp_path):
    for name in ("alice.ipynb", "bob.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [s.student for s in expand([tmp_path], "set.ipynb")] == ["alice", "bob"]
    assert [s.student for s in expand([tmp_path / "bob.ipynb"], "set.ipynb")] == ["bob"]
    subs = expand([tmp_path], "set.ipynb", r"/(?P<student>[a-z])[a-z]*\.ipynb$")
    assert [s.student for s in subs] == ["a", "b"]
    with pytest.raises(ValueError, match="no group named 'student'"):
        expand([tmp_path], "set.ipynb", r"(\w+)\.ipynb")
    with pytest.raises(ValueError, match="does not match"):
        expand([tmp_path], "set.ipynb", r"(?P<student>zzz)")


# ----- wrong inputs are caught early ------------------------------------------------------------
def test_a_student_copy_given_as_source_is_refused(tmp_path, capsys):
    assert main(["grade", "--source", str(EXERCISE), str(EXERCISE)]) == 1
    assert "looks like a student copy" in capsys.readouterr().err
    indented = nbformat.read(str(EXERCISE), as_version=4)  # stubs inside functions
    for cell in indented.cells:
        cell.source = cell.source.replace("# YOUR CODE HERE\nraise NotImplementedError()",
                                          "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    nbformat.write(indented, str(tmp_path / "copy.ipynb"))
    assert main(["grade", "--source", str(tmp_path / "copy.ipynb"), str(EXERCISE)]) == 1
    assert "looks like a student copy" in capsys.readouterr().err


def test_a_notebook_of_another_set_scores_zero_with_the_reason(tmp_path):
    shutil.copy(SET01, tmp_path / "carol.ipynb")
    nbformat.write(filled(), str(tmp_path / "alice.ipynb"))
    out = tmp_path / "g.json"
    assert main(["grade", "--source", str(SOURCE), "--json", str(out), str(tmp_path)]) == 0
    subs = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert subs["alice"]["score"] == 6 and subs["carol"]["score"] == 0
    assert "does not look like a submission of fixture_set" in subs["carol"]["error"]


def test_a_folder_given_as_a_file_path_of_no_notebooks_is_an_argument_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["grade", "--source", str(SOURCE), str(tmp_path / "empty")])
    assert stop.value.code == 2 and "no notebooks found" in capsys.readouterr().err


def test_a_submission_path_that_does_not_exist_stops_before_grading(tmp_path, capsys):
    nbformat.write(filled(), str(tmp_path / "alice.ipynb"))
    with pytest.raises(SystemExit) as stop:
        main(["grade", "--source", str(SOURCE), str(tmp_path / "alice.ipynb"), str(tmp_path / "011")])
    assert stop.value.code == 2 and f"{tmp_path / '011'} does not exist" in capsys.readouterr().err


def test_a_wrong_source_stops_and_names_the_set_the_class_handed_in(tmp_path, capsys):
    sources = tmp_path / "solutions"
    sources.mkdir()
    for path in (SOURCE, SET01):
        shutil.copy(path, sources / path.name)
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("alice", "bob"):
        nbformat.write(filled(), str(folder / f"{name}.ipynb"))
    (folder / "carol.ipynb").write_text("not a notebook")
    assert main(["grade", "--source", str(sources / SET01.name), str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"none of the 2 readable submission(s) looks like a submission of {SET01.name}" in err
    assert "they look like submissions of fixture_set.ipynb (2 of 2)" in err


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write in: a chmod-ed one, or /proc/sys when run as root."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        folder = Path("/proc/sys")
    if os.access(folder, os.W_OK):
        pytest.skip("no folder here is read-only for this process")
    return folder


@pytest.mark.parametrize("option, target", [("--feedback", "feedback"), ("--manual-template", "manual.csv")])
def test_a_read_only_output_folder_is_refused_before_grading(tmp_path, capsys, option, target):
    folder = _read_only_folder(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["grade", "--source", str(SOURCE), option, str(folder / target), str(EXERCISE)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"cannot write {option}" in err
    assert f"the folder {folder} is not writable" in err


def test_an_output_path_that_is_a_folder_is_refused_before_grading(tmp_path, capsys):
    (tmp_path / "grades.csv").mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["grade", "--source", str(SOURCE), "--csv", str(tmp_path / "grades.csv"), str(EXERCISE)])
    assert stop.value.code == 2 and "is a folder, not a file" in capsys.readouterr().err


def test_a_file_named_twice_is_graded_once_and_one_student_with_two_files_is_refused(tmp_path):
    (tmp_path / "sub" / "alice").mkdir(parents=True)
    for path in ("sub/alice.ipynb", "sub/bob.ipynb", "sub/alice/x.ipynb"):
        (tmp_path / path).write_text("{}")
    assert [s.student for s in expand([tmp_path / "sub/bob.ipynb", tmp_path / "sub/bob.ipynb"], "s.ipynb")] == ["bob"]
    with pytest.raises(ValueError, match="student alice has two notebooks to grade"):
        expand([tmp_path / "sub"], "s.ipynb")


def test_a_submitted_folder_planted_in_a_students_own_folder_names_nobody(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in ("submitted/mallory/ps1", "submitted/mallory/ps1/submitted/frank/ps1", "submitted/bob/ps1"):
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "set.ipynb").write_text("{}")
    skipped: list[Path] = []
    got = expand(["submitted"], "set.ipynb", skipped=skipped)
    assert sorted(s.student for s in got) == ["bob", "mallory"]
    assert skipped == [Path("submitted/mallory/ps1/submitted/frank/ps1/set.ipynb")]
    assert sorted(s.student for s in expand(["submitted/mallory/ps1", "submitted/bob/ps1"], "set.ipynb")) == \
        ["bob", "mallory"]


def test_nbgrader_layout_names_the_student_by_folder_whatever_the_path_and_refuses_one_twice(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    args = [submitted / "alice" / "ps1", submitted / "alice" / "ps1b" / "fixture_set.ipynb"]
    for folder in (args[0], args[1].parent):
        folder.mkdir(parents=True)
        (folder / "fixture_set.ipynb").write_text("{}")
    assert [s.student for s in expand(args[:1], "fixture_set.ipynb")] == ["alice"]
    assert [s.student for s in expand(args[1:], "fixture_set.ipynb")] == ["alice"]
    with pytest.raises(SystemExit) as stop:
        main(["grade", "--source", str(SOURCE), *map(str, args)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "student alice has two notebooks to grade" in err
    assert str(args[0] / "fixture_set.ipynb") in err and str(args[1]) in err


def test_a_test_the_whole_class_fails_while_the_source_passes_is_warned_about(tmp_path, capsys):
    """A wrong answer key (here: the class's scale is what the key should have been) fails everyone."""
    folders, students = [], ("ann", "ben", "cat", "dan", "eve")
    for student in students:
        folder = tmp_path / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(filled(scale="def scale(xs, factor):\n    return [x * factor + 1 for x in xs]"),
                       str(folder / "fixture_set.ipynb"))
        folders.append(str(folder))
    (folder / "scratch.ipynb").write_text("{}")  # eve's own notebook: listed, not graded
    out = tmp_path / "g.json"
    assert main(["grade", "--source", str(SOURCE), "--jobs", "2", "--json", str(out), *folders]) == 0
    subs = json.loads(out.read_text())["submissions"]
    assert [(s["student"], s["score"]) for s in subs] == [(name, 5) for name in students]
    err = capsys.readouterr().err
    assert "warning: 5 of the 5 graded submissions fail test cell 'test_scale', which the source passes" in err
    assert "'test_square'" not in err
    assert f"skipped 1 notebook(s) not named fixture_set.ipynb, as the source: {folder / 'scratch.ipynb'}" in err


def test_a_rerun_whose_every_report_is_kept_runs_nothing_not_even_the_source(tmp_path, capsys, monkeypatch):
    """Regrading a finished class (for a new CSV, or after Ctrl-C at the very end) reuses every kept
    report without running the source again; one new submission runs it once, first."""
    wrong = "def scale(xs, factor):\n    return xs"
    for name, nb in (("ann", filled()), ("ben", filled(scale=wrong)), ("cat", filled(scale=None))):
        nbformat.write(nb, str(tmp_path / f"{name}.ipynb"))
    args = ["grade", "--source", str(SOURCE), "--json", str(tmp_path / "g.json")]
    assert main([*args, str(tmp_path / "ann.ipynb"), str(tmp_path / "ben.ipynb")]) == 0
    first = json.loads((tmp_path / "g.json").read_text())["submissions"]
    reference_runs = []

    def counted(*args, **kwargs):
        reference_runs.append(args[1])
        return reference_bytes(*args, **kwargs)
    monkeypatch.setattr(backend, "reference_bytes", counted)
    capsys.readouterr()
    assert main([*args, str(tmp_path / "ann.ipynb"), str(tmp_path / "ben.ipynb")]) == 0
    assert reference_runs == [] and "graded 0, reused 2 finished earlier" in capsys.readouterr().err
    assert json.loads((tmp_path / "g.json").read_text())["submissions"] == first
    assert main([*args, *(str(tmp_path / f"{n}.ipynb") for n in ("ann", "ben", "cat"))]) == 0
    assert reference_runs == [SOURCE.name] and "graded 1, reused 2 finished earlier" in capsys.readouterr().err
    scores = [s["score"] for s in json.loads((tmp_path / "g.json").read_text())["submissions"]]
    assert scores[:2] == [s["score"] for s in first] and scores[0] > scores[1] and len(scores) == 3


# ----- nbgrader's partial credit ------------------------------------------------------------------
def test_a_test_cell_whose_result_is_a_number_earns_that_many_points(tmp_path):
    """nbgrader's determine_grade; tests/test_nbgrader_conformance.py checks it case by case."""
    meta = {"grade": True, "solution": False, "locked": True, "points": 3, "schema_version": 3}
    answer = {"grade": False, "solution": True, "locked": False, "grade_id": "f", "schema_version": 3}
    tests = [("half", "0.75 * sum(f(x) == 2 * x for x in range(4))"),
             ("above", "3 if f(3) == 6 else 7"), ("negative", "3 if f(2) == 4 else -1")]
    source = tmp_path / "src.ipynb"
    cells = [new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                           metadata={"nbgrader": answer})]
    cells += [new_code_cell(code, metadata={"nbgrader": {**meta, "grade_id": gid}}) for gid, code in tests]
    nbformat.write(new_notebook(cells=cells), str(source))
    mine = new_notebook(cells=[new_code_cell("def f(x):\n    return 2 * x if x < 2 else 0",
                                             metadata={"nbgrader": answer})])
    nbformat.write(mine, str(tmp_path / "mine.ipynb"))
    out = tmp_path / "g.json"
    assert main(["grade", "--source", str(source), "--json", str(out), str(tmp_path / "mine.ipynb")]) == 0
    got = {t["grade_id"]: t for t in json.loads(out.read_text())["submissions"][0]["tests"]}
    assert (got["half"]["points"], got["half"]["status"]) == (1.5, "partial")
    assert (got["negative"]["points"], got["negative"]["status"]) == (3, "passed")
    assert (got["above"]["points"], got["above"]["status"]) == (0, "error")
    assert "more than its 3 points" in got["above"]["message"]


def test_a_source_that_does_not_earn_full_marks_stops_grading(tmp_path, capsys):
    meta = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "warns",
            "schema_version": 3}
    source = tmp_path / "src.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import warnings\nwarnings.warn('careful')",
                                                     metadata={"nbgrader": meta})]), str(source))
    assert main(["grade", "--source", str(source), str(source)]) == 1
    err = capsys.readouterr().err
    assert "'warns' does not earn its points" in err and "stderr" in err and "careful" in err


def test_skip_source_check_grades_against_a_source_with_stubs_and_says_so_in_every_report(tmp_path, capsys):
    """nbgrader's own test sources hold stubs and fail their tests; --skip-source-check grades them."""
    answer = {"grade": False, "solution": True, "locked": False, "grade_id": "f", "schema_version": 3}
    test = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t_f", "schema_version": 3}
    stub = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    source = tmp_path / "src.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(stub, metadata={"nbgrader": answer}),
                                       new_code_cell("assert f(2) == 4", metadata={"nbgrader": test})]), str(source))
    for name, code in [("solved", "def f(x):\n    return 2 * x"), ("unsolved", stub)]:
        mine = new_notebook(cells=[new_code_cell(code, metadata={"nbgrader": answer}),
                                   new_code_cell("assert f(2) == 4", metadata={"nbgrader": test})])
        nbformat.write(mine, str(tmp_path / f"{name}.ipynb"))
    subs = [str(tmp_path / "solved.ipynb"), str(tmp_path / "unsolved.ipynb")]
    assert main(["grade", "--source", str(source), *subs]) == 1
    err = capsys.readouterr().err
    assert "looks like a student copy" in err and "pass --skip-source-check" in err
    out = tmp_path / "g.json"
    assert main(["grade", "--source", str(source), "--skip-source-check", "--json", str(out), *subs]) == 0
    err = capsys.readouterr().err
    assert "warning: graded with --skip-source-check" in err
    got = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert (got["solved"]["score"], got["unsolved"]["score"]) == (2, 0)  # nbgrader's rule: no error, full points
    for report in got.values():
        assert report["notes"][0].startswith("graded with --skip-source-check")
        assert "stubs" in report["notes"][0] and "'t_f' does not pass (f: not solved yet" in report["notes"][0]


@pytest.mark.parametrize("option, fix, not_fix", [
    ("--timeout", "the cell needs more than --timeout 1 s here: raise --timeout", "--deadline"),
    ("--deadline", "the source needs more than --deadline 1 s here: raise --deadline", "raise --timeout")])
def test_a_source_too_slow_for_a_limit_names_that_limit_as_the_likely_fix(tmp_path, capsys, option, fix, not_fix):
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": "slow_import", "schema_version": 3}
    test = {**meta, "grade": True, "points": 1, "grade_id": "t"}
    source = tmp_path / "src.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import time\ntime.sleep(30)", metadata={"nbgrader": meta}),
                                       new_code_cell("assert time", metadata={"nbgrader": test})]), str(source))
    assert main(["grade", "--source", str(source), option, "1", str(source)]) == 1
    err = capsys.readouterr().err
    assert "'slow_import' does not pass" in err and f"likely fix: {fix}" in err and not_fix not in err


# ----- feedback, hand grading, gradebook ------------------------------------------------------------
@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Set 01 graded with feedback: alice right, bob forgot the mean, carol sent nothing usable."""
    root = tmp_path_factory.mktemp("week")
    src = nbformat.read(str(SET01), as_version=4)
    student = nbformat.read(str(REPO / "exercises" / SET01.name), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    folder = root / "submissions"
    folder.mkdir()
    for name, edit in (("alice", None), ("bob", ("-log_Y[np.arange(len(c)), c].mean()",
                                                 "-log_Y[np.arange(len(c)), c].sum()"))):
        nb = nbformat.from_dict(json.loads(json.dumps(student)))
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                cell.source = answers[gid].replace(*edit) if edit else answers[gid]
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
    (folder / "carol.ipynb").write_text("not a notebook")
    out = root / "g01.json"
    status = main(["grade", "--source", str(SET01), "--jobs", "2", "--json", str(out),
                   "--feedback", str(root / "feedback"), "--manual-template", str(root / "manual.csv"),
                   str(folder)])
    return status, root, json.loads(out.read_text())


def test_every_student_gets_a_feedback_page(week):
    status, root, doc = week
    assert status == 0
    assert sorted(p.name for p in (root / "feedback").iterdir()) == ["alice.html", "bob.html", "carol.html"]
    assert "Autograded score: 9 / 9" in page_text(root / "feedback" / "alice.html")
    assert "invalid JSON" in page_text(root / "feedback" / "carol.html")


def test_feedback_shows_the_course_hint_and_never_the_hidden_tests(week):
    _, root, doc = week
    text = page_text(root / "feedback" / "bob.html")
    bob = next(s for s in doc["submissions"] if s["student"] == "bob")
    failed = [t for t in bob["tests"] if t["status"] == "failed"]
    assert [t["grade_id"] for t in failed] == ["ex_cross_entropy_check"]
    assert "the loss is the mean over the batch: divide by B" in failed[0]["message"]
    assert "the loss is the mean over the batch: divide by B" in text
    assert "Autograded score: 7 / 9" in text and "-log_Y[np.arange(len(c)), c].sum()" in text
    source = nbformat.read(str(SET01), as_version=4)
    for cell in source.cells:
        if "BEGIN HIDDEN TESTS" in cell.source:
            before, rest = cell.source.split("### BEGIN HIDDEN TESTS")
            hidden, after = rest.split("### END HIDDEN TESTS")
            shown = {line.strip() for line in (before + after).splitlines()}
            for line in hidden.splitlines():
                if len(line.strip()) <= 12 or line.strip() in shown:
                    continue
                assert line.strip() not in text, f"hidden test line shown: {line.strip()}"


def test_manual_points_merge_into_a_gradebook_with_a_missing_student_noted(week, tmp_path, capsys):
    _, root, doc = week
    g01 = root / "g01.json"
    other = json.loads(g01.read_text())
    other["source"] = "solutions/02_extra.ipynb"
    other["submissions"] = [s for s in other["submissions"] if s["student"] != "alice"]
    for sub in other["submissions"]:  # one hand-graded cell in the second set
        sub["tests"].append({"grade_id": "essay", "points": None, "max_points": 4, "status": "manual",
                             "message": ""})
        sub["manual_max_score"] = 4
    g02 = tmp_path / "g02.json"
    g02.write_text(json.dumps(other))
    manual = tmp_path / "manual.csv"
    manual.write_text("student,set,grade_id,max_points,points,comment\n"
                      "bob,02_extra,essay,4,2.5,clear but short\ncarol,02_extra,essay,4,,\n")
    book = tmp_path / "book.csv"
    assert main(["gradebook", str(g01), str(g02), "--manual", str(manual), "--csv", str(book)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(book.open())}
    assert list(rows["bob"])[:3] == ["student", "01_softmax_cross_entropy", "02_extra"]
    assert (rows["alice"]["01_softmax_cross_entropy"], rows["alice"]["02_extra"]) == ("9", "0")
    assert "no submission for 02_extra" in rows["alice"]["notes"]
    assert (rows["bob"]["02_extra"], rows["bob"]["total"], rows["bob"]["max_total"]) == ("9.5", "16.5", "23")
    assert rows["bob"]["percent"] == "71.7"
    assert "hand-graded cells not graded yet" in rows["carol"]["notes"]


@pytest.mark.parametrize("line, problem", [
    ("dave,01_softmax_cross_entropy,ex_softmax_check,2,1,", "line 2: no submission of 01_softmax_cross_entropy by student 'dave'"),
    ("bob,01_softmax_cross_entropy,ex_softmax_check,2,1,", "line 2: 'ex_softmax_check' is not a hand-graded cell"),
    ("bob,99_nothing,essay,2,1,", "line 2: unknown set '99_nothing'"),
])
def test_wrong_manual_lines_are_named(week, tmp_path, capsys, line, problem):
    _, root, _ = week
    manual = tmp_path / "manual.csv"
    manual.write_text("student,set,grade_id,max_points,points,comment\n" + line + "\n")
    assert main(["gradebook", str(root / "g01.json"), "--manual", str(manual), "--csv", str(tmp_path / "b.csv")]) == 1
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()


def test_points_above_the_maximum_are_refused(tmp_path, capsys):
    doc = {"source": "s/set.ipynb", "submissions": [{"student": "ann", "path": "a", "score": 0, "max_score": 0,
           "manual_max_score": 2, "error": None, "notes": [],
           "tests": [{"grade_id": "essay", "points": None, "max_points": 2, "status": "manual", "message": ""}]}]}
    report = tmp_path / "g.json"
    report.write_text(json.dumps(doc))
    manual = tmp_path / "manual.csv"
    manual.write_text("student,set,grade_id,max_points,points,comment\nann,set,essay,2,3,\nann,set,essay,2,x,\n")
    assert main(["gradebook", str(report), "--manual", str(manual), "--csv", str(tmp_path / "b.csv")]) == 1
    err = capsys.readouterr().err
    assert "line 2: 3 points for 'essay', which is worth 0 to 2" in err
    assert "line 3: ann/set/essay is given twice" in err


def test_a_roster_export_comes_back_with_the_sets_added(week, tmp_path, capsys):
    _, root, _ = week
    roster = tmp_path / "canvas_export.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (31),Final Score\n"  # as Canvas writes it
                      ",,,,,Manual Posting,\n"
                      "    Points Possible,,,,,5.00,(read only)\n"
                      "\"Doe, Alice\",101,s1,alice,A,4.00,80\n\"Roe, Bob\",102,s2,bob,A,5.00,100\n"
                      "\"Poe, Dan\",104,s4,dan,B,,\n")
    # carol has a report row but is not in this roster: refused, by name
    assert main(["gradebook", str(root / "g01.json"), "--roster", str(roster), "--roster-key",
                 "SIS Login ID", "--csv", str(tmp_path / "b.csv")]) == 1
    doc = json.loads((root / "g01.json").read_text())
    doc["submissions"] = [s for s in doc["submissions"] if s["student"] != "carol"]
    (tmp_path / "g.json").write_text(json.dumps(doc))
    assert main(["gradebook", str(tmp_path / "g.json"), "--roster", str(roster), "--roster-key",
                 "SIS Login ID", "--csv", str(tmp_path / "b.csv")]) == 0
    assert "gradebook: 3 student(s)" in capsys.readouterr().out
    rows = list(csv.reader((tmp_path / "b.csv").open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (31)", "Final Score",
                       "01_softmax_cross_entropy (10 pts)"]
    assert rows[1:3] == [["", "", "", "", "", "Manual Posting", "", ""],  # Canvas's own rows: kept, not students
                         ["    Points Possible", "", "", "", "", "5.00", "(read only)", "10"]]
    assert [r[-1] for r in rows[3:]] == ["9", "7", "0"]
    assert [r[:-1] for r in rows[3:]] == list(csv.reader(roster.open()))[3:]  # the rest as it was
    with roster.open("a") as f:
        f.write("\"Doe, Alice (2)\",105,s5,alice,B,,\n")
    assert main(["gradebook", str(tmp_path / "g.json"), "--roster", str(roster), "--roster-key",
                 "SIS Login ID", "--csv", str(tmp_path / "b2.csv")]) == 1
    assert "names a student twice: alice" in capsys.readouterr().err


def test_a_moodle_export_keeps_its_own_columns(week, tmp_path):
    _, root, _ = week
    roster = tmp_path / "moodle_export.csv"
    roster.write_text("First name,Last name,ID number,Username,Email address,Last downloaded from this course\n"
                      "Alice,Doe,,alice,a@x.org,1733500000\nBob,Roe,,bob,b@x.org,1733500000\n"
                      "Carol,Coe,,carol,c@x.org,1733500000\n")
    assert main(["gradebook", str(root / "g01.json"), "--roster", str(roster), "--roster-key", "Username",
                 "--csv", str(tmp_path / "b.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    assert [(r["Username"], r["Last downloaded from this course"], r["01_softmax_cross_entropy (10 pts)"])
            for r in rows] == [("alice", "1733500000", "9"), ("bob", "1733500000", "7"), ("carol", "1733500000", "0")]


def test_the_manual_template_lists_each_hand_graded_cell(tmp_path):
    source = tmp_path / "src.ipynb"
    meta = {"grade": True, "solution": True, "locked": False, "points": 2, "grade_id": "essay", "schema_version": 3}
    test = {"grade": True, "solution": False, "locked": True, "points": 0, "grade_id": "t", "schema_version": 3}
    nb = new_notebook(cells=[nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
                                                           metadata={"nbgrader": meta})])
    nbformat.write(nb, str(source))
    out, template = tmp_path / "g.json", tmp_path / "manual.csv"
    assert main(["grade", "--source", str(source), "--json", str(out), "--manual-template", str(template),
                 str(source)]) == 0
    doc = json.loads(out.read_text())
    assert (doc["submissions"][0]["score"], doc["submissions"][0]["max_score"]) == (0, 0)
    assert doc["submissions"][0]["tests"][0]["status"] == "manual"
    assert template.read_text().splitlines() == ["student,set,grade_id,max_points,points,comment",
                                                 "src,src,essay,2,,"]
    assert test  # a test cell is not needed: a set may be graded by hand only


def test_a_student_name_cannot_steer_where_its_feedback_is_written(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(filled(), str(folder / "alice.ipynb"))
    feedback = tmp_path / "out" / "feedback"
    feedback.parent.mkdir()  # the path typed below passes through it
    assert main(["grade", "--source", str(SOURCE), "--feedback", str(feedback),
                 "--student-pattern", r"(?P<student>\.\./class/al.+)\.ipynb",
                 str(tmp_path / "out" / ".." / "class" / "alice.ipynb")]) == 0
    assert [p.name for p in feedback.iterdir()] == ["_class_alice.html"]


def test_a_page_that_cannot_be_written_costs_that_page_and_the_run_says_so(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(filled(), str(folder / "alice.ipynb"))
    nbformat.write(filled(), str(folder / "bob.ipynb"))
    feedback = tmp_path / "feedback"
    (feedback / "bob.html").mkdir(parents=True)  # a folder where bob's page should go
    out = tmp_path / "g.json"
    assert main(["grade", "--source", str(SOURCE), "--feedback", str(feedback), "--json", str(out),
                 str(folder)]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 student(s) got no feedback page" in err and "bob.html" in err
    assert (feedback / "alice.html").is_file()
    bob = next(s for s in json.loads(out.read_text())["submissions"] if s["student"] == "bob")
    assert bob["score"] == bob["max_score"]  # the score stands
    assert any(n.startswith("no feedback page: it could not be written") for n in bob["notes"])
