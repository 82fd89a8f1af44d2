"""Build student copies from nbgrader-format solution notebooks (``solutions/`` → ``exercises/``).

The student copy is what nbgrader 0.9's ``generate_assignment`` writes:

* A line containing ``BEGIN SOLUTION`` up to the line containing ``END SOLUTION`` (nbgrader
  matches the text anywhere in the line, so ``### BEGIN SOLUTION`` and ``# BEGIN SOLUTION``
  both work) becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the indentation of
  the BEGIN line; in Markdown it becomes ``YOUR ANSWER HERE``.
* A solution cell (``metadata.nbgrader.solution``) without such a region becomes that stub whole.
* ``### AUTOTEST`` / ``### HASHED AUTOTEST`` lines become nbgrader's asserts, from the
  ``autotests.yml`` beside the source, else in the current folder (:mod:`course_lib.grading.autotest`,
  which runs the source in a kernel).
* ``BEGIN HIDDEN TESTS`` … ``END HIDDEN TESTS`` regions in test cells and ``BEGIN MARK SCHEME``
  … ``END MARK SCHEME`` regions in task cells are removed, marker lines included.
* Outputs and execution counts are cleared; the nbgrader metadata stays, with the ``checksum``
  and ``cell_type`` nbgrader adds, and ``deletable``/``editable`` set as nbgrader locks cells,
  so nbgrader users can release the copies as they are.

Stricter than nbgrader: an ``END`` marker without a ``BEGIN`` is an error (nbgrader drops it
silently), and all problems of a notebook are reported at once, each with the notebook, the cell
index, its grade_id and the line.

The grader (``course_lib.grading``) reads the same metadata through :func:`cell_role`.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MARK_SCHEME = ("BEGIN MARK SCHEME", "END MARK SCHEME")
_GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")  # the pattern of nbgrader's metadata schema


class NotebookFormatError(ValueError):
    """A source notebook that cannot be built or graded; ``problems`` lists each finding."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def nbgrader_meta(cell: NotebookNode) -> dict:
    """The cell's ``metadata.nbgrader`` dict, or ``{}``."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def cell_role(cell: NotebookNode) -> str:
    """What nbgrader makes of a cell.

    ``test``   autograded test (grade, not solution, code): scored by running it.
    ``answer`` autograded answer (solution, not grade): the student's code, no points itself.
    ``manual`` manually graded answer (grade and solution, code or Markdown).
    ``task``   manually graded task (Markdown, ``task: true``).
    ``locked`` read-only cell (``locked: true``), e.g. setup and imports.
    ``free``   anything else: the student may edit it freely.
    """
    meta = nbgrader_meta(cell)
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    if meta.get("task"):
        return "task"
    if grade and solution:
        return "manual"
    if grade:
        return "test"
    if solution:
        return "answer"
    return "locked" if meta.get("locked") else "free"


def _is_locked(cell: NotebookNode) -> bool:
    """nbgrader's notion: test cells are locked whatever the flag says, solution cells never."""
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        return False
    return bool(meta.get("grade") or meta.get("locked"))


