"""Every number the README's "Results and performance" section quotes is in the results file it
cites, rounded as printed; the machine it names is the one the files recorded.

The section is read as units: a table row, a bullet, or a paragraph. A unit's results files are
the ones it names (``benchmarks/results/X.json``, `` `X.json` `` in a table's "results file"
column, the command ``benchmarks/X.py`` whose file is ``X.json``, or a lesson
``notebooks/NN_x.ipynb``, whose stored outputs are its own run's results), together with those of
the paragraph it sits under (a paragraph that names files starts a block that lasts until the
next such paragraph), except for a table row that names its own in a "results file" column. A
number is backed when some value in those files, as it is or scaled as a percentage,
milliseconds or minutes, prints as the README prints it. Not checked: code spans, network
shapes (784-300-10), the lesson column and the "report" columns, which quote reports A–E;
``NOT_MEASURED`` lists the few numbers in the prose that are targets or names.

A number can match a value by chance, so the tables that a benchmark prints (``--markdown``) are
held to more: a README table with the header of one of them must be one of them, as printed from
the committed results file, every row and every digit.

A number with no file behind it yet must be listed in ``KNOWN_UNBACKED`` with the command that
will write it: a new unbacked number fails, and so does a listed one that a file now backs.

The lessons are held to the same rule, cell by cell: a Markdown cell that names a results file
(as the README does) or speaks of a ``FULL`` run (backed by that lesson's ``lesson_NN_full.json``,
where ``benchmarks/lesson_full.py`` writes one) may quote only numbers those files hold, apart
from those ``LESSON_NOT_MEASURED`` lists (the lesson's own small run, report figures and such).
"""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# What the reports A–E measured, quoted beside this project's results (not results of its own).
REPORT_NUMBERS = {"84.55", "85.62", "82.76", "75.33", "98.58", "0.68", "150", "70"}

# The start of a unit → (numbers in it that are not measurements, what they are).
NOT_MEASURED = {
    "- Speed: the NumPy RNN takes": ("1.5", "the target it was written to meet"),
    "**Grading**": ("01", "the exercise set's number"),
    "- In float64 the twins are one run": ("25", "the number of steps the test takes"),
    "Lesson 10's CI-sized run": ("10", "the lesson's number"),
    "**Test suite.**": ("15", "CI's time limit"),
}

# The start of a unit → (numbers in it that no results file holds yet, how they will be backed).
KNOWN_UNBACKED = {
    "- **The LSTM passes 88%": (
        "88.25", "none: the figure this table used to show (README of commit 795255a), retired"),
}

# (lesson, start of a Markdown cell) → (numbers in it that no results file holds, what they are).
LESSON_NOT_MEASURED = {
    ("03", "## 5. Choosing the learning rate"): ("10,000", "the size of the lesson's own run"),
    ("03", "## 6. Train vs validation"): ("10,000", "the size of the lesson's own run"),
    ("06", "The weights start bit-identical"): (
        "17 16 79 1.58", "float64's rounding and digits, the steps the lesson's own run took, and "
        "a student report's speed-up"),
    ("10", "Fixed batches are all 32"): (
        "4,096 20 80 2,739", "the lesson's own token budget and what it fits, and the longest "
        "review (lesson 8's output)"),
}

# The benchmarks whose ``--markdown`` prints tables the README shows: ``markdown(results)``.
TABLE_SCRIPTS = ("bptt_imdb", "imdb_models", "imdb_search", "mlp_studies", "report_recipes")

CPU_NAMES = re.compile(r"AMD EPYC|Intel\b[^,;.)]*|Skylake[-\w]*|Cascade Lake|Ice Lake|Ryzen \w+")
NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w])")
SHAPE = re.compile(r"\b\d+(?:-(?:\d+|h))+\b")  # network shapes: 784-300-10, 784-h-10
SCALES = (1, 100, 1000, 1 / 60)  # as printed: plain, percent, milliseconds, minutes


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n## Results and performance\n", 1)[1].split("\n## ", 1)[0]


