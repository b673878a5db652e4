from __future__ import annotations

import re
from importlib.resources import files

import pytest

from pipeline.errors import LessonError
from pipeline.text.lesson import RenderedLesson, render_lesson
from pipeline.text.manifest import parse_manifest

RICH = """\
# Encoding basics

Intro paragraph with a footnote.[^1] and an <abbr title="x">abbr</abbr>.

## Ladder table

| Rung | Height |
|:-----|-------:|
| hd   | 720    |

```python
def ladder(height: int) -> int:
    return height // 2
```

!!! note "Remember"
    Never upscale.

Term
:   Definition.

[^1]: Apple's authoring table.
"""


def render(markdown: str, **kwargs: object) -> RenderedLesson:
    return render_lesson(markdown.encode("utf-8"), name="lessons/01-test.md", **kwargs)  # type: ignore[arg-type]


def tags_and_attrs(html: str) -> str:
    """Only the markup, without text: a payload that survives as text is inert."""
    return " ".join(re.findall(r"<[^>]*>", html))


def test_legitimate_markdown_survives_sanitizing() -> None:
    lesson = render(RICH)
    body = lesson.body_html

    assert '<div class="codehilite"><pre>' in body
    assert '<span class="k">def</span>' in body  # Pygments token classes kept
    assert '<h2 id="ladder-table">' in body
    assert 'class="headerlink" href="#ladder-table"' in body
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1"' in body
    assert '<li id="fn:1">' in body
    assert '<div class="admonition note">' in body and '<p class="admonition-title">Remember</p>' in body
    assert '<th align="right">Height</th>' in body
    assert '<div class="cp-table"><table>' in body
    assert "<dt>Term</dt>" in body and "<dd>Definition.</dd>" in body
    assert '<abbr title="x">abbr</abbr>' in body
    assert 'rel="noopener noreferrer"' in body


def test_title_headings_and_word_count() -> None:
    lesson = render(RICH)

    assert lesson.title == "Encoding basics"
    assert lesson.headings == [
        {"level": 1, "id": "encoding-basics", "text": "Encoding basics"},
        {"level": 2, "id": "ladder-table", "text": "Ladder table"},
    ]
    assert 25 < lesson.word_count < 60
    assert lesson.front_matter == {}


def test_full_page_wraps_the_body() -> None:
    lesson = render(RICH, course_title="HLS 101", lang="de")

    assert lesson.html.startswith("<!doctype html>")
    assert '<html lang="de">' in lesson.html
    assert "<title>Encoding basics · HLS 101</title>" in lesson.html
    assert lesson.body_html in lesson.html
    assert '<a href="#ladder-table">Ladder table</a>' in lesson.html  # table of contents


