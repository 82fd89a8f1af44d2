"""A submission's bytes as a notebook: read without trusting its size, shape or depth.

The file is read only if it is a regular file (:func:`.students.read_regular`), at most
``MAX_SUBMISSION_BYTES``; its JSON is parsed only if its brackets nest at most ``MAX_DEPTH``
deep; only plain cells are kept (source and metadata), at most ``MAX_CELLS`` of them. Anything
else is a :class:`SubmissionError` saying what is wrong: that student's report, never the class's.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .students import read_regular

MAX_SUBMISSION_BYTES = 16 << 20
MAX_CELLS = 2_000
MAX_DEPTH = 64


class SubmissionError(ValueError):
    """A submission that is not a notebook the grader can run."""



def _depth_ok(data: bytes) -> bool:
    """True when JSON brackets never nest deeper than MAX_DEPTH (strings skipped), before parsing."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def read_bytes(path: Path) -> bytes:
    """The submission file's bytes if it is a regular file (:func:`.students.read_regular`);
    SubmissionError saying what is wrong otherwise."""
    try:
        return read_regular(path, MAX_SUBMISSION_BYTES)
    except ValueError as err:
        raise SubmissionError(str(err)) from None


def read_submission(path: Path) -> tuple[NotebookNode, bytes]:
    """The submission as a notebook and its bytes; SubmissionError saying what is wrong otherwise."""
    data = read_bytes(path)
    return parse_submission(data), data


def parse_submission(data: bytes) -> NotebookNode:
    """The submission's bytes as a notebook of plain cells; SubmissionError saying what is wrong."""
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"file is larger than {MAX_SUBMISSION_BYTES >> 20} MB")
    if not data.strip():
        raise SubmissionError("empty file")
    if not _depth_ok(data):
        raise SubmissionError(f"not a notebook: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise SubmissionError(f"not a notebook: invalid JSON ({str(err)[:200]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise SubmissionError("not a notebook: JSON without a list of cells")
    if doc.get("nbformat") != 4:
        raise SubmissionError(f"notebook format {str(doc.get('nbformat'))[:20]!r} is not supported (expected 4)")
    if len(doc["cells"]) > MAX_CELLS:
        raise SubmissionError(f"{len(doc['cells'])} cells: more than the {MAX_CELLS} a submission may have")
    cells = []
    for cell in doc["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue  # an editor's leftovers: nothing to run
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        gid = metadata.get("nbgrader", {}).get("grade_id") if isinstance(metadata.get("nbgrader"), dict) else None
        if gid is not None and not isinstance(gid, str):
            raise SubmissionError(f"not a notebook the grader can read: a cell's nbgrader grade_id is a "
                                  f"{type(gid).__name__}, not text (the cell's metadata was edited)")
        cells.append({"cell_type": cell["cell_type"], "source": source, "metadata": metadata})
    return nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})
