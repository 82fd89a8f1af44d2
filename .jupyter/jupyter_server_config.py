"""JupyterLab for this course, read through the README's launch command (``--config``).

Jupyter does not read configuration from the folder it starts in, so the README passes this file
explicitly. It roots the server at the repository (a notebook given on the command line would
otherwise make its own folder the root, hiding ``exercises/``) and points JupyterLab at
``lab/settings/overrides.json`` here: no news pop-up and no update check.
"""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

c.ServerApp.root_dir = str(REPO)  # noqa: F821 (``c`` is defined by Jupyter's config loader)
c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / "lab" / "settings")  # noqa: F821
c.LabApp.news_url = None  # noqa: F821
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"  # noqa: F821
