"""benchmarks/costs.py and the run stamp of benchmarks/common.py: every benchmark command has a
row in costs.json, the README shows that table as it is, and costs.json is what the results
files give now, so it cannot go stale unnoticed. Nothing here runs a benchmark."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from benchmarks import costs
from benchmarks.common import run_stamp, write_json

ROOT = Path(__file__).resolve().parents[1]
# Rows of costs.json that follow imdb_search.json, which a background search keeps adding to.
MOVING = ("seconds", "date", "runs_recorded", "runs_left")


def committed() -> dict:
    """costs.json without its own run stamp."""
    table = json.loads(costs.OUT.read_text())
    table.pop("run")
    return table


def test_every_benchmark_that_writes_results_has_a_row():
    writers = {p.stem for p in (ROOT / "benchmarks").glob("*.py")
               if "write_json(" in p.read_text() and p.stem not in ("common", "costs")}
    rows = {re.search(r"benchmarks/(\w+)\.py", r["command"])[1] for r in committed()["commands"]}
    assert writers and writers <= rows, f"no row in costs.json for {sorted(writers - rows)}"


def test_the_readme_shows_costs_json_as_costs_py_prints_it():
    assert (ROOT / "README.md").read_text().count(costs.markdown(committed()) + "\n") == 1, \
        "rerun python benchmarks/costs.py and paste its table into the README"


def test_costs_json_is_what_the_results_files_give_now():
    """imdb_search.json grows while its search runs (its copy in git and the one costs.json read
    may be a run apart, whichever was taken first): where the two count different runs, its row
    must only agree on what it is, not on what has been spent or is left."""
    now, then = costs.costs()["commands"], committed()["commands"]
    for row_now, row_then in zip(now, then):
        if row_now.get("runs_recorded", 0) != row_then.get("runs_recorded", 0):
            for key in MOVING:
                row_now.pop(key), row_then.pop(key)
    assert now == then, "rerun python benchmarks/costs.py (and paste its table into the README)"


def test_a_written_dict_is_stamped_with_the_cpu_of_the_process_and_its_children(tmp_path):
    before = run_stamp()
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)  # the parent waits: ~0 CPU of its own
    results = {"x": [1]}
    write_json(tmp_path / "r.json", results)
    write_json(tmp_path / "list.json", [1])
    stamp = json.loads((tmp_path / "r.json").read_text()).pop("run")
    assert results == {"x": [1]}, "the caller's dict is left as it is"
    assert stamp["cpu_s"] >= 0 and stamp["wall_s"] >= 0 and stamp["started"] == before["started"]
    assert stamp["cpu_s"] - before["cpu_s"] >= 0.2  # the child's 0.3 s, to the stamp's 0.1 s
    assert json.loads((tmp_path / "list.json").read_text()) == [1]


def test_a_stamp_is_used_unless_a_resumed_run_or_another_lesson_makes_it_wrong():
    def stamp(cpu, wall, started="a"):
        return {"cpu_s": cpu, "wall_s": wall, "started": started}
    lesson_02 = {"script": "benchmarks/lesson_full.py 02", "seconds": 50, "run": stamp(60, 52)}
    lesson_03 = {"script": "benchmarks/lesson_full.py 03", "seconds": 400, "run": stamp(500, 452)}
    stamps = [lesson_02["run"], lesson_03["run"]]
    assert costs.cost("lesson_03_full", lesson_03, stamps)["seconds"] == 440  # less lesson 02's
    assert costs.cost("lesson_03_full", lesson_03, stamps[1:])["seconds"] == 400  # 02 rerun: wall
    resumed = {"runs": [{"cpu_seconds": 90}, {"cpu_seconds": 10}], "run": stamp(12, 13)}
    assert costs.cost("report_recipes", resumed, [])["seconds"] == 100
    whole = {"runs": [{"fixed": {"cpu_s": 15}, "by_tokens": {"cpu_s": 4}}], "run": stamp(40, 45)}
    assert costs.cost("imdb_batching", whole, [])["kind"] == "CPU"
    assert costs.cost("imdb_batching", whole, [])["seconds"] == 40