@pytest.mark.parametrize(
    ("payload", "forbidden"),
    [
        ("<script>alert(1)</script>", ["<script", "alert(1)"]),
        ("<img src=x onerror=alert(1)>", ["onerror"]),
        ("[x](javascript:alert(1))", ["javascript:"]),
        ("[x](JaVaScRiPt:alert(1))", ["javascript:"]),
        ("[x](&#106;avascript:alert(1))", ["javascript", "&#106;"]),
        ("[x](&#x6A;avascript&#x3A;alert(1))", ["avascript", "&#x"]),
        ('<a href="java&#x09;script:alert(1)">x</a>', ["script:"]),
        ('<a href="  javascript:alert(1)">x</a>', ["javascript"]),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', ["data:", "<script"]),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', ["data:"]),
        ('<a href="vbscript:msgbox(1)">x</a>', ["vbscript"]),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe", "evil.example"]),
        ("<svg onload=alert(1)><circle/></svg>", ["<svg", "onload", "<circle"]),
        ("<style>body{display:none}</style>", ["<style", "display:none"]),
        ("<!--[if IE]><script>alert(1)</script><![endif]-->", ["<!--", "<script", "alert"]),
        ('<p style="position:fixed" onclick="alert(1)">x</p>', ["style=", "onclick"]),
        ('Text {: onclick="alert(1)" style="color:red" }', ["onclick", "style"]),
        ('# Heading {: onmouseover="alert(1)" }', ["onmouseover"]),
        ("[x][evil]\n\n[evil]: javascript:alert(1)", ["javascript"]),
        ("![x][pic]\n\n[pic]: javascript:alert(1)", ["javascript"]),
        ('<form action="https://evil.example"><input name=p></form>', ["<form", "<input", "action"]),
        ('<object data="evil.swf"></object><embed src="evil.swf">', ["<object", "<embed", "evil.swf"]),
        ('<a href="https://ok.example" target="_blank" rel="opener">x</a>', ["target", 'rel="opener"']),
        ('<div markdown="1" onclick="alert(1)">*x*</div>', ["onclick"]),
        ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ["onerror", "<math"]),
    ],
)
def test_hostile_markdown_comes_out_inert(payload: str, forbidden: list[str]) -> None:
    lesson = render(f"# Lesson\n\n{payload}\n")
    markup = tags_and_attrs(lesson.body_html).lower()
    for needle in forbidden:
        assert needle.lower() not in markup, (needle, lesson.body_html)
    for html in (lesson.body_html, lesson.html):
        assert not re.search(r"<(script|iframe|object|embed|svg|form)\b", html, re.IGNORECASE)
        assert not re.search(r"\son\w+\s*=", tags_and_attrs(html), re.IGNORECASE)


def test_hostile_fenced_code_is_shown_not_run() -> None:
    lesson = render('```html\n<script>alert("x")</script>\n```\n')
    assert "<script" not in lesson.body_html
    assert "&lt;" in lesson.body_html and "script" in lesson.body_html


def test_safe_links_are_kept() -> None:
    lesson = render("[a](https://example.com/x) [b](mailto:me@example.com) [c](#top) [d](other.md)\n")
    body = lesson.body_html
    assert 'href="https://example.com/x"' in body
    assert 'href="mailto:me@example.com"' in body
    assert 'href="#top"' in body
    assert 'href="other.md"' in body


def test_rewrite_url_maps_relative_links_only() -> None:
    seen: list[str] = []

    def rewrite(url: str) -> str:
        seen.append(url)
        return "/courses/c/images/diagram/800.webp" if url.endswith(".png") else url.replace(".md", ".html")

    lesson = render(
        "![Diagram](../images/diagram.png)\n\n[next](02-next.md#ladder) [ext](https://example.com/a.png) "
        "[mail](mailto:a@example.com) [anchor](#here) [proto](//cdn.example/x.png)\n",
        rewrite_url=rewrite,
    )

    assert seen == ["../images/diagram.png", "02-next.md#ladder"]
    assert lesson.links == ["../images/diagram.png", "02-next.md#ladder"]
    assert 'src="/courses/c/images/diagram/800.webp"' in lesson.body_html
    assert 'href="02-next.html#ladder"' in lesson.body_html
    assert 'href="https://example.com/a.png"' in lesson.body_html
    assert 'href="#here"' in lesson.body_html


def test_rewritten_urls_are_sanitized_too() -> None:
    lesson = render("[x](notes.md)\n", rewrite_url=lambda url: "javascript:alert(1)")
    assert "javascript" not in lesson.body_html
    assert lesson.links == ["notes.md"]


def test_links_are_collected_without_a_rewriter() -> None:
    lesson = render("![a](img/a.png) ![a again](img/a.png) [b](b.md) [c](https://x.example)\n")
    assert lesson.links == ["img/a.png", "b.md"]
    assert 'src="img/a.png"' in lesson.body_html


def test_rewrite_url_errors_reach_the_caller() -> None:
    def rewrite(url: str) -> str:
        raise LessonError(f"{url} was not uploaded")

    with pytest.raises(LessonError, match="missing.png was not uploaded"):
        render("![x](missing.png)\n", rewrite_url=rewrite)


