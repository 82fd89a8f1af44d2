"""Feedback for one student: the graded notebook as a self-contained HTML page, via nbconvert.

The page opens with the score, per exercise and in total, then shows every cell as it ran: the
student's own cells with their output and errors, and each test cell as the student's copy shows
it (hidden tests never appear), followed by its result and, for a failed or timed-out test, the
whole message (the course's checks put the exercise, expected vs got and the hint in it).

Everything the student's code produced (output, messages) goes into the page as cell outputs,
which nbconvert escapes; only text the grader wrote itself (grade_ids, points) is Markdown.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .assemble import Plan, Step
from .report import SubmissionReport
from .sandbox import Reply

STATUS_WORDS = {"passed": "passed", "partial": "partial credit", "failed": "failed",
                "error": "could not be judged", "timeout": "timed out", "not-run": "not run",
                "manual": "graded by hand"}


def _points(x: float | None) -> str:
    return "–" if x is None else f"{x:g}"


def _summary(report: SubmissionReport, title: str) -> str:
    lines = [f"# Feedback: {html.escape(title)}", "",
             f"**Autograded score: {_points(report.score)} / {_points(report.max_score)}**"
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


def feedback_notebook(plan: Plan, report: SubmissionReport, trace: list[tuple[Step, Reply | None]],
                      title: str) -> nbformat.NotebookNode:
    """The notebook the feedback page is rendered from."""
    results = {t.grade_id: t for t in report.tests}
    cells = [new_markdown_cell(_summary(report, title))]
    for step, reply in trace:
        code = plan.stubs.get(step.grade_id, step.code) if step.kind == "instructor" else step.code
        cells.append(new_code_cell(code, outputs=_outputs(step, reply)))
        result = results.get(step.grade_id) if step.kind == "instructor" else None
        if result is not None and result.status != "manual":
            cells.append(new_markdown_cell(
                f"**`{result.grade_id}`: {_points(result.points)} / {_points(result.max_points)} "
                f"points, {STATUS_WORDS.get(result.status, result.status)}**"))
            if result.status != "passed" and result.message:
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


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
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
{body}
</body></html>
"""


def render_page(nb: nbformat.NotebookNode, title: str) -> str:
    """A self-contained page (no scripts, nothing fetched): nbconvert's ``basic`` body, small CSS."""
    from nbconvert import HTMLExporter
    from pygments.formatters import HtmlFormatter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    return _PAGE.format(title=html.escape(title), body=body,
                        highlight=HtmlFormatter().get_style_defs(".highlight"))


def feedback_page(plan: Plan, report: SubmissionReport, trace: list[tuple[Step, Reply | None]],
                  student: str) -> str:
    """The feedback page of ``student`` as self-contained HTML."""
    title = f"{student}, {Path(plan.path).stem}"
    return render_page(feedback_notebook(plan, report, trace, title), f"Feedback: {title}")


def page_path(folder: Path, student: str) -> Path:
    """Where ``student``'s page goes: ``folder/<student>.html``, characters other than letters,
    digits and ``.-_`` in the name replaced by ``_``."""
    name = re.sub(r"[^\w.-]", "_", student).lstrip(".") or "student"
    return Path(folder) / f"{name}.html"


def write_page(folder: Path, student: str, page: str) -> Path:
    """Write ``page`` to :func:`page_path` atomically and return that path."""
    target = page_path(folder, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