def units(text: str) -> list[str]:
    """Table rows, bullets and paragraphs, each joined into one line."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        start = len(out)
        for line in paragraph.splitlines():
            if len(out) == start or line.startswith(("|", "- ")):
                out.append(line.strip())
            else:
                out[-1] += " " + line.strip()
    return out


def named_files(unit: str) -> set[str]:
    """The results files a unit names, by stem: X.json itself or the script benchmarks/X.py; and
    a lesson notebooks/NN_x.ipynb, whose stored outputs are the results of its own run."""
    stems = set(re.findall(r"(?<![\w<>])([a-z][a-z0-9_]*)\.json", unit))  # not lesson_NN_full
    scripts = re.findall(r"benchmarks/(\w+)\.py", unit)
    lessons = set(re.findall(r"(notebooks/\d\d_\w+)\.ipynb", unit))
    return stems | lessons | {s for s in scripts if (RESULTS / f"{s}.json").exists()}


def values(obj) -> list[float]:
    """Every number in a JSON value: its numbers, and those written inside its strings and keys."""
    if isinstance(obj, dict):
        return [v for key, item in obj.items() for v in values(key) + values(item)]
    if isinstance(obj, list):
        return [v for item in obj for v in values(item)]
    if isinstance(obj, bool) or obj is None:
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    return [float(n.replace(",", "")) for n in NUMBER.findall(str(obj))]


def load(stem: str) -> list[float]:
    """The numbers of results file ``stem``, or of a lesson's stored text outputs."""
    if stem.startswith("notebooks/"):
        cells = json.loads((ROOT / f"{stem}.ipynb").read_text())["cells"]
        return [v for cell in cells for out in cell.get("outputs", [])
                for v in values("".join(out.get("text", "")) + "".join(
                    out.get("data", {}).get("text/plain", "")))]
    path = RESULTS / f"{stem}.json"
    return values(json.loads(path.read_text())) if path.exists() else []


def printed(number: str, candidates: list[float]) -> bool:
    """Whether some candidate, at some scale, rounds to ``number`` as the README wrote it."""
    decimals = len(number.split(".")[1]) if "." in number else 0
    target = number.replace(",", "")
    return any(f"{abs(v) * s:.{decimals}f}" == target for v in candidates for s in SCALES)


def quoted_numbers(unit: str, header: list[str] | None) -> list[str]:
    """The numbers of a unit that must be backed: no code, no network shapes, no report column."""
    if header is not None:
        cells = unit.strip("|").split("|")
        unit = "|".join(c for c, h in zip(cells, header)
                        if h != "lesson" and "report" not in h and "file" not in h)
    unit = SHAPE.sub(" ", re.sub(r"`[^`]*`", " ", unit))
    return [n for n in NUMBER.findall(unit) if n not in REPORT_NUMBERS]


def audit() -> list[tuple[str, set[str], list[str]]]:
    """(unit, its results files, its numbers that none of them backs) for every unit."""
    block: set[str] = set()
    header: list[str] | None = None
    report = []
    for unit in units(section()):
        own = named_files(unit)
        if unit.startswith("|"):
            cells = [c.strip() for c in unit.strip("|").split("|")]
            if set("".join(cells)) <= set("-: "):
                continue
            if header is None or len(cells) != len(header):
                header = cells  # a table's first row
                continue
            own = named_files("|".join(c for c, h in zip(cells, header) if "file" in h))
        else:
            header = None
            if own and not unit.startswith("- "):
                block = own
        files = own if unit.startswith("|") and own else own | block
        candidates = [v for stem in files for v in load(stem)]
        missing = [n for n in quoted_numbers(unit, header) if not printed(n, candidates)]
        report.append((unit, files, missing))
    return report


def listed(unit: str, table: dict[str, tuple[str, str]]) -> set[str]:
    """The numbers ``table`` lists for ``unit``."""
    return {n for start, (numbers, _) in table.items() if unit.startswith(start)
            for n in numbers.split()}


def test_every_quoted_number_is_in_its_results_file():
    unbacked = []
    for unit, files, missing in audit():
        extra = set(missing) - listed(unit, KNOWN_UNBACKED) - listed(unit, NOT_MEASURED)
        if extra:
            unbacked.append(f"{unit[:70]!r} ({', '.join(sorted(files)) or 'no file'}): "
                            f"{' '.join(sorted(extra))}")
    assert not unbacked, ("numbers the README quotes that no results file it cites holds "
                          "(back them, or list them in KNOWN_UNBACKED):\n" + "\n".join(unbacked))


def tables(text: str) -> list[str]:
    """Each Markdown table in ``text``, its lines joined."""
    runs = re.finditer(r"(?m)(?:^\|.*(?:\n|$))+", text)
    return ["\n".join(run.group(0).splitlines()) for run in runs]


@pytest.mark.parametrize("stem", TABLE_SCRIPTS)
def test_a_table_a_benchmark_prints_is_shown_as_it_prints_it(stem):
    script = importlib.import_module(f"benchmarks.{stem}")
    printed_tables = tables(script.markdown(json.loads(script.RESULTS.read_text())))
    headers = {table.splitlines()[0] for table in printed_tables}
    shown = [table for table in tables(section()) if table.splitlines()[0] in headers]
    assert shown, f"the README shows none of the tables benchmarks/{stem}.py --markdown prints"
    for table in shown:
        assert table in printed_tables, (
            f"a README table is not what `python benchmarks/{stem}.py --markdown` prints from "
            f"{script.RESULTS.name} (paste its table again):\n{table.splitlines()[0]}")


