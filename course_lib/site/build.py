"""Build the site: course pages from the README, lesson pages from the notebooks (see the package's
docstring for what lands where)."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

import nbformat

from ..templates import exporter_options
from .links import SiteError, check_site, page_text_sections

REPO = Path(__file__).resolve().parents[2]
MARKER = ".course-site"  # in every built site: the one kind of folder `site` will replace
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/svg+xml": ".svg"}


@dataclass(frozen=True)
class CoursePage:
    """A page made of ``sections`` of the README (its ``## `` headings; "" is the text above the
    first), or, with no sections, of the whole of ``source``."""
    file: str
    title: str
    source: str
    sections: tuple[str, ...]


COURSE_PAGES = (
    CoursePage("index.html", "backprop-course", "README.md", ("", "The lessons")),
    CoursePage("install.html", "Install and run", "README.md",
               ("For students", "Data", "Running the tests", "Layout")),
    CoursePage("reports.html", "Reports A–E", "README.md", ("Where this course comes from: reports A–E",)),
    CoursePage("instructors.html", "For instructors", "README.md",
               ("For instructors", "Grading: what is guaranteed",
                "Grading a big class: interrupted runs, and a Dask cluster")),
    CoursePage("results.html", "Results", "README.md", ("Results and performance",)),
    CoursePage("contributing.html", "Map and notation", "CONTRIBUTING.md", ()),
)
NAV = [("index.html", "Home"), ("index.html#the-lessons", "Lessons"), ("install.html", "Install"),
       ("reports.html", "Reports A–E"), ("instructors.html", "Instructors"),
       ("results.html", "Results"), ("contributing.html", "Notation")]


@dataclass(frozen=True)
class Lesson:
    path: Path          # notebooks/NN_name.ipynb
    exercise: Path      # exercises/NN_*.ipynb
    number: int
    title: str

    @property
    def page(self) -> str:
        return f"lessons/{self.path.stem}.html"


def build_site(dest: str | Path, repo: str | Path = REPO) -> list[str]:
    """Build the site of the course in ``repo`` into ``dest``; returns the pages written.

    Raises :class:`SiteError` (and leaves ``dest`` as it was) when ``dest`` is a folder this
    command did not build, or when the site would have a broken link or image."""
    repo, dest = Path(repo).resolve(), Path(dest).resolve()
    _refuse_foreign(dest)
    staging = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        pages = _write_site(repo, staging)
        check_site(staging)
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            dest.rename(old)
        staging.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return pages


def _refuse_foreign(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise SiteError(f"{dest} is a file, not a folder: choose a new or empty folder for the site")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise SiteError(f"{dest} holds files that are not a site built by `python -m course_lib site`; "
                        "choose a new or empty folder (nothing was changed)")


def lessons_of(repo: Path) -> list[Lesson]:
    """The lesson notebooks in order, each with its exercise set (same number) and title."""
    lessons = []
    for path in sorted((repo / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        number = path.name[:2]
        sets = sorted((repo / "exercises").glob(f"{number}_*.ipynb"))
        if len(sets) != 1:
            raise SiteError(f"lesson {path.name} needs exactly one exercise set exercises/{number}_*.ipynb, "
                            f"found {len(sets)} (run `python -m course_lib build-exercises`)")
        nb = nbformat.read(path, as_version=4)
        first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
        title = re.search(r"^#\s+(.+)$", first, re.M)
        if not title:
            raise SiteError(f"{path.name}: its first Markdown cell has no '# title' line")
        lessons.append(Lesson(path, sets[0], int(number), title.group(1).strip()))
    if not lessons:
        raise SiteError(f"no lesson notebooks in {repo / 'notebooks'}")
    return lessons


def _write_site(repo: Path, out: Path) -> list[str]:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    out.mkdir(parents=True)
    (out / MARKER).write_text("Built by `python -m course_lib site`; safe to delete or rebuild.\n")
    lessons = lessons_of(repo)
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2"]),
                      keep_trailing_newline=True)
    template = env.get_template("page.html.j2")
    renderer = _Renderer(repo, out, lessons)
    pages: dict[str, tuple[str, str]] = {}  # file -> (title, body)
    for page in COURSE_PAGES:
        pages[page.file] = (page.title, renderer.course_page(page))
    for lesson in lessons:
        pages[lesson.page] = (lesson.title, renderer.lesson_body(lesson))
    pages["search.html"] = ("Search", '<h1 id="search">Search</h1>\n<div id="search-results"></div>\n')

    for file, (title, body) in pages.items():
        lesson = next((x for x in lessons if x.page == file), None)
        root = "../" * file.count("/")
        context = dict(title=title, body=body, root=root, nav=NAV, current=file,
                       search=file == "search.html", lesson=lesson and _lesson_bar(lesson, lessons))
        (out / file).parent.mkdir(parents=True, exist_ok=True)
        (out / file).write_text(template.render(**context), encoding="utf-8")

    for folder, files in (("notebooks", [x.path for x in lessons]), ("exercises", [x.exercise for x in lessons])):
        (out / folder).mkdir(exist_ok=True)
        for f in files:
            shutil.copyfile(f, out / folder / f.name)
    _write_static(out, pages)
    return sorted(pages)


def _lesson_bar(lesson: Lesson, lessons: list[Lesson]) -> dict:
    i = lessons.index(lesson)
    near = {"prev": lessons[i - 1] if i > 0 else None, "next": lessons[i + 1] if i + 1 < len(lessons) else None}
    return {"number": lesson.number, "count": len(lessons),
            "notebook": f"../notebooks/{lesson.path.name}", "exercise": f"../exercises/{lesson.exercise.name}",
            **{k: v and {"href": Path(v.page).name, "title": v.title} for k, v in near.items()}}


def _write_static(out: Path, pages: dict[str, tuple[str, str]]) -> None:
    from pygments.formatters import HtmlFormatter

    static = out / "_static"
    static.mkdir(exist_ok=True)
    here = Path(__file__).parent
    for name in ("course.css", "course.js"):
        shutil.copyfile(here / name, static / name)
    (static / "pygments.css").write_text(HtmlFormatter(style="default").get_style_defs(".highlight") + "\n")
    index = [{"page": file, "title": title, "id": anchor, "heading": heading, "text": text}
             for file, (title, body) in pages.items() if file != "search.html"
             for anchor, heading, text in page_text_sections(body)]
    (static / "search-index.js").write_text(
        "window.COURSE_SEARCH = " + json.dumps(index, ensure_ascii=False, indent=0) + ";\n", encoding="utf-8")
    _copy_mathjax(static / "mathjax")


def _copy_mathjax(target: Path) -> None:
    """MathJax 3's TeX-to-SVG bundle (one file, fonts inside) and the TeX extensions it loads on
    demand, from the ``django-static-mathjax`` package (``pip install -e .[site]``)."""
    try:
        es5 = Path(str(resources.files("mathjax") / "static" / "mathjax" / "es5"))
    except ModuleNotFoundError:
        es5 = None
    if es5 is None or not (es5 / "tex-svg.js").is_file():
        raise SiteError("MathJax is missing: the site needs the 'site' extra, "
                        "`python -m pip install -e \".[site]\"` (MathJax 3 from PyPI; no CDN is used)")
    target.mkdir(parents=True)
    shutil.copyfile(es5 / "tex-svg.js", target / "tex-svg.js")
    shutil.copytree(es5 / "input" / "tex" / "extensions", target / "input" / "tex" / "extensions")
    shutil.copyfile(es5.parent / "LICENSE", target / "LICENSE")


# ---------------------------------------------------------------------------------------------
class _Renderer:
    """Markdown and notebooks to page bodies, with links and images mapped onto the site."""

    def __init__(self, repo: Path, out: Path, lessons: list[Lesson]):
        self.repo, self.out, self.lessons = repo, out, lessons
        self.exporter = _cells_exporter()
        self.readme_sections = _sections((repo / "README.md").read_text(encoding="utf-8"))
        placed = [s for p in COURSE_PAGES if p.source == "README.md" for s in p.sections]
        unplaced = [s for s in self.readme_sections if s not in placed]
        if unplaced:
            raise SiteError(f"README section(s) {unplaced} are on no page of the site: "
                            "add them to COURSE_PAGES in course_lib/site/build.py")
        missing = [s for s in placed if s not in self.readme_sections]
        if missing:
            raise SiteError(f"COURSE_PAGES names README section(s) {missing} that the README no longer has")
        # where each repository file lives on the site
        self.site_path = {"README.md": "index.html", "CONTRIBUTING.md": "contributing.html"}
        for lesson in lessons:
            self.site_path[f"notebooks/{lesson.path.name}"] = lesson.page
            self.site_path[f"exercises/{lesson.exercise.name}"] = f"exercises/{lesson.exercise.name}"
        self.readme_anchor_page = {_slug(heading): page.file for page in COURSE_PAGES if page.source == "README.md"
                                   for section in page.sections
                                   for heading in _headings(self.readme_sections[section])}

    # -- course pages -------------------------------------------------------------------------
    def course_page(self, page: CoursePage) -> str:
        if page.source == "README.md":
            text = "\n\n".join(self.readme_sections[s] for s in page.sections)
        else:
            text = (self.repo / page.source).read_text(encoding="utf-8")
        body = self._links(self._markdown(text, github_ids=True), page.source, page.file)
        lesson_of = {x.path.stem: x for x in self.lessons}  # `01_softmax_cross_entropy` -> its page
        return re.sub(r"<code>(\d\d_\w+)</code>",
                      lambda m: (f'<a href="{_relative(lesson_of[m.group(1)].page, page.file)}">{m.group(0)}</a>'
                                 if m.group(1) in lesson_of else m.group(0)), body)

    def _markdown(self, text: str, github_ids: bool) -> str:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text, id="page")])  # fixed id: same bytes
        body = self._export(nb)
        return _github_heading_ids(body) if github_ids else body

    # -- lessons ------------------------------------------------------------------------------
    def lesson_body(self, lesson: Lesson) -> str:
        nb = nbformat.read(lesson.path, as_version=4)
        widgets = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                self._static_output(output, widgets, lesson)
        return self._links(self._export(nb), f"notebooks/{lesson.path.name}", lesson.page)

    def _static_output(self, output: dict, widgets: dict, lesson: Lesson) -> None:
        data = output.get("data", {})
        if WIDGET_VIEW in data:
            model = data[WIDGET_VIEW].get("model_id", "")
            output["data"] = {"text/html": _widget_html(model, widgets)}
            output["metadata"] = {}
            return
        for mime, suffix in IMAGE_TYPES.items():
            if mime in data:
                raw = data[mime]
                raw = "".join(raw) if isinstance(raw, list) else raw
                content = raw.encode() if mime == "image/svg+xml" else base64.b64decode(raw)
                metadata = output.setdefault("metadata", {})
                metadata.setdefault("filenames", {})[mime] = "../" + self._write_image(content, suffix)
                metadata.setdefault("alt", f"Figure made by the code above (lesson {lesson.number})")

    def _export(self, nb) -> str:
        body, _ = self.exporter.from_notebook_node(nb)
        return body

    # -- links --------------------------------------------------------------------------------
    def _links(self, body: str, source: str, page: str) -> str:
        """Rewrite relative links of ``source`` (a repository path) to where their targets live on
        the site, relative to ``page``; a link to a file the site does not hold is an error."""
        def rewrite(match: re.Match) -> str:
            attr, value = match.group(1), html.unescape(match.group(2))
            if re.match(r"^(https?:|mailto:|#|data:)", value) or value.startswith("../_images/"):
                return match.group(0)
            target, _, fragment = value.partition("#")
            repo_path = str(PurePosixPath(source).parent / target) if target else source
            repo_path = _normalise(repo_path)
            if repo_path is None:
                raise SiteError(f"{source}: link {value!r} leaves the repository")
            if attr == "src" and repo_path not in self.site_path:
                site = self._image(repo_path, source)
            elif repo_path in self.site_path:
                site = self.site_path[repo_path]
                if repo_path == "README.md" and fragment:
                    site = self.readme_anchor_page.get(fragment, site)
            else:
                raise SiteError(f"{source}: link {value!r} points at {repo_path}, which is not on the site "
                                "(link to a lesson, an exercise set, README.md or CONTRIBUTING.md, or a full URL)")
            relative = _relative(site, page) + (f"#{fragment}" if fragment else "")
            return f'{attr}="{html.escape(relative)}"'
        return re.sub(r'\b(href|src)="([^"]*)"', rewrite, body)

    def _image(self, repo_path: str, source: str) -> str:
        file = self.repo / repo_path
        if not file.is_file() or file.suffix.lower() not in {".png", ".jpg", ".jpeg", ".svg", ".gif"}:
            raise SiteError(f"{source}: image {repo_path} is missing (or is not an image)")
        return self._write_image(file.read_bytes(), file.suffix.lower())

    def _write_image(self, content: bytes, suffix: str) -> str:
        """Store an image under a name made from its content; returns its site path."""
        name = hashlib.sha256(content).hexdigest()[:20] + suffix
        (self.out / "_images").mkdir(exist_ok=True)
        (self.out / "_images" / name).write_bytes(content)
        return f"_images/{name}"


def _cells_exporter():
    """nbconvert's HTML exporter with the ``basic`` body (``cells.html.j2``), minus the
    BeautifulSoup pass HTMLExporter runs over its result (alt texts, which the build sets itself,
    and tab stops for the ``lab`` template): that pass took most of the build's time."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML

    class CellsExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            self.register_filter("highlight_code", Highlight2HTML(pygments_lexer="ipython3", parent=self))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return CellsExporter(template_name="basic", template_file="cells.html.j2",
                         **exporter_options([str(Path(__file__).parent)]))


