"""What runs when a submission is graded: the source's instructor cells around the student's own.

The rule (``course_lib.grading`` restates it for instructors):

* The run follows the SOURCE notebook's order. Each cell that has a grade_id there contributes:
  test cells and locked cells their SOURCE text (hidden tests included), whatever the
  submission holds under that id; solution cells the student's text (run as the source's cell
  type), or nothing when the student deleted them.
* The student's other cells (scratch cells, unlocked ungraded cells, cells whose nbgrader
  metadata they removed) run as they are, after the cell with a grade_id that precedes them in
  the submission (or at the start). Markdown and raw cells are not run.
* A grade_id that appears more than once in a submission counts once: the first copy is the
  cell; later copies of a solution cell run as scratch cells (as they would top to bottom),
  later copies of test and locked cells are ignored.
* A test depends on the last solution cell before it in SOURCE; if that cell times out, the
  test is not run and scores 0 with status ``timeout``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from ..exercises import (CODE_STUB, HIDDEN_TESTS, NotebookFormatError, build_notebook, cell_role, nbgrader_meta,
                         read_notebook, replace_regions, validate)
from .autotest import expand_autotests

#: The message of a hand-graded answer cell the student left as the exercise gave it: the one
#: hand-graded cell that gets nbgrader's automatic 0 (a task, with no answer cell, never does).
LEFT_AS_IS = "answer left as in the exercise"


@dataclass(frozen=True)
class Graded:
    """One row of a report: an autograded test (``auto``) or a cell graded by hand (``manual``)."""

    grade_id: str
    kind: str
    max_points: float


@dataclass
class Step:
    """Code to run: ``instructor`` (from SOURCE) or ``student``, all in the notebook's one namespace."""

    kind: str
    code: str
    label: str
    grade_id: str | None = None
    depends_on: str | None = None


@dataclass
class Plan:
    """A usable source notebook: its cells by grade_id, their roles, the graded rows, the stubs."""

    path: str
    cells: list[tuple[str, NotebookNode]]
    roles: dict[str, str]
    graded: list[Graded]
    stubs: dict[str, str]
    hidden: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what --skip-source-check let through

    def redact(self, text: str) -> str:
        """``text`` without any line of the source's hidden tests: code that read them (IPython
        keeps every cell's source in ``In``) and printed them, or put them in an error message,
        does not get them back through a report or a feedback page."""
        for line in self.hidden:
            text = text.replace(line, "[hidden test]")
        return text

    @property
    def max_score(self) -> float:
        return sum(g.max_points for g in self.graded if g.kind == "auto")


def _hidden_lines(cells: list[tuple[str, NotebookNode]]) -> list[str]:
    """Lines of the hidden tests that the student copy does not show, longest first."""
    lines = set()
    for gid, cell in cells:
        if "HIDDEN TESTS" not in cell.source:
            continue
        visible, _ = replace_regions(cell.source, HIDDEN_TESTS, None, gid)
        shown = {line.strip() for line in visible.splitlines()}
        lines.update(line.strip() for line in cell.source.splitlines()
                     if len(line.strip()) >= 8 and line.strip() not in shown and "HIDDEN TESTS" not in line)
    return sorted(lines, key=len, reverse=True)


