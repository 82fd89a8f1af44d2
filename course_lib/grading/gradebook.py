"""Hand-graded points and the gradebook: from several sets' grade reports to one row per student.

``manual.csv`` (written by ``grade --manual-template``, filled in by the instructor) has one row
per manually graded cell of each submission::

    student,set,grade_id,max_points,points,comment
    alice,01_softmax_cross_entropy,explain,2,1.5,good but no formula

Student names are written as :func:`.report.csv_cell` makes them (a name a spreadsheet would
run as a formula starts with ``'``, control characters are escaped) and found either way. A
row whose ``points`` is empty is not graded yet (counts 0, and the gradebook notes it). Answers
left as in the exercise (in a submission that could not be read, all are) come pre-filled with
0, as nbgrader scores an unchanged answer cell; a "task" cell, which has no answer cell, never
does.
``apply_manual`` checks every row against the reports and raises :class:`ManualError` naming
the line of each problem: unknown student or set, a grade_id that is not a hand-graded cell of
that set, points that are not a number, negative, or above the cell's maximum, a cell given twice.

The gradebook has a row per student and a column per set (autograded + hand-graded points),
then ``total``, ``max_total``, ``percent`` and ``notes`` (a missing set counts 0 and is noted).
With a roster (the gradebook export of Canvas, Moodle or another LMS) the output is that roster,
row for row and column for column, with the sets' columns added, matched on ``roster_key`` (the
roster's column that holds what the submissions are named by, e.g. ``SIS Login ID`` in Canvas,
``Username`` in Moodle): a file the LMS imports as it is. A row with nothing in that column is the
LMS's own, not a student (Canvas's "Points Possible", which gets each set's maximum, and its
"Manual Posting"); it is kept as it is. Columns the LMS adds (Moodle's "Last downloaded from
this course", Canvas's scores) are kept as they are.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .assemble import LEFT_AS_IS
from .report import csv_cell, shown

MANUAL_COLUMNS = ["student", "set", "grade_id", "max_points", "points", "comment"]


class ManualError(ValueError):
    """Problems in a manual.csv; ``problems`` lists each, with its line number."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def set_name(doc: dict) -> str:
    """The name of a grade report's exercise set: the source notebook's stem."""
    return Path(str(doc.get("source", "set"))).stem


def manual_template(doc: dict) -> str:
    """The CSV to fill in: every manually graded cell of every submission in ``doc``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MANUAL_COLUMNS)
    for sub in doc["submissions"]:
        for test in sub["tests"]:
            if test["status"] != "manual":
                continue
            row = [csv_cell(sub["student"]), csv_cell(set_name(doc)), csv_cell(test["grade_id"]),
                   f"{test['max_points']:g}", "", ""]
            if test["message"] == LEFT_AS_IS:  # an unchanged answer cell: as nbgrader, 0
                unread = sub.get("error") and sub["score"] == 0 and not any(
                    t["status"] in ("passed", "partial", "failed") for t in sub["tests"])
                row[4:] = ["0", "no readable submission" if unread else "left as in the exercise"]
            writer.writerow(row)
    return out.getvalue()


def read_manual(path: str | Path) -> list[tuple[int, dict]]:
    """The rows of a manual.csv with their line numbers; ManualError when columns are missing."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("student", "set", "grade_id", "points") if c not in (reader.fieldnames or [])]
        if missing:
            raise ManualError([f"{path}: missing column(s) {', '.join(missing)}; "
                               f"expected {','.join(MANUAL_COLUMNS)}"])
        return [(n, row) for n, row in enumerate(reader, start=2)]


def apply_manual(docs: list[dict], rows: list[tuple[int, dict]], where: str = "manual.csv") -> None:
    """Put the hand-graded points of ``rows`` into the reports ``docs`` (in place)."""
    by_set = {}  # a name is found as it is, or as the manual template wrote it (csv_cell)
    for d in docs:
        subs = {**{csv_cell(s["student"]): s for s in d["submissions"]}, **{s["student"]: s for s in d["submissions"]}}
        by_set[set_name(d)] = by_set[csv_cell(set_name(d))] = subs
    problems, seen = [], set()
    for line, row in rows:
        student, name, gid = row["student"].strip(), row["set"].strip(), row["grade_id"].strip()
        text = (row.get("points") or "").strip()
        at = f"{where} line {line}"
        if name not in by_set:
            problems.append(f"{at}: unknown set {name!r} (known: {shown(', '.join(sorted(map(set_name, docs))))})")
            continue
        sub = by_set[name].get(student)
        if sub is None:
            problems.append(f"{at}: no submission of {name} by student {student!r}")
            continue
        test = next((t for t in sub["tests"] if gid in (t["grade_id"], csv_cell(t["grade_id"]))), None)
        if test is None or test["status"] != "manual":
            problems.append(f"{at}: {gid!r} is not a hand-graded cell of {name}")
            continue
        if (sub["student"], name, test["grade_id"]) in seen:
            problems.append(shown(f"{at}: {student}/{name}/{gid} is given twice"))
            continue
        seen.add((sub["student"], name, test["grade_id"]))
        if not text:
            continue
        try:
            points = float(text)
        except ValueError:
            problems.append(f"{at}: points {text!r} is not a number")
            continue
        if not 0 <= points <= test["max_points"]:
            problems.append(f"{at}: {points:g} points for {gid!r}, which is worth 0 to "
                            f"{test['max_points']:g}")
            continue
        test["points"] = points
        if (row.get("comment") or "").strip():
            test["message"] = row["comment"].strip()
    if problems:
        raise ManualError(problems)


