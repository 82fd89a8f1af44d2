"""Every source notebook: its committed exercise copy is up to date, it scores full marks against
itself, and the untouched exercise copy scores nothing.

Parametrized over ``solutions/*.ipynb`` (lesson exercise sets, paired with ``exercises/`` by name)
plus this suite's fixtures, so the checks run before any lesson set exists.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course_lib.__main__ import main
from course_lib.exercises import build_notebook, notebook_text, read_notebook
from course_lib.grading import Options, SubmissionReport, grade_submissions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DIRS = [(FIXTURES / "solutions", FIXTURES / "exercises"),
        (FIXTURES / "nbgrader" / "source", FIXTURES / "nbgrader" / "release")]
if (ROOT / "solutions").is_dir():
    DIRS.insert(0, (ROOT / "solutions", ROOT / "exercises"))
PAIRS = [(src, dest / src.relative_to(src_dir)) for src_dir, dest in DIRS
         for src in sorted(src_dir.rglob("*.ipynb")) if ".ipynb_checkpoints" not in src.parts]


def _id(pair) -> str:
    return str(pair[0].relative_to(ROOT))


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_exercise_copy_is_in_sync_with_its_source(pair):
    source, exercise = pair
    assert exercise.exists(), f"{exercise} is missing: run python -m course_lib build-exercises"
    built = notebook_text(build_notebook(read_notebook(source), _id(pair)))
    assert built == exercise.read_text(encoding="utf-8"), \
        f"{exercise} is out of date: run python -m course_lib build-exercises"


@pytest.mark.parametrize("dirs", DIRS, ids=lambda d: str(d[0].relative_to(ROOT)))
def test_build_exercises_check_passes(dirs, capsys):
    status = main(["build-exercises", "--check", "--source", str(dirs[0]), "--dest", str(dirs[1])])
    assert status == 0, capsys.readouterr().out


@pytest.fixture(scope="module")
def grades(request):
    """Per pair: the source graded against itself and the untouched exercise copy.

    Every pair this run selected is queued at once and two pairs are graded at a time, one
    sandbox each: a pair graded alone leaves a core idle during its reference run."""
    selected = dict.fromkeys(item.callspec.params["pair"] for item in request.session.items
                             if getattr(item, "module", None) is request.module
                             and "grades" in item.fixturenames)
    with ThreadPoolExecutor(2) as pool:
        queued = {pair: pool.submit(_grade_pair, pair) for pair in selected}
        yield lambda pair: queued[pair].result()
        for future in queued.values():  # a run stopped early (-x) grades no more pairs
            future.cancel()


def _grade_pair(pair: tuple[Path, Path]) -> list[SubmissionReport]:
    return grade_submissions(pair[0], list(pair), jobs=1, opts=Options(timeout=600))


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_solution_scores_full_marks_against_itself(grades, pair):
    report = grades(pair)[0]
    failures = [(t.grade_id, t.status, t.message) for t in report.tests if t.status not in ("passed", "manual")]
    assert report.error is None and not failures, (report.error, failures)
    assert report.score == report.max_score > 0


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_untouched_exercise_scores_zero_on_every_autograded_test(grades, pair):
    report = grades(pair)[1]
    passed = [t.grade_id for t in report.tests if t.status == "passed"]
    assert report.error is None and not passed, (report.error, passed)
    assert report.score == 0


def test_every_lesson_has_its_set_and_they_link_each_other():
    """Lesson NN ends with a link to exercise set NN; the set opens with a link back."""
    import json

    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    sets = {p.name[:2]: p for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")}
    assert lessons and sorted(sets) == [p.name[:2] for p in lessons], "one set per lesson, same numbers"
    for lesson in lessons:
        exercise = sets[lesson.name[:2]]
        last = "".join(json.loads(lesson.read_text())["cells"][-1]["source"])
        assert f"](../exercises/{exercise.name})" in last, f"{lesson.name} must end with a link to its set"
        first = "".join(json.loads(exercise.read_text())["cells"][0]["source"])
        assert f"](../notebooks/{lesson.name})" in first, f"{exercise.name} must open with a link to its lesson"
