"""nbgrader's ``### AUTOTEST`` and ``### HASHED AUTOTEST`` lines, expanded into plain test code.

An instructor writes ``### AUTOTEST x; len(y)`` in a test cell, and ``autotests.yml`` says, per
kernel, which asserts each expression becomes. :func:`expand_autotests` writes the test cells
nbgrader's ``generate_assignment`` writes (and its ``autograde`` later runs), text for text:

* The source runs top to bottom in a fresh kernel of its own kernelspec, started in its folder,
  as nbgrader runs it: it is the instructor's notebook, trusted, so it runs unsandboxed, and a
  kernel (not the grader's worker) shows values exactly as nbgrader reads them (IPython's
  ``text/plain``: a type is shown as ``int`` or ``numpy.ndarray``). Code before each directive
  line runs before it.
* A directive line is a comment (``#`` first) that contains ``AUTOTEST``; what follows the word,
  split on ``;``, are the expressions. ``HASHED`` before the word hashes each value with a salt.
* The ``dispatch`` template's value for an expression (its type) chooses a list of
  ``templates`` (``default`` for a type without one). Each test/fail pair becomes one ``check``
  line: the test in the ``normalize`` template (then in ``hash``), the value it has in the kernel,
  and the fail message. ``setup`` goes before a cell's first directive line, ``success`` at the
  end of a graded cell that uses the directive.
* The salt of a cell starts from the SHA-256 of its source and index and grows by one per hashed
  expression, as in nbgrader, so expanded cells are identical to nbgrader's.
* Refused, as by nbgrader: a directive outside a graded cell, a source that fails when run, an
  autotests.yml without ``default`` templates. Kinder than nbgrader: empty expressions (``a;;b``)
  are skipped, and cells after the last one using the word are not run (they change nothing).

The student copy gets the expanded cells (``build-exercises``), hidden regions removed as usual.
"""
from __future__ import annotations

import copy
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import yaml
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

from ..exercises import NotebookFormatError, nbgrader_meta, read_notebook

if TYPE_CHECKING:
    from nbclient import NotebookClient

FILENAME = "autotests.yml"
DIRECTIVE, HASHED = "AUTOTEST", "HASHED"
KERNELS = ("python", "python3")  # nbgrader also knows R ("ir"), which this course does not use
_JINJA = jinja2.Environment()


def is_directive(line: str) -> bool:
    """Whether ``line`` is an AUTOTEST line: a comment containing the word."""
    return line.strip().startswith("#") and DIRECTIVE in line


def directive_cells(nb: NotebookNode) -> list[int]:
    """Indices of the code cells holding an AUTOTEST line."""
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and any(is_directive(line) for line in cell.source.split("\n"))]


@dataclass(frozen=True)
class Templates:
    """One kernel's section of autotests.yml (Jinja2 templates)."""

    dispatch: str
    normalize: str
    check: str
    by_type: dict[str, list]
    setup: str | None = None
    hash: str | None = None
    success: str | None = None