def plan_from(nb: NotebookNode, path: str, strict: bool = True, stubs_ok: bool = False,
              autotests: str | Path | None = None, expand: bool = True) -> Plan:
    """The plan for source ``nb``. ``strict`` (grading) raises NotebookFormatError for a source
    nbgrader would reject or that has nothing to grade; ``check`` of a student's own notebook
    is lenient: the first cell with a grade_id wins. ``stubs_ok`` (``--skip-source-check``) keeps
    a source whose solution cells hold stubs, with a warning in ``Plan.warnings``. ``strict``
    also expands nbgrader's AUTOTEST lines with ``autotests`` (default: the autotests.yml beside
    ``path``, else in the current folder), running the source (:mod:`.autotest`), unless not
    ``expand`` (the cells and their grade_ids are the same either way)."""
    if strict:
        validate(nb, path)
        nb = expand_autotests(nb, path, autotests) if expand else nb
        stubs_nb = build_notebook(nb, path)
    else:
        stubs_nb = nb
    cells, roles, graded, stubs = [], {}, [], {}
    for cell, stub_cell in zip(nb.cells, stubs_nb.cells):
        gid, role = nbgrader_meta(cell).get("grade_id"), cell_role(cell)
        if role == "free" or not isinstance(gid, str) or gid in roles:
            continue
        cells.append((gid, cell))
        roles[gid] = role
        stubs[gid] = stub_cell.source
        points = float(nbgrader_meta(cell).get("points") or 0)
        if role == "test" and cell.cell_type == "code":
            graded.append(Graded(gid, "auto", points))
        elif role in ("manual", "task"):
            graded.append(Graded(gid, "manual", points))
    warnings = []
    if strict and any(roles[gid] in ("answer", "manual") and "BEGIN SOLUTION" not in cell.source
                      and CODE_STUB in "\n".join(line.strip() for line in cell.source.splitlines())
                      for gid, cell in cells):  # a stub indented inside a function too
        if not stubs_ok:
            raise NotebookFormatError([f"{path}: looks like a student copy (its solution cells hold "
                                       "'# YOUR CODE HERE' stubs, and student copies have no hidden "
                                       "tests); give the instructor's source notebook as --source, or "
                                       "pass --skip-source-check to grade against it anyway"])
        warnings.append("the source's solution cells hold '# YOUR CODE HERE' stubs")
    if strict and not graded:
        raise NotebookFormatError([f"{path}: no graded cells (metadata.nbgrader.grade: true); "
                                   "is this the instructor's source notebook?"])
    return Plan(path, cells, roles, graded, stubs, _hidden_lines(cells), warnings)


def load_source(path: str | Path, stubs_ok: bool = False, autotests: str | Path | None = None,
                expand: bool = True) -> Plan:
    """Read and check the instructor's notebook; NotebookFormatError or OSError when unusable
    (``stubs_ok``, ``autotests``, ``expand``: see :func:`plan_from`)."""
    try:
        nb = read_notebook(path)
    except ValueError as err:  # JSON errors
        raise NotebookFormatError([f"{path}: not a readable notebook ({err})"]) from None
    return plan_from(nb, str(path), stubs_ok=stubs_ok, autotests=autotests, expand=expand)


def assemble(plan: Plan, submission: NotebookNode) -> tuple[list[Step], list[str], dict[str, str]]:
    """The steps to run for ``submission``, notes for the instructor, and the student's source of
    each solution cell by grade_id."""
    notes: list[str] = []
    answers: dict[str, NotebookNode] = {}
    after: dict[str | None, list[NotebookNode]] = {None: []}
    anchor = None
    for cell in submission.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        role = plan.roles.get(gid) if isinstance(gid, str) else None
        if role is not None and gid not in answers:
            answers[gid], anchor = cell, gid
            after[gid] = []
        elif role in ("answer", "manual") and cell.cell_type == "code":
            notes.append(f"extra copy of solution cell '{gid}' run as a scratch cell")
            after[anchor].append(cell)
        elif role is not None:
            notes.append(f"extra copy of cell '{gid}' ignored")
        else:
            after[anchor].append(cell)
    steps = [Step("student", c.source, "student cell at the top") for c in after[None]
             if c.cell_type == "code"]
    last_solution = None
    for gid, source_cell in plan.cells:
        role, mine = plan.roles[gid], answers.get(gid)
        if role in ("test", "locked"):
            if mine is None:
                notes.append(f"{role} cell '{gid}' was missing; the source's copy was run")
            elif mine.source != plan.stubs[gid]:
                notes.append(f"{role} cell '{gid}' was edited; the source's copy was run")
            if source_cell.cell_type == "code":
                steps.append(Step("instructor", source_cell.source, gid, gid,
                                  last_solution if role == "test" else None))
        elif role in ("answer", "manual") and source_cell.cell_type == "code":
            last_solution = gid
            if mine is None:
                notes.append(f"solution cell '{gid}' is missing from the submission")
            else:
                steps.append(Step("student", mine.source, f"solution '{gid}'", gid))
        steps.extend(Step("student", c.source, f"student cell after '{gid}'")
                     for c in after.get(gid, []) if c.cell_type == "code")
    return steps, notes, {gid: c.source for gid, c in answers.items()}
