"""nbgrader's ### AUTOTEST lines: expanded with autotests.yml as generate_assignment does, then graded.

The set and the templates below are written for this test. The expansion is also compared, text
for text, with what nbgrader 0.9.6 wrote for its own autotest notebooks (the conformance fixtures).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.__main__ import main
from course_lib.exercises import NotebookFormatError, build_dir, notebook_text, read_notebook
from course_lib.grading import load_source
from course_lib.grading.autotest import expand_autotests

pytestmark = pytest.mark.notebooks

CONFORMANCE = Path(__file__).parent / "fixtures" / "nbgrader_conformance"

# Templates of our own: the int and str types have their own tests, any other type the default one.
TEMPLATES = """\
python3:
    setup: "import hashlib"
    hash: 'hashlib.md5(({{snippet}} + "{{salt}}").encode()).hexdigest()'
    dispatch: "type({{snippet}}).__name__"
    normalize: "str({{snippet}})"
    check: 'assert {{snippet}} == "{{value}}", "{{message}}"'
    success: "print('all autotests passed')"
    templates:
        default:
            - test: "{{snippet}}"
              fail: "{{snippet}} is wrong"
        int:
            - test: "type({{snippet}}).__name__"
              fail: "{{snippet}} should be an int"
            - test: "{{snippet}}"
              fail: "{{snippet}} has the wrong value"
        str:
            - test: "len({{snippet}})"
              fail: "{{snippet}} has the wrong length"
            - test: "{{snippet}}.lower()"
              fail: "{{snippet}} is not the \\"hello\\" asked for"
