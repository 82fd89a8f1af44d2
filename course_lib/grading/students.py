"""Which files to grade, and whose they are.

Arguments to ``grade`` are notebooks or folders. A folder stands for the notebooks under it:

* nbgrader's layout, ``submitted/<student>/<assignment>/<notebook>.ipynb``: the student is the
  folder below ``submitted``, whatever path or glob names the notebook or a folder above it
  (otherwise the first folder below the one given); when notebooks named like the source exist
  there, only those are taken (the other assignments' notebooks are left alone), and only where
  nbgrader puts them (one deeper down, in a student's own folders, is left alone too: it names
  nobody);
* a flat folder, ``submissions/01/alice.ipynb``: the student is the file's stem (``alice``).

A file named twice (a folder and a file in it) is graded once; one student with two different
notebooks is an error naming both files.

A notebook named directly is treated the same way relative to its own folder (its stem).
``pattern``, a regular expression with a group named ``student`` searched in the path, overrides
both rules, e.g. ``--student-pattern 'submitted/(?P<student>[^/]+)/'``.

A class folder is what students made it, so it is read as hostile: folders are walked without
following links (a link named like a notebook is listed, then refused), a path typed that passes
through a linked folder below the current one (a shell glob through a student's link) is refused
unread, and only a regular file
is read (:func:`read_regular`): a link, wherever it points, a FIFO, a device or a socket is
refused with the reason, never opened for reading. Names are data: whatever bytes a name holds,
it only ever reaches a page, a sheet or the terminal escaped (:mod:`.report`, :mod:`.feedback`).
"""
from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from .report import shown

_KINDS = ((stat.S_ISLNK, "a symbolic link, which the grader never follows: hand in the notebook itself"),
          (stat.S_ISDIR, "a folder, not a notebook"), (stat.S_ISFIFO, "a FIFO (named pipe), not a notebook"),
          (stat.S_ISCHR, "a device, not a notebook"), (stat.S_ISBLK, "a device, not a notebook"),
          (stat.S_ISSOCK, "a socket, not a notebook"), (lambda mode: not stat.S_ISREG(mode), "not a regular file"))


@dataclass(frozen=True)
class Submission:
    """A file to grade and the student it belongs to; ``refused``: why it is refused unread."""

    path: Path
    student: str
    refused: str | None = None


def _notebooks(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``folder``, links included (as entries), linked folders not entered."""
    found = []
    for top, dirs, files in os.walk(folder):  # followlinks=False: a link to a folder is a name
        dirs[:] = [d for d in dirs if d != ".ipynb_checkpoints"]
        found += [Path(top, name) for name in files + dirs if name.endswith(".ipynb")]
    return sorted(found)


def _linked_folder(path: Path) -> Path | None:
    """The first folder of ``path`` that is a link nested below the current folder, if any: a
    typed path (a shell glob) may pass through a student's link; the current folder's own
    entries and what lies above are the instructor's."""
    here = Path.cwd()
    for folder in [*reversed(path.parents), *([path] if path.is_dir() else [])]:
        inside = folder.relative_to(here) if folder.is_absolute() and here in folder.parents else folder
        if not inside.is_absolute() and ".." not in inside.parts and len(inside.parts) > 1 \
                and folder.is_symlink():
            return folder
    return None


def _refused(mode: int) -> str | None:
    return next((f"is {kind}" for test, kind in _KINDS if test(mode)), None)


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes.

    ``lstat`` first, then opened with ``O_NOFOLLOW | O_NONBLOCK`` (a link swapped in meanwhile
    fails, a FIFO cannot block) and checked again on the open descriptor; at most ``limit + 1``
    bytes are read, whatever the file's size claims. Raises ValueError saying what is wrong.
    """
    try:
        if why := _refused(os.lstat(path).st_mode):
            raise ValueError(why)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            if why := _refused(os.fstat(fd).st_mode):
                raise ValueError(why)
            chunks, size = [], 0
            while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except OSError as err:
        why = f"is {_KINDS[0][1]}" if err.errno == errno.ELOOP else f"cannot read the file: {err.strerror or err}"
        raise ValueError(why) from None
    if size > limit:
        raise ValueError(f"file is larger than {limit >> 20} MB")
    return b"".join(chunks)


def _nbgrader_place(path: Path) -> tuple[bool, str | None]:
    """Whether ``path`` lies in nbgrader's ``submitted`` folder (the outermost one of that name
    in the path as typed), and its ``<student>`` when it is where nbgrader puts a notebook:
    ``submitted/<student>/<assignment>/<notebook>.ipynb``. A notebook deeper down lies in a
    student's own folders (a ``submitted/frank/...`` planted there names nobody)."""
    parts = path.parts  # as typed (a folder far above, of the same name, is not the class's)
    if "submitted" not in parts[:-1]:
        outer = path.absolute().parts  # typed from inside the layout: only nbgrader's own place
        return (True, outer[-3]) if len(outer) >= 4 and outer[-4] == "submitted" else (False, None)
    top = parts.index("submitted")
    return True, parts[top + 1] if len(parts) - top == 4 else None


