"""What CI does, timed: the README's test command (``.ci/run``) on a fresh clone of this commit.

    python benchmarks/suite.py [--shared ../shared] [--keep]

Clones the repository's current commit (``HEAD``: uncommitted changes are not part of it, and the
script says so) into a temporary folder, puts a link to the shared folder beside the clone as CI
does, runs ``bash .ci/run`` there, in a virtual environment that sees this Python's packages (so
.ci/run's editable install leaves this one's alone), and reads pytest's closing line. Each run is
added to ``benchmarks/results/suite.json``: the commit, pytest's counts (passed, failed, xfailed,
...), pytest's own seconds, the whole command's seconds (the pip step included), the load average
before and after, date and machine. Its output goes to ``suite.log`` beside the clone, whose last
lines are printed when the run fails; ``--keep`` keeps the clone and the log. Exits with
``.ci/run``'s status.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "suite.json"
# pytest's closing line: "==== 2016 passed, 1 xfailed, 3 warnings in 735.12s (0:12:15) ====".
CLOSING = re.compile(r"^=+ (?P<counts>(?:\d+ \w+(?:, )?)+) in (?P<seconds>[\d.]+)s\b.*=+$", re.M)


def pytest_outcome(log: str) -> dict | None:
    """pytest's counts and seconds from the last closing line of ``log``, or None without one:
    ``{"counts": {"passed": 2016, "xfailed": 1}, "pytest_s": 735.12}``."""
    found = list(CLOSING.finditer(log))
    if not found:
        return None
    last = found[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last["counts"])}
    return {"counts": counts, "pytest_s": float(last["seconds"])}


def run_suite(repo: Path, shared: Path, workdir: Path) -> dict:
    """Clone ``repo``'s HEAD into ``workdir/main``, link ``shared`` beside it, run ``.ci/run``
    there (output to ``workdir/suite.log``) and return the record of the run."""
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    clone, venv = workdir / "main", workdir / "venv"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (workdir / "shared").symlink_to(shared.resolve())
    # .ci/run's `pip install -e .` goes into a virtual environment of its own, which sees this
    # Python's packages: this environment's own install of the course is left as it was.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(venv),
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    load_before, start = os.getloadavg()[0], time.monotonic()
    with open(workdir / "suite.log", "w") as log:
        status = subprocess.run(["bash", ".ci/run"], cwd=clone, env=env, stdout=log,
                                stderr=subprocess.STDOUT).returncode
    seconds, text = time.monotonic() - start, (workdir / "suite.log").read_text()
    return {"commit": commit, "status": status, **(pytest_outcome(text) or {"counts": None}),
            "total_s": round(seconds, 1),
            "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "date": time.strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the clone and its log")
    args = parser.parse_args()
    if not args.shared.is_dir():
        sys.exit(f"no shared folder at {args.shared} (the data sets): pass --shared PATH")
    if subprocess.run(["git", "-C", str(args.repo), "status", "--porcelain"],
                      capture_output=True, text=True).stdout.strip():
        print("note: uncommitted changes are not tested: the clone is of HEAD", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="suite-"))
    print(f"running .ci/run in a fresh clone: {workdir / 'main'} (log: {workdir / 'suite.log'})",
          flush=True)
    record = run_suite(args.repo, args.shared, workdir)
    old = json.loads(args.results.read_text()) if args.results.exists() else {"runs": []}
    runs = old["runs"] + [{**record, "machine": machine()}]
    write_json(args.results, {"script": "benchmarks/suite.py", "runs": runs})
    counts = ", ".join(f"{n} {word}" for word, n in (record["counts"] or {}).items())
    print(f"{record['commit'][:7]}: {counts or 'no pytest summary'}; pytest "
          f"{record.get('pytest_s', '?')} s, the whole command {record['total_s']} s; "
          f"{args.results}")
    if record["status"]:
        print("".join((workdir / "suite.log").read_text().splitlines(True)[-40:]))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(record["status"])


if __name__ == "__main__":
    main()
