"""Markdown lesson -> sanitized HTML fragment, with course links resolved and players embedded.

Python-Markdown passes raw HTML and ``javascript:`` links through by design, and extensions such as
attr_list let an author put any attribute on any element. So nothing Markdown produces is trusted: the
whole fragment goes through nh3 with an allow-list of exactly what our extensions emit. Relative URLs are
found by nh3 (after entity decoding, as a browser reads them) and resolved to course files by the
caller's resolver (``pipeline/text/links.py``); what the resolver returns is checked and cleaned again.

Players (``<video>``, not on the allow-list) go in after the last clean, at placeholders whose id carries
a random per-render nonce, so an author cannot forge one. The page around the fragment is the caller's.

Python-Markdown is quadratic or recursive on some inputs (deep lists, thousands of headings, long runs of
unclosed brackets...): ``_check_structure`` and the inline work meter refuse those with a message that
tells the author what to change, and ``pipeline/text/fences.py`` keeps Pygments (quadratic in many
lexers) to blocks it handles quickly, so a 1 MB lesson renders in bounded time or fails fast. The limits
and their costs were measured with tests/unit/test_lesson_hostile.py's inputs on a 2-CPU machine.

Whatever goes wrong while rendering, ``render_lesson`` raises a ``LessonError`` (``LessonRenderError`` for
what no check foresaw): one lesson's failure is that lesson's, never its course's.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import xml.etree.ElementTree as etree
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape, unescape
from pathlib import PurePosixPath
from typing import Any

import markdown
import nh3
import yaml
from markdown.extensions.toc import slugify_unicode
from markdown.util import AtomicString

from pipeline.errors import LessonError, LessonRenderError, PipelineError
from pipeline.text.fences import Fence, FencedCode, find_fences, markdown_lines
from pipeline.text.links import Resolver, Target
from pipeline.text.player import is_playable, player_html, safe_url

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
    # srcset/sizes: only the renderer's own (see _Links._first_pass_attribute); loading and decoding
    # are set on every image by the cleaner.
    "img": {"src", "alt", "title", "width", "height", "srcset", "sizes"},
    "div": {"id"},
    "p": {"id"},  # only the renderer's own markers survive _attribute_filter
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
IMG_SIZES = "(min-width: 50rem) 46rem, 100vw"

# Bounds on what Python-Markdown handles in reasonable time (see the module docstring).
MAX_NESTING = 50  # blockquote levels, list markers on one line
MAX_INDENT = 4 * MAX_NESTING  # columns of indentation (list levels are 4 columns deep)
MAX_LINE_CHARS = 20_000
MAX_PARAGRAPH_CHARS = 20_000  # text of one paragraph, list item or table cell
MAX_DELIMITER_RUN = 100  # "****..." or "____..." in running text
MAX_HEADINGS = 1_000
MAX_FOOTNOTE_MARKS = 1_000  # [^ref] and [^ref]: definitions
MAX_ABBREVIATIONS = 50  # each is a pattern matched against all the text
MAX_TABLE_PIPES = 128  # "|" on one line: about as many table columns
MAX_BLOCKS = 10_000  # paragraphs, list items, headings, quote levels: Markdown spends ~30-150 us on each
MAX_MARKUP_CHARS = 100_000  # '<' and '&' outside code: each is an event for Markdown's HTML scanner
UNCLOSED_TAG_BUDGET = 15_000_000  # characters scanned looking for a '>' (~65 ns each)
MAX_HTML_DEPTH = 200  # open elements, Markdown's and the author's raw HTML together
INLINE_WORK_BUDGET = 60_000  # ~30 us units: one inline match in a short paragraph, or ~200 scanned chars
MAX_FRONT_MATTER_CHARS = 20_000
MAX_FRONT_MATTER_DEPTH = 20
MAX_DURATION_S = 24 * 3600
MAX_WARNINGS = 20

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

_FRONT_MATTER_END = ("---", "...")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_LIST_MARKERS = re.compile(r"^[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)+")
_LIST_MARKER = re.compile(r"[-*+]|\d{1,9}[.)]")
_RULE = re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_DELIMITER_RUN = re.compile(rf"\*{{{MAX_DELIMITER_RUN + 1},}}|_{{{MAX_DELIMITER_RUN + 1},}}")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_ABBREVIATION = re.compile(r"^ {0,3}\*\[")
_DEFINITION = re.compile(r"^ {0,3}:[ \t]")
_TAG_OR_CLOSE = re.compile(r"<[a-zA-Z!?/]|>")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
# Elements that never contain others, or that the HTML parser closes by itself when a sibling starts:
# neither can nest deeper however many an author writes.
_FLAT_ELEMENTS = frozenset(
    {
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track"),
        *("wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "optgroup"),
        *("rb", "rt", "rp", "colgroup", "caption"),
    }
)
_KIND_NAMES = {
    "page": "a lesson",
    "image": "an image",
    "video": "a video",
    "audio": "an audio file",
    "file": "a file",
}
_TEXT_PLACEHOLDER = re.compile("[\x02\x03]|wzxhzdk:\\d+|klzzwxh:\\d+")

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
    front_matter, body, body_line = _split_front_matter(text, name=name)
    # A fresh instance per document: Markdown keeps footnotes, abbreviations and toc ids between
    # convert() calls otherwise. The nonce marks what the renderer itself puts in the HTML.
    nonce = secrets.token_hex(12)
    md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS, output_format="html")
    # The checks look at the lines Markdown will parse (tabs expanded), and find code blocks with the same
    # function that renders them: what they skip as code is code.
    lines = markdown_lines(md, body)
    fences = find_fences(lines, name=name, first_line=body_line)
    _check_structure(lines, fences, name=name, first_line=body_line)
    body = "\n".join(lines)
    where = _Locator(text, name)

    code = FencedCode(md, name=name, first_line=body_line)
    md.preprocessors.register(code, "fenced_code_block", 25)
    meter = _InlineMeter(where)
    meter.attach(md)
    blank_tails: dict[etree.Element, str] = {}
    md.treeprocessors.register(_NodeCheck(meter), "cp_node_check", 25)
    md.treeprocessors.register(_BlankTails(blank_tails, stash=True), "cp_stash_tails", 6.5)
    md.treeprocessors.register(_BlankTails(blank_tails, stash=False), "cp_restore_tails", 5.5)
    md.treeprocessors.register(_SoloLinkMarker(nonce), "cp_solo", 4)
    md.treeprocessors.register(_TableWrapper(), "cp_tables", 0)
    raw_html = md.convert(body)
    toc_tokens: list[dict[str, object]] = getattr(md, "toc_tokens", [])
    _check_html_depth(raw_html, name=name)

    links = _Links(resolve, nonce, name=name, where=where)
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
        description=_description(front_matter, name),
        duration_s=_duration(front_matter.get("duration"), name=name, line=_key_line(text, "duration")),
        headings=headings,
        word_count=word_count,
        links=links.written,
        warnings=code.notes + links.warnings(),
        has_player=links.players > 0,
        references=links.references,
    )


# ------------------------------------------------------------------------------------------ URLs
@dataclass
class _Ref:
    written: str
    target: Target
    placeholder: str


class _Links:
    """Relative URLs of one render: collected, resolved, rewritten, turned into players.

    First clean: nh3 hands every relative ``href``/``src`` to ``_on_relative``, which swaps a resolved one
    for ``cp-ref-NONCE-N``. Then each placeholder becomes the target's URL (plus ``srcset`` on images), a
    paragraph that holds only a video link becomes a player placeholder, and the result is cleaned again
    (the resolver's URLs are data like any other). Players replace their placeholders last.
    """

    def __init__(self, resolve: Resolver | None, nonce: str, *, name: str, where: _Locator) -> None:
        self.resolve = resolve
        self.nonce = nonce
        self.name = name
        self.where = where
        self.written: list[str] = []
        self.references: list[str] = []
        self.players = 0
        self._refs: list[_Ref] = []
        self._warnings: dict[str, str] = {}  # dedupe by URL, first occurrence wins
        self._players: dict[str, str] = {}  # placeholder element -> player markup
        self._errors: list[BaseException] = []
        self._ref_re = re.compile(rf"cp-ref-{nonce}-(\d+)")
        self._solo_re = re.compile(rf'<p id="cp-solo-{nonce}-\d+">(.*?)</p>', re.DOTALL)
        self._solo_id = re.compile(rf"^cp-solo-{nonce}-\d+$")

    # -------------------------------------------------------------------------------------- cleaning
    def sanitize(self, raw_html: str) -> str:
        first = _cleaner(self._on_relative, self._first_pass_attribute).clean(raw_html)
        if self._errors:
            raise self._errors[0]
        html = self._solo_re.sub(self._solo_paragraph, first)
        if not self._refs:
            return html
        html = _START_TAG.sub(self._rewrite_tag, html)
        return _cleaner(_keep_safe_relative, _second_pass_attribute).clean(html)

    def _on_relative(self, url: str) -> str | None:
        value = url.strip()
        if value.startswith("#"):
            return value
        if safe_url(value) is None:
            return None
        if value not in self.written:
            self.written.append(value)
        if self.resolve is None:
            return value
        try:
            target = self.resolve(value)
        except Exception as exc:  # nh3 would swallow it (and drop the URL); re-raised after cleaning
            self._errors.append(exc)
            return value
        if target is None:
            return value
        placeholder = f"cp-ref-{self.nonce}-{len(self._refs)}"
        self._refs.append(_Ref(value, target, placeholder))
        if target.path not in self.references:
            self.references.append(target.path)
        return placeholder

    def _first_pass_attribute(self, tag: str, attribute: str, value: str) -> str | None:
        if tag == "p" and attribute == "id":
            return value if self._solo_id.match(value) else None
        if tag == "img" and attribute in ("srcset", "sizes"):
            return None  # an author's srcset lists unresolved, unchecked URLs: the renderer writes its own
        return value

    # -------------------------------------------------------------------------------------- rewriting
    def _ref(self, text: str) -> _Ref | None:
        match = self._ref_re.search(text)
        return None if match is None else self._refs[int(match.group(1))]

    def _solo_paragraph(self, match: re.Match[str]) -> str:
        """A paragraph that holds only a link (or image) to a video or audio file becomes a player."""
        inner = match.group(1)
        first = _START_TAG.match(inner)
        ref = None if first is None else self._ref(first.group(0))
        if first is None or ref is None or not is_playable(ref.target) or safe_url(ref.target.href) is None:
            return f"<p>{inner}</p>"
        if first.group(1) == "img":
            alt = re.search(r'\salt="([^"]*)"', first.group(0))
            caption = unescape(alt.group(1)) if alt else ""
        else:
            caption = unescape(nh3.clean(inner, tags=set()))
        self._warn_missing(ref)
        return self._player_placeholder(ref.target, caption.strip())

    def _player_placeholder(self, target: Target, title: str) -> str:
        element = f'<div id="cp-player-{self.nonce}-{len(self._players)}"></div>'
        self._players[element] = player_html(target, title=title)
        self.players += 1
        return element

    def _rewrite_tag(self, match: re.Match[str]) -> str:
        tag = match.group(0)
        ref = self._ref(tag)
        if ref is None:
            return tag
        target = ref.target
        self._warn_missing(ref)
        url = target.href
        if match.group(1) == "img" and is_playable(target):
            message = f"shows {ref.written} as an image, but it is {_KIND_NAMES[target.kind]}"
            self._warn(ref, f"{message}; put it on a line of its own to embed the player")
            url = target.poster or target.href
        extra = ""
        if match.group(1) == "img" and target.kind == "image":
            srcset = _srcset(target.srcset)
            if srcset:
                extra = f' srcset="{escape(srcset, quote=True)}" sizes="{IMG_SIZES}"'
        # escape(): the cleaner that follows parses this like author HTML, and drops what is unsafe.
        return tag.replace(f'"{ref.placeholder}"', f'"{escape(url, quote=True)}"{extra}', 1)

    def insert_players(self, html: str) -> str:
        for element, player in self._players.items():
            html = html.replace(element, player, 1)
        return html

    def video_player(self, html: str, video: str, *, title: str) -> str:
        """The lesson's ``video:`` player: first in the body, or right after the body's opening h1."""
        target = self.resolve(video) if self.resolve is not None else None
        if target is None or not is_playable(target) or safe_url(target.href) is None:
            what = (
                "not a file of this course"
                if target is None
                else f"{_KIND_NAMES[target.kind]}, not a video or audio"
            )
            self._warnings.setdefault(f"video:{video}", f"{self.name}: video: {video} is {what}; no player.")
            return html
        if target.path not in self.references:
            self.references.append(target.path)
        if target.missing:
            self._warnings.setdefault(
                f"video:{video}",
                f"{self.name}: video: {video} is not in the course; upload it (the player shows nothing "
                "until it is published).",
            )
        self.players += 1
        player = player_html(target, title=title)
        h1 = re.match(r"\s*<h1\b.*?</h1>\n?", html, re.DOTALL)
        at = 0 if h1 is None else h1.end()
        return f"{html[:at]}{player}\n{html[at:]}"

    # -------------------------------------------------------------------------------------- warnings
    def _warn_missing(self, ref: _Ref) -> None:
        if ref.target.missing:
            self._warn(ref, f"links to {ref.written}, which is not in the course; upload it or fix the link")

    def _warn(self, ref: _Ref, message: str) -> None:
        key = f"{ref.written}:{message}"
        if key not in self._warnings and len(self._warnings) <= MAX_WARNINGS:
            self._warnings[key] = f"{self.where.prefix(ref.written)}: {message}."

    def warnings(self) -> list[str]:
        found = list(self._warnings.values())
        if len(found) > MAX_WARNINGS:
            found = [
                *found[:MAX_WARNINGS],
                f"{self.name}: more warnings like these; fix the ones above first.",
            ]
        return found


# The start tag of a link or image, as nh3 serializes it: attribute values double-quoted, with `"`, `<`,
# `>` and `&` escaped inside them.
_START_TAG = re.compile(r'<(a|img)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*/?>')


def _srcset(candidates: tuple[tuple[str, int], ...]) -> str:
    """``url 320w, url 640w``, leaving out any URL that is unsafe or would break the list (spaces, commas)."""
    parts = []
    for url, width in candidates:
        safe = safe_url(url)
        if safe is None or re.search(r"[\s,]", safe) or not isinstance(width, int) or width <= 0:
            continue
        parts.append(f"{safe} {width}w")
    return ", ".join(parts)


def _keep_safe_relative(url: str) -> str | None:
    return url if url.strip().startswith("#") or safe_url(url) is not None else None


def _second_pass_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "p" and attribute == "id":
        return None
    if tag == "img" and attribute == "srcset":
        return value if _safe_srcset(value) else None
    if tag == "img" and attribute == "sizes":
        return value if value == IMG_SIZES else None
    return value


def _safe_srcset(value: str) -> bool:
    for candidate in value.split(","):
        parts = candidate.split()
        if len(parts) != 2 or safe_url(parts[0]) is None or not re.fullmatch(r"\d+w", parts[1]):
            return False
    return True


def _cleaner(
    url_relative: Callable[[str], str | None], attribute_filter: Callable[[str, str, str], str | None]
) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
        url_relative=url_relative,
    )


# ------------------------------------------------------------------------------------------ tree
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


class _SoloLinkMarker:
    """Mark each paragraph whose only content is one link or image: a video there becomes a player.

    Runs after attr_list (so ``{: .x }`` is gone from the text). The marker is an id with the render's
    nonce; the first clean keeps only such ids on paragraphs, and the rewrite removes them again.
    """

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce

    def run(self, root: etree.Element) -> None:
        count = 0
        for p in root.iter("p"):
            if len(p) != 1 or (p.text or "").strip() or (p[0].tail or "").strip():
                continue
            if p[0].tag in ("a", "img"):
                p.attrib.pop("id", None)
                p.set("id", f"cp-solo-{self.nonce}-{count}")
                count += 1


class _NodeCheck:
    """Before inline parsing: refuse a paragraph (list item, table cell...) too long for Markdown's inline
    parser, which slows down with the length of the text it works on, and charge the meter for each text
    (every one costs a pass of each inline pattern, twice with smarty)."""

    def __init__(self, meter: _InlineMeter) -> None:
        self.meter = meter

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            for text in (element.text, element.tail):
                if not text or isinstance(text, AtomicString):
                    continue
                if len(text) > MAX_PARAGRAPH_CHARS:
                    raise LessonError(
                        f"{self.meter.where.prefix(_snippet(text), unique=True)}: a paragraph of "
                        f"{len(text):,} characters; the limit is {MAX_PARAGRAPH_CHARS:,}. "
                        "Split it with blank lines."
                    )
                self.meter.spend(1 + len(text) // 1_000, text, 0)


class _BlankTails:
    """Take whitespace-only tails off the tree while smarty runs, then put them back.

    Smarty runs its inline parser after prettify gave every block a "\\n" tail, and Markdown's inline
    parser handles each tail with a linear search of the siblings: quadratic in the number of blocks
    (20,000 paragraphs: 4 s). Smarty would not change whitespace anyway.
    """

    def __init__(self, store: dict[etree.Element, str], *, stash: bool) -> None:
        self.store = store
        self.stash = stash

    def run(self, root: etree.Element) -> None:
        if not self.stash:
            for element, tail in self.store.items():
                element.tail = tail
            self.store.clear()
            return
        for element in root.iter():
            if element.tail is not None and not element.tail.strip():
                self.store[element] = element.tail
                element.tail = None


class _InlineMeter:
    """Count the work of Markdown's inline parser, deterministically, and stop a lesson that needs too much.

    Each inline match costs one unit (more in long paragraphs, where Markdown rebuilds the text after each),
    and link parsing one unit per ~200 characters it scans looking for a closing ``]`` or ``)`` (unclosed
    brackets make it scan to the end of the paragraph, for each one). ~30 us a unit on a 2-CPU machine.
    """

    def __init__(self, where: _Locator) -> None:
        self.where = where
        self.units = 0

    def attach(self, md: markdown.Markdown) -> None:
        # smarty (and any extension like it) runs its own inline parser as a tree processor.
        registries = [md.inlinePatterns]
        registries += [p.inlinePatterns for p in md.treeprocessors if hasattr(p, "inlinePatterns")]
        for registry in registries:
            for pattern in registry:
                self._wrap(pattern)

    def _wrap(self, pattern: Any) -> None:
        handle = pattern.handleMatch

        def handle_match(match: re.Match[str], data: str | None = None) -> Any:
            self.spend(1 + (len(data) // 1_000 if data else 0), data, match.start())
            return handle(match, data) if data is not None else handle(match)

        pattern.handleMatch = handle_match
        for scanner in ("getText", "getLink"):
            if hasattr(pattern, scanner):
                setattr(pattern, scanner, self._scanner(getattr(pattern, scanner)))

    def _scanner(self, scan: Callable[..., Any]) -> Callable[..., Any]:
        def counted(data: str, index: int) -> Any:
            result = scan(data, index)
            end = result[-2] if result[-1] else len(data)  # (..., index, handled)
            self.spend(max(0, end - index) // 200, data, index)
            return result

        return counted

    def spend(self, units: int, data: str | None, at: int) -> None:
        self.units += units
        if self.units > INLINE_WORK_BUDGET:
            near = _snippet(data[at:]) if data else ""
            raise LessonError(
                f"{self.where.prefix(near, unique=True)}: too much inline markup for one lesson (links, "
                f"emphasis, code, quotes, or '[', '`', '*', '<' that never close) near {near!r}. "
                "Split the lesson, or check for unclosed brackets and backticks."
            )


def _snippet(text: str) -> str:
    return _TEXT_PLACEHOLDER.sub("", text)[:40].split("\n", 1)[0]


class _Locator:
    """``name, line N`` for a piece of text, found by search: only used for warnings and errors."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name

    def prefix(self, needle: str, *, unique: bool = False) -> str:
        """With ``unique``, no line unless ``needle`` occurs once (a repeated snippet could be anywhere)."""
        at = self.text.find(needle) if needle else -1
        if at < 0 or (unique and self.text.find(needle, at + 1) >= 0):
            return self.name
        return f"{self.name}, line {self.text.count(chr(10), 0, at) + 1}"


