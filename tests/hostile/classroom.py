"""A simulated class for set 01: mostly right, some usual mistakes, one untouched, one broken file.

``write_class(folder, n)`` writes ``folder/student_NN.ipynb``; the mix is fixed, so every run
(and the README's walkthrough output) is the same.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
SET01 = "01_softmax_cross_entropy.ipynb"

# (what the student did, replacements in the instructor's solution code)
MISTAKES = [
    ("sum instead of mean", [("-log_Y[np.arange(len(c)), c].mean()", "-log_Y[np.arange(len(c)), c].sum()")]),
    ("no max subtracted", [("np.exp(O - O.max(axis=1, keepdims=True))", "np.exp(O)")]),
    ("gradient not divided by B", [("return G / B", "return G")]),
]


def _solved(student: nbformat.NotebookNode, answers: dict[str, str], edits) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            source = answers[gid]
            for old, new in edits:
                source = source.replace(old, new)
            cell.source = source
    return nb


def write_class(folder: Path, n: int = 30) -> list[Path]:
    """Write ``n`` submissions of set 01 into ``folder``; returns their paths."""
    src = nbformat.read(str(REPO / "solutions" / SET01), as_version=4)
    student = nbformat.read(str(REPO / "exercises" / SET01), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"student_{i + 1:02d}.ipynb"
        if i == n - 1:
            path.write_text("I could not open Jupyter, my answers: softmax = exp / sum\n")
        elif i == n - 2:
            nbformat.write(student, str(path))
        else:
            edits = MISTAKES[i % 8][1] if i % 8 < len(MISTAKES) else []
            nbformat.write(_solved(student, answers, edits), str(path))
        paths.append(path)
    return paths
