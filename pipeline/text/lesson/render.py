"""Markdown lesson -> sanitized HTML fragment, with course links resolved and players embedded.

The order of a render, and the one place that turns whatever goes wrong into a ``LessonError``: decode,
split off the front matter (``front_matter.py``), check the structure (``limits.py``), convert with our
tree processors (``treeprocessors.py``) and fenced code (``pipeline/text/fences.py``), sanitize and rewrite
links (``references.py`` over ``sanitize.py``), insert players. The page around the fragment is the caller's.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from html import unescape
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode

from pipeline.errors import LessonError, LessonRenderError, PipelineError
from pipeline.text.fences import FencedCode, find_fences, markdown_lines
from pipeline.text.lesson.front_matter import (
    key_line,
    parse_chapters,
    parse_description,
    parse_duration,
    split_front_matter,
)
from pipeline.text.lesson.limits import MAX_NESTING, Locator, check_html_depth, check_structure
from pipeline.text.lesson.references import Links
from pipeline.text.lesson.treeprocessors import (
    BlankTails,
    InlineMeter,
    NodeCheck,
    SoloLinkMarker,
    TableWrapper,
)

if TYPE_CHECKING:
    import xml.etree.ElementTree as etree

    from pipeline.text.links import Resolver

# Fenced code is ours (pipeline/text/fences.py), in place of the fenced_code extension.
_EXTENSIONS = [
    "tables",
    "codehilite",
    "footnotes",
    "admonition",
    "toc",
    "attr_list",
    "def_list",
    "abbr",
    "md_in_html",
    "sane_lists",
    "smarty",
]
_EXTENSION_CONFIGS: dict[str, dict[str, object]] = {
    # Indented code (never highlighted, see render_lesson) gets the class fenced code has.
    "codehilite": {"guess_lang": False, "css_class": "codehilite", "use_pygments": False},
    # Unicode slugs: a course in Greek or Japanese still gets readable, unique anchors.
    "toc": {"permalink": True, "slugify": slugify_unicode},
    # align="..." rather than style="text-align: ...": style attributes are not allowed through.
    "tables": {"use_align_attribute": True},
}

_WORD = re.compile(r"\w+(?:['’-]\w+)*")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedLesson:
    """One lesson, ready for the caller to put in a page.

    ``body_html`` is the sanitized fragment with players inserted; it has the lesson's own h1 only if the
    author wrote one (``headings`` says). ``links`` are the relative URLs as the author wrote them;
    ``references`` the course paths of every file the resolver recognised (the caller records them, e.g.
    to re-render the lesson when one is published). ``warnings`` are for the author, one line each.
    """

    title: str
    body_html: str
    front_matter: dict[str, object]
    description: str | None
    duration_s: int | None
    headings: list[dict[str, object]]
    word_count: int
    links: list[str]
    warnings: list[str] = field(default_factory=list)
    has_player: bool = False
    references: list[str] = field(default_factory=list)


def render_lesson(
    source: bytes,
    *,
    name: str,
    resolve: Resolver | None = None,
    video: str | None = None,
    max_bytes: int = 1_000_000,
) -> RenderedLesson:
    """Render one lesson.

    ``name`` is the lesson's path as the author knows it (``lessons/01-welcome.md``); it is used in error
    messages and warnings, and as a last-resort title. ``resolve`` maps each relative URL to a course file
    (``None``: keep the URL as written). ``video`` is the lesson's ``video:`` from ``course.yaml``; its
    player goes at the top of the body, after the lesson's h1 if the body starts with one.

    Raises ``LessonError`` and nothing else (but ``MemoryError`` and what is not an ``Exception``): an
    error no check anticipated becomes a ``LessonRenderError`` naming the lesson, so a caller rendering
    a whole course fails this lesson only.
    """
    try:
        return _render(source, name=name, resolve=resolve, video=video, max_bytes=max_bytes)
    except (PipelineError, MemoryError):
        raise
    except RecursionError as exc:  # the structure checks catch the known cases; this is the backstop
        raise LessonError(
            f"{name}: the lesson is nested too deeply to render (lists, quotes, emphasis or HTML inside "
            f"each other more than {MAX_NESTING} levels); flatten it."
        ) from exc
    except Exception as exc:  # a bug, or a library's limit: this lesson fails, its course goes on
        logger.exception("rendering %s failed unexpectedly", name)
        # The exception's own text stays in the log: it may hold internals, and rarely helps an author.
        raise LessonRenderError(
            f"{name}: the lesson could not be rendered ({type(exc).__name__}, a renderer failure no check "
            "foresaw; it is logged for the maintainers). Until it is fixed, change what is unusual in the "
            "part you edited last (code block options, raw HTML, extension syntax) and upload it again."
        ) from exc


def _render(
    source: bytes, *, name: str, resolve: Resolver | None, video: str | None, max_bytes: int
) -> RenderedLesson:
    text = _decode(source, name=name, max_bytes=max_bytes)
    front_matter, body, body_line = split_front_matter(text, name=name)
    # A fresh instance per document: Markdown keeps footnotes, abbreviations and toc ids between
    # convert() calls otherwise. The nonce marks what the renderer itself puts in the HTML.
    nonce = secrets.token_hex(12)
    md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS, output_format="html")
    # The checks look at the lines Markdown will parse (tabs expanded), and find code blocks with the same
    # function that renders them: what they skip as code is code.
    lines = markdown_lines(md, body)
    fences = find_fences(lines, name=name, first_line=body_line)
    check_structure(lines, fences, name=name, first_line=body_line)
    body = "\n".join(lines)
    where = Locator(text, name)

    code = FencedCode(md, name=name, first_line=body_line)
    md.preprocessors.register(code, "fenced_code_block", 25)
    meter = InlineMeter(where)
    meter.attach(md)
    blank_tails: dict[etree.Element, str] = {}
    md.treeprocessors.register(NodeCheck(meter), "cp_node_check", 25)
    md.treeprocessors.register(BlankTails(blank_tails, stash=True), "cp_stash_tails", 6.5)
    md.treeprocessors.register(BlankTails(blank_tails, stash=False), "cp_restore_tails", 5.5)
    md.treeprocessors.register(SoloLinkMarker(nonce), "cp_solo", 4)
    md.treeprocessors.register(TableWrapper(), "cp_tables", 0)
    raw_html = md.convert(body)
    toc_tokens: list[dict[str, object]] = getattr(md, "toc_tokens", [])
    check_html_depth(raw_html, name=name)

    links = Links(resolve, nonce, name=name, where=where)
    links.chapters = parse_chapters(front_matter.get("chapters"), name=name, line=key_line(text, "chapters"))
    links.chapters_on_body_player = video is None
    body_html = links.sanitize(raw_html)
    word_count = len(_WORD.findall(unescape(nh3.clean(body_html, tags=set()))))
    body_html = links.insert_players(body_html)

    headings = _flatten(toc_tokens)
    title = _title(front_matter, headings, name)
    if video is not None:
        body_html = links.video_player(body_html, video, title=title)
    return RenderedLesson(
        title=title,
        body_html=body_html,
        front_matter=front_matter,
        description=parse_description(front_matter, name),
        duration_s=parse_duration(front_matter.get("duration"), name=name, line=key_line(text, "duration")),
        headings=headings,
        word_count=word_count,
        links=links.written,
        warnings=code.notes + links.warnings() + _unused_chapters(links, name),
        has_player=links.players > 0,
        references=links.references,
    )


def _unused_chapters(links: Links, name: str) -> list[str]:
    if links.chapters and not links.chapters_used:
        return [f"{name}: `chapters` in the front matter, but the lesson plays no video; they are not shown."]
    return []


# ------------------------------------------------------------------------------------------ input
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


# ------------------------------------------------------------------------------------------ output
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
