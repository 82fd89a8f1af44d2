"""Command line: ``python -m course_lib build-exercises | grade | gradebook | check | cluster-certs | site``.

Also installed as ``course``.

    python -m course_lib build-exercises --source solutions --dest exercises [--check]
                                         [--header H.ipynb] [--footer F.ipynb]
    python -m course_lib grade --source SOURCE.ipynb [--autotests FILE] [--timeout 30] [--deadline 300] [--jobs N]
                               [--scheduler tls://HOST:8786 --tls CERTS [--insecure-cluster]]
                               [--memory-mb 4096] [--python PATH] [--no-sandbox] [--skip-source-check]
                               [--student-pattern REGEX] [--feedback DIR] [--manual-template CSV]
                               [--json OUT.json] [--csv OUT.csv] SUBMISSION.ipynb|FOLDER ...
    python -m course_lib gradebook GRADES.json ... [--manual manual.csv]
                                   [--roster LMS_EXPORT.csv --roster-key COLUMN] --csv gradebook.csv
    python -m course_lib check NOTEBOOK.ipynb [--timeout 30]
    python -m course_lib cluster-certs CERTS
    python -m course_lib site DEST

Exit status: ``build-exercises`` 0 when done or in sync, 1 when out of sync (``--check``, each
stale file listed) or a source notebook is malformed. ``grade`` 0 whenever it produced reports,
whatever the students did (a test that most of the class fails while the source passes it is
warned about); 1 when the source notebook is unusable or fails when run, no submission looks
like one of its set, no sandbox can be made, or the cluster cannot be used; 2 for wrong
arguments (a submission path that does not exist, an output folder not writable, a student
given twice in nbgrader's layout); 130 when interrupted
(finished results are kept: rerun the same command to grade the rest). ``gradebook`` 0 when written, 1 when a report, the
manual points or the roster are wrong (each problem listed with its line).
``check`` 0 when every visible check passes, 1 otherwise. ``cluster-certs`` 0 when written, 1 when
a certificate file is already there. ``site`` 0 when the site is built, 1 when it cannot be
(DEST is a folder it did not build, a broken link or image, MathJax not installed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def _build(args: argparse.Namespace) -> int:
    from .exercises import Frame, NotebookFormatError, build_dir, check_dir

    frame = Frame(args.header and Path(args.header), args.footer and Path(args.footer))
    try:
        if args.check:
            stale = check_dir(args.source, args.dest, frame)
            for line in stale:
                print(line)
            if stale:
                print(f"{len(stale)} notebook(s) out of sync; run: python -m course_lib "
                      f"build-exercises --source {args.source} --dest {args.dest}", file=sys.stderr)
            return 1 if stale else 0
        written = build_dir(args.source, args.dest, frame)
    except (NotebookFormatError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"built {len(written)} exercise notebook(s) in {args.dest}")
    return 0


def _file_named_like_an_option(argv: list[str]) -> str | None:
    """Why ``argv`` is refused, if a word before ``--`` that reads as an option is an existing
    file: a shell glob (``grade ... *.ipynb``) in a class folder passes students' file names, and
    one named ``--csv=alice.ipynb`` or ``--source=mine.ipynb`` would otherwise steer the run."""
    for word in argv[:argv.index("--") if "--" in argv else len(argv)]:
        if word.startswith("-") and len(word) > 1 and os.path.lexists(word):
            from .grading.report import shown

            return (f"{shown(word)} is a file, not an option (a student's file named like an option?); "
                    "put -- before the submissions, or write the glob as ./*.ipynb")
    return None


def _unwritable(out: Path, folder: bool = False) -> str | None:
    """Why file ``out`` (or, with ``folder``, files in folder ``out``, made if missing) cannot be
    written, if it cannot: checked before grading, so that no grading run is lost."""
    if not folder and out.is_dir():
        return f"{out} is a folder, not a file"
    place = out.resolve() if folder else out.resolve().parent
    while folder and not place.exists() and place != place.parent:
        place = place.parent  # the folder is made inside its nearest existing one
    if not place.is_dir():
        return f"{place} is not a folder" if place.exists() else "its folder does not exist"
    if not os.access(place, os.W_OK):
        return f"the folder {place} is not writable"
    return None


def _grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .exercises import NotebookFormatError
    from .grading import (ClusterError, Limits, Options, SandboxError, SourceError, format_table,
                          grade_submissions, to_json, write_atomic, write_csv)
    from .grading.feedback import NO_PAGE
    from .grading.gradebook import manual_template
    from .grading.journal import discard_journal
    from .grading.classwide import suspect_tests
    from .grading.runner import grading_of
    from .grading.report import shown
    from .grading.students import expand

    if args.jobs < 1 or args.timeout <= 0 or args.deadline <= 0 or args.memory_mb < 0:
        parser.error("--jobs must be >= 1, --timeout and --deadline > 0, --memory-mb >= 0")
    if (args.tls or args.insecure_cluster) and not args.scheduler:
        parser.error("--tls and --insecure-cluster go with --scheduler")
    if args.scheduler:
        from .grading.certs import address_problem

        if problem := address_problem(args.scheduler, args.tls, args.insecure_cluster):
            parser.error(problem)
        if args.scheduler.startswith("tcp://") and args.insecure_cluster:
            print("warning: grading on a cluster WITHOUT TLS (--insecure-cluster): anyone who can reach "
                  "its ports can run code on the workers and change the scores", file=sys.stderr)
    outputs = {"--json": args.json, "--csv": args.csv, "--manual-template": args.manual_template,
               "--feedback": args.feedback}
    for option, out in outputs.items():
        if out is not None and (problem := _unwritable(Path(out), folder=option == "--feedback")):
            parser.error(f"cannot write {option} {out}: {problem}")  # nor, for --json, its journal
    limits = Limits(memory_mb=args.memory_mb, cpu_seconds=int(args.deadline) + 10)
    opts = Options(timeout=args.timeout, deadline=args.deadline, limits=limits,
                   python=args.python, sandbox=not args.no_sandbox, skip_source_check=args.skip_source_check,
                   autotests=args.autotests)
    skipped: list[Path] = []
    try:
        submissions = expand(args.submissions, Path(args.source).name, args.student_pattern, skipped)
    except ValueError as err:
        parser.error(str(err))
    if skipped:
        print(f"skipped {len(skipped)} notebook(s) not named {Path(args.source).name}, as the source: "
              + ", ".join(shown(str(path)) for path in skipped[:20]) + (" ..." if len(skipped) > 20 else ""),
              file=sys.stderr)
    if not submissions:
        parser.error("no notebooks found in " + " ".join(args.submissions))
    if args.no_sandbox:
        print("warning: grading WITHOUT a sandbox: submissions run with your rights and can read, "
              "change or delete your files; every report says so", file=sys.stderr)
    counts: dict[str, int] = {}
    backend = None
    try:
        backend = _cluster(args.scheduler, args.tls, opts) if args.scheduler else None
        reports = grade_submissions(args.source, submissions, jobs=args.jobs, opts=opts,
                                    feedback_dir=args.feedback, json_path=args.json,
                                    backend=backend, counts=counts)
    except KeyboardInterrupt:
        kept = f"; the {counts.get('graded', 0)} finished are kept in {args.json}.journal" if args.json else ""
        print(f"\ninterrupted{kept}: rerun the same command to grade the rest", file=sys.stderr)
        return 130
    except (NotebookFormatError, OSError) as err:
        print(f"error: the source notebook {args.source} is unusable:\n{err}", file=sys.stderr)
        return 1
    except SourceError as err:
        print(f"error: nobody was graded: {err}", file=sys.stderr)
        return 1
    except SandboxError as err:
        print(f"error: no sandbox can be made here: {err}", file=sys.stderr)
        return 1
    except ClusterError as err:
        print(f"error: cannot grade on the cluster: {err}", file=sys.stderr)
        return 1
    finally:
        if backend:
            backend.close()
    print(format_table(reports))
    if args.skip_source_check and reports:  # then the source is no answer key to suspect
        print(f"warning: {reports[0].notes[0]}", file=sys.stderr)  # the note every report starts with
    for warning in [] if args.skip_source_check else suspect_tests(reports):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"graded {counts['graded']}, reused {counts['reused']} finished earlier, retried "
          f"{counts['retried']}, with errors {counts['errors']}", file=sys.stderr)
    doc = to_json(args.source, reports, "none" if args.no_sandbox else "bubblewrap", grading_of(args.source, opts))
    if args.json:
        write_atomic(args.json, doc)
        discard_journal(args.json)
    if args.csv:
        write_csv(args.csv, reports)
    if args.manual_template:
        write_atomic(args.manual_template, manual_template(json.loads(doc)))
    if args.feedback:
        print(f"feedback: {counts['pages']} page(s) in {args.feedback}")
        if missing := [note for r in reports for note in r.notes if note.startswith(NO_PAGE)]:
            print(f"warning: {len(missing)} student(s) got no feedback page (their reports say "
                  f"why); the first: {shown(missing[0][:500])}", file=sys.stderr)
    return 0


def _cluster(address: str, tls: str | None, opts: Any) -> Any:
    """The Dask backend connected to ``address`` (with the client certificate in ``tls``)."""
    from .grading import ClusterError

    try:  # Dask is imported only when a cluster is asked for
        from .grading.certs import client_security
        from .grading.cluster import DaskBackend
    except ImportError as err:
        raise ClusterError(f"--scheduler needs Dask ({err}): python -m pip install -e '.[cluster]'") from None
    return DaskBackend(address, opts, client_security(tls) if tls else None)


def _certs(args: argparse.Namespace) -> int:
    from .grading.certs import make_certificates

    try:
        make_certificates(args.folder)
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"cluster certificates in {args.folder}: ca.pem, node.pem and node.key for the scheduler and "
          "every worker; ca.pem, client.pem and client.key for grade --tls (keep the .key files secret)")
    return 0


def _gradebook(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .grading import write_atomic
    from .grading.gradebook import ManualError, apply_manual, gradebook_csv, load_reports, read_manual

    if (args.roster is None) != (args.roster_key is None):
        parser.error("--roster and --roster-key go together")
    try:
        docs = load_reports(args.reports)
        if args.manual:
            apply_manual(docs, read_manual(args.manual), args.manual)
        text, students = gradebook_csv(docs, args.roster and Path(args.roster), args.roster_key)
    except ManualError as err:
        print(f"error: the hand-graded points were not merged:\n{err}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    write_atomic(args.csv, text)
    print(f"gradebook: {students} student(s) in {args.csv}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .grading import Options, check_notebook, format_check

    report = check_notebook(args.notebook, Options(timeout=args.timeout, sandbox=False))
    print(format_check(report))
    ok = not report.error and all(t.status in ("passed", "manual") for t in report.tests)
    return 0 if ok else 1


def _site(args: argparse.Namespace) -> int:
    from .site import SiteError, build_site

    try:
        pages = build_site(args.dest)
    except SiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"site with {len(pages)} pages in {args.dest}; open it with: python -m http.server -d {args.dest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m course_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build-exercises", help="write student copies of nbgrader source notebooks")
    b.add_argument("--source", default="solutions", help="folder of source notebooks (default: solutions)")
    b.add_argument("--dest", default="exercises", help="folder for student copies (default: exercises)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 listing files out of sync")
    b.add_argument("--header", help="notebook whose cells go at the top of every student copy")
    b.add_argument("--footer", help="notebook whose cells go at the end of every student copy")
    g = sub.add_parser("grade", help="grade submissions against the instructor's source notebook")
    g.add_argument("--source", required=True, help="instructor's notebook, with solutions and hidden tests")
    g.add_argument("--autotests", metavar="FILE", help="nbgrader's autotests.yml for the source's ### AUTOTEST "
                   "lines (default: the one beside the source, else in the current folder)")
    g.add_argument("--timeout", type=float, default=30.0, help="seconds per cell (default: 30)")
    g.add_argument("--deadline", type=float, default=300.0,
                   help="seconds per submission, all cells together (default: 300)")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default: 1)")
    g.add_argument("--scheduler", help="grade on the Dask cluster with this scheduler address, "
                   "e.g. tls://HOST:8786 (pip install -e .[cluster]); --jobs is then ignored")
    g.add_argument("--tls", metavar="CERTS", help="folder made by cluster-certs: connect to the "
                   "tls:// scheduler with its client certificate")
    g.add_argument("--insecure-cluster", action="store_true", help="allow a plain tcp:// scheduler "
                   "on another machine (unsafe: anyone who can reach it owns the grading)")
    g.add_argument("--memory-mb", type=int, default=4096,
                   help="memory per submission in MB, 0 for no limit (default: 4096)")
    g.add_argument("--python", help="interpreter that runs the notebooks (default: the one running "
                   "the grader; on a cluster, each worker's)")
    g.add_argument("--no-sandbox", action="store_true",
                   help="run submissions without the bubblewrap sandbox (unsafe; reports say so)")
    g.add_argument("--skip-source-check", action="store_true",
                   help="grade against a source that does not earn full marks or holds stubs (as "
                   "nbgrader's own test sources do); every report says what of it fails")
    g.add_argument("--student-pattern", help="regex with a group named 'student' that names the "
                   "student in each path (default: nbgrader's student folder, else the file's stem)")
    g.add_argument("--feedback", help="write one HTML feedback page per student into this folder")
    g.add_argument("--manual-template", help="write the CSV of hand-graded cells to fill in here")
    g.add_argument("--json", help="write the JSON report here; finished results are kept in "
                   "JSON.journal as they arrive, and a rerun with the same --json regrades only "
                   "what changed or was not finished")
    g.add_argument("--csv", help="write one CSV row per submission here")
    g.add_argument("submissions", nargs="+", help="students' notebooks, or folders of them")
    k = sub.add_parser("gradebook", help="merge several sets' reports (and hand-graded points) into one CSV")
    k.add_argument("reports", nargs="+", help="JSON reports written by grade --json")
    k.add_argument("--manual", help="manual.csv with the hand-graded points filled in")
    k.add_argument("--roster", help="the LMS's gradebook export: the output keeps its rows and columns")
    k.add_argument("--roster-key", help="the roster's column holding the student names used here")
    k.add_argument("--csv", required=True, help="write the gradebook here")
    c = sub.add_parser("check", help="run your notebook's visible checks as the grader would")
    c.add_argument("notebook")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds per cell (default: 30)")
    t = sub.add_parser("cluster-certs", help="make the mutual-TLS certificates of a grading cluster")
    t.add_argument("folder", help="where to write ca.pem, node.pem/.key and client.pem/.key")
    s = sub.add_parser("site", help="build the course as a static website from the stored notebooks "
                       "(pip install -e .[site])")
    s.add_argument("dest", help="folder for the site: new, empty, or a site built before")
    argv = sys.argv[1:] if argv is None else list(argv)
    if problem := _file_named_like_an_option(argv):
        parser.error(problem)
    args = parser.parse_args(argv)
    if args.command == "build-exercises":
        return _build(args)
    if args.command == "grade":
        return _grade(args, g)
    if args.command == "gradebook":
        return _gradebook(args, k)
    if args.command == "cluster-certs":
        return _certs(args)
    if args.command == "site":
        return _site(args)
    return _check(args)


if __name__ == "__main__":
    sys.exit(main())
