"""The course site built with the README's own command, for tests/test_site.py and the browser test.

The README's site block reads ``python -m pip install -e ".[site]" && python -m course_lib site
DEST && python -m http.server -d DEST``; the tests run its second and third commands with DEST
replaced by a temp folder (and, for the server, a free port on 127.0.0.1).
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

# The README's command, run in a Python where `import torch` fails: building the site needs no torch.
_WITHOUT_TORCH = ("import runpy, sys; sys.modules['torch'] = None; sys.argv[0] = 'course_lib'; "
                  "runpy.run_module('course_lib', run_name='__main__', alter_sys=True)")


def readme_site_commands(readme: Path = README) -> tuple[list[str], list[str]]:
    """The README's ``python -m course_lib site DEST`` and ``python -m http.server -d DEST``, as argv."""
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), re.S):
        parts = [shlex.split(p) for p in block.replace("\\\n", " ").split("&&")]
        build = [p for p in parts if p[:4] == ["python", "-m", "course_lib", "site"]]
        serve = [p for p in parts if p[:3] == ["python", "-m", "http.server"]]
        if build and serve:
            return build[0], serve[0]
    raise AssertionError(f"{readme} has no bash block that builds the site and serves it")


def build_as_readme_says(dest: Path) -> subprocess.CompletedProcess:
    """Run the README's build command with DEST replaced by ``dest``, from the repository root."""
    build, _ = readme_site_commands()
    return subprocess.run([sys.executable, "-c", _WITHOUT_TORCH, *build[3:-1], str(dest)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def serve_command(dest: Path, port: int) -> list[str]:
    """The README's server command for ``dest`` on 127.0.0.1:``port``."""
    build, serve = readme_site_commands()
    argv = [str(dest) if arg == build[-1] else arg for arg in serve]
    return [sys.executable, *argv[1:], "--bind", "127.0.0.1", str(port)]
