"""benchmarks/suite.py: CI's command on a fresh clone, timed and recorded. Run here on a tiny
repository of its own, so the real suite is not run inside itself."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.suite import pytest_outcome

ROOT = Path(__file__).resolve().parents[1]

TINY_TESTS = '''
import pathlib
import pytest

def test_sees_the_shared_folder_beside_the_clone():
    assert (pathlib.Path("..") / "shared" / "marker").read_text() == "data"

def test_fails():
    assert 1 == 2, "a failure the log must show"

@pytest.mark.xfail(strict=True)
def test_known_failure():
    assert False
'''


def tiny_repo(path: Path) -> str:
    """A git repository whose .ci/run runs three tests; returns its commit."""
    (path / ".ci").mkdir(parents=True)
    (path / ".ci" / "run").write_text("set -e\npython -m pytest -p no:cacheprovider test_tiny.py\n")
    (path / "test_tiny.py").write_text(TINY_TESTS)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "tiny"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("log, expected", [
    ("== 2016 passed, 1 xfailed in 735.12s (0:12:15) ==",
     {"counts": {"passed": 2016, "xfailed": 1}, "pytest_s": 735.12}),
    ("x\n===== 1 failed, 3 passed, 2 warnings in 3.50s =====\ntail",
     {"counts": {"failed": 1, "passed": 3, "warnings": 2}, "pytest_s": 3.5}),
    ("== 1 passed in 1.00s ==\n...\n== 4 passed in 2.00s ==",  # the last one counts
     {"counts": {"passed": 4}, "pytest_s": 2.0}),
    ("ERROR: could not install\n", None),
])
def test_pytest_outcome_reads_the_closing_line(log, expected):
    assert pytest_outcome(log) == expected


def test_a_run_records_its_commit_and_counts_and_exits_with_ci_status(tmp_path):
    commit = tiny_repo(tmp_path / "repo")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "marker").write_text("data")
    results = tmp_path / "suite.json"
    results.write_text(json.dumps({"runs": [{"commit": "earlier"}]}))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite.py"),
                           "--repo", str(tmp_path / "repo"), "--shared", str(tmp_path / "shared"),
                           "--results", str(results)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a failure the log must show" in done.stdout  # the log's tail, printed on failure
    record = json.loads(results.read_text())
    assert [r["commit"] for r in record["runs"]] == ["earlier", commit]  # added, nothing lost
    last = record["runs"][-1]
    assert last["counts"] == {"failed": 1, "passed": 1, "xfailed": 1}
    assert last["status"] == 1 and last["total_s"] >= last["pytest_s"] > 0
    assert last["machine"]["cpu"] and record["run"]["cpu_s"] > 0
