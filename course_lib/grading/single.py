"""Grade one notebook: run its cells in a sandbox, judge each test cell here, make its report.

:func:`reference_bytes` runs the instructor's source (sandboxed like any submission) as the
reference: it must finish every locked and test cell without an error, or nobody is graded
(:class:`SourceError`, with the failing cell, its traceback and the likely fix), unless
``Options.skip_source_check``, when what fails becomes a note on every report. The values its
checks received become the reference for :mod:`.verdict`.

:func:`grade_bytes` grades one submission's bytes and returns its report (and feedback page) as
data; whatever goes wrong with that submission becomes its report. It is all a local thread or
a cluster worker runs (:mod:`.runner`, :mod:`.cluster`).
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..checks import NOT_SOLVED
from ..exercises import nbgrader_meta
from .assemble import LEFT_AS_IS, Plan, Step, assemble, plan_from
from .feedback import NO_PAGE, PAGE_HEAD, feedback_page
from .journal import sha256
from .report import SubmissionReport, TestResult
from .sandbox import Limits, Reply, Sandbox, SandboxError
from .submission import SubmissionError, parse_submission, read_submission
from .verdict import Observation, compare, decided_by_values, decode, warning_note

MESSAGE_CHARS = 4_000


class SourceError(RuntimeError):
    """The instructor's source does not run cleanly in the grading environment."""



@dataclass(frozen=True)
class Options:
    """How to grade: per-cell ``timeout`` and per-submission ``deadline`` (s), limits, isolation.

    ``python`` is the interpreter that runs the notebooks; None: the one running the grader
    (on a cluster, each worker's own). ``skip_source_check`` grades against a source that does
    not earn full marks or holds stubs (nbgrader's own test sources do): what fails in it is noted
    on every report instead of stopping the run. ``autotests``: the autotests.yml that expands the
    source's ### AUTOTEST lines (None: the one beside the source, else in the current folder)."""

    timeout: float = 30.0
    deadline: float = 300.0
    limits: Limits = Limits()
    python: str | None = None
    sandbox: bool = True
    interrupt_grace: float = 5.0
    skip_source_check: bool = False
    autotests: str | None = None


@dataclass
class Graded:
    """One submission's report and, when asked for, its feedback page (HTML)."""

    report: SubmissionReport
    page: str | None = None


Reference = dict[str, list[Observation]]


def _message(data: dict) -> str:
    """A cell's error in one line; a stub's bare NotImplementedError reads "not solved yet"."""
    ename, evalue = str(data.get("ename", "Error")), str(data.get("evalue", "")).strip()
    if ename == "NotImplementedError" and not evalue:
        frames = re.findall(r", in (\S+)\n", str(data.get("traceback", "")))
        where = f"{frames[-1]}: " if frames and frames[-1] != "<module>" else ""
        return f"{where}{NOT_SOLVED}"  # as checks.call says it
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
        if reply.status in ("timeout", "stuck") and opts.timeout > left:  # the deadline's rest ran out
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



def coverage_problem(plan: Plan, nb: NotebookNode) -> str | None:
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



def grade_notebook(plan: Plan, nb: NotebookNode, name: str, data: bytes, opts: Options = Options(),
                   reference: Reference | None = None, grading: bool = True,
                   student: str = "", feedback: bool = False) -> Graded:
    """Grade notebook ``nb`` (file ``name`` with bytes ``data``, copied into its sandbox)."""
    if grading and (problem := coverage_problem(plan, nb)):
        return refused(plan, name, problem, student, feedback)
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
        report.notes = [*report.notes, f"{NO_PAGE}it could not be made ({type(err).__name__}: {err})"]
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


