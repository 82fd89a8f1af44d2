"""The course as a website (`python -m course_lib site DEST`): what it holds, what it never holds,
and the build's refusals. The browser opens it in tests/e2e/test_site.py."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.__main__ import main
from course_lib.site import SiteError, build_site
from course_lib.site.links import page_text_sections, tex_as_text

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_lesson_has_a_page_linking_its_notebook_and_exercise_set(built_site):
    for lesson in LESSONS:
        page = (built_site / "lessons" / f"{lesson.stem}.html").read_text()
        exercise = next((REPO / "exercises").glob(f"{lesson.name[:2]}_*.ipynb"))
        assert f'href="../notebooks/{lesson.name}"' in page
        assert f'href="../exercises/{exercise.name}"' in page
        assert (built_site / "notebooks" / lesson.name).read_bytes() == lesson.read_bytes()
        assert (built_site / "exercises" / exercise.name).read_bytes() == exercise.read_bytes()


def test_the_site_never_holds_solutions_or_hidden_tests(built_site):
    solutions = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (REPO / "solutions").glob("*.ipynb")}
    assert not solutions & set(tree(built_site).values())
    for exercise in (built_site / "exercises").glob("*.ipynb"):
        text = exercise.read_text()
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text, exercise.name


def test_the_readme_pages_keep_its_sections_and_links(built_site):
    index = (built_site / "index.html").read_text()
    # the lessons table links each lesson; the README's link into CONTRIBUTING.md keeps its anchor
    assert '<a href="lessons/01_softmax_cross_entropy.html"><code>01_softmax_cross_entropy</code></a>' in index
    assert 'href="contributing.html#map-lesson--module--exercise-set"' in index
    assert 'id="map-lesson--module--exercise-set"' in (built_site / "contributing.html").read_text()
    assert "Where this course comes from" in (built_site / "reports.html").read_text()
    assert "The week, one command a step" in (built_site / "instructors.html").read_text()


def test_explorers_show_their_stored_settings_and_picture(built_site):
    page = (built_site / "lessons" / "01_softmax_cross_entropy.html").read_text()
    note = page.index('class="explorer-note"')
    assert "o_0 = 2.0" in page[note:note + 400] and "Run this lesson in JupyterLab" in page[note:note + 600]
    assert "<img" in page[note:note + 1500], "the explorer's stored picture follows its note"
    for html in built_site.rglob("*.html"):
        text = html.read_text()
        assert "widget-state+json" not in text and "widget-view+json" not in text, html.name
        assert not re.search(r"""<(script|img|link|iframe)[^>]*(src|href)=["']https?:""", text), html.name
    assert (built_site / "_static" / "mathjax" / "tex-svg.js").stat().st_size > 1_000_000


