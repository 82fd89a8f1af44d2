"""Grade submissions: read each one defensively, run the assembled steps in its own kernel, score."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from tqdm import tqdm

from .assemble import Plan, assemble, load_source, plan_from
from .kernel import KernelSession, Outcome
from .report import SubmissionReport, TestResult

MAX_SUBMISSION_BYTES = 64 << 20


class SubmissionError(ValueError):
    """A submission that is not a notebook the grader can run."""


@dataclass(frozen=True)
class Options:
    """Per-cell ``timeout`` (s), kernel memory limit ``memory_mb`` (0: none), kernel name."""

    timeout: float = 30.0
    memory_mb: int = 4096
    kernel_name: str = "python3"
    interrupt_grace: float = 5.0


def read_submission(path: Path) -> NotebookNode:
    """The submission as a notebook; SubmissionError saying what is wrong with it otherwise."""
    try:
        if path.stat().st_size > MAX_SUBMISSION_BYTES:
            raise SubmissionError(f"file is larger than {MAX_SUBMISSION_BYTES >> 20} MB")
        data = path.read_bytes()
    except OSError as err:
        raise SubmissionError(f"cannot read the file: {err.strerror or err}") from None
    if not data.strip():
        raise SubmissionError("empty file")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise SubmissionError(f"not a notebook: invalid JSON ({err})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise SubmissionError("not a notebook: JSON without a list of cells")
    if doc.get("nbformat") != 4:
        raise SubmissionError(f"notebook format {doc.get('nbformat')!r} is not supported (expected 4)")
    cells = []
    for cell in doc["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue  # an editor's leftovers: nothing to run
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        cells.append({"cell_type": cell["cell_type"], "source": source, "metadata": metadata})
    return nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})


def _test_result(gid: str, max_points: float, outcome: Outcome, receipt_ok: bool,
                 ks: KernelSession, timeout: float) -> TestResult:
    if outcome.status == "ok" and receipt_ok:
        return TestResult(gid, max_points, max_points, "passed")
    status, message = {
        "ok": ("error", "the kernel reported success without the grader's receipt: "
                        "its state was tampered with"),
        "error": ("failed", outcome.first_line),
        "timeout": ("timeout", f"timed out after {timeout:g} s"),
        "stuck": ("timeout", f"timed out after {timeout:g} s and ignored the interrupt"),
        "dead": ("error", f"the kernel died while this test ran ({ks.exit_description()})"),
    }[outcome.status]
    return TestResult(gid, 0.0, max_points, status, message)


def _run(ks: KernelSession, plan: Plan, steps, results: dict, opts: Options) -> str | None:
    """Run the steps; fill ``results`` for tests; return why the run ended early, if it did."""
    ready = ks.start_guard(plan.imports, opts.memory_mb)
    if ready.status != "ok":
        return f"the grader could not prepare the kernel ({ready.status}: {ready.first_line})"
    max_points = {g.grade_id: g.max_points for g in plan.graded if g.kind == "auto"}
    timed_out: set[str] = set()
    for n, step in enumerate(steps):
        if step.kind == "instructor":
            if step.depends_on in timed_out:
                results[step.grade_id] = TestResult(step.grade_id, 0.0, max_points[step.grade_id], "timeout",
                                                    f"not run: solution cell '{step.depends_on}' timed out")
                continue
            outcome, receipt_ok = ks.run_instructor(step.code, step.label, n, opts.timeout)
            if step.grade_id in max_points:
                results[step.grade_id] = _test_result(step.grade_id, max_points[step.grade_id],
                                                      outcome, receipt_ok, ks, opts.timeout)
        else:
            outcome = ks.execute(step.code, opts.timeout)
            if outcome.status in ("timeout", "stuck") and step.grade_id:
                timed_out.add(step.grade_id)
        if outcome.status == "dead":
            return (f"the kernel died while running {step.label} ({ks.exit_description()}); "
                    "later cells were not run")
        if outcome.status == "stuck":
            return (f"{step.label} ignored the interrupt after its {opts.timeout:g} s timeout; "
                    "the kernel was stopped and later cells were not run")
    return None


def grade_notebook(plan: Plan, nb: NotebookNode, path: Path, opts: Options = Options()) -> SubmissionReport:
    """Grade notebook ``nb`` (read from ``path``, which is copied into the kernel's folder)."""
    steps, notes, answers = assemble(plan, nb)
    results: dict[str, TestResult] = {}
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        shutil.copyfile(path, Path(tmp) / (path.name if path.suffix == ".ipynb" else "submission.ipynb"))
        try:
            with KernelSession(Path(tmp), kernel_name=opts.kernel_name,
                               interrupt_grace=opts.interrupt_grace) as ks:
                error = _run(ks, plan, steps, results, opts)
        except Exception as err:  # the kernel would not start or the connection broke
            error = f"grading stopped: {err}"
    return _report(plan, str(path), results, error, notes, answers)


def _report(plan: Plan, path: str, results: dict, error: str | None, notes: list[str],
            answers: dict[str, str]) -> SubmissionReport:
    tests = []
    for g in plan.graded:
        if g.kind == "manual":
            blank = answers.get(g.grade_id, plan.stubs[g.grade_id]) == plan.stubs[g.grade_id]
            tests.append(TestResult(g.grade_id, None, g.max_points, "manual",
                                    "answer left as in the exercise" if blank else "graded by hand"))
        else:
            tests.append(results.get(g.grade_id) or TestResult(
                g.grade_id, 0.0, g.max_points, "not-run", f"not run: {error}" if error else "not run"))
    manual = sum(g.max_points for g in plan.graded if g.kind == "manual")
    score = sum(t.points or 0.0 for t in tests if t.status != "manual")
    return SubmissionReport(path, score, plan.max_score, manual, error, tests, notes)


def grade_submission(plan: Plan, path: str | Path, opts: Options = Options()) -> SubmissionReport:
    """Grade one submission file; an unreadable one gets score 0 and the reason in ``error``."""
    path = Path(path)
    try:
        nb = read_submission(path)
    except SubmissionError as err:
        return _report(plan, str(path), {}, str(err), [], {})
    return grade_notebook(plan, nb, path, opts)


def grade_submissions(source: str | Path, paths: list[str | Path], *, jobs: int = 1,
                      opts: Options = Options(), progress: bool | None = None) -> list[SubmissionReport]:
    """Grade ``paths`` against ``source`` with ``jobs`` kernels at a time; reports in input order.

    Raises NotebookFormatError or OSError when the source itself is unusable.
    """
    plan = load_source(source)
    reports: list[SubmissionReport | None] = [None] * len(paths)
    show = sys.stderr.isatty() if progress is None else progress
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(paths), desc="grading", unit="nb", disable=not show) as bar:
        futures = {pool.submit(grade_submission, plan, p, opts): i for i, p in enumerate(paths)}
        for future in as_completed(futures):
            reports[futures[future]] = future.result()
            bar.update()
    return reports


def check_notebook(path: str | Path, opts: Options = Options()) -> SubmissionReport:
    """Run a student's notebook with the tests it contains, as the grader would run it."""
    path = Path(path)
    try:
        nb = read_submission(path)
    except SubmissionError as err:
        return SubmissionReport(str(path), 0.0, 0.0, 0.0, str(err), [])
    return grade_notebook(plan_from(nb, str(path), strict=False), nb, path, opts)
