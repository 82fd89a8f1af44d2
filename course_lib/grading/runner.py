"""Grade submissions: read each defensively, run it in its own sandbox, decide here, report.

``grade_submissions`` first runs the instructor's source (sandboxed like any submission) as the
reference: it must finish every locked and test cell without an error, or grading stops before
anyone is graded (:class:`SourceError`, with the failing cell, its traceback and the likely fix).
The values its checks received become the reference for :mod:`.verdict`.

Then each submission travels as bytes to :func:`grade_bytes`, which returns its report (and
feedback page) as data: run by ``jobs`` local threads, or as one task each on a Dask cluster
(:mod:`.cluster`). Finished reports are kept as they arrive (:mod:`.journal`).
"""
from __future__ import annotations

import json
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import nbformat
from nbformat import NotebookNode
from tqdm import tqdm

from ..exercises import nbgrader_meta
from .assemble import LEFT_AS_IS, Plan, Step, assemble, load_source, plan_from
from .feedback import feedback_page, page_names, write_page
from .journal import Journal, grading_key, sha256
from .report import SubmissionReport, TestResult, note_identical
from .sandbox import Limits, Reply, Sandbox, SandboxError, sandbox_problem
from .students import Submission, read_regular
from .verdict import Observation, compare, decided_by_values, decode, warning_note

MAX_SUBMISSION_BYTES = 16 << 20
MAX_CELLS = 2_000
MAX_DEPTH = 64
MESSAGE_CHARS = 4_000


class SubmissionError(ValueError):
    """A submission that is not a notebook the grader can run."""


class SourceError(RuntimeError):
    """The instructor's source does not run cleanly in the grading environment."""


class ClusterError(RuntimeError):
    """The cluster cannot be used (Dask missing, scheduler unreachable, no or unlike workers)."""


@dataclass(frozen=True)
class Options:
    """How to grade: per-cell ``timeout`` and per-submission ``deadline`` (s), limits, isolation.

    ``python`` is the interpreter that runs the notebooks; None: the one running the grader
    (on a cluster, each worker's own)."""

    timeout: float = 30.0
    deadline: float = 300.0
    limits: Limits = Limits()
    python: str | None = None
    sandbox: bool = True
    interrupt_grace: float = 5.0


@dataclass
class Graded:
    """One submission's report and, when asked for, its feedback page (HTML)."""

    report: SubmissionReport
    page: str | None = None


Reference = dict[str, list[Observation]]


