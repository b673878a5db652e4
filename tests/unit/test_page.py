from __future__ import annotations

import re

from pipeline.text.page import (
    CourseView,
    LessonLink,
    SectionView,
    asset_path,
    diagram_frame_path,
    player_script_path,
    render_course_index,
    render_page,
    site_assets,
    stylesheet_path,
)

HOSTILE = '</title><script>alert(1)</script>"<b>'


def course(**overrides: object) -> CourseView:
    values: dict[str, object] = {
        "id": "hls-101",
        "title": "HLS <101>",
        "lang": "fr",
        "description": "Streaming & you",
        "index_href": "../index.html",
        "sections": (
            SectionView(
                "Basics",
                (
                    LessonLink("intro", "Intro", "intro-aaaa.html", 480, "Why <HLS>"),
                    LessonLink("ladder", "Ladder", None),
                    LessonLink("rungs", "Rungs", "rungs-bbbb.html?a=1&b=2", 3720),
                ),
            ),
            SectionView("More", (LessonLink("cdn", '"CDN" <edge>', "cdn-cccc.html", 600),)),
        ),
    }
    values.update(overrides)
    return CourseView(**values)  # type: ignore[arg-type]


def test_interpolated_values_are_escaped() -> None:
    page = render_page(
        title=HOSTILE,
        body_html="<p>body</p>",
        lang='en"><script>alert(2)</script>',
        root="../",
        course=course(title=HOSTILE),
        current="intro",
        toc=[{"level": 2, "id": 'x"><script>alert(3)</script>', "text": HOSTILE}] * 2,
        description=HOSTILE,
    )
    assert "alert" not in "".join(re.findall(r"<script[^>]*>", page))  # only our own src= scripts
    assert re.findall(r"<script[^>]*>", page) == re.findall(r'<script src="[^"<>]+"(?: defer)?>', page)
    assert page.count("<title>") == 1 and page.count("</title>") == 1
    assert '<html lang="en&quot;&gt;&lt;script&gt;' in page


def test_structure_stylesheet_and_no_inline_code() -> None:
    page = render_page(title="Encoding", body_html="<h1>Encoding</h1>", lang="pt-BR", root="../")
    assert page.startswith("<!doctype html>") and '<html lang="pt-BR">' in page
    assert '<a class="cp-skip" href="#cp-main">' in page and '<main id="cp-main"' in page
    assert f'<link rel="stylesheet" href="../{stylesheet_path()}">' in page
    # No inline script or style: a strict Content-Security-Policy fits every page. Scripts are files.
    assert "<style" not in page and " style=" not in page
    tags = re.findall(r"<script[^>]*>[^<]*</script>", page)
    assert len(tags) == page.count("<script") and all(
        re.fullmatch(r'<script src="[^"<>]+"(?: defer)?></script>', t) for t in tags
    )
    # theme.js: synchronous and before the stylesheet (no flash of the wrong theme); lesson.js deferred.
    theme = f'<script src="../{asset_path("theme")}"></script>'
    assert page.index(theme) < page.index('<link rel="stylesheet"')
    assert f'<script src="../{asset_path("lesson")}" defer></script>' in page
    assert "mermaid" not in page  # no diagram on this page: no diagram script
    with_player = render_page(title="T", body_html="", lang="en", root="../", player=True)
    assert f'<script src="../{player_script_path()}" defer></script>' in with_player


def test_site_assets_are_content_hashed_and_complete() -> None:
    assets = site_assets()
    css, js = assets[stylesheet_path()], assets[player_script_path()]
    assert re.fullmatch(r"assets/site-[0-9a-f]{10}\.css", stylesheet_path())
    assert "--bg: #0d1117" in css[css.index("@media (prefers-color-scheme: dark)") :]
    assert re.search(r"^\.codehilite \{ background: #f8f8f8", css, re.MULTILINE)  # light Pygments theme
    system_dark = css[css.rindex("@media (prefers-color-scheme: dark)") :]
    assert ':root:not([data-theme="light"]) .codehilite { background: #0d1117' in system_dark
    # Chosen dark applies whatever the system says; no dark rule is left unscoped (a light choice holds).
    assert re.search(r'^:root\[data-theme="dark"\] \.codehilite \{ background: #0d1117', css, re.MULTILINE)
    dark_start = css.index(':root[data-theme="dark"] .codehilite')
    assert all(
        line.startswith((':root[data-theme="dark"]', ':root:not([data-theme="light"])', "@media", "}"))
        for line in css[dark_start:].splitlines()
        if line.strip()
    )
    assert "max-width: 70ch" in css and ".cp-sidebar" in css and ".cp-pager" in css
    assert "hls.min.js" in js and "application/vnd.apple.mpegurl" in js and "withCredentials" in js
    assert not re.search(r"https?://", css + js)  # nothing from a CDN