def read_templates(path: Path, kernel: str) -> Templates:
    """The ``kernel`` section of the autotests.yml at ``path``; NotebookFormatError if unusable."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise NotebookFormatError([f"{path}: not a readable YAML file ({err})"]) from None
    spec = doc.get(kernel) if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        raise NotebookFormatError([f"{path}: no section for the notebook's kernel '{kernel}'"])
    missing = [key for key in ("dispatch", "normalize", "check", "templates") if key not in spec]
    if missing or not isinstance(spec["templates"], dict) or "default" not in spec["templates"]:
        raise NotebookFormatError([f"{path}: the '{kernel}' section needs dispatch, normalize, check and "
                                   f"templates with a 'default' entry (missing: {missing or ['default']})"])
    return Templates(spec["dispatch"], spec["normalize"], spec["check"], spec["templates"],
                     spec.get("setup"), spec.get("hash"), spec.get("success"))


def _render(template: str, **values: object) -> str:
    return _JINJA.from_string(template).render(**values)


def _shown(client: NotebookClient, code: str, where: str) -> str | None:
    """Run ``code`` in the source's kernel; the value it shows, as nbgrader reads it: the last
    ``text/plain`` shown (IPython's display, not ``repr``), quotes stripped from both ends."""
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    cell = new_code_cell(code)
    client.nb.cells = [cell]
    try:
        client.execute_cell(cell, 0)
    except (CellExecutionError, DeadKernelError) as err:
        why = f"{err.ename}: {err.evalue}" if isinstance(err, CellExecutionError) else str(err)
        raise NotebookFormatError([f"{where}: running the source to expand its AUTOTEST lines failed "
                                   f"in\n{code}\n{why}"]) from None
    shown = [out.data.get("text/plain") for out in cell.outputs
             if out.output_type in ("execute_result", "display_data")]
    return shown[-1].strip('"').strip("'") if shown and shown[-1] is not None else None


def _checks(expr: str, client: NotebookClient, t: Templates, salt: str | None, where: str) -> list[str]:
    """The check lines for one expression: one per test/fail pair of the type it dispatches to."""
    kind = _shown(client, _render(t.dispatch, snippet=expr), where)
    pairs = t.by_type.get(kind, t.by_type["default"])
    if not isinstance(pairs, list) or not all(isinstance(p, dict) and {"test", "fail"} <= p.keys() for p in pairs):
        raise NotebookFormatError([f"{where}: the autotests.yml templates for '{kind}' must be a list of "
                                   "entries with 'test' and 'fail'"])
    lines = []
    for pair in pairs:
        test = _render(t.normalize, snippet=pair["test"])  # still a template: the test's own {{snippet}}
        if salt is not None:
            test = _render(t.hash, snippet=test, salt=salt)
        test = _render(test, snippet=expr)
        message = _render(pair["fail"], snippet=expr).replace('"', '\\"')
        lines.append(_render(t.check, snippet=test, value=_shown(client, test, where), message=message))
    return lines


def _expand_cell(cell: NotebookNode, index: int, client: NotebookClient, t: Templates, where: str) -> str:
    """Run ``cell`` in ``client``'s kernel and return its source with each AUTOTEST line expanded."""
    salt = int(hashlib.sha256((cell.source + str(index)).encode("utf-8")).hexdigest(), 16) % 10**6
    out: list[str] = []
    pending: list[str] = []  # plain lines not run yet
    set_up = False
    for line in cell.source.split("\n"):
        if not is_directive(line):
            out.append(line)
            pending.append(line)
            continue
        _shown(client, "\n".join(pending), where)
        pending = []
        if t.setup is not None and not set_up:
            out.append(t.setup)
            _shown(client, t.setup, where)
            set_up = True
        at = line.find(DIRECTIVE)
        hashed = HASHED in line[:at]
        if hashed and t.hash is None:
            raise NotebookFormatError([f"{where}: HASHED AUTOTEST, but autotests.yml has no 'hash' template"])
        for expr in filter(None, (part.strip() for part in line[at + len(DIRECTIVE):].split(";"))):
            if hashed:
                salt += 1
            out += [*_checks(expr, client, t, format(salt, "x") if hashed else None, where), ""]
    if t.success is not None and nbgrader_meta(cell).get("grade") and DIRECTIVE in cell.source:  # as nbgrader
        out.append(t.success)
        pending.append(t.success)
    if pending:
        _shown(client, "\n".join(pending), where)
    return "\n".join(out)


def find_templates(path: str | Path, given: str | Path | None, cells: list[int]) -> Path:
    """``given``, or the autotests.yml beside the notebook at ``path``, else the one in the
    current folder (nbgrader's course folder); NotebookFormatError naming where it looked."""
    if given is not None:
        if not Path(given).is_file():
            raise NotebookFormatError([f"--autotests {given}: no such file"])
        return Path(given)
    places = [Path(path).resolve().parent / FILENAME, Path.cwd() / FILENAME]
    found = next((place for place in places if place.is_file()), None)
    if found is None:
        raise NotebookFormatError([f"{path}: cells {cells} use nbgrader's ### AUTOTEST lines, but there is "
                                   f"no {FILENAME} beside it ({places[0]}) nor in the current folder "
                                   f"({places[1]}); put one there or give it with --autotests FILE"])
    return found


def templates_used(path: str | Path, autotests: str | Path | None = None) -> Path | None:
    """The autotests.yml that grading the source at ``path`` expands it with; None when it has
    no AUTOTEST lines (or is unreadable: loading it says why)."""
    try:
        cells = directive_cells(read_notebook(path))
        return find_templates(path, autotests, cells) if cells else None
    except (ValueError, OSError):  # NotebookFormatError is a ValueError
        return None


def expand_autotests(nb: NotebookNode, path: str | Path, autotests: str | Path | None = None) -> NotebookNode:
    """``nb`` with its AUTOTEST lines expanded (a copy; ``nb`` itself when it has none), running
    the notebook at ``path`` with the templates of ``autotests`` (default: :func:`find_templates`).
    Raises NotebookFormatError when the templates are missing or unusable, a directive is outside
    a graded cell, or the source fails when run."""
    cells = directive_cells(nb)
    if not cells:
        return nb
    outside = [i for i in cells if not nbgrader_meta(nb.cells[i]).get("grade")]
    if outside:
        raise NotebookFormatError([f"{path}: cells {outside} hold AUTOTEST lines but are not graded; "
                                   "put them in a test cell (\"Autograder tests\" in the nbgrader toolbar)"])
    name = nb.metadata.get("kernelspec", {}).get("name", "")
    if name not in KERNELS:
        raise NotebookFormatError([f"{path}: AUTOTEST lines need a Python kernel (kernelspec "
                                   f"{' or '.join(KERNELS)}), not '{name}'"])
    from nbclient import NotebookClient  # a kernel only for a source that needs one

    t = read_templates(find_templates(path, autotests, cells), name)
    out = copy.deepcopy(nb)
    last = max(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and DIRECTIVE in cell.source)
    client = NotebookClient(new_notebook(), kernel_name=name,
                            resources={"metadata": {"path": str(Path(path).resolve().parent)}})
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # the kernel's log, not the notebook's output
        for index, cell in enumerate(out.cells[:last + 1]):  # later cells change nothing (nbgrader runs them)
            if cell.cell_type == "code" and cell.source:
                cell.source = _expand_cell(cell, index, client, t, f"{path}: cell {index}")
    return out
