"""The grader's edges: a class folder that cannot lie, names and outputs that cannot inject.

One hostile class (:mod:`tests.hostile.edges`) is graded once, by the README's command in a
subprocess (a FIFO must not hang it: the test's timeout would say so); each test asserts on
that run's outcome. The rest are unit checks that run no notebook.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from course_lib.__main__ import main
from course_lib.grading import load_source
from course_lib.grading import single
from course_lib.grading.feedback import CSP, page_names, render_page
from course_lib.grading.report import FORMULA_START, SubmissionReport, csv_cell, note_identical, shown
from course_lib.grading.students import expand, read_regular
from tests.hostile.edges import GRADE_ID, NAMES, REFUSED, student, write_edges
from tests.hostile.submissions import SOURCE, filled

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The hostile class graded once: (exit status, stdout, {student: report}, folder)."""
    root = tmp_path_factory.mktemp("edges")
    names = write_edges(root / "class")
    command = [sys.executable, "-m", "course_lib", "grade", "--source", str(SOURCE), "--jobs", "2",
               "--timeout", "10", "--json", "g.json", "--csv", "g.csv", "--feedback", "fb",
               "--manual-template", "manual.csv", "class", "class/sneaky/fixture_set.ipynb"]
    done = subprocess.run(command, cwd=root, capture_output=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"})
    reports = {s["student"]: s for s in json.loads((root / "g.json").read_text())["submissions"]}
    assert set(reports) == {student(n) for n in names.values()} | {"fixture_set"}, "each file, no other"
    return done.returncode, done.stdout, reports, root


def test_the_run_finishes_and_exits_zero(run):
    status, out, reports, _ = run
    assert status == 0 and b"feedback:" in out
    assert "sneaky" not in reports, "a linked folder is never entered"
    assert "is reached through class/sneaky, a symbolic link" in reports["fixture_set"]["error"]


@pytest.mark.parametrize("case", list(REFUSED))
def test_links_and_fifos_are_refused_with_score_zero(run, case):
    report = run[2][case]
    assert report["score"] == 0 and REFUSED[case] in report["error"]


def test_no_page_shows_the_source_or_a_classmate(run):
    root = run[3]
    for page in (root / "fb").iterdir():
        text = page.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "x * x" not in _page(root, "link_classmate")


@pytest.mark.parametrize("case", ["twin", "twin_too"])
def test_identical_files_are_both_graded_and_noted(run, case):
    status, out, reports, _ = run
    other = {"twin": "twin_too", "twin_too": "twin"}[case]
    assert reports[case]["score"] == 6
    assert f"identical to {other} (the same bytes)" in reports[case]["notes"]
    assert "= identical files: twin, twin_too" in out.decode()
    assert not any(n.startswith("identical") for n in reports["surrogate"]["notes"])


@pytest.mark.parametrize("case", [*NAMES, "surrogate"])
def test_a_hostile_name_or_output_is_that_students_problem_at_most(run, case):
    report = run[2][student(NAMES.get(case, f"{case}.ipynb"))]
    assert (report["score"], report["error"]) == (6, None)


@pytest.mark.parametrize("case", list(GRADE_ID))
def test_a_grade_id_that_is_not_text_is_the_submissions_fault(run, case):
    report = run[2][case]
    assert report["score"] == 0 and f"grade_id is a {type(GRADE_ID[case]).__name__}" in report["error"]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _page(root: Path, case: str) -> str:
    [name] = [n for s, n in zip(_students(root), page_names(_students(root))) if s == case]
    return (root / "fb" / name).read_text(encoding="utf-8")


def _students(root: Path) -> list[str]:
    return [s["student"] for s in json.loads((root / "g.json").read_text())["submissions"]]


def test_one_page_per_student_with_a_safe_short_distinct_name(run):
    _, out, reports, root = run
    pages = sorted(p.name for p in (root / "fb").iterdir())
    assert f"feedback: {len(pages)} page(s) in fb".encode() in out and len(pages) == len(reports)
    assert all(len(name) <= 100 and name.isascii() and not name.startswith(".") for name in pages)
    assert "alice.html" in pages
    assert "Feedback: .alice," in _page(root, ".alice") and "Feedback: alice," in _page(root, "alice")


@pytest.mark.parametrize("case", ["js_link", "remote_image", "osc52"])
def test_a_name_on_a_page_is_text_and_nothing_loads_or_links_out(run, case):
    root = run[3]
    parser = _Page()
    parser.feed(_page(root, student(NAMES[case])))
    assert ("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}) in parser.tags
    assert not [t for t, _ in parser.tags if t in ("img", "script", "iframe", "object", "link")]
    for _, attrs in parser.tags:
        assert (attrs.get("href") or "#").startswith(("http://", "https://", "mailto:", "#"))
    assert f"Feedback: {shown(student(NAMES[case]))}, fixture_set" in "".join(parser.text)


def test_a_page_keeps_only_http_mailto_and_in_page_links_and_inline_images():
    nb = new_notebook(cells=[new_markdown_cell("[a](javascript:alert(1)) ![b](http://example.invalid/b.png) "
                                               "[c](https://example.org) [d](#top) [e](data:text/html,x)")])
    parser = _Page()
    parser.feed(render_page(nb, "t"))
    links = {(tag, attrs.get("href") or attrs.get("src")) for tag, attrs in parser.tags if tag in ("a", "img")}
    assert {("a", "#"), ("img", "#"), ("a", "https://example.org"), ("a", "#top")} == links


def test_no_sheet_cell_is_a_formula_and_numbers_stay_numbers(run):
    root = run[3]
    grades = list(csv.DictReader((root / "g.csv").open(encoding="utf-8", newline="")))
    manual = list(csv.DictReader((root / "manual.csv").open(encoding="utf-8", newline="")))
    cells = [r["student"] for r in grades + manual] + [r["path"] for r in grades]
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    assert "'=HYPERLINK(\"http:__x\")" in cells and "'@SUM(1+1)" in cells and "'+cmd|' -C calc'!A0" in cells
    assert {r["total"] for r in grades} == {"6", "0"}
    assert not any(ch in (root / "g.csv").read_text(encoding="utf-8") for ch in "\x1b\x07")


def test_the_gradebook_finds_every_name_the_manual_template_wrote(run, tmp_path):
    root = run[3]
    book = tmp_path / "book.csv"
    assert main(["gradebook", str(root / "g.json"), "--manual", str(root / "manual.csv"), "--csv", str(book)]) == 0
    rows = list(csv.DictReader(book.open(encoding="utf-8", newline="")))
    assert len(rows) == len(run[2]) and not [r for r in rows if r["student"].startswith(FORMULA_START)]


def test_the_terminal_sees_no_control_character_and_no_forged_row(run):
    out = run[1].decode("utf-8")
    assert not any(ch in out for ch in "\x1b\x07\r\x9b")
    assert "evil\\x1b]52;c;aGk=\\x07\\r" in out and "mallory\\nalice  0-6" in out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("alice")] == ["alice"]


# ----- without running a notebook -------------------------------------------------------------
def test_only_a_regular_file_is_read_and_never_past_the_limit(tmp_path):
    (tmp_path / "ok").write_bytes(b"x" * 10)
    assert read_regular(tmp_path / "ok", 10) == b"x" * 10
    with pytest.raises(ValueError, match="larger than"):
        read_regular(tmp_path / "ok", 9)
    with pytest.raises(ValueError, match="larger than"):  # its size says 0: read, not trusted
        read_regular(Path("/proc/self/status"), 10)
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "ok", tmp_path / "link")
    for path, why in ((tmp_path / "fifo", "FIFO"), (tmp_path / "link", "symbolic link"),
                      (Path("/dev/null"), "device"), (tmp_path, "folder"), (tmp_path / "none", "No such file")):
        with pytest.raises(ValueError, match=why):
            read_regular(path, 10)