def _check_html_depth(html: str, *, name: str) -> None:
    """HTML nested hundreds deep (unclosed ``<div>``, mostly) makes the sanitizer's parser quadratic."""
    depth = 0
    for match in _HTML_TAG.finditer(html):
        if match.group(2).lower() in _FLAT_ELEMENTS or match.group(3):
            continue
        if match.group(1):
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > MAX_HTML_DEPTH:
            raise LessonError(
                f"{name}: HTML elements nested more than {MAX_HTML_DEPTH} deep (unclosed <{match.group(2)}> "
                "tags?); close them or use Markdown instead."
            )


def _check_structure(lines: list[str], fences: list[Fence], *, name: str, first_line: int) -> None:
    """One pass over the lines for what Python-Markdown handles in super-linear time or by recursion.

    Each refusal names the line and says what to change. Fenced code is skipped: Markdown sets it aside
    before parsing anything else.
    """
    in_code = bytearray(len(lines))
    for fence in fences:
        in_code[fence.start : fence.end + 1] = b"\x01" * (fence.end + 1 - fence.start)
    headings = footnotes = abbreviations = markup = blocks = 0
    quote_depth = list_level = 0
    previous_blank = True
    # A term line between two definitions with no blank line nests a new list inside the last definition.
    definitions = after_term = 0
    outside: list[str] = []  # lines outside fenced code, for the unclosed-tag scan
    for index, line in enumerate(lines):
        number = first_line + index

        def fail(problem: str, fix: str) -> LessonError:
            return LessonError(f"{name}, line {number}: {problem}; {fix}.")  # noqa: B023 - raised at once

        if len(line) > MAX_LINE_CHARS:
            raise fail(f"the line has {len(line):,} characters (limit {MAX_LINE_CHARS:,})", "break it up")
        if in_code[index]:
            outside.append("")
            continue
        outside.append(line)
        quotes = _QUOTE_PREFIX.match(line)
        depth = quotes.group(0).count(">") if quotes else 0
        rest = line[quotes.end() :] if quotes else line
        if depth > MAX_NESTING:
            raise fail(f"quotes nested {depth} levels deep (limit {MAX_NESTING})", "use fewer '>'")
        indent = len(rest) - len(rest.lstrip(" \t"))
        if indent:
            columns = len(rest[:indent].expandtabs(4))
            if columns > MAX_INDENT:
                raise fail(
                    f"indented {columns} columns, more than {MAX_NESTING} levels of nesting", "indent less"
                )
        rule = _RULE.match(rest)
        markers = _LIST_MARKERS.match(rest)
        if markers and not rule:
            count = len(_LIST_MARKER.findall(markers.group(0)))
            if count > MAX_NESTING:
                raise fail(f"{count} list markers nested on one line (limit {MAX_NESTING})", "use fewer")
        if not rule and (run := _DELIMITER_RUN.search(rest)):
            raise fail(
                f"a run of {len(run.group(0)):,} '{run.group(0)[0]}' characters (limit {MAX_DELIMITER_RUN})",
                "shorten it, or put it in `code`",
            )
        if _ATX_HEADING.match(rest) or (not previous_blank and _SETEXT_UNDERLINE.match(rest)):
            headings += 1
            if headings > MAX_HEADINGS:
                raise fail(f"more than {MAX_HEADINGS:,} headings", "split the lesson")
        footnotes += rest.count("[^")
        if footnotes > MAX_FOOTNOTE_MARKS:
            raise fail(f"more than {MAX_FOOTNOTE_MARKS:,} footnote references and notes", "split the lesson")
        if _ABBREVIATION.match(rest):
            abbreviations += 1
            if abbreviations > MAX_ABBREVIATIONS:
                raise fail(f"more than {MAX_ABBREVIATIONS} abbreviation definitions", "define fewer")
        pipes = rest.count("|")
        if pipes > MAX_TABLE_PIPES:
            raise fail(
                f"{pipes:,} '|' on one line (a table may have about {MAX_TABLE_PIPES} columns)", "split it"
            )
        # Each quote or list level an author opens is another block for Markdown to parse.
        level = len(rest[:indent].expandtabs(4)) // 4 if markers else list_level
        blocks += max(0, depth - quote_depth) + max(0, level - list_level)
        quote_depth = depth
        list_level = level if markers or (indent and line.strip()) else 0
        if rest.strip() and (previous_blank or markers):
            blocks += 1
        if blocks > MAX_BLOCKS:
            raise fail(
                f"more than {MAX_BLOCKS:,} paragraphs, list items, headings and quote levels", "split it"
            )
        markup += rest.count("<") + rest.count("&")
        if markup > MAX_MARKUP_CHARS:
            raise fail(f"more than {MAX_MARKUP_CHARS:,} '<' and '&' outside code blocks", "split the lesson")
        if not rest.strip():
            definitions = after_term = 0
        elif _DEFINITION.match(rest):
            definitions += after_term
            after_term = 0
            if definitions > MAX_NESTING:
                raise fail(
                    f"definition lists nested more than {MAX_NESTING} deep (a term right after a "
                    "definition starts a list inside it)",
                    "put a blank line between one definition and the next term",
                )
        else:
            after_term = 1
        previous_blank = not line.strip()
    _check_unclosed_tags("\n".join(outside), name=name, first_line=first_line)