def test_known_unbacked_numbers_are_still_unbacked():
    """Once a file backs a listed number, the list must shrink (and a stale entry goes). Small
    whole numbers (an epoch count, a seed) are left alone: some value matches them by chance."""
    found = {}
    for unit, _, missing in audit():
        for start in KNOWN_UNBACKED:
            if unit.startswith(start):
                found[start] = set(missing)
    for start, (numbers, _) in KNOWN_UNBACKED.items():
        assert start in found, f"KNOWN_UNBACKED names a unit the README no longer has: {start!r}"
        backed = {n for n in set(numbers.split()) - found[start] if len(n.strip("0.,")) > 2}
        assert not backed, f"now backed, remove from KNOWN_UNBACKED[{start!r}]: {sorted(backed)}"


def lesson_cells() -> list[tuple[str, str, set[str]]]:
    """(lesson number, Markdown cell, its results files) for each lesson cell that quotes one."""
    out = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        lesson = path.name[:2]
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] != "markdown":
                continue
            files = named_files(text)
            if re.search(r"\bFULL\b", text) and (RESULTS / f"lesson_{lesson}_full.json").exists():
                files.add(f"lesson_{lesson}_full")
            if files:
                out.append((lesson, text, files))
    return out


def test_every_number_a_lesson_quotes_from_a_results_file_is_in_it():
    unbacked = []
    for lesson, text, files in lesson_cells():
        candidates = [v for stem in files for v in load(stem)]
        missing = {n for n in quoted_numbers(" ".join(text.split()), None)
                   if not printed(n, candidates)}
        allowed = {n for (where, start), (numbers, _) in LESSON_NOT_MEASURED.items()
                   if where == lesson and text.startswith(start) for n in numbers.split()}
        if missing - allowed:
            unbacked.append(f"lesson {lesson}, {text[:60]!r} ({', '.join(sorted(files))}): "
                            f"{' '.join(sorted(missing - allowed))}")
    assert not unbacked, ("numbers a lesson quotes that the results files it relies on do not "
                          "hold:\n" + "\n".join(unbacked))


def test_lesson_not_measured_names_cells_the_lessons_still_have():
    starts = {(lesson, text[:80]) for lesson, text, _ in lesson_cells()}
    for lesson, start in LESSON_NOT_MEASURED:
        assert any(l == lesson and t.startswith(start) for l, t in starts), (lesson, start)


def test_the_machine_named_is_the_one_the_files_recorded():
    recorded = set()
    for path in RESULTS.glob("*.json"):
        text = json.dumps(json.loads(path.read_text()).get("machine", ""))
        recorded |= set(CPU_NAMES.findall(text))
    named = set(CPU_NAMES.findall(section()))
    assert named, "the section should say which machine the numbers came from"
    assert named <= recorded, f"named in the README but recorded by no results file: {named - recorded}"


@pytest.mark.parametrize("number, candidates, expected", [
    ("98.18", [0.9818], True), ("98.2", [0.9818], True), ("98.19", [0.9818], False),
    ("1,958", [1958], True), ("2.2", [0.0022], True), ("1.86", [111.6], True),
    ("1.1", [-0.011], True), ("3", [2.6], True), ("3", [2.4], False),
])
def test_a_number_is_backed_when_a_value_prints_as_it(number, candidates, expected):
    assert printed(number, candidates) is expected


def test_units_numbers_and_sources_are_read_as_the_readme_means_them():
    text = ("**A study** (`python benchmarks/mlp_studies.py`): 784-300-10, 97.5% here.\n\n"
            "| lesson | result | reference report |\n|---|---|---|\n| 3 | 98.1% | E: 96.32% |\n\n"
            "- a bullet, wrapped\n  onto two lines: 1,000 images")
    assert units(text) == ["**A study** (`python benchmarks/mlp_studies.py`): 784-300-10, 97.5% here.",
                           "| lesson | result | reference report |", "|---|---|---|",
                           "| 3 | 98.1% | E: 96.32% |",
                           "- a bullet, wrapped onto two lines: 1,000 images"]
    assert named_files(units(text)[0]) == {"mlp_studies"}
    assert quoted_numbers(units(text)[0], None) == ["97.5"]
    assert quoted_numbers("| 3 | 98.1% | E: 96.32% |", ["lesson", "result", "reference report"]) \
        == ["98.1"]
    assert values({"a 0.5": [1, {"b": "lr 0.1, batch 32"}], "ok": True}) == [0.5, 1.0, 0.1, 32.0]
    assert tables("text\n| a |\n|---|\n| 1 |\nmore\n\n| b |\n| 2 |") == ["| a |\n|---|\n| 1 |",
                                                                  "| b |\n| 2 |"]
