"""A small driver for JupyterLab in Chromium: start the server, open a notebook, run it, read it.

The server is started with the README's own launch command (:func:`readme_launch_command`), in a
temp copy of the repository with its own Jupyter, IPython and matplotlib folders; the only flags
added choose the port (127.0.0.1), turn the token off, keep the server from opening a browser,
and expose JupyterLab's app object to the page (``expose_app_in_browser``) so the test can run
commands and read cell outputs the way the notebook itself sees them, while images, widgets and
clicks go through the real DOM.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

COPY_IGNORE = shutil.ignore_patterns(".git", "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
                                     "*.egg-info")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromium() -> str | None:
    """Debian's chromium, installing it with apt when we are root and it is missing."""
    found = shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium")
    if found:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    return shutil.which("chromium")


def readme_launch_command(readme: Path) -> list[str]:
    """The JupyterLab part of the README's first command (``... && jupyter lab ...``), as argv."""
    block = re.search(r"```bash\n(.*?)```", readme.read_text(), re.S)
    assert block, f"{readme} has no ```bash block"
    for part in block.group(1).replace("\\\n", " ").split("&&"):
        argv = shlex.split(part)
        if argv[:2] == ["jupyter", "lab"]:
            return argv
    raise AssertionError(f"the first bash block of {readme} does not run `jupyter lab`")