def _check_unclosed_tags(text: str, *, name: str, first_line: int) -> None:
    """Refuse many ``<x`` that no ``>`` follows for a long way.

    Markdown finds raw HTML with the standard library's HTML parser, which looks for the ``>`` of each
    candidate tag from where it starts: thousands of ``<x`` without a ``>`` make that quadratic.
    Cost = the characters all those searches cover, computed in one pass.
    """
    pending = pending_sum = 0  # candidates waiting for a '>', and the sum of their offsets
    first = -1  # the earliest candidate still waiting: the longest search
    cost = 0
    worst = (0, -1)
    for match in _TAG_OR_CLOSE.finditer(text):
        at = match.start()
        if match.group(0) != ">":
            if pending == 0:
                first = at
            pending += 1
            pending_sum += at
            continue
        if pending:
            cost += pending * at - pending_sum
            worst = max(worst, (at - first, first))
            pending = pending_sum = 0
    if pending:
        cost += pending * len(text) - pending_sum
        worst = max(worst, (len(text) - first, first))
    if cost > UNCLOSED_TAG_BUDGET:
        line = first_line + text.count("\n", 0, worst[1])
        raise LessonError(
            f"{name}, line {line}: {text[worst[1] : worst[1] + 12]!r} and others like it look like HTML tags "
            "that are never closed with '>'; write '&lt;' for a literal '<', or put code in a fenced block."
        )


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