def _sections(markdown: str) -> dict[str, str]:
    """A Markdown text's ``## `` sections by heading ("" for the text above the first; the
    title line ``# ...`` stays in it). Headings inside fenced code do not count."""
    sections, current, fenced = {"": []}, "", False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        sections[current].append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def _headings(markdown: str) -> list[str]:
    """The heading lines' text of a Markdown text (not those inside fenced code)."""
    headings, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6}\s+(.+)", line)):
            headings.append(m.group(1).strip())
    return headings


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _github_heading_ids(body: str) -> str:
    """Give headings the ids GitHub gives them (``## Map: lesson ↔ module`` → ``map-lesson--module``),
    so that links written for the repository's README work on the site."""
    seen: dict[str, int] = {}

    def slug(match: re.Match) -> str:
        level, text = match.group(1), match.group(3)
        anchor = _slug(html.unescape(re.sub(r"<[^>]+>", "", text)))
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        anchor = anchor if n == 0 else f"{anchor}-{n}"
        return (f'<h{level} id="{anchor}">{text}<a class="anchor-link" href="#{anchor}">¶</a></h{level}>')
    return re.sub(r'<h([1-6]) id="([^"]*)">(.*?)<a class="anchor-link" href="#[^"]*">(?:¶|&#182;)</a></h\1>',
                  slug, body)