def test_figures_are_files_named_by_their_content(built_site):
    images = list((built_site / "_images").glob("*.png"))
    assert images
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.stem == hashlib.sha256(image.read_bytes()).hexdigest()[:20]
    stored = sum(1 for p in LESSONS for c in nbformat.read(p, 4).cells
                 for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    shown = sum(len(re.findall(r'<img [^>]*src="../_images/', (built_site / "lessons" / f"{p.stem}.html").read_text()))
                for p in LESSONS)
    assert shown == stored


def test_the_search_index_covers_every_lesson_section(built_site):
    raw = (built_site / "_static" / "search-index.js").read_text()
    index = json.loads(raw.removeprefix("window.COURSE_SEARCH = ").rstrip().rstrip(";"))
    lesson_1 = [s for s in index if s["page"] == "lessons/01_softmax_cross_entropy.html"]
    assert any("Jacobian" in s["heading"] for s in lesson_1)
    assert {s["page"] for s in index} >= {f"lessons/{p.stem}.html" for p in LESSONS}


    jacobian = next(s for s in lesson_1 if "Jacobian" in s["heading"])
    assert "∂" in jacobian["text"] and "\\frac" not in jacobian["text"], "math as plain text"


@pytest.mark.parametrize("tex, text", [
    (r"\frac{\partial L}{\partial z}", "∂L/∂z"), (r"W^\top", "Wᵀ"), (r"W^{\top}", "Wᵀ"),
    (r"(n_\text{in}, n_\text{out})", "(n_in, n_out)"),
    (r"y = \mathrm{softmax}(o)", "y = softmax(o)"),
    (r"c \in \{0, \dots, C-1\}", "c ∈ {0, …, C-1}"), (r"\frac{1}{B}\sum_b x_b", "1/B Σ_b x_b"),
    (r"\frac{\partial \ell}{\partial W_{ij}}", "∂ℓ/∂W_ij"), (r"\log x", "log x"),
    (r"h_t = \tanh\!\big(x_t W_{ih}^\top + h_{t-1} W_{hh}^\top\big)",
     "h_t = tanh(x_t W_ihᵀ + h_(t-1) W_hhᵀ)"),
    (r"\frac{e^{o_i}}{\sum_j e^{o_j}}", "e^o_i/(Σ_j e^o_j)"),
    (r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "a = b ; c = d"),
])
def test_math_reads_as_plain_text_in_search_results(tex, text):
    assert tex_as_text(tex) == text


def test_only_the_math_of_text_is_rewritten_not_code_nor_tags():
    body = ('<h2 id="The-$J$">The $J$</h2><p>costs \\$5, $x^2$ and $$\\frac{a}{b}$$</p>'
            '<pre>echo $HOME $x$</pre><p><code>$y$</code> and \\(z_{t}\\)</p>')
    [(anchor, heading, text)] = page_text_sections(body)
    assert anchor == "The-$J$" and heading == "The J"
    assert text == "costs $5, x^2 and a/b echo $HOME $x$ $y$ and z_t"


def test_building_twice_gives_the_same_files(built_site, tmp_path):
    build_site(tmp_path / "again")
    assert tree(tmp_path / "again") == tree(built_site)


@pytest.fixture
def small_course(tmp_path) -> Path:
    """The course with lesson 1 only: README, CONTRIBUTING, one lesson and its exercise set."""
    repo = tmp_path / "course"
    for name in ("README.md", "CONTRIBUTING.md", "notebooks/01_softmax_cross_entropy.ipynb",
                 "exercises/01_softmax_cross_entropy.ipynb"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, repo / name)
    return repo


def add_markdown(notebook: Path, text: str) -> None:
    nb = nbformat.read(notebook, 4)
    nb.cells.append(nbformat.v4.new_markdown_cell(text))
    nbformat.write(nb, notebook)


@pytest.mark.parametrize("markdown, named", [
    ("See [lesson 11](11_missing.ipynb).", "11_missing.ipynb"),
    ("![the loss](figures/loss.png)", "figures/loss.png"),
    ("Back to [section 9](#9.-No-such-section).", "9.-No-such-section"),
])
def test_a_broken_link_or_missing_image_fails_the_build_and_keeps_the_old_site(small_course, tmp_path,
                                                                                 markdown, named):
    dest = tmp_path / "site"
    build_site(dest, small_course)
    before = tree(dest)
    add_markdown(small_course / "notebooks" / "01_softmax_cross_entropy.ipynb", markdown)
    with pytest.raises(SiteError, match=re.escape(named)):
        build_site(dest, small_course)
    assert tree(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course", "site"], "no half-built folder left"


def test_a_readme_section_on_no_page_fails_the_build(small_course, tmp_path):
    readme = small_course / "README.md"
    readme.write_text(readme.read_text() + "\n## Office hours\n\nTuesdays.\n")
    with pytest.raises(SiteError, match="Office hours"):
        build_site(tmp_path / "site", small_course)


def test_a_folder_that_is_not_a_site_is_never_replaced(tmp_path, capsys):
    thesis = tmp_path / "mine" / "thesis.tex"
    thesis.parent.mkdir()
    thesis.write_text("three years of work")
    assert main(["site", str(thesis.parent)]) == 1
    assert "not a site built by" in capsys.readouterr().err
    assert thesis.read_text() == "three years of work"
    assert main(["site", str(thesis)]) == 1
    assert "is a file" in capsys.readouterr().err