def _depth_ok(data: bytes) -> bool:
    """True when JSON brackets never nest deeper than MAX_DEPTH (strings skipped), before parsing."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def read_bytes(path: Path) -> bytes:
    """The submission file's bytes if it is a regular file (:func:`.students.read_regular`);
    SubmissionError saying what is wrong otherwise."""
    try:
        return read_regular(path, MAX_SUBMISSION_BYTES)
    except ValueError as err:
        raise SubmissionError(str(err)) from None


def read_submission(path: Path) -> tuple[NotebookNode, bytes]:
    """The submission as a notebook and its bytes; SubmissionError saying what is wrong otherwise."""
    data = read_bytes(path)
    return parse_submission(data), data


def parse_submission(data: bytes) -> NotebookNode:
    """The submission's bytes as a notebook of plain cells; SubmissionError saying what is wrong."""
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"file is larger than {MAX_SUBMISSION_BYTES >> 20} MB")
    if not data.strip():
        raise SubmissionError("empty file")
    if not _depth_ok(data):
        raise SubmissionError(f"not a notebook: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise SubmissionError(f"not a notebook: invalid JSON ({str(err)[:200]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise SubmissionError("not a notebook: JSON without a list of cells")
    if doc.get("nbformat") != 4:
        raise SubmissionError(f"notebook format {str(doc.get('nbformat'))[:20]!r} is not supported (expected 4)")
    if len(doc["cells"]) > MAX_CELLS:
        raise SubmissionError(f"{len(doc['cells'])} cells: more than the {MAX_CELLS} a submission may have")
    cells = []
    for cell in doc["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue  # an editor's leftovers: nothing to run
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        gid = metadata.get("nbgrader", {}).get("grade_id") if isinstance(metadata.get("nbgrader"), dict) else None
        if gid is not None and not isinstance(gid, str):
            raise SubmissionError(f"not a notebook the grader can read: a cell's nbgrader grade_id is a "
                                  f"{type(gid).__name__}, not text (the cell's metadata was edited)")
        cells.append({"cell_type": cell["cell_type"], "source": source, "metadata": metadata})
    return nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})


def _message(data: dict) -> str:
    ename, evalue = str(data.get("ename", "Error")), str(data.get("evalue", "")).strip()
    text = f"{ename}: {evalue}" if evalue else ename
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " [...]"


def _nbgrader_points(data: dict, max_points: float, stderr_fails: bool = True) -> tuple[float, str]:
    """Points and status for a test cell that finished, by nbgrader's ``determine_grade``: output on
    stderr (warnings included) scores 0, unless ``stderr_fails`` is off (a cell decided by values);
    a result that reads as a number from 0 to the cell's points scores that number (partial
    credit); a negative or NaN or non-numeric result, or none, scores full points; a number above
    the points is an error (nbgrader refuses the notebook)."""
    if stderr_fails and str(data.get("stderr", "")).strip():
        return 0.0, "stderr"
    try:
        value = float(str(data.get("result", "")).strip())
    except ValueError:
        return max_points, "passed"
    if value > max_points:
        return 0.0, "above"
    if value < 0 or value != value:
        return max_points, "passed"
    return value, "passed" if value == max_points else "partial"


def _judge(plan: Plan, step: Step, reply: Reply, max_points: float, reference: Reference | None,
           opts: Options, describe_death) -> TestResult:
    gid = step.grade_id
    if reply.status == "ok":
        if reference is not None and reference.get(gid):
            try:
                observed = decode(reply.data.get("observations"))
                problem = compare(reference[gid], observed)
            except ValueError as err:
                problem = f"the cell's reported checks are malformed ({err})"
            if problem:
                return TestResult(gid, 0.0, max_points, "failed", problem[:MESSAGE_CHARS])
        by_values = decided_by_values(None if reference is None else reference.get(gid, []),
                                      reply.data.get("observations"))
        points, status = _nbgrader_points(reply.data, max_points, stderr_fails=not by_values)
        if status == "stderr":
            return TestResult(gid, 0.0, max_points, "failed", plan.redact(
                "the cell wrote to stderr, which nbgrader counts as a failure: "
                + str(reply.data["stderr"]).strip()[:MESSAGE_CHARS]))
        if status == "above":
            return TestResult(gid, 0.0, max_points, "error",
                              f"the cell's result {str(reply.data.get('result'))[:40]} is more than its "
                              f"{max_points:g} points (nbgrader refuses to grade such a notebook)")
        note = warning_note(str(reply.data.get("stderr", ""))) if by_values else ""
        return TestResult(gid, points, max_points, status, plan.redact(note))
    if reply.status == "error":
        return TestResult(gid, 0.0, max_points, "failed", plan.redact(_message(reply.data)))
    if reply.status in ("timeout", "stuck"):
        return TestResult(gid, 0.0, max_points, "timeout", f"timed out after {opts.timeout:g} s")
    return TestResult(gid, 0.0, max_points, "error",
                      f"the worker died while this test ran ({describe_death(reply)})")


def _run_steps(sb: Sandbox, plan: Plan, steps: list[Step], reference: Reference | None,
               opts: Options, results: dict, replies: dict, started: float,
               trace: list | None = None) -> str | None:
    """Run the steps; fill ``results`` (tests), ``replies`` (every instructor cell) and ``trace``
    (every step with its reply, outputs redacted, for feedback); return why the run ended early,
    if it did."""
    max_points = {g.grade_id: g.max_points for g in plan.graded if g.kind == "auto"}
    timed_out: set[str] = set()

    def death(reply: Reply) -> str:
        return reply.why or sb.exit_description()

    for step in steps:
        left = opts.deadline - (time.monotonic() - started)
        if left <= 0:
            return f"the submission's deadline of {opts.deadline:g} s passed; later cells were not run"
        if step.kind == "instructor" and step.depends_on in timed_out and step.grade_id in max_points:
            results[step.grade_id] = TestResult(step.grade_id, 0.0, max_points[step.grade_id], "timeout",
                                                f"not run: solution cell '{step.depends_on}' timed out")
            continue
        reply = sb.run(step.code, min(opts.timeout, left))
        if trace is not None:
            trace.append((step, _redacted(plan, reply)))
        if step.kind == "instructor":
            replies[step.grade_id] = reply
            if step.grade_id in max_points:
                results[step.grade_id] = _judge(plan, step, reply, max_points[step.grade_id],
                                                reference, opts, death)
        elif reply.status in ("timeout", "stuck") and step.grade_id:
            timed_out.add(step.grade_id)
        if reply.status == "timeout" and opts.timeout > left:
            return f"the submission's deadline of {opts.deadline:g} s passed; later cells were not run"
        if reply.status in ("dead", "protocol"):
            return f"the worker died while running {step.label} ({death(reply)}); later cells were not run"
        if reply.status == "stuck":
            return (f"{step.label} ignored the interrupt after its {opts.timeout:g} s timeout; "
                    "the sandbox was stopped and later cells were not run")
    return None


def _redacted(plan: Plan, reply: Reply) -> Reply:
    """The parts of a reply a feedback page shows, without the source's hidden tests."""
    data = {k: plan.redact(v) if isinstance(v, str) else v for k, v in (reply.data or {}).items()
            if k in ("stdout", "stderr", "result", "ename", "evalue", "traceback")}
    return Reply(reply.status, data, reply.why)


def _sandbox(opts: Options, files: dict[str, bytes], grading: bool = True) -> Sandbox:
    return Sandbox(files=files, limits=opts.limits, python=opts.python or sys.executable,
                   isolate=opts.sandbox, grading=grading, interrupt_grace=opts.interrupt_grace)


def _coverage_problem(plan: Plan, nb: NotebookNode) -> str | None:
    """Why ``nb`` does not look like a submission of the source, if it does not."""
    ids = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
    answers = [gid for gid, _ in plan.cells if plan.roles[gid] in ("answer", "manual")]
    wanted = answers or [gid for gid, _ in plan.cells]
    found = sum(gid in ids for gid in wanted)
    if wanted and found * 2 < len(wanted):
        return (f"does not look like a submission of {Path(plan.path).stem}: it has {found} of the "
                f"{len(wanted)} answer cells of that set (matched by grade_id); wrong set, or a "
                "notebook whose cells lost their nbgrader metadata")
    return None


def _check_set(plan: Plan, subs: list[Submission]) -> None:
    """SourceError when no readable submission looks like a submission of the source (a wrong
    ``--source``), saying which notebook of the source's folder they look like. Reads submissions
    only until one fits the source."""
    notebooks = []
    for sub in subs:
        try:
            nb = parse_submission(read_bytes(Path(sub.path))) if not sub.refused else None
        except SubmissionError:
            continue  # graded later, with the reason
        if nb is not None and _coverage_problem(plan, nb) is None:
            return
        notebooks += [nb] if nb is not None else []
    if not notebooks:
        return
    fits = {}
    for other in sorted(Path(plan.path).parent.glob("*.ipynb")):
        try:
            other_plan = load_source(other)
        except (ValueError, OSError):  # NotebookFormatError is a ValueError: not a source
            continue
        fits[other.name] = sum(_coverage_problem(other_plan, nb) is None for nb in notebooks)
    best = max(fits, key=fits.get, default=None)
    like = (f"they look like submissions of {best} ({fits[best]} of {len(notebooks)})" if best and fits[best]
            else f"they look like none of the sets in {Path(plan.path).parent}")
    raise SourceError(f"none of the {len(notebooks)} readable submission(s) looks like a submission of "
                      f"{Path(plan.path).name}: {like}\nlikely fix: check --source")


def grade_notebook(plan: Plan, nb: NotebookNode, name: str, data: bytes, opts: Options = Options(),
                   reference: Reference | None = None, grading: bool = True,
                   student: str = "", feedback: bool = False) -> Graded:
    """Grade notebook ``nb`` (file ``name`` with bytes ``data``, copied into its sandbox)."""
    if grading and (problem := _coverage_problem(plan, nb)):
        return _graded(plan, _report(plan, name, {}, problem, [], {}, student), [], feedback)
    steps, notes, answers = assemble(plan, nb)
    results: dict[str, TestResult] = {}
    trace: list = []
    started = time.monotonic()
    filename = Path(name).name if name.endswith(".ipynb") else "submission.ipynb"
    try:
        with _sandbox(opts, {filename: data}, grading) as sb:
            error = _run_steps(sb, plan, steps, reference, opts, results, {}, started, trace)
    except SandboxError as err:
        error = f"grading stopped: {err}"
    if not opts.sandbox and grading:
        notes = [*notes, "graded WITHOUT a sandbox (--no-sandbox)"]
    for step, reply in trace:
        if step.kind == "instructor" and step.grade_id not in results and reply.status != "ok":
            why = _message(reply.data) if reply.data else (reply.why or reply.status)
            notes.append(f"locked cell '{step.grade_id}' did not run cleanly ({reply.status}): "
                         f"{why[:300]}; the tests after it may fail for that reason "
                         f"(likely fix: {_likely_fix(why)})")
    report = _report(plan, name, results, error, notes, answers, student)
    ran = {id(step) for step, _ in trace}
    trace += [(step, None) for step in steps if id(step) not in ran]
    return _graded(plan, report, trace, feedback)


def _graded(plan: Plan, report: SubmissionReport, trace: list, feedback: bool) -> Graded:
    """The report and, with ``feedback``, its page (a page that fails to render costs the page only)."""
    if not feedback:
        return Graded(report)
    try:
        return Graded(report, feedback_page(plan, report, trace, report.student or Path(report.path).stem))
    except Exception as err:  # noqa: BLE001 - the score stands; the note says why there is no page
        report.notes = [*report.notes, f"no feedback page: it could not be made ({type(err).__name__}: {err})"]
        return Graded(report)


def _report(plan: Plan, path: str, results: dict, error: str | None, notes: list[str],
            answers: dict[str, str], student: str = "") -> SubmissionReport:
    tests = []
    for g in plan.graded:
        if g.kind == "manual":
            blank = (plan.roles[g.grade_id] == "manual"  # an answer cell; a task has no answer cell
                     and answers.get(g.grade_id, plan.stubs[g.grade_id]) == plan.stubs[g.grade_id])
            tests.append(TestResult(g.grade_id, None, g.max_points, "manual",
                                    LEFT_AS_IS if blank else "graded by hand"))
        else:
            tests.append(results.get(g.grade_id) or TestResult(
                g.grade_id, 0.0, g.max_points, "not-run", f"not run: {error}" if error else "not run"))
    manual = sum(g.max_points for g in plan.graded if g.kind == "manual")
    score = sum(t.points or 0.0 for t in tests if t.status != "manual")
    return SubmissionReport(path, score, plan.max_score, manual, error, tests, notes, student)


def _fault(err: Exception) -> str:
    """A submission's ``error`` for ``err``: what is wrong with it, or that the grader failed on it."""
    if isinstance(err, SubmissionError):
        return str(err)
    return f"the grader could not handle this submission ({type(err).__name__}: {str(err)[:300]})"


def grade_bytes(plan: Plan, name: str, data: bytes, student: str, opts: Options = Options(),
                reference: Reference | None = None, feedback: bool = False) -> Graded:
    """Grade the submission ``data`` (file ``name`` of ``student``): all a cluster worker runs.

    A file that is not a notebook gets score 0 and the reason in ``error``, and so does one the
    grader fails on, whatever the exception: one submission never stops the class. ``report.sha256``
    is the hash of ``data``."""
    try:
        graded = grade_notebook(plan, parse_submission(data), name, data, opts, reference, student=student,
                                feedback=feedback)
    except Exception as err:  # noqa: BLE001 - not a notebook, or the grader failed on it: its report
        graded = _graded(plan, _report(plan, name, {}, _fault(err), [], {}, student), [], feedback)
    graded.report.sha256 = sha256(data)
    return graded


def _likely_fix(text: str) -> str:
    if "No module named 'course_lib'" in text or "No module named course_lib" in text:
        return ("course_lib is not importable by the grading interpreter: run "
                "'python -m pip install -e .' in the course folder, or pass --python")
    if "No module named 'IPython'" in text:
        return ("the grading interpreter has not got the course's packages: run 'python -m pip "
                "install -r requirements.txt -e .' with it, or pass --python")
    if "ModuleNotFoundError" in text:
        return "a module the notebook imports is missing from the grading interpreter: install it"
    return "run the source notebook top to bottom in Jupyter and fix the failing cell"


def reference_bytes(plan: Plan, name: str, data: bytes, opts: Options = Options()) -> Reference:
    """Run the instructor's source (file ``name``, bytes ``data``) as a submission; return its
    checks' values per test cell.

    Raises SourceError when a locked or test cell fails (or times out): nobody can be graded
    fairly against it.
    """
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    steps, _, _ = assemble(plan, nb)
    results, replies = {}, {}
    try:
        with _sandbox(opts, {name: data}) as sb:
            error = _run_steps(sb, plan, steps, None, opts, results, replies, time.monotonic())
    except SandboxError as err:
        raise SourceError(f"the sandbox for the reference run did not start: {err}\n"
                          f"likely fix: {_likely_fix(str(err))}") from None
    for step in steps:
        reply = replies.get(step.grade_id) if step.kind == "instructor" else None
        result = results.get(step.grade_id)
        if result is not None and result.status != "passed" and reply and reply.status == "ok":
            raise SourceError(f"the source's test cell '{step.grade_id}' does not earn its points when "
                              f"the grader runs it: {result.message}\nlikely fix: make the cell "
                              "finish without output on stderr (warnings included) and with a result "
                              "no larger than its points")
        if step.kind == "instructor" and (reply is None or reply.status != "ok"):
            why = error or (reply.why if reply else "not run")
            detail = (reply.data.get("traceback") or _message(reply.data)) if reply and reply.data else why
            status = reply.status if reply else result.status if result else "not run"
            fix = (f"the cell needs more than --timeout {opts.timeout:g} s here: raise --timeout"
                   if status in ("timeout", "stuck") else
                   f"the source needs more than --deadline {opts.deadline:g} s here: raise --deadline"
                   if "deadline" in why else _likely_fix(str(detail)))
            raise SourceError(f"the source's cell '{step.grade_id}' does not pass when the grader "
                              f"runs it ({status}):\n{detail}\nlikely fix: {fix}")
    return {gid: decode(reply.data.get("observations")) for gid, reply in replies.items()}


class Backend(Protocol):
    """Where submissions are graded: local threads (:class:`LocalBackend`) or a Dask cluster."""

    slots: int  # submissions that can be graded at once
    retried: int  # tasks started again after the worker running them died

    def reference(self, plan: Plan, name: str, data: bytes, opts: Options) -> Any:
        """Run the source (raises SourceError); return a handle for ``submit``'s ``reference``."""

    def share(self, obj: Any) -> Any:
        """A handle on ``obj`` for ``submit`` (a cluster sends it to its workers once)."""

    def submit(self, number: int, label: str, fn: Callable, *args: Any) -> Future:
        """Run ``fn(*args)`` for submission ``number`` (``label`` names it in logs) somewhere; a
        concurrent.futures Future of its result."""

    def failure(self, number: int, err: BaseException) -> str | None:
        """Why submission ``number``'s task failed, for its report; None: submit it again.
        Raises when grading cannot go on."""

    def close(self) -> None:
        """Let go of the threads or the cluster connection (running work may finish first)."""


class LocalBackend:
    """``jobs`` sandboxes at a time on this machine."""

    retried = 0

    def __init__(self, jobs: int, opts: Options):
        if opts.sandbox and (problem := sandbox_problem()):
            raise SandboxError(problem + "; or pass --no-sandbox to grade without one (unsafe)")
        self.slots = max(1, jobs)
        self.pool = ThreadPoolExecutor(max_workers=self.slots)

    def reference(self, plan: Plan, name: str, data: bytes, opts: Options) -> Reference:
        return reference_bytes(plan, name, data, opts)

    def share(self, obj: Any) -> Any:
        return obj

    def submit(self, number: int, label: str, fn: Callable, *args: Any) -> Future:
        return self.pool.submit(fn, *args)

    def failure(self, number: int, err: BaseException) -> str | None:
        return f"the grader failed on this submission ({type(err).__name__}: {err})"

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


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
    no submission looks like one of its set (:func:`_check_set`), ClusterError when the cluster cannot be used.
    """
    plan = load_source(source)
    journal = Journal(json_path, grading_of(source, opts))
    subs = [p if isinstance(p, Submission) else Submission(Path(p), Path(p).stem) for p in paths]
    _check_set(plan, subs)
    backend = backend or LocalBackend(jobs, opts)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        reference = backend.reference(plan, Path(source).name, Path(source).read_bytes(), opts)
        with tqdm(total=len(subs), desc="grading", unit="nb", disable=not show) as bar:
            return _drive(backend, plan, reference, subs, opts, journal,
                          feedback_dir and Path(feedback_dir), bar, counts if counts is not None else {})
    finally:
        backend.close()


def grading_of(source: str | Path, opts: Options) -> str:
    """The key that grading ``source`` with ``opts`` by this grader gets (:mod:`.journal`)."""
    return grading_key(Path(source).read_bytes(), repr(opts))


def _drive(backend: Backend, plan: Plan, reference: Any, subs: list[Submission], opts: Options,
           journal: Journal, feedback_dir: Path | None, bar: tqdm,
           counts: dict[str, int]) -> list[SubmissionReport]:
    """Grade ``subs`` on ``backend``, at most a few tasks per slot in flight (their bytes in
    memory), reusing the journal's reports; return the reports in order."""
    reports: list[SubmissionReport | None] = [None] * len(subs)
    shared_plan = backend.share(plan)
    counts.update(graded=0, reused=0, errors=0, retried=0, pages=0)
    pending: dict[Future, tuple] = {}
    queue: Iterator[tuple[int, Submission]] = iter(enumerate(subs))
    pages = [feedback_dir / name for name in page_names([s.student for s in subs])] if feedback_dir else []

    def finish(i: int, report: SubmissionReport, page: str | None = None, kind: str = "graded") -> None:
        if pages and (page is not None or kind == "reused"):
            try:
                if page is not None:
                    write_page(pages[i], page)
                counts["pages"] += 1
            except (OSError, ValueError) as err:  # that student's page only
                report.notes = [*report.notes, f"the feedback page could not be written: {err}"]
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
                kept = journal.get(sha256(data))
            except Exception as err:  # noqa: BLE001 - unreadable, or the grader failed on it: its report
                unread = _graded(plan, _report(plan, str(path), {}, _fault(err), [], {}, sub.student), [],
                                 bool(pages))
                finish(i, unread.report, unread.page)
                continue
            if kept and (not pages or pages[i].exists()):
                finish(i, replace(kept, path=str(path), student=sub.student), kind="reused")
                continue
            task = (i, sub.student, grade_bytes, shared_plan, str(path), data, sub.student, opts, reference,
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
            except Exception as err:  # noqa: BLE001 - one submission's failure must not stop the class
                why = backend.failure(i, err)
                if why is None:
                    pending[backend.submit(*task)] = task
                    continue
                graded = Graded(_report(plan, str(subs[i].path), {}, f"not graded: {why}", [], {},
                                        subs[i].student))
                graded.report.sha256 = sha256(task[5])  # its bytes are still a classmate's twin
            finish(i, graded.report, graded.page)
        refill()
    counts["retried"] = backend.retried
    bar.set_postfix(counts)
    note_identical(reports)
    return reports


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


def check_notebook(path: str | Path, opts: Options = Options(sandbox=False)) -> SubmissionReport:
    """Run a student's notebook with the tests it contains, as the grader would run it."""
    path = Path(path)
    try:
        nb, data = read_submission(path)
    except SubmissionError as err:
        return SubmissionReport(str(path), 0.0, 0.0, 0.0, str(err), [])
    return grade_notebook(plan_from(nb, str(path), strict=False), nb, str(path), data, opts,
                          grading=False).report
