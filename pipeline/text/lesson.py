"""Markdown lesson -> sanitized HTML page.

Python-Markdown passes raw HTML and ``javascript:`` links through by design, and extensions such as
attr_list let an author put any attribute on any element. So nothing Markdown produces is trusted: the
whole fragment goes through nh3 with an allow-list of exactly what our extensions emit.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from dataclasses import dataclass
from html import escape, unescape
from pathlib import PurePosixPath

import markdown
import nh3
import yaml
from markdown.extensions.toc import slugify_unicode

from pipeline.errors import LessonError
from pipeline.text.page import render_page

# What our Markdown extensions generate, and nothing else. Tags not listed are dropped (their text
# kept); CLEAN_CONTENT_TAGS are dropped with everything inside them.
ALLOWED_TAGS = frozenset(
    {
        *(f"h{n}" for n in range(1, 7)),
        *("p", "br", "hr", "div", "span", "blockquote", "pre", "code", "kbd", "samp", "var"),
        *("em", "strong", "b", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup", "q", "cite"),
        *("a", "img", "figure", "figcaption", "abbr", "details", "summary"),
        *("ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
    }
)
CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "textarea"}
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "lang", "dir"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title", "width", "height"},
    "div": {"id"},
    "li": {"id"},
    "sup": {"id"},
    "abbr": {"title"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start", "reversed"},
    "details": {"open"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"

_EXTENSIONS = [
    "tables",
    "fenced_code",
    "codehilite",
    "footnotes",
    "admonition",
    "toc",
    "attr_list",
    "def_list",
    "abbr",
    "md_in_html",
    "sane_lists",
]
_EXTENSION_CONFIGS: dict[str, dict[str, object]] = {
    "codehilite": {"guess_lang": False, "css_class": "codehilite", "use_pygments": True},
    # Unicode slugs: a course in Greek or Japanese still gets readable, unique anchors.
    "toc": {"permalink": True, "slugify": slugify_unicode},
    # align="..." rather than style="text-align: ...": style attributes are not allowed through.
    "tables": {"use_align_attribute": True},
}

_FRONT_MATTER_END = ("---", "...")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_EXTERNAL = re.compile(r"[/\\]{2}")  # protocol-relative: //host/path (browsers read \ as / here)


@dataclass(frozen=True)
class RenderedLesson:
    title: str
    html: str
    body_html: str
    front_matter: dict[str, object]
    headings: list[dict[str, object]]
    word_count: int
    links: list[str]


def render_lesson(
    source: bytes,
    *,
    name: str,
    course_title: str | None = None,
    lang: str = "en",
    rewrite_url: Callable[[str], str] | None = None,
    max_bytes: int = 1_000_000,
) -> RenderedLesson:
    """Render one lesson.

    ``name`` is the lesson's path as the author knows it (``lessons/01-welcome.md``); it is only used in
    error messages and as a last-resort title. ``rewrite_url`` maps relative links (``../images/x.png``)
    to published URLs; its results are sanitized like everything else.
    """
    text = _decode(source, name=name, max_bytes=max_bytes)
    front_matter, body = _split_front_matter(text, name=name)

    # A fresh instance per document: Markdown keeps footnotes, abbreviations and toc ids between
    # convert() calls otherwise.
    md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS, output_format="html")
    md.treeprocessors.register(_TableWrapper(), "cp_tables", 0)
    raw_html = md.convert(body)
    toc_tokens: list[dict[str, object]] = getattr(md, "toc_tokens", [])

    body_html, links = _sanitize(raw_html, rewrite_url)
    headings = _flatten(toc_tokens)
    title = _title(front_matter, headings, name)

    page_body = body_html
    if not any(h["level"] == 1 for h in headings):
        page_body = f"<h1>{escape(title)}</h1>\n{body_html}"
    page = render_page(title=title, body_html=page_body, lang=lang, course_title=course_title, toc=headings)
    return RenderedLesson(
        title=title,
        html=page,
        body_html=body_html,
        front_matter=front_matter,
        headings=headings,
        word_count=len(_WORD.findall(unescape(nh3.clean(body_html, tags=set())))),
        links=links,
    )


def _cleaner(url_relative: Callable[[str], str | None] | None) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        set_tag_attribute_values={"img": {"loading": "lazy"}},
        url_relative=url_relative,
    )


def _sanitize(raw_html: str, rewrite_url: Callable[[str], str] | None) -> tuple[str, list[str]]:
    """Return the safe fragment and the relative links it contains (as the author wrote them).

    nh3 decides what counts as a URL and what is relative (after decoding entities, the way a browser
    does); its callback collects and rewrites those. Rewritten URLs come from the caller, so the result
    is cleaned a second time rather than trusted.
    """
    links: list[str] = []
    errors: list[Exception] = []

    def on_relative(url: str) -> str:
        value = url.strip()
        if not value or value.startswith("#") or _EXTERNAL.match(value):
            return url
        if value not in links:
            links.append(value)
        if rewrite_url is None:
            return value
        try:
            return rewrite_url(value)
        except Exception as exc:  # nh3 would swallow it; re-raised below with the author's context
            errors.append(exc)
            return value

    clean = _cleaner(on_relative).clean(raw_html)
    if errors:
        raise errors[0]
    if rewrite_url is not None:
        clean = _cleaner(None).clean(clean)
    return clean, links


class _TableWrapper:
    """Put each table in a scroll container, so a wide table scrolls instead of widening the page.

    A Markdown tree processor (duck-typed: Markdown has no type stubs to subclass), so the wrapper is
    part of the tree before sanitizing rather than spliced into sanitized HTML as text.
    """

    def run(self, root: etree.Element) -> None:
        # Collect first: wrapping while iterating would visit each table again inside its wrapper.
        found = [(parent, child) for parent in root.iter() for child in parent if child.tag == "table"]
        for parent, table in found:
            wrapper = etree.Element("div", {"class": "cp-table"})
            wrapper.tail, table.tail = table.tail, None
            parent.insert(list(parent).index(table), wrapper)
            parent.remove(table)
            wrapper.append(table)


def _decode(source: bytes, *, name: str, max_bytes: int) -> str:
    if len(source) > max_bytes:
        raise LessonError(
            f"{name} is {len(source):,} bytes; a lesson may be at most {max_bytes:,} bytes. "
            "Split it into several lessons, and upload images separately instead of embedding them."
        )
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        raise LessonError(
            f"{name}, line {line}: {name} is not UTF-8 text (invalid byte at offset {exc.start}); "
            "save it as UTF-8 and upload again."
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, *, name: str) -> tuple[dict[str, object], str]:
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _FRONT_MATTER_END), None)
    if end is None:
        raise LessonError(
            f"{name}, line 1: the front matter that starts with '---' is never closed; "
            "add a line containing only '---' after it."
        )
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = "" if mark is None else f", line {mark.line + 2}"  # +1 for 1-based, +1 for the '---' line
        raise LessonError(
            f"{name}{where}: the front matter is not valid YAML ({exc.problem or exc.context}); "
            "fix the lines between the two '---' lines."
        ) from exc
    except yaml.YAMLError as exc:
        raise LessonError(f"{name}: the front matter is not valid YAML ({exc}).") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LessonError(
            f"{name}, line 2: the front matter must be `key: value` lines (e.g. `title: Encoding`), "
            f"not a {type(data).__name__}."
        )
    front_matter = {str(key): _plain(value) for key, value in data.items()}
    title = front_matter.get("title")
    if "title" in front_matter and (not isinstance(title, str) or not title.strip()):
        raise LessonError(f"{name}: `title` in the front matter must be non-empty text; quote it.")
    return front_matter, "\n".join(lines[end + 1 :])


def _plain(value: object) -> object:
    """JSON-friendly copy: the front matter travels in Step Functions payloads and catalog items."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _flatten(tokens: list[dict[str, object]]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for token in tokens:
        # toc gives the heading's text HTML-escaped; keep plain text here, the page escapes it again.
        out.append({"level": token["level"], "id": token["id"], "text": unescape(str(token["name"]))})
        children = token.get("children")
        if isinstance(children, list):
            out.extend(_flatten(children))
    return out


def _title(front_matter: dict[str, object], headings: list[dict[str, object]], name: str) -> str:
    title = front_matter.get("title")
    if isinstance(title, str):
        return title.strip()
    for heading in headings:
        if heading["level"] == 1 and str(heading["text"]).strip():
            return str(heading["text"]).strip()
    stem = re.sub(r"^\d+[-_. ]*", "", PurePosixPath(name).stem)
    words = re.sub(r"[-_]+", " ", stem).strip()
    return (words[:1].upper() + words[1:]) if words else "Untitled lesson"