def _widget_html(model_id: str, state: dict) -> str:
    """What a stored widget shows on a page without a kernel: a progress bar as it ended, or an
    explorer's controls with their stored values and where to use them."""
    models = []

    def walk(mid: str) -> None:
        model = state.get(mid)
        if model is None:
            return
        models.append(model)
        for child in model.get("state", {}).get("children", []):
            walk(str(child).removeprefix("IPY_MODEL_"))
    walk(model_id)
    names = [m.get("model_name", "") for m in models]
    texts = [re.sub(r"<[^>]+>", "", html.unescape(m["state"].get("value", "")))
             for m in models if m.get("model_name") == "HTMLModel"]
    bar = next((m["state"] for m in models if m.get("model_name") in ("FloatProgressModel", "IntProgressModel")), None)
    if bar is not None:
        label, rest = (texts + ["", ""])[:2]
        return (f'<div class="stored-progress">{html.escape(label)} <progress value="{bar.get("value", 0)}" '
                f'max="{bar.get("max", 1)}"></progress> {html.escape(rest)}</div>')
    controls = []
    for m in models:
        s = m.get("state", {})
        if not s.get("description") or m.get("model_name") in ("HTMLModel", "LabelModel", "ButtonModel"):
            continue
        value = s.get("value")
        if value is None and "index" in s and s.get("_options_labels"):
            value = s["_options_labels"][s["index"]]
        controls.append(f"{s['description']} = {value}")
    shown = f" (stored settings: {html.escape(', '.join(controls))})" if controls else ""
    kind = "explorer" if names else "widget"
    return (f'<div class="explorer-note"><strong>Interactive {kind}</strong>{shown}. Run this lesson in '
            'JupyterLab to use the explorer; the picture below is the one stored with the lesson.</div>')


def _normalise(path: str) -> str | None:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _relative(target: str, page: str) -> str:
    """``target`` (a site path) as a link from ``page`` (another site path)."""
    return "../" * page.count("/") + target