"""
ANSWER = "### BEGIN SOLUTION\nn = 6 * 7\nword = 'Hello'\nratio = 0.5\n### END SOLUTION"
PLAIN = "### AUTOTEST n; word; ratio"
HASHED = "# the same, hashed\n### HASHED AUTOTEST n; word"


def _nbgrader(grade_id: str, **flags) -> dict:
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, **flags}}


def _source(folder: Path, test_cell_meta: dict | None = None) -> Path:
    """The set: one answer cell, a test cell with AUTOTEST lines, one with HASHED AUTOTEST lines."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [new_markdown_cell("Set `n` to 42, `word` to 'Hello' and `ratio` to 0.5."),
                new_code_cell(ANSWER, metadata=_nbgrader("answers", solution=True)),
                new_code_cell(PLAIN, metadata=test_cell_meta or _nbgrader("test_plain", grade=True, points=1)),
                new_code_cell(HASHED, metadata=_nbgrader("test_hashed", grade=True, points=1))]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "set.ipynb"
    path.write_text(notebook_text(nb), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("autotest")
    _source(root / "source")
    (root / "source" / "autotests.yml").write_text(TEMPLATES, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def expanded(course) -> dict[str, str]:
    """The source's test cells as the grader runs them, by grade_id."""
    plan = load_source(course / "source" / "set.ipynb")
    return {gid: cell.source for gid, cell in plan.cells if plan.roles[gid] == "test"}


def test_each_expression_gets_the_tests_of_its_type_with_the_sources_values(expanded):
    assert expanded["test_plain"] == "\n".join([
        "import hashlib",
        'assert str(type(n).__name__) == "int", "n should be an int"',  # int: its own two tests
        'assert str(n) == "42", "n has the wrong value"',
        "",
        'assert str(len(word)) == "5", "word has the wrong length"',  # str: its own two tests
        'assert str(word.lower()) == "hello", "word is not the \\"hello\\" asked for"',
        "",
        'assert str(ratio) == "0.5", "ratio is wrong"',  # float has no templates: the default
        "",
        "print('all autotests passed')"])


def test_hashed_lines_compare_salted_hashes_and_never_show_the_values(expanded):
    lines = [line for line in expanded["test_hashed"].split("\n") if line.startswith("assert")]
    assert len(lines) == 4 and "42" not in expanded["test_hashed"]
    salts = []
    for line, value in zip(lines, ["int", "42", "5", "hello"]):
        salt, digest = re.fullmatch(r'assert hashlib\.md5\(\(.+ \+ "(\w+)"\)\.encode\(\)\)\.hexdigest\(\) '
                                    r'== "(\w+)", ".+"', line).groups()
        assert digest == hashlib.md5((value + salt).encode()).hexdigest()
        salts.append(salt)
    assert salts[0] == salts[1] != salts[2] == salts[3], "one salt per expression"


@pytest.mark.parametrize("name", ["hashed", "multi"])
def test_expansion_is_the_text_nbgrader_wrote_for_its_own_autotest_notebooks(name):
    source = CONFORMANCE / "apps_files" / f"autotest-{name}.ipynb"  # autotests.yml is beside it
    ours = expand_autotests(read_notebook(source), source)
    nbgraders = read_notebook(CONFORMANCE / "derived" / f"autotest-{name}-instantiated.ipynb")
    assert [c.source for c in ours.cells] == [c.source for c in nbgraders.cells]


@pytest.fixture(scope="module")
def graded(course) -> dict[str, dict]:
    """Student copies built by build-exercises, answered right and wrong, graded by the CLI."""
    [copy] = build_dir(course / "source", course / "release")
    student = json.loads(copy.read_text())
    answers = {"right": "n = 42\nword = 'HELLO'\nratio = 1 / 2", "wrong": "n = 41\nword = 'hello'\nratio = 0.5"}
    paths = []
    for name, answer in answers.items():
        student["cells"][1]["source"] = answer
        paths.append(course / f"{name}.ipynb")
        paths[-1].write_text(json.dumps(student))
    out = course / "grades.json"
    assert main(["grade", "--source", str(course / "source" / "set.ipynb"), "--jobs", "2",
                 "--json", str(out), *map(str, paths)]) == 0
    return {Path(s["path"]).stem: {t["grade_id"]: t for t in s["tests"]}
            for s in json.loads(out.read_text())["submissions"]}


@pytest.mark.slow
def test_student_copy_holds_the_expanded_tests(course, graded, expanded):
    copy = read_notebook(course / "release" / "set.ipynb")
    assert [c.source for c in copy.cells[2:]] == [expanded["test_plain"], expanded["test_hashed"]]
    assert (course / "release" / "autotests.yml").exists(), "copied, as nbgrader copies the set's files"


@pytest.mark.slow
def test_a_right_answer_passes_the_expanded_tests_and_a_wrong_one_fails(graded):
    assert {gid: t["status"] for gid, t in graded["right"].items()} == {"test_plain": "passed",
                                                                         "test_hashed": "passed"}
    assert {gid: t["status"] for gid, t in graded["wrong"].items()} == {"test_plain": "failed",
                                                                         "test_hashed": "failed"}
    assert graded["wrong"]["test_plain"]["message"] == "AssertionError: n has the wrong value"


def test_a_source_with_autotest_lines_and_no_autotests_yml_is_refused_naming_both_places(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = _source(tmp_path / "source")
    with pytest.raises(NotebookFormatError) as err:
        load_source(source)
    assert "AUTOTEST" in str(err.value)
    assert str(source.parent / "autotests.yml") in str(err.value)
    assert str(tmp_path / "autotests.yml") in str(err.value)


def test_grade_refuses_an_autotests_file_that_is_not_there(tmp_path, capsys):
    source = _source(tmp_path)
    (tmp_path / "autotests.yml").write_text(TEMPLATES, encoding="utf-8")  # not the one asked for
    args = ["grade", "--source", str(source), "--autotests", str(tmp_path / "nowhere.yml"), str(source)]
    assert main(args) == 1
    assert f"--autotests {tmp_path / 'nowhere.yml'}: no such file" in capsys.readouterr().err


def test_autotest_lines_outside_a_graded_cell_are_refused_as_by_nbgrader(tmp_path):
    source = _source(tmp_path, test_cell_meta=_nbgrader("not_graded", locked=True))
    (tmp_path / "autotests.yml").write_text(TEMPLATES, encoding="utf-8")
    with pytest.raises(NotebookFormatError, match=r"cells \[2\] hold AUTOTEST lines but are not graded"):
        load_source(source)


def test_an_edited_autotests_yml_is_another_grading_so_no_report_is_reused(tmp_path):
    from course_lib.grading import Options
    from course_lib.grading.runner import grading_of

    source = _source(tmp_path)
    (tmp_path / "autotests.yml").write_text(TEMPLATES, encoding="utf-8")
    before = grading_of(source, Options())
    (tmp_path / "autotests.yml").write_text(TEMPLATES.replace("is wrong", "is not right"), encoding="utf-8")
    assert grading_of(source, Options()) != before
