"""The one HTML page template shared by lessons and the course index.

Everything is inline (CSS included, Pygments themes generated at first use): published pages are served
from a private CloudFront origin behind signed cookies, and a page that pulled fonts or styles from a
CDN would leak who reads which course and break offline/local previews.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from html import escape
from importlib.resources import files
from string import Template

from pygments.formatters import HtmlFormatter

from pipeline.text.manifest import CourseManifest

LIGHT_CODE_STYLE = "default"
DARK_CODE_STYLE = "github-dark"
TOC_LEVELS = (2, 3)


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(files("pipeline.text").joinpath("templates/page.html").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def page_css() -> str:
    base = files("pipeline.text").joinpath("templates/style.css").read_text(encoding="utf-8")
    light = HtmlFormatter(style=LIGHT_CODE_STYLE).get_style_defs(".codehilite")
    dark = HtmlFormatter(style=DARK_CODE_STYLE).get_style_defs(".codehilite")
    return f"{base}\n{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


def render_page(
    *,
    title: str,
    body_html: str,
    lang: str,
    course_title: str | None,
    toc: Sequence[Mapping[str, object]] | None = None,
    extra_head: str = "",
) -> str:
    """Wrap an already sanitized fragment in the page.

    ``body_html`` and ``extra_head`` are inserted as they are (the caller sanitized the one and wrote the
    other); every other value is escaped here.
    """
    page_title = f"{title} · {course_title}" if course_title else title
    header = ""
    if course_title:
        header = f'<header class="cp-header"><p class="cp-course">{escape(course_title)}</p></header>'
    return _template().substitute(
        lang=escape(lang),
        page_title=escape(page_title),
        style=page_css(),
        extra_head=extra_head,
        header=header,
        toc=_toc_nav(toc or ()),
        body=body_html,
    )


def _toc_nav(headings: Sequence[Mapping[str, object]]) -> str:
    # The page title is the lesson's h1, so the table of contents starts at h2.
    items = []
    for heading in headings:
        level, anchor, text = heading.get("level"), heading.get("id"), heading.get("text")
        if level in TOC_LEVELS and isinstance(anchor, str) and anchor and isinstance(text, str):
            items.append(f'<li class="cp-toc-{level}"><a href="#{escape(anchor)}">{escape(text)}</a></li>')
    if not items:
        return ""
    return (
        '<nav class="cp-toc" aria-label="Table of contents"><h2>On this page</h2><ol>'
        + "".join(items)
        + "</ol></nav>"
    )


def render_course_index(manifest: CourseManifest, *, lesson_href: Callable[[str], str]) -> str:
    """The course's landing page: every section and lesson in course order.

    ``lesson_href`` maps a lesson id to its published URL, so this module knows nothing about the
    publish bucket's layout.
    """
    parts = [f'<div class="cp-index"><h1>{escape(manifest.title)}</h1>']
    if manifest.description:
        parts.append(f"<p>{escape(manifest.description)}</p>")
    number = 1
    for section in manifest.sections:
        parts.append(f'<section><h2>{escape(section.title)}</h2><ol start="{number}">')
        for lesson in section.lessons:
            href = escape(lesson_href(lesson.id))
            parts.append(f'<li><a href="{href}">{escape(lesson.title or lesson.id)}</a></li>')
            number += 1
        parts.append("</ol></section>")
    parts.append("</div>")
    return render_page(title=manifest.title, body_html="".join(parts), lang=manifest.lang, course_title=None)