class LabServer:
    """JupyterLab started with the README's command in a temp copy of ``repo``; stopped by PID."""

    def __init__(self, repo: Path, workdir: Path):
        self.root = workdir / "course"
        shutil.copytree(repo, self.root, ignore=COPY_IGNORE)
        self.home = workdir / "home"
        env = dict(os.environ)
        for var, sub in [("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"),
                         ("JUPYTER_CONFIG_DIR", "jconfig"), ("JUPYTER_DATA_DIR", "jdata"),
                         ("JUPYTER_RUNTIME_DIR", "jruntime")]:
            env[var] = str(self.home / sub)
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        env["PYTHONPATH"] = str(self.root)
        env.pop("MPLBACKEND", None)
        self.runtime_dir = self.home / "jruntime"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = readme_launch_command(repo / "README.md")
        added = ["--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--IdentityProvider.token=",
                 "--ServerApp.password=", "--LabApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            added.append("--allow-root")
        self.log = open(workdir / "jupyterlab.log", "w")
        # `python -m jupyter` is the `jupyter` of this Python; everything else is the README's.
        self.proc = subprocess.Popen([sys.executable, "-m", *self.command] + added, cwd=self.root,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait_ready()

    def launch_url(self) -> str:
        """The page the README's command opens in the student's browser (the file it names)."""
        pages = sorted(self.runtime_dir.glob("jpserver-file-to-run-*-open.html")) or sorted(
            self.runtime_dir.glob("jpserver-*-open.html"))
        assert pages, f"JupyterLab wrote no page to open in {self.runtime_dir}"
        found = re.search(r'href="([^"]+)"', pages[0].read_text())
        assert found, f"no link in {pages[0]}"
        return found.group(1)

    def _wait_ready(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/api/status", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def recording_page(browser):
    """A page in a fresh browser context, 1280 x 1000, that records every request it makes in
    ``page.requests``; close it with ``page.context.close()``."""
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    return page


# JavaScript run in the page; `app` is JupyterLab's application object.
_JS_READY = """() => { const app = window.jupyterapp; if (!app) return false;
  const p = app.shell.currentWidget; if (!p || !p.sessionContext) return false;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && p.content.widgets.length > 0; }"""
_JS_START_RUN_ALL = """() => { window.courseRunAll = window.jupyterapp.commands.execute('notebook:run-all-cells'); }"""
_JS_RUN_ALL_DONE = """async () => { await window.courseRunAll; return true; }"""
_JS_BUSY = """() => { const p = window.jupyterapp.shell.currentWidget;
  const k = p.sessionContext.session.kernel;
  const pending = p.content.widgets.filter(c => c.model.type === 'code' &&
     c.promptNode && c.promptNode.textContent.includes('*')).length;
  return k.status !== 'idle' || pending > 0; }"""
_JS_CELLS = """() => { const p = window.jupyterapp.shell.currentWidget;
  return p.content.widgets.map((c, i) => {
    if (c.model.type !== 'code') return {index: i, type: c.model.type};
    const outs = c.model.outputs.toJSON();
    const node = c.node;
    return {index: i, type: 'code', source: c.model.sharedModel.getSource(),
      errors: outs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      images: node.querySelectorAll('.jp-OutputArea-output img').length,
      widgetViews: outs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json']).length,
      widgets: node.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
      widgetErrors: node.querySelectorAll('.jupyter-widgets-error-widget').length
                    + (node.textContent.includes('Error displaying widget') ? 1 : 0),
      progress: node.querySelectorAll('.jp-OutputArea-output .widget-hprogress, .jp-OutputArea-output .widget-vprogress').length,
      text: node.querySelector('.jp-Cell-outputWrapper') ? node.querySelector('.jp-Cell-outputWrapper').innerText : ''};
  }); }"""

_JS_FINGERPRINT = """(i) => { const c = window.jupyterapp.shell.currentWidget.content.widgets[i];
  const imgs = Array.from(c.node.querySelectorAll('.jp-OutputArea-output img'))
                    .map(im => im.src.length + ':' + im.src.slice(-200));
  return c.node.querySelector('.jp-Cell-outputWrapper').innerText + '|' + imgs.join(','); }"""


class NotebookPage:
    """One notebook open in JupyterLab."""

    def __init__(self, page, server: LabServer, path: str, timeout_s: float = 300, ready: bool = True):
        """Open ``path`` in ``page`` and, if ``ready``, wait for :meth:`wait_ready`."""
        self.page, self.timeout_ms = page, timeout_s * 1000
        page.goto(f"{server.url}/lab/tree/{path}?reset", wait_until="domcontentloaded")
        if ready:
            self.wait_ready()

    @classmethod
    def current(cls, page, timeout_s: float = 300) -> "NotebookPage":
        """The notebook already open in ``page`` (opened by a click, not by a URL)."""
        nb = cls.__new__(cls)
        nb.page, nb.timeout_ms = page, timeout_s * 1000
        nb.wait_ready()
        return nb

    def wait_ready(self) -> None:
        """Until the notebook shows its cells and its kernel is idle."""
        self.page.wait_for_function(_JS_READY, timeout=120_000, polling=500)

    def start_run_all(self) -> None:
        """Start running every cell and return at once; :meth:`finish_run_all` waits for the end."""
        self.page.evaluate(_JS_START_RUN_ALL)

    def finish_run_all(self) -> None:
        """Until the run started by :meth:`start_run_all` is over."""
        self.page.evaluate(_JS_RUN_ALL_DONE)
        self.page.wait_for_timeout(500)
        self.wait_idle()

    def wait_output_change(self, index: int, before: str, timeout_s: float = 120) -> None:
        """Until cell ``index``'s output differs from the fingerprint ``before``, or at most
        ``timeout_s`` seconds: the caller asserts on what it then sees."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(f"(before) => ({_JS_FINGERPRINT})({index}) !== before", arg=before,
                                        timeout=timeout_s * 1000, polling=250)
        except PlaywrightTimeout:
            pass

    def wait_idle(self) -> None:
        """Until the kernel is idle and no cell waits to run."""
        self.page.wait_for_function(f"() => !({_JS_BUSY})()", timeout=self.timeout_ms, polling=500)

    def cells(self) -> list[dict]:
        return self.page.evaluate(_JS_CELLS)

    def output_fingerprint(self, index: int) -> str:
        """Text and image sources of one cell's outputs: changes when the cell redraws."""
        return self.page.evaluate(_JS_FINGERPRINT, index)

    def cell_locator(self, index: int):
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)
