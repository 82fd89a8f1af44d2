"""Fixtures for the browser tests: one JupyterLab server and one Chromium for the whole run."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from .lab import LAUNCH_ARGS, LabServer, find_chromium, recording_page

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: $E2E_SCREENSHOT_DIR, or a temp folder printed at the end."""
    path = Path(os.environ.get("E2E_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="course-e2e-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    server = LabServer(REPO, tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("browser tests skipped: Debian's chromium is not installed and could not be "
                    "installed with 'apt-get install -y chromium' (needs root and the Debian mirror)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh page that records every request it makes, closed after the test."""
    page = recording_page(browser)
    yield page
    page.context.close()
