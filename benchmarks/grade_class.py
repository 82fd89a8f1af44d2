"""How long does grading a class take, and what does the sandbox cost? Filled copies of one set.

    python benchmarks/grade_class.py [--source solutions/01_softmax_cross_entropy.ipynb] [-n 40] [--jobs 2]

Each copy is the student version (``build_notebook``) with the source's solution cells pasted
back, as a student who solved everything would submit it. In one run it grades the class with
the bubblewrap sandbox and without it (``--no-sandbox``: the same worker, no namespaces), and
prints seconds per submission for each, their ratio, and the speed-up of ``--jobs`` over one at
a time. The numbers also go to ``benchmarks/results/grade_class.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.exercises import build_notebook, cell_role, read_notebook
from course_lib.grading import Options, grade_submissions

ROOT = Path(__file__).resolve().parents[1]


def filled_copy(source: Path) -> nbformat.NotebookNode:
    """The exercise copy of ``source`` with every solution cell answered as in the source."""
    src = read_notebook(source)
    student = build_notebook(src, str(source))
    for mine, theirs in zip(student.cells, src.cells):
        if cell_role(theirs) in ("answer", "manual"):
            mine.source = theirs.source
    return student


def timed(source: Path, paths: list[Path], jobs: int, opts: Options) -> float:
    start = time.perf_counter()
    reports = grade_submissions(source, paths, jobs=jobs, opts=opts, progress=False)
    elapsed = time.perf_counter() - start
    bad = [r.path for r in reports if r.score != r.max_score or r.error]
    if bad:
        raise SystemExit(f"{len(bad)} copies did not score full marks, e.g. {bad[0]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "solutions/01_softmax_cross_entropy.ipynb")
    parser.add_argument("-n", type=int, default=40, help="class size (default: 40)")
    parser.add_argument("--jobs", type=int, default=2, help="sandboxes at a time (default: 2)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    results = {"source": args.source.name, "n": args.n, "jobs": args.jobs,
               "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        nb = filled_copy(args.source)
        paths = [Path(tmp) / f"student_{i:03d}.ipynb" for i in range(args.n)]
        for path in paths:
            nbformat.write(nb, str(path))
        for name, sandbox in (("sandbox", True), ("no_sandbox", False)):
            opts = Options(timeout=args.timeout, sandbox=sandbox)
            sample = min(4, args.n)
            one = timed(args.source, paths[:sample], 1, opts) / sample
            total = timed(args.source, paths, args.jobs, opts)
            results[name] = {"seconds_per_submission": total / args.n, "one_at_a_time": one}
            print(f"{name:10}: {args.n} submissions, --jobs {args.jobs}: {total:.1f} s "
                  f"({total / args.n:.2f} s each; one at a time {one:.2f} s, "
                  f"speed-up {one * args.n / total:.2f}x)")
    ratio = results["sandbox"]["seconds_per_submission"] / results["no_sandbox"]["seconds_per_submission"]
    results["sandbox_over_no_sandbox"] = ratio
    print(f"source: {args.source.name}; load average at start {results['load_average']:.2f}")
    print(f"sandboxed / unsandboxed time per submission: {ratio:.2f}")
    out = ROOT / "benchmarks/results/grade_class.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
