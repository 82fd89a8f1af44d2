"""Grading results and the ways they are written: table, JSON, CSV, and the student's check list.

JSON (``--json``)::

    {"source": "solutions/01_softmax_ce.ipynb", "sandbox": "bubblewrap" | "none", "grading": KEY,
     "submissions": [{"student", "path", "score", "max_score", "manual_max_score", "error", "notes",
                      "tests": [{"grade_id", "points", "max_points", "status", "message"}],
                      "sha256"}]}

``score``/``max_score`` count autograded tests only. ``status`` is ``passed``, ``partial`` (the
test's result was a number below its points: nbgrader's partial credit), ``failed`` (the test
raised, or its checks' values did not match the instructor's solution), ``error`` (the test could
not be judged: the worker died while it ran), ``timeout``, ``not-run`` or ``manual`` (graded by
hand; ``points`` is null and its ``max_points`` count in ``manual_max_score``). ``message`` is the
whole failure message (the course's checks put the hint in it), at most 4,000 characters.
``error`` says why a submission could not be graded in full (unreadable file, dead worker,
deadline); ``notes`` list edits the grader undid (changed or deleted test cells, duplicates) and
say when a submission was graded without a sandbox. ``sandbox`` at the top says how all were run.

``student`` is named by the rule of :mod:`.students`. ``sha256`` is the hash of the file that was
graded, and ``grading`` the key of the source, options and grader it was graded with
(:mod:`.journal`: a rerun with the same ``--json`` regrades only what changed).

CSV (``--csv``), one row per submission, columns in this order: ``student``, ``path``; one column per
graded cell in source order, named by grade_id (points earned for autograded tests, empty for
manually graded cells, to be filled in by hand); ``total`` (autograded points); ``max_total``;
``error``.

Student strings (names, paths, messages) are data wherever they go: text for the terminal shows
control characters escaped (:func:`shown`), and so does a CSV cell, which also gets a leading
``'`` when a spreadsheet would read it as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or CR: OWASP's advice; numbers the grader writes are left alone) (:func:`csv_cell`). Files are written as UTF-8, with
what UTF-8 cannot hold (a lone surrogate, a name's undecodable byte) written as its escape.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("passed", "partial", "failed", "error", "timeout", "not-run", "manual")
_SHORT = {"passed": "ok", "partial": "part", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT",
          "not-run": "-", "manual": "manual"}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
IDENTICAL = "identical to "


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs and no terminal obeys: ``'`` before a leading
    ``= + - @``, tab or CR, control characters escaped (:func:`shown`)."""
    return ("'" if text.startswith(FORMULA_START) else "") + shown(text)


def shown(text: str) -> str:
    """``text`` safe to print on a terminal: every character that is not printable (ESC and the
    other C0/C1 controls, CR, newline, DEL, bidi overrides, lone surrogates) as its escape, e.g.
    ``\\x1b``."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass
class TestResult:
    """One graded cell of one submission."""

    grade_id: str
    points: float | None
    max_points: float
    status: str
    message: str = ""


@dataclass
class SubmissionReport:
    """The grade of one submission."""

    path: str
    score: float
    max_score: float
    manual_max_score: float
    error: str | None
    tests: list[TestResult]
    notes: list[str] = field(default_factory=list)
    student: str = ""
    sha256: str = ""


def _num(x: float) -> str:
    return f"{x:g}"


def to_json(source: str, reports: list[SubmissionReport], sandbox: str = "bubblewrap",
            grading: str = "") -> str:
    """The JSON document described in the module docstring."""
    return json.dumps({"source": source, "sandbox": sandbox, "grading": grading,
                       "submissions": [asdict(r) for r in reports]}, indent=1) + "\n"


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a report."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace", newline="")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # after a failure: no temporary file left behind


def write_csv(path: str | Path, reports: list[SubmissionReport]) -> None:
    """The CSV described in the module docstring, written atomically."""
    gids = [t.grade_id for t in reports[0].tests] if reports else []
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "path", *map(csv_cell, gids), "total", "max_total", "error"])
    for r in reports:
        points = {t.grade_id: "" if t.points is None else _num(t.points) for t in r.tests}
        writer.writerow([csv_cell(r.student), csv_cell(r.path), *(points.get(g, "") for g in gids),
                         _num(r.score), _num(r.max_score), csv_cell(r.error or "")])
    write_atomic(path, out.getvalue())


def _short(name: str, chars: int = 40) -> str:
    return name if len(name) <= chars else name[:chars - 1] + "…"


def format_table(reports: list[SubmissionReport]) -> str:
    """One row per submission: score/max, then each graded cell's status."""
    if not reports:
        return "no submissions"
    gids = [t.grade_id for t in reports[0].tests]
    rows = [["student", "score", *map(shown, gids)]]
    for r in reports:
        status = {t.grade_id: _SHORT[t.status] for t in r.tests}
        rows.append([_short(shown(r.student or r.path)), f"{_num(r.score)}/{_num(r.max_score)}",
                     *(status.get(g, "") for g in gids)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.extend(shown(f"! {r.student or r.path} ({r.path}): {r.error}") for r in reports if r.error)
    groups = {}
    for r in reports:
        if any(n.startswith(IDENTICAL) for n in r.notes):
            groups.setdefault(r.sha256, []).append(_short(shown(r.student or r.path)))
    lines.extend(f"= identical files: {', '.join(names)}" for names in groups.values())
    return "\n".join(lines)


def note_identical(reports: list[SubmissionReport]) -> None:
    """Note in each report whose file is byte for byte another's which others (in place)."""
    by_hash: dict[str, list[SubmissionReport]] = {}
    for r in reports:
        if r.sha256:
            by_hash.setdefault(r.sha256, []).append(r)
    for r in reports:
        others = [o.student or o.path for o in by_hash.get(r.sha256, []) if o is not r]
        r.notes = [n for n in r.notes if not n.startswith(IDENTICAL)]
        if others:
            more = f" and {len(others) - 10} more" if len(others) > 10 else ""
            r.notes.append(f"{IDENTICAL}{', '.join(others[:10])}{more} (the same bytes)")


def format_check(report: SubmissionReport) -> str:
    """What ``check`` prints for a student: each exercise's test, and the whole message of failures."""
    if not report.error and not any(t.status != "manual" for t in report.tests):
        return f"{report.path}: no checks found (no cells marked as autograder tests)"
    lines = [f"{report.path}: {_num(report.score)}/{_num(report.max_score)} points from the visible checks"]
    for t in report.tests:
        if t.status == "manual":
            continue
        mark = "PASS" if t.status == "passed" else t.status.upper()
        lines.append(f"  {mark:8} {t.grade_id} ({_num(t.max_points)} pt)")
        if t.status != "passed" and t.message:
            lines.extend(f"           {line}" for line in t.message.splitlines())
    if report.error:
        lines.append(f"  {report.error}")
    lines.extend(f"  note: {n}" for n in report.notes if n.startswith("locked cell"))
    return "\n".join(lines)
