"""What a cluster worker sends back: bytes (JSON), parsed in the grader as untrusted data.

A grading task never returns a Python object for the grader to unpickle: it returns
:func:`encode`'s bytes, ``{"report": {...}, "page": HTML or null}`` (the report as in
:mod:`.report`'s JSON), or ``{"failed": "Type: message"}`` when the grading code raised.
:func:`decode` accepts exactly that shape (every field, of its type, finite numbers, known
statuses, at most ``MAX_RESULT_BYTES``) and raises ValueError for anything else.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from typing import Any

from .report import STATUSES, SubmissionReport, TestResult

MAX_RESULT_BYTES = 64 << 20
NUMBER = (int, float)
REPORT = {"path": str, "score": NUMBER, "max_score": NUMBER, "manual_max_score": NUMBER,
          "error": (str, type(None)), "tests": list, "notes": list, "student": str, "sha256": str}
TEST = {"grade_id": str, "points": (int, float, type(None)), "max_points": NUMBER, "status": str,
        "message": str}
assert set(REPORT) == {f.name for f in fields(SubmissionReport)}, "a report field changed: update REPORT"
assert set(TEST) == {f.name for f in fields(TestResult)}, "a test result field changed: update TEST"


class TaskFailed(RuntimeError):
    """The grading code raised on a worker; the message is the worker's ``Type: message``."""


def encode(report: SubmissionReport, page: str | None) -> bytes:
    """A grading task's result as bytes."""
    return json.dumps({"report": asdict(report), "page": page}).encode()


def encode_failure(err: BaseException) -> bytes:
    """A grading task's exception as bytes."""
    return json.dumps({"failed": f"{type(err).__name__}: {err}"[:4_000]}).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a report may hold")


def _checked(doc: Any, spec: dict[str, Any], what: str) -> dict:
    if not isinstance(doc, dict) or set(doc) != set(spec):
        raise ValueError(f"{what} does not have the fields {sorted(spec)}")
    for key, types in spec.items():
        if not isinstance(doc[key], types) or isinstance(doc[key], bool):
            raise ValueError(f"{what}'s {key} is a {type(doc[key]).__name__}")
        if isinstance(doc[key], float) and not math.isfinite(doc[key]):  # 1e999 parses as inf
            raise ValueError(f"{what}'s {key} is not a finite number")
    return doc


def decode(data: Any) -> tuple[SubmissionReport, str | None]:
    """The report and page in a task's result; TaskFailed when the task failed, ValueError when
    ``data`` is anything but :func:`encode`'s or :func:`encode_failure`'s bytes."""
    if not isinstance(data, bytes) or len(data) > MAX_RESULT_BYTES:
        raise ValueError(f"a {type(data).__name__} instead of at most {MAX_RESULT_BYTES >> 20} MB of JSON")
    try:
        doc = json.loads(data, parse_constant=_no_constant)
    except (UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"not JSON ({err})") from None
    if isinstance(doc, dict) and set(doc) == {"failed"} and isinstance(doc["failed"], str):
        raise TaskFailed(doc["failed"])
    _checked(doc, {"report": dict, "page": (str, type(None))}, "the result")
    report = _checked(doc["report"], REPORT, "the report")
    tests = [_checked(t, TEST, "a test") for t in report["tests"]]
    if any(t["status"] not in STATUSES for t in tests) or not all(isinstance(n, str) for n in report["notes"]):
        raise ValueError("the report has an unknown test status or a note that is not text")
    return SubmissionReport(**{**report, "tests": [TestResult(**t) for t in tests]}), doc["page"]
