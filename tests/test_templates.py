"""course_lib.templates: feedback pages and the website render wherever nbconvert was installed,
also where Jupyter's own search misses its templates."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.templates import exporter_options, template_dirs

ROOT = Path(__file__).resolve().parents[1]

RENDER = """
import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook
from course_lib.grading.feedback import render_page
from course_lib.site.build import _cells_exporter
nb = new_notebook(cells=[new_markdown_cell("**graded**")])
assert "<strong>graded</strong>" in render_page(nb, "t")
assert "<strong>graded</strong>" in _cells_exporter().from_notebook_node(nb)[0]
print("rendered")
"""


def test_the_templates_folder_is_the_one_nbconvert_installed():
    (folder,) = template_dirs()
    assert (Path(folder) / "basic" / "conf.json").is_file()
    assert (Path(folder) / "classic" / "base.html.j2").is_file()  # what basic builds on
    assert exporter_options(["mine"])["extra_template_paths"] == ["mine", folder]


def test_pages_render_in_a_venv_that_borrows_this_pythons_nbconvert(tmp_path):
    """Such a venv's Jupyter folders are its own prefix's, the user's and the system's: not where
    nbconvert put its templates, so nbconvert alone fails there with TemplateNotFound."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    env["PYTHONPATH"] = str(ROOT)
    python = venv / "bin" / "python"
    alone = subprocess.run(
        [str(python), "-c", "import nbformat; from nbconvert import HTMLExporter; "
         "HTMLExporter(template_name='basic').from_notebook_node(nbformat.v4.new_notebook())"],
        env=env, capture_output=True, text=True, timeout=120)
    if alone.returncode == 0:
        pytest.skip("nbconvert alone finds its templates in such a venv here: nothing to test")
    assert "TemplateNotFound" in alone.stderr or "No template" in alone.stderr, alone.stderr[-2000:]
    done = subprocess.run([str(python), "-c", RENDER], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "rendered", done.stderr[-2000:]