class _FrontMatterLoader(yaml.SafeLoader):
    """``yaml.safe_load`` minus what surprises authors or costs too much.

    YAML 1.1 reads ``12:30`` as the base-60 number 750: here it stays text (``duration`` parses it).
    Aliases (``*name``) can expand exponentially ("billion laughs"), and deep nesting recurses: refused.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported", self.get_mark()
            )
        self._depth += 1
        try:
            if self._depth > MAX_FRONT_MATTER_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_FRONT_MATTER_DEPTH} levels",
                    self.get_mark(),
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FrontMatterLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_FrontMatterLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def _split_front_matter(text: str, *, name: str) -> tuple[dict[str, object], str, int]:
    """(front matter, body, line number of the body's first line)."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text, 1
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _FRONT_MATTER_END), None)
    if end is None:
        raise LessonError(
            f"{name}, line 1: the front matter that starts with '---' is never closed; "
            "add a line containing only '---' after it."
        )
    raw = "\n".join(lines[1:end])
    if len(raw) > MAX_FRONT_MATTER_CHARS:
        raise LessonError(
            f"{name}: the front matter is {len(raw):,} characters long (limit {MAX_FRONT_MATTER_CHARS:,}); "
            "keep it to a few `key: value` lines."
        )
    try:
        data = yaml.load(raw, Loader=_FrontMatterLoader)  # a SafeLoader: no Python objects
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
    return front_matter, "\n".join(lines[end + 1 :]), end + 2


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


