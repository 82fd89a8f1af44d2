"""Finished results kept as they arrive, so an interrupted run loses nothing and a rerun regrades
only what was not finished.

A result is keyed by the SHA-256 of the submission's bytes; it is valid for one *grading*: the
source notebook's bytes, the options that change scores (timeouts, limits, sandbox) and the
grader's own code, hashed together by :func:`grading_key`. With ``--json grades.json`` every
finished report is appended, one JSON line each and flushed, to ``grades.json.journal``; the
final ``grades.json`` carries the same keys (``"grading"`` at the top, ``"sha256"`` in every
submission). A rerun with the same ``--json`` reuses the reports of both whose keys match, and
deletes the journal once ``grades.json`` is written. Within a run, identical files are graded
once (the runner regrades one only to make a student's own feedback page).

Reports of submissions that could not be graded for reasons outside the submission (the sandbox
did not start, the workers grading it kept dying) are not kept: a rerun tries them again.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from .report import SubmissionReport, TestResult

NOT_FINAL = ("grading stopped:", "not graded:")


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def grader_code() -> str:
    """SHA-256 of the grader's code and of the checks it decodes: a different grader, new results."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")) + [here.parent / "checks.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def grading_key(source: bytes, options: str) -> str:
    """The key of one grading: the source's bytes, the options (their ``repr``), the grader's code."""
    return sha256(b"\0".join([sha256(source).encode(), options.encode(), grader_code().encode()]))


def is_final(report: SubmissionReport) -> bool:
    """False for reports of submissions not graded for reasons outside the submission."""
    return not (report.error or "").startswith(NOT_FINAL)


def _from_dict(doc: dict) -> SubmissionReport:
    tests = [TestResult(**t) for t in doc["tests"]]
    return SubmissionReport(**{**doc, "tests": tests})


class Journal:
    """Reports by submission hash for one grading, read from ``json_path`` and its journal."""

    def __init__(self, json_path: str | Path | None, grading: str):
        self.grading = grading
        self.path = Path(f"{json_path}.journal") if json_path else None
        self.reports: dict[str, SubmissionReport] = {}
        if json_path is None:
            return
        try:
            doc = json.loads(Path(json_path).read_text(encoding="utf-8"))
            if doc.get("grading") == grading:
                for sub in doc["submissions"]:
                    self._keep(sub)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no earlier report, or not one of ours: grade everything
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
                if entry.get("grading") == grading:
                    self._keep(entry["report"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line cut short when the run was killed

    def _keep(self, doc: dict) -> None:
        report = _from_dict(doc)
        if report.sha256 and is_final(report):
            self.reports[report.sha256] = report

    def get(self, key: str) -> SubmissionReport | None:
        """The kept report of the submission with hash ``key``, if any."""
        return self.reports.get(key)

    def add(self, report: SubmissionReport) -> None:
        """Keep ``report`` (appended and flushed to the journal file at once)."""
        if not is_final(report) or not report.sha256:
            return
        self.reports[report.sha256] = report
        if self.path is not None:
            line = json.dumps({"grading": self.grading, "report": asdict(report)}) + "\n"
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())



def discard_journal(json_path: str | Path) -> None:
    """Delete ``json_path``'s journal once ``json_path`` holds every report it held."""
    Path(f"{json_path}.journal").unlink(missing_ok=True)
