"""A class folder built by hostile students: links, a FIFO, twins, and names that are markup,
formulas, terminal controls, too long or not UTF-8.

``write_edges(folder)`` writes it and returns {case: the file's name (str, or bytes for the
name that is not UTF-8)}. Every notebook in it is the fixture set solved correctly (6/6) unless
the case says otherwise, so a wrong score can only come from the class folder itself.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

from .submissions import SOURCE, SQUARE, _cell, filled

NAMES = {  # case -> file name; each holds a correct notebook
    "alice": "alice.ipynb",
    "hidden_alice": ".alice.ipynb",  # its page must not overwrite alice's
    "js_link": "[click me](javascript:alert(1)).ipynb",
    "remote_image": "![x](https:example.invalid).ipynb",  # a file name cannot hold '/'
    "hyperlink": '=HYPERLINK("http:__x").ipynb',
    "at_sum": "@SUM(1+1).ipynb",
    "plus_cmd": "+cmd|' -C calc'!A0.ipynb",
    "osc52": "evil\x1b]52;c;aGk=\x07\r.ipynb",  # writes the clipboard, then hides itself
    "forged_row": "mallory\nalice  0-6.ipynb",
    "long": "L" * 249 + ".ipynb",
    "not_utf8": b"caf\xe9.ipynb",
}
LINKS = {"link_source": str(SOURCE), "link_classmate": "alice.ipynb", "link_zero": "/dev/zero",
         "link_folder": str(SOURCE.parent)}  # case -> target; the file is <case>.ipynb
REFUSED = {**{case: "symbolic link" for case in LINKS}, "fifo": "FIFO"}
GRADE_ID = {"grade_id_list": ["square"], "grade_id_dict": {"id": "square"}}


def write_edges(folder: Path) -> dict[str, str | bytes]:
    """Write the hostile class into ``folder``; {case: file name}."""
    folder.mkdir(parents=True)
    names: dict[str, str | bytes] = dict(NAMES)
    data = nbformat.writes(filled()).encode()
    for name in NAMES.values():
        with open(os.path.join(os.fsencode(folder), os.fsencode(name)), "wb") as f:
            f.write(data)
    (folder / "twin.ipynb").write_bytes(data.replace(b"x * x", b"x ** 2"))  # twin and twin_too
    (folder / "twin_too.ipynb").write_bytes(data.replace(b"x * x", b"x ** 2"))
    names.update(twin="twin.ipynb", twin_too="twin_too.ipynb")
    nbformat.write(filled(square=SQUARE + "\nprint('\\ud800')"), str(folder / "surrogate.ipynb"))
    names["surrogate"] = "surrogate.ipynb"
    for case, target in LINKS.items():
        os.symlink(target, folder / f"{case}.ipynb")
        names[case] = f"{case}.ipynb"
    os.symlink(SOURCE.parent, folder / "sneaky")  # a linked folder: never entered
    os.mkfifo(folder / "fifo.ipynb")
    names["fifo"] = "fifo.ipynb"
    for case, gid in GRADE_ID.items():
        nb = filled()
        _cell(nb, "square").metadata["nbgrader"]["grade_id"] = gid
        nbformat.write(nb, str(folder / f"{case}.ipynb"), version=nbformat.NO_CONVERT)
        names[case] = f"{case}.ipynb"
    return names


def student(name: str | bytes) -> str:
    """The student a file name stands for, as the grader names it (the stem, decoded as Python does)."""
    return Path(os.fsdecode(name)).stem