def misfit(plan: Plan, graded: Graded, path: str, student: str) -> str | None:
    """Why ``graded``, which came back for submission ``path`` of ``student`` (from a cluster
    worker: data, not trusted), is not a result of grading it against ``plan``, if it is not."""
    report = graded.report
    tests = {t.grade_id: t for t in report.tests}
    if (report.path, report.student) != (path, student):
        return f"it is for {report.student!r} ({report.path!r})"
    if [t.grade_id for t in report.tests] != [g.grade_id for g in plan.graded]:
        return "its test cells are not the source's"
    if any(t.points is not None and not 0 <= t.points <= t.max_points for t in report.tests) or any(
            tests[g.grade_id].max_points != g.max_points for g in plan.graded):
        return "a test's points are outside its range"
    auto = sum(tests[g.grade_id].points or 0.0 for g in plan.graded if g.kind == "auto")
    if (report.max_score, report.score) != (plan.max_score, auto):
        return "its score is not the sum of its tests' points"
    if graded.page is not None and not graded.page.startswith(PAGE_HEAD):
        return "its feedback page does not start with the course's page head (its security policy)"
    return None


def refused(plan: Plan, path: str, error: str, student: str = "", feedback: bool = False) -> Graded:
    """The report (and, with ``feedback``, page) of a submission that was not run: score 0 and
    ``error`` saying why; its hand-graded cells are left for the instructor."""
    return _graded(plan, _report(plan, path, {}, error, [], {}, student), [], feedback)


def fault(err: Exception) -> str:
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
        graded = refused(plan, name, fault(err), student, feedback)
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


def reference_bytes(plan: Plan, name: str, data: bytes,
                    opts: Options = Options()) -> tuple[Reference, list[str]]:
    """Run the instructor's source (file ``name``, bytes ``data``) as a submission; return its
    checks' values per test cell, and the notes every report gets (empty unless
    ``opts.skip_source_check``).

    Raises SourceError when a locked or test cell fails (or times out): nobody can be graded
    fairly against it. With ``opts.skip_source_check`` each such cell becomes a note instead, and
    its test is decided by nbgrader's rule alone (no reference values).
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
    failed: dict[str, tuple[str, str]] = {}  # grade_id: (in short, in full as SourceError says it)
    for step in steps:
        reply = replies.get(step.grade_id) if step.kind == "instructor" else None
        result = results.get(step.grade_id)
        if result is not None and result.status != "passed" and reply and reply.status == "ok":
            failed[step.grade_id] = result.message[:120], (
                f"the source's test cell '{step.grade_id}' does not earn its points when the grader runs "
                f"it: {result.message}\nlikely fix: make the cell finish without output on stderr "
                "(warnings included) and with a result no larger than its points")
        elif step.kind == "instructor" and (reply is None or reply.status != "ok"):
            why = error or (reply.why if reply else "not run")
            detail = (reply.data.get("traceback") or _message(reply.data)) if reply and reply.data else why
            status = reply.status if reply else result.status if result else "not run"
            fix = (f"the source needs more than --deadline {opts.deadline:g} s here: raise --deadline"
                   if "deadline" in why else
                   f"the cell needs more than --timeout {opts.timeout:g} s here: raise --timeout"
                   if status in ("timeout", "stuck") else _likely_fix(str(detail)))
            short = result.message[:120] if result else status
            failed[step.grade_id] = short, (f"the source's cell '{step.grade_id}' does not pass when "
                                             f"the grader runs it ({status}):\n{detail}\nlikely fix: {fix}")
    if failed and not opts.skip_source_check:
        raise SourceError(next(iter(failed.values()))[1])  # the first cell that fails
    values = {gid: decode(reply.data.get("observations")) for gid, reply in replies.items() if gid not in failed}
    if not opts.skip_source_check:
        return values, []
    notes = [*plan.warnings, *(f"the source's cell '{gid}' does not pass ({short})" for gid, (short, _) in failed.items())]
    if failed:
        notes.append("the tests of those cells are decided by nbgrader's rule alone, without the source's values")
    return values, ["graded with --skip-source-check: the source was not required to earn full marks"
                    + (": " + "; ".join(notes) if notes else "")]


def check_notebook(path: str | Path, opts: Options = Options(sandbox=False)) -> SubmissionReport:
    """Run a student's notebook with the tests it contains, as the grader would run it."""
    path = Path(path)
    try:
        nb, data = read_submission(path)
    except SubmissionError as err:
        return SubmissionReport(str(path), 0.0, 0.0, 0.0, str(err), [])
    return grade_notebook(plan_from(nb, str(path), strict=False), nb, str(path), data, opts,
                          grading=False).report