def _key_line(text: str, key: str) -> int | None:
    """Line of ``key:`` in the front matter (which starts on line 2), for error messages."""
    lines = text.split("\n", MAX_FRONT_MATTER_CHARS // 2)
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in _FRONT_MATTER_END:
            break
        if re.match(rf"{re.escape(key)}\s*:", line):
            return number
    return None


_CLOCK = re.compile(r"^(?:(\d+):([0-5]\d)|(\d+):([0-5]\d):([0-5]\d))$")  # m:ss or h:mm:ss
_UNITS = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?\s*)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m(?:in(?:ute)?s?)?\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*s(?:ec(?:ond)?s?)?)?$",
    re.IGNORECASE,
)


def _duration(value: object, *, name: str, line: int | None) -> int | None:
    """Front matter ``duration`` in seconds: ``12`` or ``12.5`` (minutes), ``"12 min"``, ``"12:30"``
    (minutes:seconds), ``"1:05:00"``, ``"1h 5m"``, ``"90s"``."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) * 60
    elif isinstance(value, str):
        text = value.strip()
        clock = _CLOCK.match(text)
        units = _UNITS.match(text)
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text) * 60
        elif clock and clock.group(1):
            seconds = int(clock.group(1)) * 60 + int(clock.group(2))
        elif clock:
            seconds = int(clock.group(3)) * 3600 + int(clock.group(4)) * 60 + int(clock.group(5))
        elif units and any(units.groupdict().values()):
            parts = units.groupdict()
            seconds = sum(float(parts[k] or 0) * f for k, f in (("h", 3600), ("m", 60), ("s", 1)))
    where = name if line is None else f"{name}, line {line}"
    if seconds is None or seconds != seconds:  # NaN compares unequal to itself
        raise LessonError(
            f"{where}: `duration: {value}` is not a duration; write minutes (`12`), `12 min`, `12:30` "
            "(minutes:seconds) or `1h 5m`."
        )
    if not 0 < seconds <= MAX_DURATION_S:
        raise LessonError(f"{where}: `duration: {value}` must be more than 0 and at most 24 hours.")
    return round(seconds)


def _description(front_matter: dict[str, object], name: str) -> str | None:
    value = front_matter.get("description")
    if value is None:
        return None
    if not isinstance(value, str):
        raise LessonError(f"{name}: `description` in the front matter must be text; quote it.")
    return value.strip() or None


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
