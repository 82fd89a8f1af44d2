"""The course website in Chromium, served by the README's own command (`python -m http.server -d DEST`):
every lesson page loads with nothing failing, its math typeset and its figures decoded; previous
and next walk the lessons in order; lesson 1 shows the notebook's own stored numbers; the search box
finds a lesson; a code cell's Copy button copies its code."""
from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

from tests.sitekit import serve_command

from .lab import free_port

REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def site_url(built_site):
    port = free_port()
    server = subprocess.Popen(serve_command(built_site, port), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/index.html", timeout=5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError(f"the README's server command did not serve {built_site}")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


class Watched:
    """A page that records what went wrong while it loaded: console errors, page errors, failed
    requests, HTTP errors, and requests to anything but 127.0.0.1."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.page.on("request", lambda r: urlparse(r.url).scheme in ("http", "https")
                     and urlparse(r.url).hostname != "127.0.0.1" and self.problems.append(f"network: {r.url}"))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        self.page.evaluate("() => MathJax.startup.promise")  # typesetting done

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_a_lesson_page_loads_cleanly_with_math_and_figures(lesson, site_url, browser, screenshot_dir):
    watched = Watched(browser, viewport={"width": 390, "height": 844})  # a phone
    try:
        watched.open(f"{site_url}/lessons/{lesson.stem}.html")
        page = watched.page
        text = page.inner_text("main")
        assert "$$" not in text, "display math left untypeset"
        assert page.locator("mjx-container").count() > 0
        assert page.locator("mjx-merror").count() == 0, "MathJax could not read a formula"
        images = page.evaluate("() => [...document.images].map(i => [i.src, i.complete && i.naturalWidth > 0])")
        assert images and all(ok for _, ok in images), [src for src, ok in images if not ok]
        stored = sum(1 for c in nbformat.read(lesson, 4).cells for o in c.get("outputs", [])
                     if "image/png" in o.get("data", {}))
        assert len(images) == stored
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, "the page is wider than a phone"
        page.screenshot(path=str(screenshot_dir / f"site-{lesson.stem}.png"))
        assert watched.problems == []
    finally:
        watched.close()


def test_previous_and_next_walk_the_lessons_in_order(site_url, browser):
    watched = Watched(browser)
    page = watched.page
    # navigation only: the math (typeset in the test above) is left out, which halves the time
    page.route("**/mathjax/tex-svg.js", lambda route: route.fulfill(body="", content_type="text/javascript"))
    try:
        page.goto(f"{site_url}/lessons/{LESSONS[0].stem}.html")
        seen = [urlparse(page.url).path]
        for rel in ("next", "prev"):
            while page.locator(f"a[rel={rel}]").count():
                with page.expect_navigation(wait_until="domcontentloaded"):
                    page.click(f"a[rel={rel}]")
                seen.append(urlparse(page.url).path)
            if rel == "next":
                assert seen == [f"/lessons/{p.stem}.html" for p in LESSONS]
        assert seen[len(LESSONS) - 1:] == [f"/lessons/{p.stem}.html" for p in reversed(LESSONS)]
        assert watched.problems == []
    finally:
        watched.close()


def test_lesson_1_shows_the_numbers_the_notebook_stored(site_url, browser):
    cells = nbformat.read(LESSONS[0], 4).cells
    printed = [o["text"] for c in cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    first = [line for text in printed[:3] for line in text.splitlines() if re.search(r"\d", line)]
    watched = Watched(browser)
    try:
        watched.open(f"{site_url}/lessons/{LESSONS[0].stem}.html")
        text = watched.page.inner_text("main")
        for line in first:
            assert line in text
    finally:
        watched.close()


def test_the_search_box_finds_a_lesson_and_copy_copies_code(site_url, browser):
    watched = Watched(browser)
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        watched.open(f"{site_url}/index.html")
        page = watched.page
        page.fill(".site-search input", "softmax jacobian")
        page.press(".site-search input", "Enter")
        page.wait_for_selector("#search-results li a")
        hit = page.locator("#search-results li a").first
        assert "Lesson 1" in hit.inner_text()
        hit.click()
        page.wait_for_load_state("load")
        assert urlparse(page.url).path == f"/lessons/{LESSONS[0].stem}.html" and urlparse(page.url).fragment
        code = next(c.source for c in nbformat.read(LESSONS[0], 4).cells if c.cell_type == "code")
        button = page.locator(".input_area .copy-button").first
        button.click()
        page.wait_for_function("b => b.textContent === 'Copied'", arg=button.element_handle())
        assert page.evaluate("() => navigator.clipboard.readText()").strip() == code.strip()
        assert watched.problems == []
    finally:
        watched.close()