def meta_tracked(cell: NotebookNode) -> bool:
    """Whether nbgrader tracks the cell by grade_id: graded, solution or locked."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") or meta.get("solution") or _is_locked(cell))


def compute_checksum(cell: NotebookNode) -> str:
    """The MD5 checksum nbgrader stores in ``metadata.nbgrader.checksum`` (same inputs, same order)."""
    meta = nbgrader_meta(cell)
    parts = [cell.source, cell.cell_type, str(bool(meta.get("grade"))),
             str(bool(meta.get("solution"))), str(_is_locked(cell)), meta["grade_id"]]
    if meta.get("grade"):
        parts.append(str(float(meta["points"])))
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest()


def _where(name: str, index: int, cell: NotebookNode) -> str:
    gid = nbgrader_meta(cell).get("grade_id")
    return f"{name}: cell {index}" + (f" (grade_id '{gid}')" if gid else "")


def replace_regions(source: str, markers: tuple[str, str], stub: str | None,
                    where: str) -> tuple[str, bool]:
    """Replace each ``markers`` region of ``source`` by ``stub`` (indented like its BEGIN line),
    or drop it when ``stub`` is None. Returns the new source and whether a region was found.

    Raises NotebookFormatError naming ``where`` and the 1-based line for a nested or unclosed
    BEGIN and for an END without BEGIN.
    """
    begin, end = markers
    out: list[str] = []
    opened_at = 0
    found = False
    for lineno, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            if opened_at:
                raise NotebookFormatError([f"{where}, line {lineno}: '{begin}' inside the region "
                                           f"opened on line {opened_at}; close it with '{end}' first"])
            opened_at, found = lineno, True
            if stub is not None:
                indent = line[:len(line) - len(line.lstrip())]
                out.extend(indent + stub_line for stub_line in stub.split("\n"))
        elif end in line:
            if not opened_at:
                raise NotebookFormatError([f"{where}, line {lineno}: '{end}' without a '{begin}' "
                                           "before it"])
            opened_at = 0
        elif not opened_at:
            out.append(line)
    if opened_at:
        raise NotebookFormatError([f"{where}, line {opened_at}: '{begin}' is never closed; "
                                   f"add a '{end}' line"])
    return "\n".join(out), found


def validate(nb: NotebookNode, name: str = "notebook") -> None:
    """Check the nbgrader metadata as nbgrader's validator does: every graded, solution or locked
    cell has a valid grade_id, grade_ids are unique, graded cells have points, Markdown answers
    are both grade and solution, task cells are Markdown. Raises NotebookFormatError."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        where = _where(name, index, cell)
        if not (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
            continue
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not _GRADE_ID.match(gid):
            problems.append(f"{where}: missing or invalid grade_id {gid!r} (letters, digits, "
                            "'_' and '-'); set one in the nbgrader cell toolbar")
        elif gid in seen:
            problems.append(f"{where}: duplicate grade_id '{gid}', already used by cell "
                            f"{seen[gid]}; grade_ids must be unique")
        else:
            seen[gid] = index
        if meta.get("grade") or "points" in meta:
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                problems.append(f"{where}: graded cell needs 'points' (a number >= 0), got {points!r}")
        role = cell_role(cell)
        if role == "task" and cell.cell_type != "markdown":
            problems.append(f"{where}: task cells must be Markdown")
        elif cell.cell_type == "markdown" and role in ("test", "answer"):
            problems.append(f"{where}: a Markdown answer must be marked both grade and solution "
                            "(nbgrader cannot autograde Markdown)")
    if problems:
        raise NotebookFormatError(problems)


def _lock(cell: NotebookNode) -> None:
    """nbgrader's LockCells defaults: answers undeletable; tests and read-only cells also uneditable."""
    role = cell_role(cell)
    if role in ("answer", "manual"):
        cell.metadata["deletable"] = False
    elif role in ("test", "locked") or (role == "task" and _is_locked(cell)):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def build_notebook(nb: NotebookNode, name: str = "notebook") -> NotebookNode:
    """The student copy of source notebook ``nb`` (a new notebook; ``nb`` is not modified).

    ``name`` labels error messages. Raises NotebookFormatError listing every problem found.
    """
    validate(nb, name)
    out = copy.deepcopy(nb)
    problems: list[str] = []
    for index, cell in enumerate(out.cells):
        where, role = _where(name, index, cell), cell_role(cell)
        try:
            stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
            cell.source, replaced = replace_regions(cell.source, SOLUTION, stub, where)
            if replaced and role not in ("answer", "manual"):
                problems.append(f"{where}: solution region in a cell that is not a solution "
                                "cell; mark the cell as a solution in the nbgrader toolbar")
            elif role in ("answer", "manual") and not replaced:
                cell.source = stub
            cell.source, hidden = replace_regions(cell.source, HIDDEN_TESTS, None, where)
            if hidden and role not in ("test", "manual"):
                problems.append(f"{where}: hidden tests in a cell that is not a graded cell")
            cell.source, scheme = replace_regions(cell.source, MARK_SCHEME, None, where)
            if scheme and role != "task":
                problems.append(f"{where}: mark scheme region in a cell that is not a task cell")
        except NotebookFormatError as err:
            problems.extend(err.problems)
            continue
        _lock(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            for key in ("collapsed", "scrolled"):  # output-view state, cleared with the outputs
                cell.metadata.pop(key, None)
        if meta_tracked(cell):
            cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
            cell.metadata["nbgrader"]["cell_type"] = cell.cell_type
    if problems:
        raise NotebookFormatError(problems)
    out.metadata.pop("celltoolbar", None)
    return out


def read_notebook(path: str | Path) -> NotebookNode:
    """Read an nbformat-4 notebook without nbformat's random ids for cells that lack one: such
    cells get an id derived from their position and content, so builds are reproducible."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        raise NotebookFormatError([f"{path}: not an nbformat-4 notebook; open and save it "
                                   "in Jupyter to upgrade it"])
    nb = nbformat.v4.to_notebook_json(data)
    if nb.get("nbformat_minor", 0) >= 5:
        for index, cell in enumerate(nb.cells):
            if "id" not in cell:
                digest = hashlib.sha1(f"{index}\0{cell.cell_type}\0{cell.source}".encode()).hexdigest()
                cell["id"] = digest[:8]
    return nb


def notebook_text(nb: NotebookNode) -> str:
    """The bytes-stable JSON nbformat writes (sorted keys, indent 1, trailing newline)."""
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def _pairs(src: Path, dest: Path) -> list[tuple[Path, Path]]:
    if not src.is_dir():
        raise FileNotFoundError(f"source folder {src} does not exist")
    return [(path, dest / path.relative_to(src)) for path in sorted(src.rglob("*.ipynb"))
            if ".ipynb_checkpoints" not in path.parts]


def _other_files(src: Path, dest: Path) -> list[tuple[Path, Path]]:
    """Every other file of the assignment folder (data, images), as nbgrader copies them."""
    skip = (".ipynb_checkpoints", "__pycache__")
    return [(path, dest / path.relative_to(src)) for path in sorted(src.rglob("*"))
            if path.is_file() and path.suffix != ".ipynb"
            and not any(part in skip or part.startswith(".") for part in path.relative_to(src).parts)]


@dataclass(frozen=True)
class Frame:
    """Notebooks whose cells go before (``header``) and after (``footer``) every student copy."""

    header: Path | None = None
    footer: Path | None = None

    def cells(self, which: str) -> list[NotebookNode]:
        path = getattr(self, which)
        return copy.deepcopy(read_notebook(path).cells) if path else []


def _built(path: Path, src: Path, frame: Frame = Frame()) -> str:
    from .grading.autotest import expand_autotests  # here: the grading package imports this module

    nb = build_notebook(expand_autotests(read_notebook(path), path), str(path.relative_to(src.parent)))
    nb.cells = [*frame.cells("header"), *nb.cells, *frame.cells("footer")]
    return notebook_text(nb)


def build_dir(src: str | Path, dest: str | Path, frame: Frame = Frame()) -> list[Path]:
    """Write the student copy of every ``src/**/*.ipynb`` to the same relative path under
    ``dest`` (with ``frame``'s header and footer cells), and copy every other file; returns the
    written notebook paths. Files are only rewritten when their bytes change.
    Raises NotebookFormatError (all notebooks' problems together) before writing anything."""
    src, dest = Path(src), Path(dest)
    texts, problems = [], []
    for path, target in _pairs(src, dest):
        try:
            texts.append((target, _built(path, src, frame)))
        except NotebookFormatError as err:
            problems.extend(err.problems)
    if problems:
        raise NotebookFormatError(problems)
    for target, text in texts:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    for path, target in _other_files(src, dest):
        if not target.exists() or target.read_bytes() != path.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return [target for target, _ in texts]


def check_dir(src: str | Path, dest: str | Path, frame: Frame = Frame()) -> list[str]:
    """Differences between ``dest`` and a fresh build of ``src``: one line per missing, stale or
    extra notebook or missing/stale other file (empty when in sync). Raises NotebookFormatError
    for a broken source."""
    src, dest = Path(src), Path(dest)
    problems, expected = [], set()
    for path, target in _pairs(src, dest):
        expected.add(target)
        text = _built(path, src, frame)
        if not target.exists():
            problems.append(f"{target}: missing (built from {path})")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{target}: out of date with {path}")
    for path, target in _other_files(src, dest):
        if not target.exists():
            problems.append(f"{target}: missing (copied from {path})")
        elif target.read_bytes() != path.read_bytes():
            problems.append(f"{target}: differs from {path}")
    extra = sorted(p for p in dest.rglob("*.ipynb") if p not in expected
                   and ".ipynb_checkpoints" not in p.parts) if dest.is_dir() else []
    problems.extend(f"{p}: has no source notebook in {src}" for p in extra)
    return problems
