"""Which files to grade, and whose they are.

Arguments to ``grade`` are notebooks or folders. A folder stands for the notebooks under it:

* nbgrader's layout, ``submitted/<student>/<assignment>/<notebook>.ipynb``: the student is the
  first folder below the one given; when notebooks named like the source exist there, only
  those are taken (the other assignments' notebooks are left alone);
* a flat folder, ``submissions/01/alice.ipynb``: the student is the file's stem (``alice``).

A notebook named directly is treated the same way relative to its own folder (its stem).
``pattern``, a regular expression with a group named ``student`` searched in the path, overrides
both rules, e.g. ``--student-pattern 'submitted/(?P<student>[^/]+)/'``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Submission:
    """A file to grade and the student it belongs to."""

    path: Path
    student: str


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def expand(args: list[str | Path], source_name: str, pattern: str | None = None) -> list[Submission]:
    """The submissions named by ``args`` (files or folders), in order, each with its student.

    Raises ValueError for a pattern without a ``student`` group or that does not match a path.
    """
    regex = re.compile(pattern) if pattern else None
    if regex is not None and "student" not in regex.groupindex:
        raise ValueError(f"--student-pattern {pattern!r} has no group named 'student', "
                         "e.g. 'submitted/(?P<student>[^/]+)/'")
    found: list[Submission] = []
    for arg in map(Path, args):
        if arg.is_dir():
            notebooks = _notebooks(arg)
            same = [p for p in notebooks if p.name == source_name]
            for path in same or notebooks:
                parts = path.relative_to(arg).parts
                found.append(Submission(path, parts[0] if len(parts) > 1 else path.stem))
        else:
            found.append(Submission(arg, arg.stem))
    if regex is None:
        return found
    named = []
    for sub in found:
        match = regex.search(sub.path.as_posix())
        if not match or not match.group("student"):
            raise ValueError(f"--student-pattern {pattern!r} does not match {sub.path}")
        named.append(Submission(sub.path, match.group("student")))
    return named