def test_a_typed_path_through_a_linked_folder_is_refused_unread(tmp_path, monkeypatch):
    (tmp_path / "elsewhere" / "ps1").mkdir(parents=True)
    (tmp_path / "elsewhere" / "ps1" / "p.ipynb").write_text("{}")
    (tmp_path / "submitted").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "submitted" / "bob")
    monkeypatch.chdir(tmp_path)
    os.symlink(tmp_path / "elsewhere", tmp_path / "mine")  # the current folder's own: the instructor's
    for arg in ("submitted/bob/ps1/p.ipynb", "submitted/bob", str(tmp_path / "submitted/bob/ps1")):
        [sub] = expand([arg], "p.ipynb")
        assert "is reached through" in sub.refused and "submitted/bob" in sub.refused
    assert expand(["submitted"], "p.ipynb") == []
    for arg in ("elsewhere/ps1/p.ipynb", "mine", "mine/ps1/p.ipynb"):
        assert [sub.refused for sub in expand([arg], "p.ipynb")] == [None]


def test_any_exception_on_one_submission_becomes_its_report(monkeypatch):
    def broken(*args):
        raise RuntimeError("a grader bug")

    plan, data = load_source(SOURCE), json.dumps(filled()).encode()
    monkeypatch.setattr(single, "assemble", broken)
    graded = single.grade_bytes(plan, "bob.ipynb", data, "bob", feedback=True)
    assert graded.report.score == 0 and "RuntimeError: a grader bug" in graded.report.error
    monkeypatch.setattr(single, "feedback_page", broken)  # a page that fails costs the page only
    graded = single.grade_bytes(plan, "bob.ipynb", b"{", "bob", feedback=True)
    assert graded.page is None and "no feedback page" in graded.report.notes[-1]