def test_state_does_not_leak_between_renders() -> None:
    first = render("# One\n\nText[^a] and HTML.\n\n*[HTML]: Hyper Text\n\n[^a]: First note.\n")
    second = render("# One\n\nPlain HTML text.\n")

    assert "footnote" not in second.body_html
    assert "First note" not in second.body_html
    assert "<abbr" not in second.body_html
    assert second.headings == [{"level": 1, "id": "one", "text": "One"}]  # not "one_1"
    assert first.headings == second.headings


def test_front_matter_sets_title_and_is_json_friendly() -> None:
    lesson = render("---\ntitle: From front matter\ndate: 2025-01-31\ntags: [hls, ffmpeg]\n---\n# Heading\n")

    assert lesson.title == "From front matter"
    assert lesson.front_matter == {
        "title": "From front matter",
        "date": "2025-01-31",
        "tags": ["hls", "ffmpeg"],
    }
    assert "title:" not in lesson.body_html


def test_page_gets_an_h1_when_the_body_has_none() -> None:
    lesson = render("---\ntitle: Only <front> matter\n---\nBody text.\n")
    assert "<h1>Only &lt;front&gt; matter</h1>" in lesson.html
    assert "<h1" not in lesson.body_html


def test_title_falls_back_to_the_file_name() -> None:
    lesson = render_lesson(b"Just text.\n", name="lessons/02-adaptive_bitrate.md")
    assert lesson.title == "Adaptive bitrate"


def test_bom_and_crlf_are_accepted() -> None:
    lesson = render_lesson("\ufeff---\r\ntitle: T\r\n---\r\n# H\r\n".encode(), name="a.md")
    assert lesson.title == "T"
    assert lesson.headings[0]["text"] == "H"


def test_not_utf8_is_an_author_error() -> None:
    with pytest.raises(LessonError, match=r"lessons/x.md, line 2: .*not UTF-8.*save it as UTF-8") as info:
        render_lesson(b"# Title\ncaf\xe9\n", name="lessons/x.md")
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_too_large() -> None:
    with pytest.raises(LessonError, match="at most 100 bytes"):
        render_lesson(b"x" * 101, name="big.md", max_bytes=100)


def test_bad_front_matter_yaml_reports_the_file_line() -> None:
    with pytest.raises(LessonError, match=r"a.md, line 3: the front matter is not valid YAML"):
        render_lesson(b"---\ntitle: ok\nbad: [unclosed\n---\n# x\n", name="a.md")


def test_front_matter_must_be_a_mapping() -> None:
    with pytest.raises(LessonError, match="key: value"):
        render_lesson(b"---\n- a\n- b\n---\n# x\n", name="a.md")


def test_unclosed_front_matter() -> None:
    with pytest.raises(LessonError, match="never closed"):
        render_lesson(b"---\ntitle: x\n# x\n", name="a.md")


def test_front_matter_cannot_construct_python_objects() -> None:
    with pytest.raises(LessonError, match="not valid YAML"):
        render_lesson(b"---\nx: !!python/object/apply:os.system ['echo pwned']\n---\n", name="a.md")


def test_sample_course_lessons_exist_and_render() -> None:
    sample = files("pipeline").joinpath("sample")
    course = parse_manifest(
        sample.joinpath("course.yaml").read_bytes(), expected_course_id="intro-to-pipelines"
    )

    assert course.lesson_ids() == ["welcome", "encoding", "publishing"]
    assert course.sections[0].lessons[0].video == "media/welcome.mp4"
    rendered = {}
    for ref in course.lessons():
        source = sample.joinpath(ref.file)
        assert source.is_file(), ref.file
        rendered[ref.id] = render_lesson(
            source.read_bytes(), name=ref.file, course_title=course.title, lang=course.lang
        )
        assert 30 <= len(source.read_text(encoding="utf-8").splitlines()) <= 80

    bodies = "".join(lesson.body_html for lesson in rendered.values())
    assert rendered["welcome"].front_matter["title"] == "Welcome to the course"
    assert "<table>" in bodies
    assert '<span class="k">def</span>' in bodies
    assert 'class="admonition warning"' in bodies
    assert 'class="footnote"' in bodies
    assert "../images/diagram.png" in rendered["publishing"].links