@dataclass
class Row:
    """One student's line of the gradebook."""

    student: str
    points: dict[str, float]
    notes: list[str]


def gradebook_rows(docs: list[dict]) -> tuple[list[str], dict[str, float], list[Row]]:
    """Sets in order, each set's maximum, and one row per student (sorted)."""
    sets = [set_name(d) for d in docs]
    if len(set(sets)) != len(sets):
        raise ValueError(f"the same set appears twice: {sets}")
    maxima, per_set = {}, {}
    for name, doc in zip(sets, docs):
        subs = doc["submissions"]
        maxima[name] = max((s["max_score"] + s["manual_max_score"] for s in subs), default=0.0)
        per_set[name] = {}
        for sub in subs:
            if sub["student"] in per_set[name]:
                raise ValueError(shown(f"{name}: student {sub['student']!r} has two submissions "
                                       f"({per_set[name][sub['student']]['path']} and {sub['path']})"))
            per_set[name][sub["student"]] = sub
    rows = []
    for student in sorted({s for subs in per_set.values() for s in subs}):
        points, notes = {}, []
        for name in sets:
            sub = per_set[name].get(student)
            if sub is None:
                points[name] = 0.0
                notes.append(f"no submission for {name}")
                continue
            manual = [t for t in sub["tests"] if t["status"] == "manual"]
            points[name] = sub["score"] + sum(t["points"] or 0.0 for t in manual)
            if any(t["points"] is None for t in manual):
                notes.append(f"{name}: hand-graded cells not graded yet")
            if sub.get("error"):
                notes.append(f"{name}: {sub['error'][:120]}")
        rows.append(Row(student, points, notes))
    return sets, maxima, rows


def _num(x: float) -> str:
    return f"{x:g}"


def gradebook_csv(docs: list[dict], roster: Path | None = None,
                  roster_key: str | None = None) -> tuple[str, int]:
    """The gradebook as CSV text (see the module docstring) and how many students' rows it has;
    ValueError for an unusable roster."""
    sets, maxima, rows = gradebook_rows(docs)
    max_total = sum(maxima.values())
    out = io.StringIO()
    writer = csv.writer(out)
    if roster is None:
        writer.writerow(["student", *sets, "total", "max_total", "percent", "notes"])
        for row in rows:
            total = sum(row.points.values())
            writer.writerow([csv_cell(row.student), *(_num(row.points[s]) for s in sets), _num(total),
                             _num(max_total), f"{100 * total / max_total:.1f}" if max_total else "",
                             csv_cell("; ".join(row.notes))])
        return out.getvalue(), len(rows)
    with open(roster, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        if roster_key not in header:
            raise ValueError(f"the roster {roster} has no column {roster_key!r} (it has: {', '.join(header)})")
        lines = list(reader)
    by_student = {r.student: r for r in rows}
    keys = [key for line in lines if (key := (line[roster_key] or "").strip())]
    twice = sorted(key for key, n in Counter(keys).items() if n > 1)
    if twice:
        raise ValueError(f"the roster's {roster_key!r} column names a student twice: {', '.join(map(shown, twice))}")
    listed = set(keys)
    unknown = sorted(set(by_student) - listed)
    if unknown:
        raise ValueError(f"submissions from students not in the roster's {roster_key!r} column: "
                         f"{', '.join(map(shown, unknown))}")
    writer.writerow([*header, *(f"{s} ({_num(maxima[s])} pts)" for s in sets)])
    for line in lines:
        key = (line[roster_key] or "").strip()
        if not key:  # the LMS's own row, not a student's
            possible = any((line[h] or "").strip() == "Points Possible" for h in header)
            points = [_num(maxima[s]) if possible else "" for s in sets]
        else:
            row = by_student.get(key)
            points = [_num(row.points[s]) if row else "0" for s in sets]
        writer.writerow([line[h] for h in header] + points)
    return out.getvalue(), len(listed)


def load_reports(paths: list[str | Path]) -> list[dict]:
    """Grade reports written by ``grade --json``; ValueError naming a file that is not one."""
    docs = []
    for path in paths:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a grade report ({err})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("submissions"), list) or any(
                "student" not in s for s in doc["submissions"]):
            raise ValueError(f"{path}: not a grade report written by 'grade --json'")
        docs.append(doc)
    return docs
