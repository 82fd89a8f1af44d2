"""Command line: ``python -m course_lib build-exercises | grade | check`` (also installed as ``course``).

    python -m course_lib build-exercises --source solutions --dest exercises [--check]
                                         [--header H.ipynb] [--footer F.ipynb]
    python -m course_lib grade --source SOURCE.ipynb [--timeout 30] [--deadline 300] [--jobs N]
                               [--memory-mb 4096] [--python PATH] [--no-sandbox]
                               [--json OUT.json] [--csv OUT.csv] SUBMISSION.ipynb ...
    python -m course_lib check NOTEBOOK.ipynb [--timeout 30]

Exit status: ``build-exercises`` 0 when done or in sync, 1 when out of sync (``--check``, each
stale file listed) or a source notebook is malformed. ``grade`` 0 whenever it produced reports,
whatever the students did; 1 when the source notebook is unusable or fails when run, or no
sandbox can be made; 2 for wrong arguments.
``check`` 0 when every visible check passes, 1 otherwise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


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


def _grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .exercises import NotebookFormatError
    from .grading import (Limits, Options, SandboxError, SourceError, format_table, grade_submissions,
                          to_json, write_atomic, write_csv)

    if args.jobs < 1 or args.timeout <= 0 or args.deadline <= 0 or args.memory_mb < 0:
        parser.error("--jobs must be >= 1, --timeout and --deadline > 0, --memory-mb >= 0")
    for out in (args.json, args.csv):
        if out is not None and not Path(out).resolve().parent.is_dir():
            parser.error(f"cannot write {out}: its folder does not exist")
    limits = Limits(memory_mb=args.memory_mb, cpu_seconds=int(args.deadline) + 10)
    opts = Options(timeout=args.timeout, deadline=args.deadline, limits=limits,
                   python=args.python, sandbox=not args.no_sandbox)
    if args.no_sandbox:
        print("warning: grading WITHOUT a sandbox: submissions run with your rights and can read, "
              "change or delete your files; every report says so", file=sys.stderr)
    try:
        reports = grade_submissions(args.source, args.submissions, jobs=args.jobs, opts=opts)
    except (NotebookFormatError, OSError) as err:
        print(f"error: the source notebook {args.source} is unusable:\n{err}", file=sys.stderr)
        return 1
    except SourceError as err:
        print(f"error: nobody was graded: {err}", file=sys.stderr)
        return 1
    except SandboxError as err:
        print(f"error: no sandbox can be made here: {err}", file=sys.stderr)
        return 1
    print(format_table(reports))
    if args.json:
        write_atomic(args.json, to_json(args.source, reports, "none" if args.no_sandbox else "bubblewrap"))
    if args.csv:
        write_csv(args.csv, reports)
    return 0


def _check(args: argparse.Namespace) -> int:
    from .grading import Options, check_notebook, format_check

    report = check_notebook(args.notebook, Options(timeout=args.timeout, sandbox=False))
    print(format_check(report))
    ok = not report.error and all(t.status in ("passed", "manual") for t in report.tests)
    return 0 if ok else 1


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
    g.add_argument("--timeout", type=float, default=30.0, help="seconds per cell (default: 30)")
    g.add_argument("--deadline", type=float, default=300.0,
                   help="seconds per submission, all cells together (default: 300)")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default: 1)")
    g.add_argument("--memory-mb", type=int, default=4096,
                   help="memory per submission in MB, 0 for no limit (default: 4096)")
    g.add_argument("--python", default=sys.executable,
                   help="interpreter that runs the notebooks (default: this one)")
    g.add_argument("--no-sandbox", action="store_true",
                   help="run submissions without the bubblewrap sandbox (unsafe; reports say so)")
    g.add_argument("--json", help="write the JSON report here")
    g.add_argument("--csv", help="write one CSV row per submission here")
    g.add_argument("submissions", nargs="+", help="students' notebooks")
    c = sub.add_parser("check", help="run your notebook's visible checks as the grader would")
    c.add_argument("notebook")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds per cell (default: 30)")
    args = parser.parse_args(argv)
    if args.command == "build-exercises":
        return _build(args)
    if args.command == "grade":
        return _grade(args, g)
    return _check(args)


if __name__ == "__main__":
    sys.exit(main())
