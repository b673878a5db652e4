"""The course site's pages: one HTML template for lessons and the course index, and the two static files
every page links to (stylesheet with the Pygments themes, player bootstrap), published once per course.

Nothing is loaded from a third-party CDN: published pages are served from a private CloudFront origin
behind signed cookies, and a page that pulled fonts or scripts from elsewhere would leak who reads which
course, and break in a local preview. Pages carry no inline script or style, so a strict CSP fits them.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from pygments.formatters import HtmlFormatter

from pipeline.config import HLS_JS_PATH_ENV, MERMAID_JS_PATH_ENV, hls_js_path, mermaid_js_path
from pipeline.layout import search_list
from pipeline.text.file_card import downloads_section_html

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pipeline.text.links import FileCard

SEARCH_LIST = search_list()
LIGHT_CODE_STYLE = "default"
DARK_CODE_STYLE = "github-dark"
TOC_LEVELS = (2, 3)
ASSETS_DIR = "assets"
# hls.js comes from the npm registry (web/package.json), never committed. The player script loads it by
# this fixed name from the same assets/ folder; HLS_JS_PATH points elsewhere (e.g. a Lambda layer).
HLS_JS_ASSET = f"{ASSETS_DIR}/hls.min.js"
DEFAULT_HLS_JS = Path(__file__).resolve().parents[2] / "web/node_modules/hls.js/dist/hls.min.js"
# Where a Lambda artifact has it (the Makefile's build-<Function> targets): it ships no node_modules.
BUNDLED_HLS_JS = Path(__file__).resolve().parents[2] / "vendor/hls.js/hls.min.js"
# mermaid likewise (web/package.json pins it): its IIFE build, one self-contained file (no chunks, no
# eval), loaded only by the diagram frame by this fixed name; MERMAID_JS_PATH points elsewhere.
MERMAID_JS_ASSET = f"{ASSETS_DIR}/mermaid.min.js"
DEFAULT_MERMAID_JS = Path(__file__).resolve().parents[2] / "web/node_modules/mermaid/dist/mermaid.min.js"
BUNDLED_MERMAID_JS = Path(__file__).resolve().parents[2] / "vendor/mermaid/mermaid.min.js"

logger = logging.getLogger(__name__)
_hls_js_missing_logged: set[str] = set()


@dataclass(frozen=True)
class LessonLink:
    """A lesson as navigation shows it. ``href`` is None while its file has not been uploaded."""

    id: str
    title: str
    href: str | None
    duration_s: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class SectionView:
    title: str
    lessons: tuple[LessonLink, ...]


@dataclass(frozen=True)
class CourseView:
    """The course as its pages show it, with URLs relative to the page being rendered."""

    id: str
    title: str
    lang: str
    sections: tuple[SectionView, ...]
    index_href: str
    description: str | None = None
    cover: tuple[str, tuple[tuple[str, int], ...]] | None = None  # (src, srcset) of the cover image
    downloads: tuple[FileCard, ...] = ()
    """The course's published handouts, for the index's Downloads list."""

    @property
    def lesson_count(self) -> int:
        return sum(len(s.lessons) for s in self.sections)

    def ordered(self) -> list[LessonLink]:
        return [lesson for section in self.sections for lesson in section.lessons]


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(_static("page.html"))


def _static(name: str) -> str:
    return files("pipeline.text").joinpath(f"templates/{name}").read_text(encoding="utf-8")


# The scripts every page may link, by stem: (file under templates/, what it does). Each is published under
# a content-hashed name; lesson.js (collapsibles, tabs, copy buttons) belongs to the lesson renderer.
SCRIPTS = ("player", "lesson", "search", "theme", "mermaid-init", "diagram-frame")
DIAGRAM_FRAME = "diagram-frame"
"""The one document that runs mermaid: its own page under assets/, served with a CSP of its own (the
only one allowing inline styles, which mermaid's SVG needs while it measures and styles a diagram); it
receives sources by postMessage and returns finished SVG, which the lesson shows as an image."""
MERMAID_MARKER = 'class="cp-mermaid"'
"""How the lesson renderer marks a diagram; only pages containing it load the diagram scripts."""


@lru_cache(maxsize=1)
def site_assets() -> dict[str, str]:
    """``{path under the course: content}`` for the stylesheet, the scripts and the diagram frame.

    Names carry a hash of the content, so they can be cached as immutable and a new release of the
    template never meets a stale stylesheet.
    """
    css = f"{_static('style.css')}\n{_code_styles()}"
    assets = {_hashed("site", css, "css"): css}
    for stem in SCRIPTS:
        js = _static(f"{stem}.js")
        assets[_hashed(stem, js, "js")] = js
    frame_js = posixpath.basename(_asset(assets, DIAGRAM_FRAME, ".js"))
    frame = Template(_static(f"{DIAGRAM_FRAME}.html")).substitute(
        mermaid=escape(posixpath.basename(MERMAID_JS_ASSET)), script=escape(frame_js)
    )
    assets[_hashed(DIAGRAM_FRAME, frame, "html")] = frame
    return assets


def _code_styles() -> str:
    """Pygments' light theme for everyone, its dark one where the reader chose dark (``data-theme`` on
    <html>, set by theme.js) or made no choice and the system prefers dark. Every selector is scoped,
    including the line-number rules Pygments writes unprefixed, so a light choice on a dark system keeps
    the light theme whole."""
    light = HtmlFormatter(style=LIGHT_CODE_STYLE).get_style_defs(".codehilite")
    dark = HtmlFormatter(style=DARK_CODE_STYLE).get_style_defs(".codehilite")
    chosen = _scoped(dark, ':root[data-theme="dark"]')
    system = _scoped(dark, ':root:not([data-theme="light"])')
    return f"{light}\n{chosen}\n@media (prefers-color-scheme: dark) {{\n{system}\n}}\n"


def _scoped(css: str, scope: str) -> str:
    """Pygments writes one rule per line (``a, b { ... }``): each selector gets ``scope`` in front."""
    lines = []
    for line in css.splitlines():
        selectors, brace, rest = line.partition("{")
        if not brace:
            continue
        scoped = ", ".join(f"{scope} {sel.strip()}" for sel in selectors.split(",") if sel.strip())
        lines.append(f"{scoped} {{{rest}")
    return "\n".join(lines)


def hls_js_asset() -> tuple[str, bytes] | None:
    """``(path under the course, content)`` of hls.js, or None when it is not installed.

    Without it, browsers with native HLS still play and the others show the player's fallback link; the
    absence is logged once per process (per source path).
    """
    default = BUNDLED_HLS_JS if BUNDLED_HLS_JS.is_file() else DEFAULT_HLS_JS
    source = Path(hls_js_path() or default)
    try:
        return HLS_JS_ASSET, _read_cached(source, source.stat().st_mtime_ns)
    except OSError:
        if str(source) not in _hls_js_missing_logged:
            _hls_js_missing_logged.add(str(source))
            logger.warning(
                "hls.js not found at %s (run `npm ci --prefix web` or set %s); pages are published "
                "without it and play only where the browser has native HLS",
                source,
                HLS_JS_PATH_ENV,
            )
        return None


def mermaid_js_asset() -> tuple[str, bytes] | None:
    """``(path under the course, content)`` of mermaid's self-contained build, or None when it is not
    installed; then a diagram shows its source and says diagrams cannot be drawn (logged once)."""
    default = BUNDLED_MERMAID_JS if BUNDLED_MERMAID_JS.is_file() else DEFAULT_MERMAID_JS
    source = Path(mermaid_js_path() or default)
    try:
        return MERMAID_JS_ASSET, _read_cached(source, source.stat().st_mtime_ns)
    except OSError:
        if str(source) not in _hls_js_missing_logged:
            _hls_js_missing_logged.add(str(source))
            logger.warning(
                "mermaid not found at %s (run `npm ci --prefix web` or set %s); diagrams show their source",
                source,
                MERMAID_JS_PATH_ENV,
            )
        return None


@lru_cache(maxsize=4)
def _read_cached(source: Path, mtime_ns: int) -> bytes:
    return source.read_bytes()


def _hashed(stem: str, content: str, ext: str) -> str:
    return f"{ASSETS_DIR}/{stem}-{hashlib.sha256(content.encode()).hexdigest()[:10]}.{ext}"


def _asset(assets: Mapping[str, str], stem: str, ext: str) -> str:
    pattern = re.compile(rf"{ASSETS_DIR}/{re.escape(stem)}-[0-9a-f]{{10}}{re.escape(ext)}")
    return next(p for p in assets if pattern.fullmatch(p))


def asset_path(stem: str, ext: str = ".js") -> str:
    """The published name of one site asset (``asset_path("search")`` -> ``assets/search-<hash>.js``)."""
    return _asset(site_assets(), stem, ext)


def stylesheet_path() -> str:
    return asset_path("site", ".css")


def player_script_path() -> str:
    return asset_path("player")


def diagram_frame_path() -> str:
    return asset_path(DIAGRAM_FRAME, ".html")


def render_page(
    *,
    title: str,
    body_html: str,
    lang: str,
    root: str,
    course: CourseView | None = None,
    current: str | None = None,
    toc: Sequence[Mapping[str, object]] | None = None,
    description: str | None = None,
    player: bool = False,
) -> str:
    """Wrap an already sanitized fragment in the page.

    ``root`` is the relative URL of the course folder from this page (``../`` for a lesson). ``body_html``
    is inserted as it is (the caller sanitized it); every other value is escaped here. A page of a
    course (``course``) gets the search box: the course publishes its search list with its index page.
    """
    page_title = f"{title} · {course.title}" if course and course.title != title else title
    # theme.js runs before the stylesheet is even requested, synchronously: the page is painted in the
    # reader's theme from the first frame. The others wait for the document (defer).
    search = course is not None
    deferred = ["lesson"] + (["player"] if player else []) + (["search"] if search else [])
    scripts = [f'<script src="{escape(root + asset_path(stem))}" defer></script>' for stem in deferred]
    if MERMAID_MARKER in body_html:
        scripts.append(
            f'<script src="{escape(root + asset_path("mermaid-init"))}" '
            f'data-cp-frame="{escape(root + diagram_frame_path())}" defer></script>'
        )
    tools = ""
    if search:
        tools += _search_box(root)
    tools += (
        '<button type="button" class="cp-theme-toggle" aria-pressed="false" hidden>'
        '<span class="cp-theme-label">Dark theme</span></button>'
    )
    course_link = (
        f'<a class="cp-course" href="{escape(course.index_href)}">{escape(course.title)}</a>'
        if course
        else ""
    )
    header = f'<header class="cp-header">{course_link}<div class="cp-tools">{tools}</div></header>'
    sidebar = _sidebar(course, current) if course and current else ""
    return _template().substitute(
        lang=escape(lang),
        page_title=escape(page_title),
        description=f'<meta name="description" content="{escape(description)}">' if description else "",
        theme_script=escape(root + asset_path("theme")),
        stylesheet=escape(root + stylesheet_path()),
        extra_head="\n".join(scripts),
        header=header,
        layout_class=" cp-with-sidebar" if sidebar else "",
        toc=_toc_nav(toc or ()),
        body=body_html,
        pager=_pager(course, current) if course and current else "",
        sidebar=sidebar,
    )


def _search_box(root: str) -> str:
    """Hidden until search.js runs (without the script there is nothing to search with). A combobox
    over a listbox of results: arrows move, Enter opens, Escape closes (search.js)."""
    return (
        f'<div class="cp-search" role="search" data-cp-index="{escape(root + SEARCH_LIST)}" hidden>'
        '<label class="cp-visually-hidden" for="cp-search-input">Search this course</label>'
        '<input id="cp-search-input" class="cp-search-input" type="search" role="combobox" '
        'aria-autocomplete="list" aria-expanded="false" aria-controls="cp-search-results" '
        'autocomplete="off" spellcheck="false" placeholder="Search this course">'
        '<ul id="cp-search-results" class="cp-search-results" role="listbox" '
        'aria-label="Search results" hidden></ul>'
        '<p class="cp-search-status cp-visually-hidden" role="status" aria-live="polite"></p>'
        "</div>"
    )


def duration_label(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _toc_nav(headings: Sequence[Mapping[str, object]]) -> str:
    # The page title is the lesson's h1, so the table of contents starts at h2.
    items = []
    for heading in headings:
        level, anchor, text = heading.get("level"), heading.get("id"), heading.get("text")
        if level in TOC_LEVELS and isinstance(anchor, str) and anchor and isinstance(text, str):
            items.append(f'<li class="cp-toc-{level}"><a href="#{escape(anchor)}">{escape(text)}</a></li>')
    if len(items) < 2:
        return ""
    return (
        '<nav class="cp-toc" aria-label="On this page"><h2>On this page</h2><ol>'
        + "".join(items)
        + "</ol></nav>"
    )


def _sidebar(course: CourseView, current: str) -> str:
    parts = [f'<nav class="cp-sidebar" aria-label="{escape(course.title)}: lessons">']
    number = 1
    for section in course.sections:
        parts.append(f'<h2>{escape(section.title)}</h2><ol start="{number}">')
        for lesson in section.lessons:
            label = escape(lesson.title)
            if lesson.id == current:
                parts.append(f'<li><a aria-current="page" href="#cp-main">{label}</a></li>')
            elif lesson.href:
                parts.append(f'<li><a href="{escape(lesson.href)}">{label}</a></li>')
            else:
                parts.append(f'<li><span class="cp-pending">{label}</span></li>')
            number += 1
        parts.append("</ol>")
    parts.append("</nav>")
    return "".join(parts)


def _pager(course: CourseView, current: str) -> str:
    ordered = course.ordered()
    position = next((i for i, lesson in enumerate(ordered) if lesson.id == current), None)
    if position is None:
        return ""
    # Previous/next skip lessons whose file is not uploaded yet: a pager never leads to a 404.
    before = [lesson for lesson in ordered[:position] if lesson.href]
    after = [lesson for lesson in ordered[position + 1 :] if lesson.href]
    links = []
    if before:
        links.append(
            f'<a class="cp-prev" rel="prev" href="{escape(before[-1].href or "")}">'
            f"<span>Previous</span>{escape(before[-1].title)}</a>"
        )
    if after:
        links.append(
            f'<a class="cp-next" rel="next" href="{escape(after[0].href or "")}">'
            f"<span>Next</span>{escape(after[0].title)}</a>"
        )
    links.append(f'<a class="cp-up" href="{escape(course.index_href)}">All lessons</a>')
    return f'<nav class="cp-pager" aria-label="Lessons">{"".join(links)}</nav>'


def render_course_index(course: CourseView) -> str:
    """The course's landing page: cover, description, then every section and lesson in course order."""
    parts = ['<div class="cp-index">']
    if course.cover:
        src, srcset = course.cover
        candidates = ", ".join(f"{escape(url)} {width}w" for url, width in srcset)
        parts.append(
            f'<img class="cp-cover" src="{escape(src)}"'
            + (f' srcset="{candidates}" sizes="(min-width: 50rem) 46rem, 100vw"' if candidates else "")
            + ' alt="" decoding="async">'
        )
    parts.append(f"<h1>{escape(course.title)}</h1>")
    total = sum(lesson.duration_s or 0 for lesson in course.ordered())
    facts = [f"{course.lesson_count} lesson{'s' if course.lesson_count != 1 else ''}"]
    if total:
        facts.append(duration_label(total))
    parts.append(f'<p class="cp-facts">{" · ".join(escape(f) for f in facts)}</p>')
    if course.description:
        parts.append(f'<p class="cp-lead">{escape(course.description)}</p>')
    number = 1
    for section in course.sections:
        parts.append(f'<section><h2>{escape(section.title)}</h2><ol class="cp-lessons" start="{number}">')
        for lesson in section.lessons:
            title = escape(lesson.title)
            link = (
                f'<a href="{escape(lesson.href)}">{title}</a>'
                if lesson.href
                else (f'<span class="cp-pending">{title} <small>(coming soon)</small></span>')
            )
            meta = f'<span class="cp-duration">{escape(duration_label(lesson.duration_s))}</span>'
            about = f"<p>{escape(lesson.description)}</p>" if lesson.description else ""
            parts.append(f"<li>{link}{meta if lesson.duration_s else ''}{about}</li>")
            number += 1
        parts.append("</ol></section>")
    parts.append(downloads_section_html(course.downloads))
    parts.append("</div>")
    return render_page(
        title=course.title,
        body_html="".join(parts),
        lang=course.lang,
        root="",
        course=course,  # the header's title links to this page, as a site's name does; the search box
        description=course.description,
    )
