"""How long does grading a class take: locally, without the sandbox, and on a Dask cluster?

    python benchmarks/grade_class.py [--source solutions/01_softmax_cross_entropy.ipynb] [-n 20]

Each copy is the student version (``build_notebook``) with the source's solution cells pasted
back, as a student who solved everything would submit it. In one run it grades the class

* locally with 1 and 2 jobs (``--jobs``), in the bubblewrap sandbox;
* locally with 2 jobs without the sandbox (``--no-sandbox``: the same worker, no namespaces);
* through ``--scheduler`` on a cluster of 1 and of 2 ``dask worker`` processes (one thread each)
  started on this machine (:func:`course_lib.grading.cluster.local_cluster`).

Every way is warmed up with one submission, then timed on half the class and on the whole class:
seconds per submission = the difference / (n - n/2), so the fixed costs (the reference run, and
for a cluster the connection and checks) cancel out; they are reported apart. It prints the
ratios, the cluster's overhead per submission, and from the 1-worker cluster figure an estimate
for 10,000 submissions on N workers of one core each (assuming, as the 1 → 2 speed-up measured
here suggests, that workers scale linearly). Results go to ``benchmarks/results/grade_class.json``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402
from course_lib.exercises import build_notebook, cell_role, read_notebook  # noqa: E402
from course_lib.grading import Options, grade_submissions  # noqa: E402
from course_lib.grading.cluster import DaskBackend, local_cluster  # noqa: E402


def filled_copy(source: Path) -> nbformat.NotebookNode:
    """The exercise copy of ``source`` with every solution cell answered as in the source."""
    src = read_notebook(source)
    student = build_notebook(src, str(source))
    for mine, theirs in zip(student.cells, src.cells):
        if cell_role(theirs) in ("answer", "manual"):
            mine.source = theirs.source
    return student


def timed(source: Path, paths: list[Path], scheduler: str | None = None, **kwargs) -> float:
    """Seconds to grade ``paths`` (every one must score full marks), on the cluster at ``scheduler``
    when given (connecting counts)."""
    start = time.perf_counter()
    if scheduler:
        kwargs["backend"] = DaskBackend(scheduler, kwargs["opts"])
    reports = grade_submissions(source, paths, progress=False, **kwargs)
    elapsed = time.perf_counter() - start
    bad = [r.path for r in reports if r.score != r.max_score or r.error]
    if bad:
        raise SystemExit(f"{len(bad)} copies did not score full marks, e.g. {bad[0]}")
    return elapsed


def measure(source: Path, paths: list[Path], **kwargs) -> dict[str, float]:
    """Seconds per submission, and the fixed seconds of a run beyond those."""
    timed(source, paths[:1], **kwargs)  # warm-up: imports, caches, a cluster's first tasks
    half = timed(source, paths[:len(paths) // 2], **kwargs)
    total = timed(source, paths, **kwargs)
    per = (total - half) / (len(paths) - len(paths) // 2)
    return {"total_seconds": total, "seconds_per_submission": per, "fixed_seconds": total - per * len(paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "solutions/01_softmax_cross_entropy.ipynb")
    parser.add_argument("-n", type=int, default=20, help="class size (default: 20)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    results: dict = {"source": args.source.name, "n": args.n, "date": time.strftime("%Y-%m-%d %H:%M"),
                     "machine": machine(), "load_average_before": os.getloadavg()[0]}
    opts = Options(timeout=args.timeout)
    with tempfile.TemporaryDirectory() as tmp:
        nb = filled_copy(args.source)
        paths = [Path(tmp) / f"student_{i:03d}.ipynb" for i in range(args.n)]
        for i, path in enumerate(paths):
            nb.metadata["student"] = i  # distinct bytes: identical files would be graded once
            nbformat.write(nb, str(path))
        ways = {"local, 1 job": {"jobs": 1, "opts": opts},
                "local, 2 jobs": {"jobs": 2, "opts": opts},
                "local, 2 jobs, no sandbox": {"jobs": 2, "opts": Options(timeout=args.timeout, sandbox=False)}}
        for name, kwargs in ways.items():
            results[name] = measure(args.source, paths, **kwargs)
            print(f"{name:28}: {results[name]['seconds_per_submission']:.2f} s per submission "
                  f"(+ {results[name]['fixed_seconds']:.1f} s fixed)", flush=True)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        for workers in (1, 2):
            name = f"cluster, {workers} worker{'s' * (workers > 1)}"
            with contextlib.ExitStack() as stack:
                cluster = stack.enter_context(local_cluster(workers, env=env))
                results[name] = measure(args.source, paths, opts=opts, scheduler=cluster.address)
            print(f"{name:28}: {results[name]['seconds_per_submission']:.2f} s per submission "
                  f"(+ {results[name]['fixed_seconds']:.1f} s fixed)", flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    per = {k: v["seconds_per_submission"] for k, v in results.items() if isinstance(v, dict)}
    results["ratios"] = {
        "local 2 jobs / 1 job": per["local, 2 jobs"] / per["local, 1 job"],
        "sandbox / no sandbox (2 jobs)": per["local, 2 jobs"] / per["local, 2 jobs, no sandbox"],
        "cluster 1 worker / local 1 job": per["cluster, 1 worker"] / per["local, 1 job"],
        "cluster 2 workers / local 2 jobs": per["cluster, 2 workers"] / per["local, 2 jobs"],
        "cluster 2 workers / 1 worker": per["cluster, 2 workers"] / per["cluster, 1 worker"],
    }
    results["cluster_overhead_seconds_per_submission"] = per["cluster, 1 worker"] - per["local, 1 job"]
    one = per["cluster, 1 worker"]
    results["estimate_10000_minutes"] = {str(n): 10_000 * one / n / 60 for n in (10, 50, 100, 500)}
    for name, ratio in results["ratios"].items():
        print(f"{name:34}: {ratio:.2f}")
    print(f"cluster overhead per submission: {results['cluster_overhead_seconds_per_submission']:+.2f} s")
    print("10,000 submissions at the 1-worker rate: " + ", ".join(
        f"{n} workers {m:.0f} min" for n, m in results["estimate_10000_minutes"].items()))
    print(f"load average {results['load_average_before']:.1f} -> {results['load_average_after']:.1f}")
    out = ROOT / "benchmarks/results/grade_class.json"
    write_json(out, results)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