def _no_student_twice(subs: list[Submission]) -> list[Submission]:
    """``subs`` without a file given twice; ValueError naming both files when one student has
    two different notebooks."""
    seen: dict[str, Path] = {}
    kept = []
    for sub in subs:
        if sub.student in seen:
            if os.path.realpath(seen[sub.student]) == os.path.realpath(sub.path):
                continue  # the same file, named twice (a folder and a file in it)
            raise ValueError(f"student {shown(sub.student)} has two notebooks to grade: "
                             f"{shown(str(seen[sub.student]))} and {shown(str(sub.path))}; name one")
        seen[sub.student] = sub.path
        kept.append(sub)
    return kept


def expand(args: list[str | Path], source_name: str, pattern: str | None = None,
           skipped: list[Path] | None = None) -> list[Submission]:
    """The submissions named by ``args`` (files or folders), in order, each with its student;
    the notebooks of a folder left alone (not named like the source) are added to ``skipped``.

    Raises ValueError for a path that does not exist, a pattern without a ``student`` group or
    that does not match a path, or one student with two different notebooks.
    """
    regex = re.compile(pattern) if pattern else None
    if regex is not None and "student" not in regex.groupindex:
        raise ValueError(f"--student-pattern {pattern!r} has no group named 'student', "
                         "e.g. 'submitted/(?P<student>[^/]+)/'")
    found: list[Submission] = []
    for arg in map(Path, args):
        if not os.path.lexists(arg):
            raise ValueError(f"{shown(str(arg))} does not exist")
        link = _linked_folder(arg)
        refused = link and f"is reached through {shown(str(link))}, {_KINDS[0][1]}"
        if arg.is_dir():
            notebooks = _notebooks(arg)
            same = [p for p in notebooks if p.name == source_name]
            if same and skipped is not None:
                skipped += [p for p in notebooks if p.name != source_name]
            for path in same or notebooks:
                inside, student = _nbgrader_place(path)
                if inside and student is None and regex is None:  # not where nbgrader puts one
                    if skipped is not None:
                        skipped.append(path)
                    continue
                parts = path.relative_to(arg).parts
                found.append(Submission(path, student or (parts[0] if len(parts) > 1 else path.stem), refused))
        else:
            found.append(Submission(arg, _nbgrader_place(arg)[1] or arg.stem, refused))
    if regex is None:
        return _no_student_twice(found)
    named = []
    for sub in found:
        match = regex.search(sub.path.as_posix())
        if not match or not match.group("student"):
            raise ValueError(f"--student-pattern {pattern!r} does not match {shown(str(sub.path))}")
        named.append(replace(sub, student=match.group("student")))
    return named
