"""Feedback for one student: the graded notebook as a self-contained HTML page, via nbconvert.

The page opens with the score, per exercise and in total, then shows every cell as it ran: the
student's own cells with their output and errors, and each test cell as the student's copy shows
it (hidden tests never appear), followed by its result and, for a failed or timed-out test, the
whole message (the course's checks put the exercise, expected vs got and the hint in it); a
passed test's message is a warning that did not count (:func:`.verdict.warning_note`).

Everything the student's code produced (output, messages) goes into the page as cell outputs,
which nbconvert escapes; only text the grader wrote itself (grade_ids, points) is Markdown. The
student's name (a file or folder name: anything) is HTML-escaped into the page's heading, never
Markdown. Every page carries a Content-Security-Policy that loads nothing from anywhere (no
scripts, no remote images or styles), and its links are limited to http(s), mailto and in-page.
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from ..templates import exporter_options
from .assemble import Plan, Step
from .report import SubmissionReport, shown
from .sandbox import Reply

STATUS_WORDS = {"passed": "passed", "partial": "partial credit", "failed": "failed",
                "error": "could not be judged", "timeout": "timed out", "not-run": "not run",
                "manual": "graded by hand"}


def _points(x: float | None) -> str:
    return "–" if x is None else f"{x:g}"


def _summary(report: SubmissionReport) -> str:
    lines = [f"**Autograded score: {_points(report.score)} / {_points(report.max_score)}**"
             + (f" (plus up to {_points(report.manual_max_score)} points graded by hand)"
                if report.manual_max_score else ""), "",
             "| exercise | points | result |", "|---|---|---|"]
    for t in report.tests:
        lines.append(f"| `{t.grade_id}` | {_points(t.points)} / {_points(t.max_points)} | "
                     f"{STATUS_WORDS.get(t.status, t.status)} |")
    if report.error:
        lines += ["", "The run stopped early; see the end of this page."]
    return "\n".join(lines)


def _outputs(step: Step, reply: Reply | None) -> list:
    if reply is None:
        return [new_output("stream", name="stderr", text="(not run)\n")]
    data, outputs = reply.data or {}, []
    if data.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=str(data["stdout"])))
    if reply.status == "ok" and data.get("result"):
        outputs.append(new_output("execute_result", data={"text/plain": str(data["result"])},
                                  execution_count=None))
    if reply.status == "error" and step.kind == "student":
        outputs.append(new_output("stream", name="stderr", text=str(data.get("traceback")
                                                                   or f"{data.get('ename')}: {data.get('evalue')}")))
    elif reply.status in ("timeout", "stuck"):
        outputs.append(new_output("stream", name="stderr", text="interrupted: the cell ran out of time\n"))
    elif reply.status in ("dead", "protocol"):
        outputs.append(new_output("stream", name="stderr", text=f"the run stopped here: {reply.why}\n"))
    return outputs


def feedback_notebook(plan: Plan, report: SubmissionReport, trace: list[tuple[Step, Reply | None]]
                      ) -> nbformat.NotebookNode:
    """The notebook the feedback page is rendered from (its heading is added by :func:`render_page`)."""
    results = {t.grade_id: t for t in report.tests}
    cells = [new_markdown_cell(_summary(report))]
    for step, reply in trace:
        code = plan.stubs.get(step.grade_id, step.code) if step.kind == "instructor" else step.code
        cells.append(new_code_cell(code, outputs=_outputs(step, reply)))
        result = results.get(step.grade_id) if step.kind == "instructor" else None
        if result is not None and result.status != "manual":
            cells.append(new_markdown_cell(
                f"**`{result.grade_id}`: {_points(result.points)} / {_points(result.max_points)} "
                f"points, {STATUS_WORDS.get(result.status, result.status)}**"))
            if result.message:  # a failure's reason, or a warning that did not count
                cells[-2].outputs.append(new_output("stream", name="stderr", text=result.message + "\n"))
    if report.error:
        cells.append(new_code_cell("# the grader", outputs=[new_output("stream", name="stderr",
                                                                        text=report.error + "\n")]))
    if report.notes:
        cells.append(new_code_cell("# notes from the grader", outputs=[new_output(
            "stream", name="stdout", text="\n".join(report.notes) + "\n")]))
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # not random: the same grading gives the same page
    return new_notebook(cells=cells)


CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
        color: #222; line-height: 1.45; }}
.prompt {{ display: none; }}
.input_area {{ background: #f6f8fa; border: 1px solid #ddd; border-radius: 4px; margin-top: 1rem; }}
pre {{ margin: 0; padding: .5rem .75rem; white-space: pre-wrap; font-size: .9rem; }}
.output_stderr {{ background: #fdecea; border-left: 4px solid #d33; }}
.output_stdout, .output_result {{ border-left: 4px solid #ccc; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .2rem .8rem; border-bottom: 1px solid #ddd; }}
.anchor-link {{ display: none; }}
{highlight}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>
"""
#: What every page starts with, up to its title: the policy comes before anything it governs.
PAGE_HEAD = _PAGE.split("<title>")[0].format(csp=CSP)


