"""Grade a class: check the set, run the reference, then every submission, keeping each report.

``grade_submissions`` loads the source, stops if no submission looks like its set
(:mod:`.classwide`), then sends each submission as bytes to :func:`.single.grade_bytes` on a
:class:`.backend.Backend` (local threads, or one task each on a Dask cluster: :mod:`.cluster`).
Before the first submission that is not reused, the source runs as the reference
(:func:`.single.reference_bytes`). Finished reports are kept as they arrive (:mod:`.journal`) and
reused by a rerun: a rerun whose every report the journal holds runs nothing.
"""
from __future__ import annotations

import functools
import sys
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from tqdm import tqdm

from .assemble import Plan, load_source
from .autotest import templates_used
from .backend import Backend, LocalBackend
from .classwide import check_set
from .feedback import NO_PAGE, page_names, write_page
from .journal import Journal, grading_key, sha256
from .report import SubmissionReport, note_identical
from .single import Graded, Options, fault, grade_bytes, misfit, refused
from .students import Submission
from .submission import SubmissionError, read_bytes


def grade_submissions(source: str | Path, paths: list[str | Path | Submission], *, jobs: int = 1,
                      opts: Options = Options(), progress: bool | None = None,
                      feedback_dir: str | Path | None = None, json_path: str | Path | None = None,
                      backend: Backend | None = None, counts: dict[str, int] | None = None
                      ) -> list[SubmissionReport]:
    """Grade ``paths`` against ``source``; reports in input order.

    ``paths`` are :class:`~.students.Submission` s or paths (then the student is the file's stem).
    Submissions run in ``jobs`` local sandboxes at a time, or on ``backend`` (e.g. a
    :class:`.cluster.DaskBackend`: one task each on a Dask cluster), which is closed when done.
    With ``feedback_dir`` each student's page is written there as their result arrives. With ``json_path`` finished reports are kept
    in ``json_path``.journal as they arrive, and those of an earlier run with the same source,
    options and grader are reused (:mod:`.journal`). ``counts``, when given, is filled with how
    many were graded, reused, retried (a worker died) and ended with an error.

    Raises NotebookFormatError or OSError when the source itself is unusable, SandboxError when
    no sandbox can be made (and ``opts.sandbox`` is set), SourceError when the source fails or
    no submission looks like one of its set (:func:`check_set`), ClusterError when the cluster cannot be used.
    """
    plan = load_source(source, stubs_ok=opts.skip_source_check, autotests=opts.autotests)
    journal = Journal(json_path, grading_of(source, opts))
    subs = [p if isinstance(p, Submission) else Submission(Path(p), Path(p).stem) for p in paths]
    check_set(plan, subs)
    backend = backend or LocalBackend(jobs, opts)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        data = Path(source).read_bytes()
        reference = functools.cache(lambda: backend.reference(plan, Path(source).name, data, opts))
        with tqdm(total=len(subs), desc="grading", unit="nb", disable=not show) as bar:
            return _drive(backend, plan, reference, (Path(source).resolve(), sha256(data)), subs, opts, journal,
                          feedback_dir and Path(feedback_dir), bar, counts if counts is not None else {})
    finally:
        backend.close()


def grading_of(source: str | Path, opts: Options) -> str:
    """The key that grading ``source`` with ``opts`` by this grader gets (:mod:`.journal`): an
    edited source, or an edited autotests.yml it is expanded with, is another grading."""
    templates = templates_used(source, opts.autotests)
    return grading_key(Path(source).read_bytes() + (templates.read_bytes() if templates else b""), repr(opts))


def _drive(backend: Backend, plan: Plan, reference: Callable[[], tuple[Any, list[str]]],
           source: tuple[Path, str], subs: list[Submission], opts: Options, journal: Journal,
           feedback_dir: Path | None, bar: tqdm, counts: dict[str, int]) -> list[SubmissionReport]:
    """Grade ``subs`` on ``backend``, at most a few tasks per slot in flight (their bytes in
    memory), reusing the journal's reports; return the reports in order. ``reference()`` runs the
    source once, when first called (raising SourceError if it fails): its handle goes with every
    task, its notes into every report that is not reused.
    A submission with the bytes of the source (``source``: its path and hash) found anywhere but
    at the source's own path (a copy or a hard link of it in the class folder) is refused unrun:
    it scores full marks and its page shows the solutions. The source itself, named as a
    submission, is graded (an instructor's check of the set)."""
    reports: list[SubmissionReport | None] = [None] * len(subs)
    shared_plan = backend.share(plan)
    counts.update(graded=0, reused=0, errors=0, retried=0, pages=0)
    pending: dict[Future, tuple] = {}
    queue: Iterator[tuple[int, Submission]] = iter(enumerate(subs))
    pages = [feedback_dir / name for name in page_names([s.student for s in subs])] if feedback_dir else []

    def finish(i: int, report: SubmissionReport, page: str | None = None, kind: str = "graded") -> None:
        if kind != "reused":  # a reused report has them already
            report.notes = [*reference()[1], *report.notes]
        if pages and (page is not None or kind == "reused"):
            try:
                if page is not None:
                    write_page(pages[i], page)
                counts["pages"] += 1
            except (OSError, ValueError) as err:  # that student's page only
                report.notes = [*report.notes, f"{NO_PAGE}it could not be written ({err})"]
        journal.add(report)
        reports[i] = report
        counts[kind] += 1
        counts["errors"] += bool(report.error)
        counts["retried"] = backend.retried
        bar.set_postfix(counts, refresh=False)
        bar.update()

    def refill() -> None:
        while len(pending) < 4 * backend.slots:
            i, sub = next(queue, (-1, None))
            if sub is None:
                return
            path = Path(sub.path)
            try:
                if sub.refused:
                    raise SubmissionError(sub.refused)
                data = read_bytes(path)
                if sha256(data) == source[1] and path.resolve() != source[0]:
                    raise SubmissionError("is the instructor's source notebook itself (the same bytes: a copy "
                                          "or a hard link of it), with its solutions and hidden tests")
                kept = journal.get(sha256(data))
            except Exception as err:  # noqa: BLE001 - unreadable, or the grader failed on it: its report
                unread = refused(plan, str(path), fault(err), sub.student, bool(pages))
                finish(i, unread.report, unread.page)
                continue
            if kept and (not pages or pages[i].exists()):
                finish(i, replace(kept, path=str(path), student=sub.student), kind="reused")
                continue
            task = (i, sub.student, grade_bytes, shared_plan, str(path), data, sub.student, opts, reference()[0],
                    feedback_dir is not None)
            pending[backend.submit(*task)] = task

    refill()
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            i = task[0]
            try:
                graded: Graded = future.result()
                if problem := misfit(plan, graded, str(subs[i].path), subs[i].student):
                    raise ValueError(f"the result that came back does not fit this submission: {problem}")
            except Exception as err:  # noqa: BLE001 - one submission's failure must not stop the class
                why = backend.failure(i, err)
                if why is None:
                    pending[backend.submit(*task)] = task
                    continue
                graded = refused(plan, str(subs[i].path), f"not graded: {why}", subs[i].student)
                graded.report.sha256 = sha256(task[5])  # its bytes are still a classmate's twin
            finish(i, graded.report, graded.page)
        refill()
    backend.settle()
    counts["retried"] = backend.retried
    bar.set_postfix(counts)
    note_identical(reports)
    return reports
