from __future__ import annotations

import re

from pipeline.text.manifest import CourseManifest, LessonRef, Section
from pipeline.text.page import page_css, render_course_index, render_page

HOSTILE = '</title><script>alert(1)</script>"<b>'


def test_interpolated_values_are_escaped() -> None:
    page = render_page(
        title=HOSTILE,
        body_html="<p>body</p>",
        lang='en"><script>alert(2)</script>',
        course_title=HOSTILE,
        toc=[{"level": 2, "id": 'x"><script>alert(3)</script>', "text": HOSTILE}],
    )

    assert "<script" not in page
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&lt;b&gt; · " in page
    assert page.count("<title>") == 1 and page.count("</title>") == 1
    assert '<html lang="en&quot;&gt;&lt;script&gt;' in page


def test_structure_and_lang() -> None:
    page = render_page(title="Encoding", body_html="<h1>Encoding</h1>", lang="pt-BR", course_title="HLS 101")

    assert page.startswith("<!doctype html>")
    assert '<html lang="pt-BR">' in page
    assert '<meta charset="utf-8">' in page
    assert 'name="viewport"' in page
    assert '<a class="cp-skip" href="#cp-main">' in page and '<main id="cp-main"' in page
    assert '<p class="cp-course">HLS 101</p>' in page
    assert "<title>Encoding · HLS 101</title>" in page
    assert "<h1>Encoding</h1>" in page


def test_toc_nav_only_when_there_are_subheadings() -> None:
    toc = [
        {"level": 1, "id": "top", "text": "Top"},
        {"level": 2, "id": "ladder", "text": "Ladder"},
        {"level": 3, "id": "rungs", "text": "Rungs & steps"},
        {"level": 4, "id": "deep", "text": "Too deep"},
    ]
    with_toc = render_page(title="T", body_html="", lang="en", course_title=None, toc=toc)
    nav = re.search(r'<nav class="cp-toc" aria-label="Table of contents">.*?</nav>', with_toc)

    assert nav is not None
    assert '<a href="#ladder">Ladder</a>' in nav.group(0)
    assert '<a href="#rungs">Rungs &amp; steps</a>' in nav.group(0)
    assert "#top" not in nav.group(0) and "#deep" not in nav.group(0)
    for toc_arg in (None, [], toc[:1]):
        page = render_page(title="T", body_html="", lang="en", course_title=None, toc=toc_arg)
        assert "<nav" not in page


def test_css_is_inline_with_dark_mode_and_both_code_themes() -> None:
    page = render_page(title="T", body_html="", lang="en", course_title=None)
    css = page_css()

    assert css in page
    dark = css.index("@media (prefers-color-scheme: dark)")
    assert "--bg: #0d1117" in css[dark:]
    # Light Pygments theme at top level, dark one inside a dark-mode media query.
    assert re.search(r"^\.codehilite \{ background: #f8f8f8", css, re.MULTILINE)
    last_media = css.rindex("@media (prefers-color-scheme: dark)")
    assert ".codehilite { background: #0d1117" in css[last_media:]
    assert "max-width: 70ch" in css and "line-height: 1.6" in css
    assert ".cp-table { max-width: 100%; overflow-x: auto" in css


def test_no_external_urls() -> None:
    page = render_page(title="T", body_html="<p>x</p>", lang="en", course_title="C", toc=[])

    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_course_index_lists_sections_and_lessons_in_order() -> None:
    course = CourseManifest(
        id="hls-101",
        title="HLS <101>",
        lang="fr",
        description="Streaming & you",
        sections=(
            Section(
                title="Basics",
                lessons=(LessonRef("intro", "a.md", title="Intro"), LessonRef("ladder", "b.md")),
            ),
            Section(title="More", lessons=(LessonRef("cdn", "c.md", title='"CDN" <edge>'),)),
        ),
    )

    page = render_course_index(course, lesson_href=lambda lesson_id: f"lessons/{lesson_id}.html?a=1&b=2")

    assert '<html lang="fr">' in page
    assert "<title>HLS &lt;101&gt;</title>" in page
    assert "<h1>HLS &lt;101&gt;</h1>" in page
    assert "<p>Streaming &amp; you</p>" in page
    assert '<ol start="1">' in page and '<ol start="3">' in page
    links = re.findall(r'<a href="([^"]*)">([^<]*)</a>', page)
    assert links == [
        ("lessons/intro.html?a=1&amp;b=2", "Intro"),
        ("lessons/ladder.html?a=1&amp;b=2", "ladder"),
        ("lessons/cdn.html?a=1&amp;b=2", "&quot;CDN&quot; &lt;edge&gt;"),
    ]
    assert page.index("<h2>Basics</h2>") < page.index("<h2>More</h2>")
