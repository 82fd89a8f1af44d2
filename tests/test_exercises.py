"""build-exercises: nbgrader source notebook → student copy, as nbgrader's generate_assignment writes it."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.__main__ import main
from course_lib.exercises import (CODE_STUB, TEXT_STUB, NotebookFormatError, build_dir, build_notebook,
                                  check_dir, compute_checksum, notebook_text, read_notebook)

FIXTURES = Path(__file__).parent / "fixtures"
NBGRADER = FIXTURES / "nbgrader"


def nbg(grade_id, *, grade=False, solution=False, locked=False, points=None, task=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def one_cell(cell):
    return build_notebook(new_notebook(cells=[cell]), "nb.ipynb").cells[0]


def test_solution_region_becomes_stub_at_its_indentation():
    source = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n# after"
    cell = one_cell(new_code_cell(source, metadata=nbg("f", solution=True)))
    assert cell.source == ("def f(x):\n    y = 1\n    # YOUR CODE HERE\n"
                           "    raise NotImplementedError()\n# after")


@pytest.mark.parametrize("marker", ["### BEGIN SOLUTION", "# BEGIN SOLUTION", "#BEGIN SOLUTION"])
def test_markers_match_anywhere_in_the_line_like_nbgrader(marker):
    end = marker.replace("BEGIN", "END")
    cell = one_cell(new_code_cell(f"a = 1\n{marker}\nb = 2\n{end}", metadata=nbg("f", solution=True)))
    assert cell.source == "a = 1\n" + CODE_STUB


def test_several_regions_in_one_cell_are_each_replaced():
    source = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nkeep = 0\n  ### BEGIN SOLUTION\n  b\n  ### END SOLUTION"
    cell = one_cell(new_code_cell(source, metadata=nbg("f", solution=True)))
    assert cell.source == CODE_STUB + "\nkeep = 0\n  # YOUR CODE HERE\n  raise NotImplementedError()"


def test_solution_cell_without_markers_is_replaced_whole():
    cell = one_cell(new_code_cell("def f():\n    return 42", metadata=nbg("f", solution=True)))
    assert cell.source == CODE_STUB


def test_markdown_answers_become_your_answer_here():
    whole = one_cell(new_markdown_cell("Because.", metadata=nbg("why", grade=True, solution=True, points=1)))
    region = one_cell(new_markdown_cell("Q?\n### BEGIN SOLUTION\nA.\n### END SOLUTION",
                                        metadata=nbg("q", grade=True, solution=True, points=1)))
    assert whole.source == TEXT_STUB
    assert region.source == "Q?\n" + TEXT_STUB


def test_hidden_tests_are_removed_with_their_marker_lines():
    source = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS\nassert True"
    cell = one_cell(new_code_cell(source, metadata=nbg("t", grade=True, points=1)))
    assert cell.source == "assert f(1) == 2\nassert True"


def test_mark_scheme_is_removed_from_task_cells():
    cell = one_cell(new_markdown_cell("Plot it.\n### BEGIN MARK SCHEME\n1 point\n### END MARK SCHEME",
                                      metadata=nbg("task", locked=True, points=1, task=True)))
    assert cell.source == "Plot it."


def test_outputs_and_counts_are_cleared_and_nbgrader_metadata_kept():
    src = new_code_cell("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION", execution_count=7,
                        outputs=[new_output("stream", name="stdout", text="1\n")],
                        metadata={**nbg("f", solution=True), "scrolled": True, "tags": ["keep"]})
    cell = one_cell(src)
    assert cell.outputs == [] and cell.execution_count is None
    assert "scrolled" not in cell.metadata and cell.metadata.tags == ["keep"]
    assert cell.metadata.deletable is False
    meta = cell.metadata.nbgrader
    assert meta.solution and meta.grade_id == "f" and meta.cell_type == "code"
    assert meta.checksum == compute_checksum(cell)
    assert src.source.startswith("###"), "the source notebook must not be modified"


def test_test_and_locked_cells_are_made_uneditable_like_nbgrader_locks_them():
    test = one_cell(new_code_cell("assert True", metadata=nbg("t", grade=True, points=1)))
    setup = one_cell(new_code_cell("import math", metadata=nbg("s", locked=True)))
    free = one_cell(new_code_cell("x = 1"))
    assert (test.metadata.deletable, test.metadata.editable) == (False, False)
    assert (setup.metadata.deletable, setup.metadata.editable) == (False, False)
    assert "deletable" not in free.metadata and "nbgrader" not in free.metadata


def test_build_is_deterministic_even_for_cells_without_ids(tmp_path):
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                                           metadata=nbg("f", solution=True))])
    nb.cells[0].pop("id")
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.v4.writes(nb), encoding="utf-8")
    first = notebook_text(build_notebook(read_notebook(path)))
    second = notebook_text(build_notebook(read_notebook(path)))
    assert first == second and first.endswith("\n") and '"id": ' in first


def test_nbgrader_release_is_reproduced_byte_for_byte():
    """The reference was written by nbgrader 0.9.5 from a source carrying stale checksums,
    ``task: false`` and ``cell_type`` fields (see tests/fixtures/make_fixtures.py)."""
    built = build_notebook(read_notebook(NBGRADER / "source/ps1/ps1.ipynb"), "ps1")
    assert notebook_text(built) == (NBGRADER / "release/ps1/ps1.ipynb").read_text(encoding="utf-8")


@pytest.mark.parametrize("source, expected", [
    ("a\n### BEGIN SOLUTION\nb", "nb.ipynb: cell 0 (grade_id 'f'), line 2: 'BEGIN SOLUTION' is never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "nb.ipynb: cell 0 (grade_id 'f'), line 2: 'BEGIN SOLUTION' inside the region opened on line 1"),
    ("a\nb\n### END SOLUTION", "nb.ipynb: cell 0 (grade_id 'f'), line 3: 'END SOLUTION' without a 'BEGIN SOLUTION'"),
    ("### BEGIN HIDDEN TESTS\nx", "line 1: 'BEGIN HIDDEN TESTS' is never closed"),
])
def test_malformed_markers_name_notebook_cell_grade_id_and_line(source, expected):
    meta = nbg("f", grade=True, points=1) if "HIDDEN" in source else nbg("f", solution=True)
    with pytest.raises(NotebookFormatError) as err:
        build_notebook(new_notebook(cells=[new_code_cell(source, metadata=meta)]), "nb.ipynb")
    assert expected in str(err.value)


@pytest.mark.parametrize("cells, expected", [
    ([new_code_cell("assert 1", metadata={"nbgrader": {"grade": True, "points": 1, "solution": False}})],
     "cell 0: missing or invalid grade_id None"),
    ([new_code_cell("x", metadata=nbg("same", solution=True)),
      new_code_cell("assert x", metadata=nbg("same", grade=True, points=1))],
     "cell 1 (grade_id 'same'): duplicate grade_id 'same', already used by cell 0"),
    ([new_code_cell("assert 1", metadata=nbg("t", grade=True))], "graded cell needs 'points'"),
    ([new_code_cell("### BEGIN SOLUTION\nx\n### END SOLUTION")], "solution region in a cell that is not a solution"),
    ([new_code_cell("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS", metadata=nbg("s", locked=True))],
     "hidden tests in a cell that is not a graded cell"),
    ([new_markdown_cell("A", metadata=nbg("m", solution=True))], "Markdown answer must be marked both"),
])
def test_metadata_errors_are_clear(cells, expected):
    with pytest.raises(NotebookFormatError, match="^nb.ipynb: ") as err:
        build_notebook(new_notebook(cells=cells), "nb.ipynb")
    assert expected in str(err.value)


def test_all_problems_of_a_notebook_are_reported_together():
    cells = [new_code_cell("### BEGIN SOLUTION", metadata=nbg("a", solution=True)),
             new_code_cell("### END HIDDEN TESTS", metadata=nbg("b", grade=True, points=1))]
    with pytest.raises(NotebookFormatError) as err:
        build_notebook(new_notebook(cells=cells), "nb.ipynb")
    assert len(err.value.problems) == 2


@pytest.fixture
def course(tmp_path):
    src = tmp_path / "solutions"
    shutil.copytree(FIXTURES / "solutions", src)
    shutil.copy(NBGRADER / "source/ps1/ps1.ipynb", src / "02_ps1.ipynb")
    (src / "notes.txt").write_text("not a notebook")
    (src / ".ipynb_checkpoints").mkdir()
    (src / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    return src, tmp_path / "exercises"


def test_cli_builds_mirrored_notebooks_and_copies_other_files(course, capsys):
    src, dest = course
    assert main(["build-exercises", "--source", str(src), "--dest", str(dest)]) == 0
    assert sorted(p.name for p in dest.rglob("*")) == ["02_ps1.ipynb", "fixture_set.ipynb", "notes.txt"]
    assert (dest / "02_ps1.ipynb").read_bytes() == (NBGRADER / "release/ps1/ps1.ipynb").read_bytes()
    assert "built 2 exercise notebook(s)" in capsys.readouterr().out


def test_cli_check_lists_missing_stale_and_orphaned_copies(course, capsys):
    src, dest = course
    assert main(["build-exercises", "--source", str(src), "--dest", str(dest), "--check"]) == 1
    assert capsys.readouterr().out.count("missing (built from") == 2
    build_dir(src, dest)
    assert main(["build-exercises", "--source", str(src), "--dest", str(dest), "--check"]) == 0
    (dest / "fixture_set.ipynb").write_text((dest / "fixture_set.ipynb").read_text().replace("YOUR CODE", "MY CODE"))
    (dest / "orphan.ipynb").write_text("{}")
    assert main(["build-exercises", "--source", str(src), "--dest", str(dest), "--check"]) == 1
    out = capsys.readouterr().out
    assert "fixture_set.ipynb: out of date with" in out and "orphan.ipynb: has no source notebook" in out
    assert check_dir(src, dest) == out.strip().splitlines()


def test_cli_reports_a_malformed_source_and_writes_nothing(course, capsys):
    src, dest = course
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1", metadata=nbg("broken", solution=True))])
    nbformat.write(nb, str(src / "03_broken.ipynb"))
    assert main(["build-exercises", "--source", str(src), "--dest", str(dest)]) == 1
    err = capsys.readouterr().err
    assert "03_broken.ipynb: cell 0 (grade_id 'broken'), line 1: 'BEGIN SOLUTION' is never closed" in err
    assert not dest.exists()


def test_data_files_and_images_are_copied_and_checked_like_nbgrader(course, capsys):
    src, dest = course
    (src / "data").mkdir()
    (src / "data" / "points.csv").write_text("x,y\n1,2\n")
    (src / "figure.png").write_bytes(b"\x89PNG fake")
    (src / ".ipynb_checkpoints").mkdir(exist_ok=True)
    (src / ".ipynb_checkpoints" / "junk.txt").write_text("editor state")
    build_dir(src, dest)
    assert (dest / "data" / "points.csv").read_text() == "x,y\n1,2\n"
    assert (dest / "figure.png").read_bytes() == b"\x89PNG fake"
    assert not (dest / ".ipynb_checkpoints" / "junk.txt").exists()
    assert check_dir(src, dest) == []
    (dest / "figure.png").write_bytes(b"changed")
    (dest / "data" / "points.csv").unlink()
    problems = check_dir(src, dest)
    assert any("figure.png: differs from" in p for p in problems)
    assert any("points.csv: missing (copied from" in p for p in problems)


def test_header_and_footer_cells_frame_every_student_copy(course, tmp_path):
    src, dest = course
    header, footer = tmp_path / "header.ipynb", tmp_path / "footer.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# CS 101, spring term")]), str(header))
    nbformat.write(new_notebook(cells=[new_markdown_cell("Submit by Friday.")]), str(footer))
    args = ["build-exercises", "--source", str(src), "--dest", str(dest), "--header", str(header),
            "--footer", str(footer)]
    assert main(args) == 0
    for path in dest.glob("*.ipynb"):
        cells = nbformat.read(str(path), as_version=4).cells
        assert cells[0].source == "# CS 101, spring term" and cells[-1].source == "Submit by Friday."
    assert main([*args, "--check"]) == 0
    assert main(["build-exercises", "--source", str(src), "--dest", str(dest), "--check"]) == 1
