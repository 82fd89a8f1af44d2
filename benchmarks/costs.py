"""What each benchmark command cost the last time it ran, read from the results files it wrote.

Run: python benchmarks/costs.py              (writes benchmarks/results/costs.json)
     python benchmarks/costs.py --markdown   (prints the README's table from costs.json)

One row per results file in benchmarks/results/: the command that wrote it (its "script" entry,
which for ``lesson_full.py`` names the lesson; else ``benchmarks/<file>.py``), and its cost:

1. the ``"run"`` stamp that ``benchmarks.common.write_json`` adds: the CPU seconds of the whole
   process and of its finished children. Where one process wrote several files (``lesson_full.py``,
   one per lesson), a file's share is its stamp less that of the file the process wrote before it
   (when that file has been rewritten since, the share spans more than the lesson, whose own wall
   seconds are used instead);
2. else, or where the stamp is less than the time the file records (a run that resumed or redid
   one part: the rest was paid for before), that time: the CPU seconds it records per run, epoch
   or load, summed (what the script timed: data loading and warm-up are left out), or where it
   records none, its wall seconds (a lesson's ``seconds``, grading's timed parts, ...);
3. else "not recorded".

The date is the latest ``date`` the file records. ``imdb_search.py`` resumes: until its plan is
done, its row says how many runs are left (as its ``--plan`` counts them, each final seed of a
model whose search is not done included).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import write_json  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
OUT = RESULTS / "costs.json"
SLACK_S = 1.0  # rounding: a lesson's seconds are whole, a stamp's tenths
LOST_S = 30.0  # a stamp this far past its lesson's own seconds spans an earlier lesson's file


def found(obj: object, key: str) -> list:
    """Every value stored under ``key`` anywhere in ``obj`` (not looking inside those values)."""
    if isinstance(obj, dict):
        return [v for k, item in obj.items() for v in ([item] if k == key else found(item, key))]
    if isinstance(obj, list):
        return [v for item in obj for v in found(item, key)]
    return []


# What a file records of its own cost, by file name: (CPU or wall, what it is, the values to sum).
RECORDED: dict[str, tuple[str, str, Callable[[dict], list[float]]]] = {
    "bptt_imdb": ("CPU", "its epochs summed", lambda r: found(r["runs"], "cpu_s")),
    "imdb_models": ("CPU", "its epochs summed", lambda r: found(r["runs"], "cpu_s")),
    "imdb_search": ("CPU", "its runs summed", lambda r: [x["cpu_s"] for x in r["runs"].values()]),
    "report_recipes": ("CPU", "its runs summed", lambda r: found(r, "cpu_seconds")),
    "imdb_batching": ("CPU", "its epochs summed", lambda r: found(r["runs"], "cpu_s")),
    "imdb_load": ("CPU", "its loads summed", lambda r: found(r["loads"], "cpu_s")),
    "mnist_load": ("wall", "its loads summed",  # cached_s is the faster of two loads
                   lambda r: [r["first_s"], 2 * r["cached_s"]]),
    "grade_class": ("wall", "its gradings summed", lambda r: found(r, "total_seconds")),
    "framework_accuracy": ("wall", "its MNIST part only", lambda r: [r["mnist"]["seconds"]]),
    "mlp_studies": ("wall", "its studies summed", lambda r: found(r, "seconds")),
}
LESSON = ("wall", "the lesson", lambda r: [r["seconds"]])  # lesson_NN_full.json


def runs_left(results: dict) -> int:
    """imdb_search.py's runs still to do, as ``--plan`` counts them, plus the final seeds of each
    model whose search is not finished (its plan lists those once the search is done)."""
    from benchmarks import imdb_search as search  # imports torch: only for this one file
    todo = search.pending(results, lambda run_id: True, search.SEARCH_SIZE)
    return len(todo) + len(search.SEEDS) * len(search.plan(results)[1])


def own_share(stamp: dict, stamps: list[dict]) -> dict:
    """``stamp`` less the latest earlier stamp of the same process among ``stamps``."""
    earlier = [s for s in stamps
               if s["started"] == stamp["started"] and s["cpu_s"] < stamp["cpu_s"]]
    if not earlier:
        return stamp
    before = max(earlier, key=lambda s: s["cpu_s"])
    return {"cpu_s": round(stamp["cpu_s"] - before["cpu_s"], 1),
            "wall_s": round(stamp["wall_s"] - before["wall_s"], 1)}


def cost(stem: str, results: dict, stamps: list[dict]) -> dict:
    """The row of the results file ``stem`` (its JSON ``results``); ``stamps``: every file's."""
    kind, summed, values = LESSON if stem.startswith("lesson_") else RECORDED.get(stem, (None,) * 3)
    recorded = round(sum(values(results)), 1) if values else None
    row = {"command": f"python {results.get('script', f'benchmarks/{stem}.py')}",
           "writes": f"{stem}.json", "seconds": None, "kind": None, "source": None,
           "date": max(found(results, "date"), default=None)}
    if "run" in results:
        share = own_share(results["run"], stamps)
        lost = stem.startswith("lesson_") and share["wall_s"] > recorded + LOST_S
        partial = recorded is not None and recorded > share[f"{kind.lower()}_s"] + SLACK_S
        if not (lost or partial):
            row.update(seconds=share["cpu_s"], kind="CPU", source="its process" if
                       share is results["run"] else "its share of the process")
    if row["seconds"] is None and recorded is not None:
        row.update(seconds=recorded, kind=kind, source=summed)
    if stem == "imdb_search":
        row.update(runs_recorded=len(results["runs"]), runs_left=runs_left(results))
    elif done := found(results, "done"):  # imdb_models.py and bptt_imdb.py write every epoch
        row["runs_unfinished"] = done.count(False)
    return row


def costs() -> dict:
    """Every results file's row but costs.json's own, in file-name order."""
    files = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))
             if p.name != OUT.name}
    stamps = [r["run"] for r in files.values() if "run" in r]
    return {"script": "benchmarks/costs.py",
            "commands": [cost(stem, results, stamps) for stem, results in files.items()]}


def amount(seconds: float) -> str:
    """Seconds below two minutes, else minutes: 50 s, 7.1 min, 107 min."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds * (1 / 60)  # as tests/test_results_quoted.py scales: 429 s is 7.1, not 7.2
    return f"{minutes:.1f} min" if minutes < 100 else f"{minutes:.0f} min"


def cell(row: dict) -> str:
    """The README's "cost of its last run" cell of ``row``."""
    if row["seconds"] is None:
        return "not recorded"
    notes = [row["source"]]
    if row.get("runs_left"):
        notes.append(f"so far: {row['runs_left']} runs left")
    if row.get("runs_unfinished"):
        notes.append(f"so far: {row['runs_unfinished']} runs unfinished")
    return f"{amount(row['seconds'])} {row['kind']} ({'; '.join(notes)})"


def day(date: str | None) -> str:
    """'2026-12-07 02:04' -> '7 Dec 2026' (the README prints no zero-padded numbers)."""
    if date is None:
        return "not recorded"
    year, month, dd = date[:10].split("-")
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return f"{int(dd)} {months[int(month) - 1]} {year}"


def markdown(table: dict) -> str:
    """The README's table of ``table`` (costs.json's contents)."""
    lines = ["| command | writes | cost of its last run | date |", "|---|---|---|---|"]
    lines += [f"| `{r['command']}` | `{r['writes']}` | {cell(r)} | {day(r['date'])} |"
              for r in table["commands"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the table from costs.json")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(OUT.read_text())))
        return
    table = costs()
    write_json(OUT, table)
    print(markdown(table))


if __name__ == "__main__":
    main()
