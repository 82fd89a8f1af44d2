"""The README's instructor walkthrough, run as written: every command, and the output it shows.

The commands are the ``$ `` lines of the code blocks between ``<!-- walkthrough:start -->`` and
``<!-- walkthrough:end -->`` (a trailing backslash continues a command). Each runs with bash in a
fresh folder holding copies of ``solutions/`` and ``exercises/``, where a class of 12
submissions has been "collected" (:mod:`tests.hostile.classroom`) and the hand-graded points are
"filled in" before the gradebook is made. Every output line the README shows (``...`` skips)
must appear in the command's real output, in order.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.hostile.classroom import write_class

REPO = Path(__file__).resolve().parents[1]
CLASS = 12  # the README says "a class of 12": every kind of submission (classroom.py), quickly
pytestmark = pytest.mark.notebooks


def walkthrough() -> list[tuple[str, list[str]]]:
    """(command, output lines shown) for each ``$`` line of the README's walkthrough."""
    text = REPO.joinpath("README.md").read_text(encoding="utf-8")
    section = text.split("<!-- walkthrough:start -->")[1].split("<!-- walkthrough:end -->")[0]
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```(?:bash|console)\n(.*?)^ *```", section, flags=re.S | re.M):
        lines = textwrap.dedent(block).splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ "):
                command = lines[i][2:]
                while command.endswith("\\"):
                    i += 1
                    command = command[:-1] + " " + lines[i].strip()
                steps.append((command, []))
            elif steps:
                steps[-1][1].append(lines[i])
            i += 1
    return steps


def shows(expected: list[str], actual: str) -> str | None:
    """None when every expected line (but ``...``) occurs in ``actual``, in order."""
    real = [line.rstrip() for line in actual.splitlines()]
    at = 0
    for line in expected:
        if line.strip() in ("", "..."):
            continue
        try:
            at = real.index(line.rstrip(), at) + 1
        except ValueError:
            return line
    return None


def test_the_walkthrough_has_every_step():
    commands = " ".join(c for c, _ in walkthrough())
    for step in ("build-exercises", "grade ", "--feedback", "--manual-template", "gradebook"):
        assert step in commands


@pytest.mark.slow
def test_the_instructor_walkthrough_runs_as_the_readme_shows(tmp_path):
    for folder in ("solutions", "exercises"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    write_class(tmp_path / "submissions" / "01", CLASS)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    python = os.path.dirname(sys.executable)
    env["PATH"] = python + os.pathsep + env.get("PATH", "")
    for command, expected in walkthrough():
        if command.startswith("python -m course_lib gradebook"):
            for manual in tmp_path.glob("manual*.csv"):  # the instructor fills in the points
                rows = list(csv.DictReader(manual.open()))
                for row in rows:
                    row["points"] = row["points"] or row["max_points"]
                with manual.open("w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student"])
                    writer.writeheader()
                    writer.writerows(rows)
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        missing = shows(expected, done.stdout + done.stderr)
        assert missing is None, f"the README shows {missing!r} for {command!r}; it printed:\n{done.stdout}"
    assert len(list((tmp_path / "feedback" / "01").glob("*.html"))) == CLASS
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open()))
    assert len(rows) == CLASS and {r["student"] for r in rows} == {f"student_{i:02d}" for i in range(1, CLASS + 1)}
