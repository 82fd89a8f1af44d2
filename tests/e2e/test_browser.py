"""Every lesson, run in JupyterLab in a real Chromium, the way a student sees it.

nbval proves the notebooks compute; this proves they *show*: no cell errors, every plot the
stored notebook has renders as an image, every widget renders and answers a click or a slider,
progress bars render as widgets, and no request leaves 127.0.0.1.

It starts with the student's first minutes: the README's launch command opens lesson 1, the
file browser reaches the exercises, a failing check shows its message first, and lesson 1 links
to its set.

Run only this:  python -m pytest tests/e2e -v -s   (screenshots: $E2E_SCREENSHOT_DIR or a temp dir)
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .lab import NotebookPage, recording_page

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPLORER_MODELS = {"FloatSliderModel", "IntSliderModel", "FloatLogSliderModel", "DropdownModel",
                   "TextModel", "ButtonModel"}
EXERCISES = sorted((REPO / "exercises").glob("[0-9][0-9]_*.ipynb"))
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def stored_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def stored_widget_models(path: Path) -> list[str]:
    """The model names of the widgets the stored notebook holds (progress bars, sliders, ...)."""
    state = json.loads(path.read_text()).get("metadata", {}).get("widgets", {})
    models = state.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [m.get("model_name") for m in models.values()]


def stored_progress_bars(path: Path) -> int:
    """How many tqdm progress-bar widgets the stored notebook holds."""
    return stored_widget_models(path).count("FloatProgressModel")


def explorers(path: Path) -> set[str]:
    """The course_lib.widgets explorers a lesson imports (``disk_explorer``, ...)."""
    code = "".join("".join(c["source"]) for c in stored_cells(path) if c["cell_type"] == "code")
    imports = re.findall(r"from course_lib\.widgets\.\w+ import ([\w, ]+)", code)
    return {name.strip() for line in imports for name in line.split(",") if name.strip().endswith("_explorer")}


def _first_per_explorer(lessons: list[Path]) -> list[Path]:
    """The lessons with a stored explorer whose explorers no earlier one of them has."""
    chosen, covered = [], set()
    for path in lessons:
        if EXPLORER_MODELS & set(stored_widget_models(path)) and explorers(path) - covered:
            chosen.append(path)
            covered |= explorers(path)
    return chosen


# nbval already runs every lesson; the browser reruns the first lesson of each explorer, whose
# widgets a student clicks (a rerun is what makes them answer), and shows the others as stored
# (lesson 6's explorer is lesson 4's).
EXPLORER_LESSONS = _first_per_explorer(LESSONS)
SHOWN_LESSONS = [p for p in LESSONS if p not in EXPLORER_LESSONS]


def may_raise(cell: dict) -> bool:
    return "raises-exception" in cell.get("metadata", {}).get("tags", [])


def assert_only_local_requests(page) -> None:
    hosts = {urlparse(u).hostname for u in page.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= LOCAL_HOSTS, f"requests left 127.0.0.1: {sorted(hosts - LOCAL_HOSTS)}"


def interact(nb: NotebookPage, index: int) -> str:
    """Change a control like a student would, then press the first button, if any ("Train").

    The value changed is the first slider (nudged right), else the first dropdown with a choice
    (another option), else the first text box (another word). A value must change: explorers
    are seeded, so pressing "Train" alone redraws the same picture.
    """
    cell = nb.cell_locator(index)
    out = ".jp-OutputArea-output "
    sliders = cell.locator(out + ".noUi-handle")
    dropdowns = [d for d in cell.locator(out + "select").all() if d.locator("option").count() > 1]
    texts = cell.locator(out + "input[type=text], " + out + "textarea")
    buttons = cell.locator(out + "button.jupyter-button")
    done = []
    if sliders.count():
        sliders.first.focus()
        nb.page.keyboard.press("ArrowRight")
        done.append("moved a slider")
    elif dropdowns:
        current, n = dropdowns[0].evaluate("e => [e.selectedIndex, e.options.length]")
        dropdowns[0].select_option(index=(current + 1) % n)
        done.append(f"chose option {(current + 1) % n} of a dropdown")
    elif texts.count():
        texts.first.fill("a wonderful film , the best acting")
        texts.first.press("Enter" if texts.first.evaluate("e => e.tagName") == "INPUT" else "Tab")
        done.append("typed a new text")
    if buttons.count():
        nb.page.wait_for_timeout(300)
        buttons.first.click()
        done.append(f"clicked '{buttons.first.inner_text()}'")
    return ", ".join(done)


_JS_PATH = "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; " \
           "return w && w.context ? w.context.path : null; }"
_JS_RUN_UP_TO = """async (n) => { const app = window.jupyterapp; const p = app.shell.currentWidget;
    for (let i = 0; i <= n; i++) {
      p.content.activeCellIndex = i; await app.commands.execute('notebook:run-cell'); } }"""
FIRST_LESSON, FIRST_SET = "notebooks/01_softmax_cross_entropy.ipynb", "exercises/01_softmax_cross_entropy.ipynb"
WRONG_SOFTMAX = """def softmax(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    return E / E.sum()  # the whole batch's sum, not each row's"""


def wait_for_path(page, path: str) -> None:
    page.wait_for_function(f"() => ({_JS_PATH})() === {json.dumps(path)}", timeout=60_000, polling=250)


def test_the_readme_command_opens_lesson_1_and_the_exercises(lab_server, page, screenshot_dir):
    """The student's first minutes, with the README's command: lesson 1, no news pop-up, an
    exercise set from the file browser, a failing check's message in view, lesson → set link."""
    page.goto(lab_server.launch_url(), wait_until="domcontentloaded")
    NotebookPage.current(page)
    started = time.monotonic()
    assert page.evaluate(_JS_PATH) == FIRST_LESSON, "the README's command must open lesson 1"
    page.screenshot(path=str(screenshot_dir / "launch.png"))

    # The exercise set, through the file browser: root folder, exercises/, the notebook.
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").first.click()
    for name in ("exercises", Path(FIRST_SET).name):
        page.locator(".jp-FileBrowser .jp-DirListing-item").filter(has=page.locator(
            ".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$"))).first.dblclick()
    wait_for_path(page, FIRST_SET)
    cells = NotebookPage.current(page)
    # The news question, when asked, comes a moment (3 s) after start-up, and stays until answered.
    page.wait_for_timeout(max(0.0, 3 - (time.monotonic() - started)) * 1000)
    assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab's news pop-up is shown"

    # A student's wrong softmax, then its check cell, run with Shift+Enter as a student does.
    live = cells.cells()
    solution = next(c["index"] for c in live if c["type"] == "code" and "def softmax" in c["source"])
    check = next(c["index"] for c in live[solution + 1:] if c["type"] == "code")
    page.evaluate("""([i, src]) => window.jupyterapp.shell.currentWidget.content.widgets[i]
                     .model.sharedModel.setSource(src)""", [solution, WRONG_SOFTMAX])
    page.evaluate(_JS_RUN_UP_TO, solution)
    cells.wait_idle()
    page.evaluate("""(i) => { const nb = window.jupyterapp.shell.currentWidget.content;
                     nb.mode = 'command'; nb.activeCellIndex = i; nb.activate(); }""", check)
    page.wait_for_timeout(300)
    page.keyboard.press("Shift+Enter")
    page.wait_for_timeout(500)
    cells.wait_idle()
    text = cells.cells()[check]["text"]
    assert text.lstrip().startswith("CheckFailed [ex_softmax]"), f"the message is not first:\n{text[:500]}"
    assert "hint:" in text and "checks.py" not in text, f"traceback into course internals:\n{text}"
    box = page.evaluate("""(i) => { const c = window.jupyterapp.shell.currentWidget.content.widgets[i];
        const out = c.node.querySelector('.jp-OutputArea-output');
        if (!out) return null; const r = out.getBoundingClientRect(); return {y: r.top, height: r.height}; }""",
                        check)
    height = page.viewport_size["height"]
    page.screenshot(path=str(screenshot_dir / "exercise-message.png"))
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, \
        f"the check's message is not in view after Shift+Enter: {box}, window height {height}"

    # Lesson 1, still open in its tab, ends with a link to its exercise set; following it opens the set.
    page.evaluate("(path) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }", FIRST_LESSON)
    wait_for_path(page, FIRST_LESSON)
    NotebookPage.current(page)
    page.evaluate("""async () => { const nb = window.jupyterapp.shell.currentWidget.content;
                     const last = nb.widgets.length - 1;
                     nb.activeCellIndex = last; await nb.scrollToItem(last, 'start'); }""")
    page.wait_for_timeout(1000)
    hrefs = page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        return Array.from(nb.widgets[nb.widgets.length - 1].node.querySelectorAll('a'))
                    .map(a => a.getAttribute('href')); }""")
    assert any(h and f"/{FIRST_SET}" in h for h in hrefs), f"lesson 1's last cell links to {hrefs}"
    link = page.locator(f'.jp-MarkdownOutput a[href*="/{FIRST_SET}"]').last
    link.click()
    wait_for_path(page, FIRST_SET)
    assert_only_local_requests(page)


@pytest.fixture(scope="module")
def lesson_runs(request, browser, lab_server):
    """The explorer lessons this run selected, each run in a page of its own, two at a time: a
    kernel keeps one core busy, so the next lessons run while the tests of stored lessons look
    and while a test reads and clicks the last lesson. Gives a lesson's page once its run is over
    (and closes the pages of the lessons before it)."""
    order = [item.callspec.params["path"] for item in request.session.items
             if getattr(item, "originalname", None) == "test_lesson_runs_and_renders_in_jupyterlab"]
    started: dict[Path, NotebookPage] = {}

    def start(lessons: list[Path]) -> None:
        new = {lesson: NotebookPage(recording_page(browser), lab_server, f"notebooks/{lesson.name}", ready=False)
               for lesson in lessons if lesson not in started}
        for lesson, nb in new.items():  # the pages load and the kernels start side by side
            nb.wait_ready()
            nb.start_run_all()
            started[lesson] = nb

    def finished(path: Path) -> NotebookPage:
        at = order.index(path)
        start(order[at:at + 2])
        for lesson in order[:at]:
            if lesson in started:
                started.pop(lesson).page.context.close()
        started[path].finish_run_all()
        return started[path]

    start(order[:2])
    yield finished
    for nb in started.values():
        nb.page.context.close()


@pytest.mark.parametrize("path", SHOWN_LESSONS, ids=[p.stem for p in SHOWN_LESSONS])
@pytest.mark.usefixtures("lesson_runs")  # the first explorer lessons run meanwhile
def test_lesson_shows_its_stored_outputs_in_jupyterlab(path, lab_server, page, screenshot_dir):
    """A lesson without an explorer, opened as a student first sees it: every stored plot an
    image, no error, nothing fetched from outside (nbval runs its cells)."""
    nb = NotebookPage(page, lab_server, f"notebooks/{path.name}")
    live, stored = nb.cells(), stored_cells(path)
    assert len(live) == len(stored)
    page.screenshot(path=str(screenshot_dir / f"{path.stem}.png"), full_page=False)
    for want, got in zip(stored, live):
        if want["cell_type"] != "code":
            continue
        where = f"{path.name} cell {got['index']}: {got['source'][:60]!r}"
        assert not got["errors"], f"{where} shows an error {got['errors']}"
        if any("image/png" in o.get("data", {}) for o in want.get("outputs", [])):
            cell = nb.cell_locator(got["index"])
            cell.scroll_into_view_if_needed()  # JupyterLab renders a cell's outputs once in view
            image = cell.locator(".jp-OutputArea-output img").first
            image.wait_for(state="attached", timeout=30_000)
            assert image.evaluate("im => im.complete && im.naturalWidth > 0"), \
                f"{where}: the stored plot does not decode as an image"
    assert_only_local_requests(page)


@pytest.mark.parametrize("path", EXPLORER_LESSONS, ids=[p.stem for p in EXPLORER_LESSONS])
def test_lesson_runs_and_renders_in_jupyterlab(path, lesson_runs, screenshot_dir):
    nb = lesson_runs(path)
    page = nb.page
    live = nb.cells()
    stored = stored_cells(path)
    assert len(live) == len(stored)
    shot = screenshot_dir / f"{path.stem}.png"
    page.screenshot(path=str(shot), full_page=False)
    print(f"\nscreenshot: {shot}")

    for want, got in zip(stored, live):
        if want["cell_type"] != "code":
            continue
        where = f"{path.name} cell {got['index']}: {got['source'][:60]!r}"
        if not may_raise(want):
            assert not got["errors"], f"{where} raised {got['errors']}"
        outputs = want.get("outputs", [])
        if any("image/png" in o.get("data", {}) for o in outputs):
            assert got["images"] > 0, f"{where}: the stored notebook shows a plot, the browser none"
        if any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs):
            assert got["widgets"] > 0 and not got["widgetErrors"], f"{where}: widget did not render"

    if stored_progress_bars(path):
        assert sum(c.get("progress", 0) for c in live), f"{path.name}: no progress bar rendered"

    explorers = [c for c in live if c.get("widgets") and not c.get("progress")]
    for cell in explorers:
        before = nb.output_fingerprint(cell["index"])
        action = interact(nb, cell["index"])
        if not action:
            continue
        nb.wait_output_change(cell["index"], before)  # the redraw, however busy the machine
        page.wait_for_timeout(500)
        nb.wait_idle()
        after = nb.output_fingerprint(cell["index"])
        assert after != before, f"{path.name} cell {cell['index']}: {action}, but the output stayed the same"
        assert not nb.cells()[cell["index"]]["errors"], f"{path.name} cell {cell['index']} raised after: {action}"
        page.screenshot(path=str(screenshot_dir / f"{path.stem}-widget{cell['index']}.png"))
        print(f"{path.name} cell {cell['index']}: {action} -> output changed")
    assert_only_local_requests(page)


@pytest.mark.skipif(not EXERCISES, reason="no exercise notebooks generated yet")
def test_untouched_exercise_shows_what_to_do(lab_server, page, screenshot_dir):
    path = EXERCISES[0]
    nb = NotebookPage(page, lab_server, f"exercises/{path.name}")
    # Run every cell, not run-all: JupyterLab stops run-all at the first error.
    page.evaluate("""async () => { const app = window.jupyterapp; const p = app.shell.currentWidget;
        for (let i = 0; i < p.content.widgets.length; i++) {
          p.content.activeCellIndex = i; await app.commands.execute('notebook:run-cell'); } }""")
    page.wait_for_timeout(1000)
    live = nb.cells()
    page.screenshot(path=str(screenshot_dir / f"exercise-{path.stem}.png"))
    graded = [(c, meta) for c, meta in zip(live, (c.get("metadata", {}).get("nbgrader", {})
                                                   for c in stored_cells(path)))
              if meta.get("grade") and not meta.get("solution")]
    assert graded, f"{path.name} has no graded check cells"
    for cell, meta in graded:
        assert cell["errors"], f"check {meta['grade_id']} passed on an untouched exercise"
        assert any(e.startswith(("NotImplementedError", "CheckFailed", "AssertionError"))
                   for e in cell["errors"]), f"check {meta['grade_id']}: unreadable {cell['errors']}"
    unsolved = [c for c, _ in graded if any(e.startswith("NotImplementedError") for e in c["errors"])]
    assert unsolved, "no check met a stub"
    for cell in unsolved:  # one line saying what to do, no traceback
        assert cell["text"].strip().startswith("Not solved yet"), cell["text"][:500]
        assert "Traceback" not in cell["text"] and "File " not in cell["text"], cell["text"][:500]
    assert_only_local_requests(page)


HOSTILE_NAME = "[click](javascript:alert(1))![x](http:127.0.0.1:9)"


@pytest.fixture(scope="module")
def feedback(tmp_path_factory) -> Path:
    """The feedback folder of one grade run of set 01 with two students: student_01, who sums
    instead of averaging, and an untouched copy under a name written as Markdown (a javascript:
    link, a remote image)."""
    import shutil

    from course_lib.__main__ import main
    from tests.hostile.classroom import write_class

    root = tmp_path_factory.mktemp("feedback")
    write_class(root / "class", 3)  # student_01 sums instead of averaging, student_02 is untouched
    shutil.move(root / "class" / "student_02.ipynb", root / "class" / f"{HOSTILE_NAME}.ipynb")
    source = REPO / "solutions" / "01_softmax_cross_entropy.ipynb"
    assert main(["grade", "--source", str(source), "--jobs", "2", "--feedback", str(root / "fb"),
                 str(root / "class" / "student_01.ipynb"), str(root / "class" / f"{HOSTILE_NAME}.ipynb")]) == 0
    return root / "fb"


def test_a_feedback_page_renders_with_its_hint(browser, feedback, screenshot_dir):
    """A student's feedback page, as it opens from disk: score table, their code, the hint."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto((feedback / "student_01.html").as_uri())
        page.wait_for_load_state("load")
        assert "Autograded score: 7 / 9" in page.inner_text("body")
        hint = page.get_by_text("the loss is the mean over the batch: divide by B").first
        hint.scroll_into_view_if_needed()
        assert hint.is_visible()
        page.screenshot(path=str(screenshot_dir / "feedback-student_01.png"))
    finally:
        page.close()
    assert all(urlparse(u).scheme in ("file", "data", "about") for u in requests
               if urlparse(u).hostname not in LOCAL_HOSTS), "the page must open offline"


def test_a_hostile_file_name_stays_text_on_its_feedback_page(browser, feedback):
    """A name written as Markdown (a javascript: link, a remote image) shows as its characters,
    links nowhere, loads nothing; the page's Content-Security-Policy forbids loading anything."""
    pages = [p for p in feedback.glob("*.html") if p.name != "student_01.html"]
    assert len(pages) == 1
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(pages[0].as_uri())
        page.wait_for_load_state("load")
        assert HOSTILE_NAME in page.inner_text("body")
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("img[src^='http']").count() == 0
        policy = page.locator("meta[http-equiv='Content-Security-Policy']").get_attribute("content")
        assert "default-src 'none'" in policy
    finally:
        page.close()
    assert [u for u in requests if urlparse(u).scheme not in ("file", "data", "about")] == []