def test_page_names_are_distinct_capped_and_keep_plain_names():
    names = page_names(["alice", ".alice", "Alice", "alice", "a/b", "a?b", "x" * 300, "caf\udce9"])
    assert names[0] == "alice.html" and names[1].startswith("alice-") and names[2] == "Alice-2.html"
    assert names[3] == "alice-3.html" and names[4] != names[5] and len(names[6]) <= 100
    assert len({n.lower() for n in names}) == len(names)


def test_cells_and_terminal_text_are_escaped_but_numbers_are_not():
    assert [csv_cell(t) for t in ("=1+1", "-1", "@x", "\tx", "alice")] == ["'=1+1", "'-1", "'@x", "'\\tx", "alice"]
    assert shown("a\x1b[2J\u202eb\udce9") == "a\\x1b[2J\\u202eb\\udce9"
    reports = [SubmissionReport("p", 1, 1, 0, None, [], [], s, h) for s, h in
               (("a", "h1"), ("b", "h1"), ("c", "h2"), ("d", ""), ("e", ""))]
    note_identical(reports)
    assert [r.notes for r in reports] == [["identical to b (the same bytes)"],
                                          ["identical to a (the same bytes)"], [], [], []]


# ----- the attacks of a second hostile round ---------------------------------------------------------
def test_a_student_file_named_like_an_option_cannot_steer_the_run(tmp_path, monkeypatch, capsys):
    """`grade ... *.ipynb` in a class folder passes students' file names to the command line."""
    monkeypatch.chdir(tmp_path)
    filled_nb = Path("alice.ipynb")
    filled_nb.write_text("{}")
    for name in ("--csv=alice.ipynb", "--source=mallory.ipynb"):
        Path(name).write_text("{}")
        with pytest.raises(SystemExit) as stop:
            main(["grade", "--source", str(SOURCE), *sorted(map(str, Path().glob("*.ipynb")))])
        assert stop.value.code == 2 and f"{name} is a file, not an option" in capsys.readouterr().err
        Path(name).unlink()
    assert filled_nb.read_text() == "{}"


def test_a_copy_or_hard_link_of_the_source_in_the_class_folder_is_refused_and_the_source_itself_graded(tmp_path):
    source = tmp_path / "source.ipynb"
    source.write_bytes(SOURCE.read_bytes())
    (tmp_path / "class").mkdir()
    os.link(source, tmp_path / "class" / "mallory.ipynb")
    out = tmp_path / "g.json"
    assert main(["grade", "--source", str(source), "--json", str(out), str(tmp_path / "class"), str(source)]) == 0
    got = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert got["mallory"]["score"] == 0 and "instructor's source notebook itself" in got["mallory"]["error"]
    assert got["source"]["score"] == got["source"]["max_score"] > 0


def test_a_result_from_a_worker_is_checked_against_the_submission_it_was_sent_for():
    import dataclasses

    from course_lib.grading.feedback import PAGE_HEAD
    from course_lib.grading.wire import decode, encode

    plan = load_source(SOURCE)
    graded = single.refused(plan, "class/bob.ipynb", "not a notebook", "bob")
    assert single.misfit(plan, graded, "class/bob.ipynb", "bob") is None
    report = graded.report
    tests = [dataclasses.replace(t, points=t.max_points, status="passed") for t in report.tests if t.status != "manual"]
    cases = {
        "it is for 'alice'": single.Graded(dataclasses.replace(report, student="alice")),
        "test cells are not the source's": single.Graded(dataclasses.replace(report, tests=report.tests[1:])),
        "not the sum": single.Graded(dataclasses.replace(report, score=100.0)),
        "outside its range": single.Graded(dataclasses.replace(
            report, tests=[dataclasses.replace(tests[0], points=99.0), *report.tests[1:]])),
        "page head": single.Graded(report, "<html><script>alert(1)</script>"),
    }
    for why, tampered in cases.items():
        assert why in single.misfit(plan, tampered, "class/bob.ipynb", "bob")
    assert single.misfit(plan, single.Graded(report, PAGE_HEAD + "<title>bob</title>"), "class/bob.ipynb", "bob") is None
    with pytest.raises(ValueError, match="not a finite number"):
        decode(encode(report, None).replace(b'"score": 0.0', b'"score": 1e999'))
