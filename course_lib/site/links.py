"""Reading built pages: every link and image must land on something (:func:`check_site`), and the
text of each section feeds the search index (:func:`page_text_sections`)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class SiteError(Exception):
    """The site cannot be built as asked; the message says what to change."""


_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=<>/\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*/?>")
_ATTR = re.compile(r"""([^\s=<>/"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")


@dataclass
class _Page:
    """The ids a page defines and the links (``href``) and resources (``src``) it uses."""
    ids: set[str]
    refs: list[tuple[str, str, str]]  # (tag, attribute, value)

    @classmethod
    def read(cls, text: str) -> "_Page":
        page = cls(set(), [])
        for tag in _TAG.finditer(text):
            for name, value in _ATTR.findall(tag.group(2) or ""):
                value = html.unescape(value[1:-1] if value[:1] in "\"'" else value)
                name = name.lower()
                if name in ("id", "name") and value:
                    page.ids.add(value)
                elif name in ("href", "src"):
                    page.refs.append((tag.group(1).lower(), name, value))
        return page


def check_site(root: Path) -> None:
    """Raise :class:`SiteError` listing every broken reference in the HTML pages under ``root``:
    a relative link or image whose file is not in the site, a ``#fragment`` the target page does
    not define, a resource (``src``, a stylesheet) from the network, a ``javascript:`` link."""
    pages = {file.resolve(): _Page.read(file.read_text(encoding="utf-8")) for file in sorted(root.rglob("*.html"))}
    broken = []
    for file, parsed in pages.items():
        for tag, attr, value in parsed.refs:
            problem = _problem(root.resolve(), file, tag, attr, value, pages)
            if problem:
                broken.append(f"{file.relative_to(root.resolve())}: {attr}={value!r}: {problem}")
    if broken:
        raise SiteError(f"{len(broken)} broken reference(s) in the site:\n  " + "\n  ".join(broken))


def _problem(root: Path, file: Path, tag: str, attr: str, value: str, pages: dict[Path, _Page]) -> str | None:
    url = urlsplit(value)
    if url.scheme in ("http", "https", "mailto"):
        loads = attr == "src" or tag == "link"
        return "a page may link to the network but never load from it" if loads else None
    if url.scheme == "data":
        return None
    if url.scheme:
        return f"'{url.scheme}:' links are not allowed"
    target = (file.parent / unquote(url.path)).resolve() if url.path else file
    if root not in target.parents and target != root:
        return "points outside the site"
    if not target.is_file():
        return "no such file in the site"
    ids = pages[target].ids if target.suffix == ".html" else None
    if url.fragment and ids is not None and not {url.fragment, unquote(url.fragment)} & ids:
        return f"{target.relative_to(root)} has no element with id {unquote(url.fragment)!r}"
    return None


SECTION_TEXT = 4000  # characters of a section the search index keeps


def page_text_sections(body: str) -> list[tuple[str, str, str]]:
    """``(id, heading, text)`` for each section of a page body (split at h1–h3 headings that carry
    an id; the text before the first has id and heading ""), tags dropped, whitespace squeezed."""
    body = re.sub(r"<(script|style)\b.*?</\1>|<a class=\"anchor-link\"[^>]*>.*?</a>", "", body, flags=re.S)
    parts = re.split(r'<h[1-3] id="([^"]*)">(.*?)</h[1-3]>', body, flags=re.S)
    sections = [("", "", parts[0])] + [tuple(parts[i:i + 3]) for i in range(1, len(parts), 3)]
    out = []
    for anchor, heading, text in sections:
        heading, text = (re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", x))).strip()
                         for x in (heading, text))
        if heading or text:
            out.append((html.unescape(anchor), heading, text[:SECTION_TEXT]))
    return out