def test_lesson_navigation_follows_course_order_and_skips_missing_lessons() -> None:
    page = render_page(title="Rungs", body_html="", lang="fr", root="../", course=course(), current="rungs")
    sidebar = re.search(r'<nav class="cp-sidebar".*?</nav>', page)
    assert sidebar is not None
    assert '<a aria-current="page" href="#cp-main">Rungs</a>' in sidebar.group(0)
    assert '<span class="cp-pending">Ladder</span>' in sidebar.group(0)  # not uploaded yet: no link
    assert '<ol start="1">' in sidebar.group(0) and '<ol start="4">' in sidebar.group(0)
    pager = re.search(r'<nav class="cp-pager".*?</nav>', page)
    assert pager is not None
    assert 'rel="prev" href="intro-aaaa.html"' in pager.group(0)  # skips "Ladder", not uploaded
    assert 'rel="next" href="cdn-cccc.html"' in pager.group(0)
    assert 'href="../index.html">All lessons' in pager.group(0)
    first = render_page(title="Intro", body_html="", lang="fr", root="../", course=course(), current="intro")
    assert 'rel="prev"' not in first and 'rel="next" href="rungs-bbbb.html?a=1&amp;b=2"' in first


def test_toc_only_with_two_or_more_subheadings() -> None:
    toc = [
        {"level": 1, "id": "top", "text": "Top"},
        {"level": 2, "id": "ladder", "text": "Ladder"},
        {"level": 3, "id": "rungs", "text": "Rungs & steps"},
        {"level": 4, "id": "deep", "text": "Too deep"},
    ]
    page = render_page(title="T", body_html="", lang="en", root="", toc=toc)
    nav = re.search(r'<nav class="cp-toc".*?</nav>', page)
    assert nav is not None and '<a href="#rungs">Rungs &amp; steps</a>' in nav.group(0)
    assert "#top" not in nav.group(0) and "#deep" not in nav.group(0)
    assert "cp-toc" not in render_page(title="T", body_html="", lang="en", root="", toc=toc[:2])


def test_course_index_lists_sections_lessons_durations_and_cover() -> None:
    view = course(
        index_href="index.html",
        cover=("images/c/640.webp", (("images/c/320.webp", 320), ("images/c/640.webp", 640))),
    )
    page = render_course_index(view)
    assert '<html lang="fr">' in page and "<title>HLS &lt;101&gt;</title>" in page
    assert "<h1>HLS &lt;101&gt;</h1>" in page and "Streaming &amp; you" in page
    assert 'srcset="images/c/320.webp 320w, images/c/640.webp 640w"' in page
    assert "4 lessons · 1 h 20 min" in page  # 8 + 62 + 10 minutes
    links = re.findall(r'<a href="([^"]*)">([^<]*)</a>', page)
    assert links == [
        ("intro-aaaa.html", "Intro"),
        ("rungs-bbbb.html?a=1&amp;b=2", "Rungs"),
        ("cdn-cccc.html", "&quot;CDN&quot; &lt;edge&gt;"),
    ]
    assert "Ladder <small>(coming soon)</small>" in page
    assert '<span class="cp-duration">1 h 02 min</span>' in page and "Why &lt;HLS&gt;" in page
    assert page.index("<h2>Basics</h2>") < page.index("<h2>More</h2>")
    assert '<ol class="cp-lessons" start="4">' in page


def test_diagram_pages_link_the_diagram_script_and_its_frame() -> None:
    body = (
        '<div class="cp-mermaid"><pre class="cp-mermaid-source"><code>graph TD; A--&gt;B</code></pre></div>'
    )
    page = render_page(title="T", body_html=body, lang="en", root="../")
    frame = diagram_frame_path()
    assert re.fullmatch(r"assets/diagram-frame-[0-9a-f]{10}\.html", frame)
    assert f'<script src="../{asset_path("mermaid-init")}" data-cp-frame="../{frame}" defer></script>' in page
    html = site_assets()[frame]
    # The frame loads mermaid by its fixed name and its own script by its hashed name, both beside it.
    assert '<script src="mermaid.min.js"></script>' in html
    assert f'<script src="{asset_path("diagram-frame").rsplit("/", 1)[1]}"></script>' in html


def test_pages_of_a_course_have_the_search_box_and_standalone_pages_do_not() -> None:
    lesson = render_page(title="T", body_html="", lang="en", root="../", course=course(), current="intro")
    assert 'data-cp-index="../search.json"' in lesson and 'role="combobox"' in lesson
    assert f'<script src="../{asset_path("search")}" defer></script>' in lesson
    index = render_course_index(course())
    assert 'data-cp-index="search.json"' in index and 'class="cp-theme-toggle"' in index
    alone = render_page(title="T", body_html="", lang="en", root="../")
    assert "cp-search" not in alone and 'class="cp-theme-toggle"' in alone