_URL_ATTR = re.compile(r"""\b(href|src|srcset|action|formaction|xlink:href|poster|data)\s*=\s*("[^"]*"|'[^']*')""", re.I)
_SAFE_URL = {"href": ("http://", "https://", "mailto:", "#"), "src": ("data:image/",)}


def _safe_link(match: re.Match) -> str:
    attr, value = match.group(1).lower(), html.unescape(match.group(2)[1:-1]).strip()
    allowed = _SAFE_URL.get(attr, ())
    return match.group(0) if allowed and value.lower().startswith(allowed) else f'{attr}="#"'


def render_page(nb: nbformat.NotebookNode, title: str) -> str:
    """A self-contained page (no scripts, nothing fetched): nbconvert's ``basic`` body, small CSS,
    ``title`` as text, links other than http(s)/mailto/in-page (and images not inline) cut."""
    from nbconvert import HTMLExporter
    from pygments.formatters import HtmlFormatter

    body, _ = HTMLExporter(template_name="basic", **exporter_options()).from_notebook_node(nb)
    return _PAGE.format(csp=CSP, title=html.escape(title), body=_URL_ATTR.sub(_safe_link, body),
                        highlight=HtmlFormatter().get_style_defs(".highlight"))


def feedback_page(plan: Plan, report: SubmissionReport, trace: list[tuple[Step, Reply | None]],
                  student: str) -> str:
    """The feedback page of ``student`` as self-contained HTML."""
    return render_page(feedback_notebook(plan, report, trace), f"Feedback: {shown(student)}, {Path(plan.path).stem}")


NAME_CHARS = 80
NO_PAGE = "no feedback page: "  # how the note of a report whose page is missing starts


def page_names(students: list[str]) -> list[str]:
    """A page file name per student, in order, all different: the name with characters other
    than letters, digits and ``.-_`` replaced by ``_``, no leading dot, at most ``NAME_CHARS``
    characters, ``.html``. A name changed by that and met twice (``.alice`` and ``alice``) gets
    a hash of the student's name added; what is still met twice (the same student twice), a
    number."""
    safe = [(re.sub(r"[^\w.-]", "_", s).lstrip(".")[:NAME_CHARS] or "student") for s in students]
    count: dict[str, int] = {}
    for name in safe:
        count[name] = count.get(name, 0) + 1
    stems = [name if count[name] == 1 or name == student else
             f"{name}-{hashlib.sha256(student.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
             for name, student in zip(safe, students)]
    names, taken = [], set()
    for stem in stems:
        name, n = f"{stem}.html", 1
        while name.lower() in taken:  # lower: a case-insensitive disk would merge them
            n += 1
            name = f"{stem}-{n}.html"
        taken.add(name.lower())
        names.append(name)
    return names


def write_page(target: Path, page: str) -> Path:
    """Write ``page`` to ``target`` atomically (text the page cannot encode, e.g. a lone
    surrogate, is written as its escape) and return ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8", errors="backslashreplace")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # after a failure: no temporary file left behind
    return target
