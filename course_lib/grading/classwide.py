"""Checks across the class that catch an instructor's mistake before or after grading.

:func:`check_set` stops a run whose submissions do not look like the source's set (a wrong
``--source``), naming the set they look like; :func:`suspect_tests` warns about a test cell that
nearly the whole class fails although the source passes it (a wrong answer key).
"""
from __future__ import annotations

from pathlib import Path

from .assemble import Plan, load_source
from .report import SubmissionReport
from .single import SourceError, coverage_problem
from .students import Submission
from .submission import SubmissionError, parse_submission, read_bytes


def check_set(plan: Plan, subs: list[Submission]) -> None:
    """SourceError when no readable submission looks like a submission of the source (a wrong
    ``--source``), saying which notebook of the source's folder they look like. Reads submissions
    only until one fits the source."""
    notebooks = []
    for sub in subs:
        try:
            nb = parse_submission(read_bytes(Path(sub.path))) if not sub.refused else None
        except SubmissionError:
            continue  # graded later, with the reason
        if nb is not None and coverage_problem(plan, nb) is None:
            return
        notebooks += [nb] if nb is not None else []
    if not notebooks:
        return
    fits = {}
    for other in sorted(Path(plan.path).parent.glob("*.ipynb")):
        try:
            other_plan = load_source(other, expand=False)  # its grade_ids: no kernel needed
        except (ValueError, OSError):  # NotebookFormatError is a ValueError: not a source
            continue
        fits[other.name] = sum(coverage_problem(other_plan, nb) is None for nb in notebooks)
    best = max(fits, key=fits.get, default=None)
    like = (f"they look like submissions of {best} ({fits[best]} of {len(notebooks)})" if best and fits[best]
            else f"they look like none of the sets in {Path(plan.path).parent}")
    raise SourceError(f"none of the {len(notebooks)} readable submission(s) looks like a submission of "
                      f"{Path(plan.path).name}: {like}\nlikely fix: check --source")


def suspect_tests(reports: list[SubmissionReport], least: int = 5, share: float = 0.8) -> list[str]:
    """Warnings for the test cells that at least ``share`` of the graded submissions (``least`` or
    more, those without an ``error``) fail, although the source passes them (the reference run):
    a wrong answer key fails the whole class silently otherwise."""
    graded = [r for r in reports if not r.error]
    if len(graded) < least:
        return []
    failing: dict[str, int] = {}
    for report in graded:
        for test in report.tests:
            failing[test.grade_id] = failing.get(test.grade_id, 0) + (test.status in ("failed", "error"))
    return [f"{n} of the {len(graded)} graded submissions fail test cell '{gid}', which the source "
            "passes: check the source's answer and that test (a wrong answer key?)"
            for gid, n in failing.items() if n >= share * len(graded)]
