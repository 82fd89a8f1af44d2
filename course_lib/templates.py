"""Where nbconvert's own templates are, wherever nbconvert was installed.

nbconvert looks for its templates (``basic``, ``classic``, ...) in Jupyter's data folders: the
running environment's ``share/jupyter``, the user's and the system's. Installed anywhere else it
fails with ``TemplateNotFound`` (nbconvert issues #1475, #1661, #1880): with ``pip install
--user`` or ``--prefix``, and in a virtual environment made with ``--system-site-packages`` that
uses the nbconvert of the Python it was made from. The list of files nbconvert's own package
installed says where its templates went; both grading's feedback pages and the website's build
pass that folder to their exporters.
"""
from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path


@functools.cache
def template_dirs() -> list[str]:
    """The folder holding nbconvert's installed templates (``.../nbconvert/templates``), as a
    one-item list, or an empty list when nbconvert's record does not name it."""
    try:
        files = distribution("nbconvert").files or []
    except PackageNotFoundError:
        return []
    for file in files:
        if str(file).replace("\\", "/").endswith("nbconvert/templates/basic/conf.json"):
            folder = Path(file.locate()).resolve().parents[1]
            return [str(folder)] if folder.is_dir() else []
    return []


def exporter_options(extra_template_paths: list[str] | tuple = ()) -> dict:
    """Keyword arguments for an nbconvert exporter: its templates found as :func:`template_dirs`
    says, besides Jupyter's usual folders; ``extra_template_paths`` are searched first."""
    found = template_dirs()
    return {"extra_template_basedirs": found,
            "extra_template_paths": [*extra_template_paths, *found]}
