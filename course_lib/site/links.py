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


# MathJax's delimiters (page.html.j2): $$…$$, \[…\], $…$, \(…\); \$ is a dollar sign.
_MATH = re.compile(r"(?<!\\)\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)",
                   re.S)
_TEX_SYMBOLS = {
    "partial": "∂", "nabla": "∇", "sum": " Σ", "prod": " Π", "cdot": "·", "times": "×",
    "odot": "⊙", "pm": "±", "ldots": "…", "dots": "…", "cdots": "…", "infty": "∞", "sqrt": "√",
    "ell": "ℓ", "in": " ∈ ", "le": " ≤ ", "leq": " ≤ ", "ge": " ≥ ", "geq": " ≥ ", "neq": " ≠ ",
    "approx": " ≈ ", "sim": " ~ ", "propto": " ∝ ", "to": " → ", "rightarrow": " → ",
    "xrightarrow": " → ", "leftarrow": " ← ", "mapsto": " ↦ ",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Pi": "Π", "Sigma": "Σ",
    "Phi": "Φ", "Omega": "Ω"}
# Commands that only size, space or decorate: dropped, their argument kept.
_TEX_DROPPED = {"left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
                "limits", "quad", "qquad", "hat", "tilde", "bar", "vec", "overline", "underbrace",
                "overbrace", "mathbb", "mathbf", "mathrm", "mathit", "mathcal", "boldsymbol",
                "operatorname", "text", "textrm", "tag", "label", "nonumber", "boxed"}


def tex_as_text(tex: str) -> str:
    """TeX as a search result shows it, in plain characters: ``\\frac{\\partial L}{\\partial z}``
    becomes ``∂L/∂z``, ``W^\\top`` becomes ``Wᵀ``, ``n_\\text{in}`` becomes ``n_in``."""
    t = re.sub(r"\\begin\{[^{}]*\}|\\end\{[^{}]*\}|&", " ", tex).replace("\\\\", "; ")
    t = re.sub(r"\^\s*\{?\\top\}?", "ᵀ", t)
    t = re.sub(r"\\([{}$%#_])", lambda m: {"{": "\x00", "}": "\x01"}.get(m.group(1), m.group(1)), t)
    t = re.sub(r"\\!", "", re.sub(r"\\[,;: ]", " ", t))
    t = re.sub(r"\\[dt]?frac\s*", "\x02", t)
    # a symbol takes the space after it (\\partial L: ∂L); a name keeps it (\\log x: log x)
    t = re.sub(r"\\([A-Za-z]+)(\s*)", lambda m: "" if m[1] in _TEX_DROPPED else
               _TEX_SYMBOLS[m[1]] if m[1] in _TEX_SYMBOLS else m[1] + m[2], t)
    for _ in range(5):  # innermost first: frac{a}{b} → a/b, x_{ij} → x_ij
        t = re.sub(r"\x02\{([^{}]*)\}\s*\{([^{}]*)\}",
                   lambda m: f" {_group(m[1])}/{_group(m[2])} ", t)
        t = re.sub(r"([_^])\s*\{([^{}]*)\}", lambda m: m[1] + _group(m[2]), t)
    t = re.sub(r"[{}\x02]", "", t)
    return " ".join(t.replace("\x00", "{").replace("\x01", "}").split())


def _group(term: str) -> str:
    """``term`` as a fraction's side or an index: in parentheses when it holds a space, + or -."""
    term = term.strip()
    return f"({term})" if re.search(r"[\s+\-]", re.sub(r"\([^()]*\)", "", term)) else term


def _plain_math(body: str) -> str:
    """``body`` with the math of its text (not of its code, nor inside its tags) as plain text."""
    out, in_code = [], 0
    for piece in re.split(r"(<[^>]*>)", body):
        if piece.startswith("<"):
            if re.match(r"</?(code|pre)\b", piece):
                in_code += -1 if piece.startswith("</") else 1
        elif not in_code:
            piece = _MATH.sub(lambda m: " " + html.escape(tex_as_text(html.unescape(
                next(g for g in m.groups() if g is not None)))) + " ", piece).replace("\\$", "$")
        out.append(piece)
    return "".join(out)


def page_text_sections(body: str) -> list[tuple[str, str, str]]:
    """``(id, heading, text)`` for each section of a page body (split at h1–h3 headings that carry
    an id; the text before the first has id and heading ""), tags dropped, math as plain text
    (:func:`tex_as_text`), whitespace squeezed."""
    body = re.sub(r"<(script|style)\b.*?</\1>|<a class=\"anchor-link\"[^>]*>.*?</a>", "", body, flags=re.S)
    body = _plain_math(body)
    parts = re.split(r'<h[1-3] id="([^"]*)">(.*?)</h[1-3]>', body, flags=re.S)
    sections = [("", "", parts[0])] + [tuple(parts[i:i + 3]) for i in range(1, len(parts), 3)]
    out = []
    for anchor, heading, text in sections:
        heading, text = (re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", x))).strip()
                         for x in (heading, text))
        if heading or text:
            out.append((html.unescape(anchor), heading, text[:SECTION_TEXT]))
    return out
