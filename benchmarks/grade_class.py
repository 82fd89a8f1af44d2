"""How long does grading a class take? 100 filled copies of one exercise set, graded with --jobs.

    python benchmarks/grade_class.py [--source solutions/05_numpy_vs_pytorch.ipynb] [-n 100] [--jobs 2]

Each copy is the student version (``build_notebook``) with the source's solution cells pasted
back, as a student who solved everything would submit it. Prints the wall time for the class,
seconds per submission, and the speed-up over grading a few copies one at a time.
"""
from __future__ import annotations

import argparse
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
    parser.add_argument("--source", type=Path, default=ROOT / "tests/fixtures/solutions/fixture_set.ipynb")
    parser.add_argument("-n", type=int, default=100, help="class size (default: 100)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels at a time (default: 2)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    opts = Options(timeout=args.timeout)
    with tempfile.TemporaryDirectory() as tmp:
        nb = filled_copy(args.source)
        paths = [Path(tmp) / f"student_{i:03d}.ipynb" for i in range(args.n)]
        for path in paths:
            nbformat.write(nb, str(path))
        sample = min(4, args.n)
        one = timed(args.source, paths[:sample], 1, opts) / sample
        total = timed(args.source, paths, args.jobs, opts)
    print(f"source: {args.source.name}")
    print(f"{args.n} submissions, --jobs {args.jobs}: {total:.1f} s ({total / args.n:.2f} s each)")
    print(f"one at a time: {one:.2f} s each; speed-up with {args.jobs} jobs: {one * args.n / total:.2f}x")


if __name__ == "__main__":
    main()
