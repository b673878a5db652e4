from __future__ import annotations

import re
from importlib.resources import files

import pytest

from pipeline.errors import LessonError
from pipeline.text.lesson import RenderedLesson, render_lesson
from pipeline.text.links import Target
from pipeline.text.manifest import parse_manifest
from pipeline.text.player import player_html
from pipeline.text.urls import safe_url

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


def test_body_is_a_fragment_for_the_caller_to_wrap() -> None:
    lesson = render(RICH)

    assert lesson.body_html.startswith('<h1 id="encoding-basics">')
    assert "<html" not in lesson.body_html and "<title" not in lesson.body_html
    assert not hasattr(lesson, "html")
    assert lesson.has_player is False and lesson.warnings == [] and lesson.references == []


def test_smarty_typography() -> None:
    lesson = render('It\'s "quoted" -- and so on...\n')
    assert "It\u2019s \u201cquoted\u201d \u2013 and so on\u2026" in lesson.body_html


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
    assert not re.search(r"<(script|iframe|object|embed|svg|form)\b", lesson.body_html, re.IGNORECASE)
    assert not re.search(r"\son\w+\s*=", tags_and_attrs(lesson.body_html), re.IGNORECASE)


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


# ------------------------------------------------------------------------------------------ resolver
VIDEO = Target(
    "video",
    "media/talk.mp4",
    "../media/talk/master.m3u8",
    poster="../media/talk/poster.jpg",
    thumbnails="../media/talk/thumbnails.vtt",
)
IMAGE = Target(
    "image",
    "images/diagram.png",
    "../images/diagram/640.webp",
    srcset=(("../images/diagram/320.webp", 320), ("../images/diagram/640.webp", 640)),
)


class FakeCourse:
    """A resolver over a few course files, recording what it was asked."""

    def __init__(self, **extra: Target) -> None:
        self.asked: list[str] = []
        self.files: dict[str, Target] = {
            "02-next.md": Target("page", "lessons/02-next.md", "02-next.html"),
            "../images/diagram.png": IMAGE,
            "../media/talk.mp4": VIDEO,
            "../media/podcast.m4a": Target("audio", "media/podcast.m4a", "../media/podcast/master.m3u8"),
            "../images/missing.png": Target(
                "image", "images/missing.png", "../images/missing/640.webp", missing=True
            ),
            **extra,
        }

    def __call__(self, url: str) -> Target | None:
        self.asked.append(url)
        path, _, fragment = url.partition("#")
        target = self.files.get(path)
        if target is None or not fragment:
            return target
        return Target(target.kind, target.path, f"{target.href}#{fragment}", missing=target.missing)


def test_resolver_maps_relative_links_only() -> None:
    course = FakeCourse()
    lesson = render(
        "[next](02-next.md#ladder) [ext](https://example.com/a.png) [mail](mailto:a@example.com) "
        "[anchor](#here) [proto](//cdn.example/x.png) [unknown](notes.txt)\n",
        resolve=course,
    )

    assert course.asked == ["02-next.md#ladder", "notes.txt"]
    assert lesson.links == ["02-next.md#ladder", "notes.txt"]
    assert lesson.references == ["lessons/02-next.md"]
    body = lesson.body_html
    assert 'href="02-next.html#ladder"' in body
    assert 'href="https://example.com/a.png"' in body
    assert 'href="#here"' in body
    assert 'href="notes.txt"' in body  # None from the resolver: kept as written
    assert "cdn.example" not in body  # protocol-relative: leaves the course for an unchecked host


def test_image_gets_its_variants() -> None:
    lesson = render('Look: ![The diagram](../images/diagram.png "Pipeline")\n', resolve=FakeCourse())

    img = re.search(r"<img [^>]*>", lesson.body_html)
    assert img is not None
    tag = img.group(0)
    assert 'src="../images/diagram/640.webp"' in tag
    assert 'srcset="../images/diagram/320.webp 320w, ../images/diagram/640.webp 640w"' in tag
    assert 'sizes="(min-width: 50rem) 46rem, 100vw"' in tag
    assert 'loading="lazy"' in tag and 'decoding="async"' in tag
    assert 'alt="The diagram"' in tag and 'title="Pipeline"' in tag
    assert lesson.references == ["images/diagram.png"]


def test_authors_srcset_is_dropped() -> None:
    lesson = render(
        '<img src="../images/diagram.png" srcset="javascript:alert(1) 1x, evil.png 2x" sizes="1px">\n'
    )
    assert "srcset" not in lesson.body_html and "sizes" not in lesson.body_html


def test_standalone_video_link_becomes_a_player() -> None:
    lesson = render("Intro.\n\n[Watch the talk](../media/talk.mp4)\n\nAfter.\n", resolve=FakeCourse())
    body = lesson.body_html

    assert lesson.has_player
    assert body.count('<figure class="cp-player">') == 1
    assert (
        '<video controls playsinline preload="metadata" poster="../media/talk/poster.jpg" '
        'data-hls-src="../media/talk/master.m3u8">'
    ) in body
    assert '<source src="../media/talk/master.m3u8" type="application/vnd.apple.mpegurl">' in body
    assert '<track kind="metadata" label="thumbnails" src="../media/talk/thumbnails.vtt">' in body
    assert "<figcaption>Watch the talk</figcaption>" in body
    assert '<a href="../media/talk/master.m3u8" rel="noopener noreferrer">Open the stream</a>' in body
    assert body.index("<p>Intro.</p>") < body.index("cp-player") < body.index("<p>After.</p>")
    assert "cp-solo" not in body and "cp-ref" not in body and "cp-player-" not in body
    assert lesson.references == ["media/talk.mp4"]


def test_video_in_image_syntax_becomes_a_player_with_the_alt_as_caption() -> None:
    lesson = render("![The <b>talk</b> & more](../media/talk.mp4)\n", resolve=FakeCourse())
    assert "<figcaption>The &lt;b&gt;talk&lt;/b&gt; &amp; more</figcaption>" in lesson.body_html
    assert "<img" not in lesson.body_html


def test_audio_gets_an_audio_player() -> None:
    lesson = render("[Episode 1](../media/podcast.m4a)\n", resolve=FakeCourse())
    assert (
        '<audio controls preload="metadata" data-hls-src="../media/podcast/master.m3u8">' in lesson.body_html
    )
    assert "<video" not in lesson.body_html and "<track" not in lesson.body_html


def test_inline_video_link_stays_a_link() -> None:
    lesson = render("See [the talk](../media/talk.mp4) for more.\n", resolve=FakeCourse())
    assert not lesson.has_player
    assert '<a href="../media/talk/master.m3u8" rel="noopener noreferrer">the talk</a>' in lesson.body_html


def test_video_parameter_puts_a_player_after_the_h1() -> None:
    lesson = render("# Encoding\n\nFirst paragraph.\n", resolve=FakeCourse(), video="../media/talk.mp4")
    body = lesson.body_html

    assert (
        body.index("</h1>") < body.index('<figure class="cp-player">') < body.index("<p>First paragraph.</p>")
    )
    assert "<figcaption>Encoding</figcaption>" in body
    assert lesson.has_player and lesson.references == ["media/talk.mp4"]


def test_video_parameter_without_h1_goes_first() -> None:
    lesson = render("---\ntitle: T\n---\nText.\n", resolve=FakeCourse(), video="../media/talk.mp4")
    assert lesson.body_html.startswith('<figure class="cp-player">')


def test_video_parameter_that_is_not_a_video_warns() -> None:
    course = FakeCourse()
    image = render("# A\n", resolve=course, video="../images/diagram.png")
    unknown = render("# A\n", resolve=course, video="../media/nope.mp4")

    assert not image.has_player and not unknown.has_player
    assert image.warnings == [
        "lessons/01-test.md: video: ../images/diagram.png is an image, not a video or audio; no player."
    ]
    assert unknown.warnings == [
        "lessons/01-test.md: video: ../media/nope.mp4 is not a file of this course; no player."
    ]


def test_missing_file_warns_and_the_page_still_renders() -> None:
    lesson = render(
        "# A\n\nSome text.\n\n![Gone](../images/missing.png)\n\nAgain ![x](../images/missing.png)\n",
        resolve=FakeCourse(),
    )

    assert lesson.warnings == [
        "lessons/01-test.md, line 5: links to ../images/missing.png, which is not in the course; "
        "upload it or fix the link."
    ]
    assert 'src="../images/missing/640.webp"' in lesson.body_html
    assert "<p>Some text.</p>" in lesson.body_html


def test_resolver_returning_javascript_cannot_inject() -> None:
    evil = {
        "a.md": Target("page", "a.md", "javascript:alert(1)"),
        "b.md": Target("page", "b.md", '"><script>alert(1)</script>'),
        "c.md": Target("page", "c.md", "//evil.example/x"),
        "d.png": Target(
            "image", "d.png", "ok.webp", srcset=(("javascript:alert(1)", 1), ("x.webp 1w, y", 2))
        ),
        "e.mp4": Target("video", "e.mp4", "data:text/html,<script>alert(1)</script>"),
        "f.mp4": Target("video", "f.mp4", "ok.m3u8", poster="javascript:alert(1)", thumbnails="vbscript:x"),
    }
    lesson = render(
        "[a](a.md) [b](b.md) [c](c.md) ![d](d.png)\n\n[e](e.mp4)\n\n[f](f.mp4)\n", resolve=FakeCourse(**evil)
    )
    markup = tags_and_attrs(lesson.body_html).lower()

    for needle in ("javascript", "<script", "data:", "vbscript", "evil.example", "srcset"):
        assert needle not in markup, (needle, lesson.body_html)
    assert lesson.body_html.count("<video") == 1  # f; e has no safe URL and stays a (stripped) link
    assert "poster=" not in lesson.body_html and "<track" not in lesson.body_html


def test_resolver_errors_reach_the_caller() -> None:
    def resolve(url: str) -> Target | None:
        raise LessonError(f"{url} cannot be resolved")

    with pytest.raises(LessonError, match="missing.png cannot be resolved"):
        render("![x](missing.png)\n", resolve=resolve)


def test_forged_placeholders_do_nothing() -> None:
    lesson = render(
        '<div id="cp-player-0-0"></div>\n\n<p id="cp-solo-0-0"><a href="../media/talk.mp4">x</a></p>\n\n'
        "[y](cp-ref-0-0)\n",
        resolve=FakeCourse(),
    )
    assert "<video" not in lesson.body_html
    assert 'id="cp-solo' not in lesson.body_html


def test_links_are_collected_without_a_resolver() -> None:
    lesson = render("![a](img/a.png) ![a again](img/a.png) [b](b.md) [c](https://x.example)\n")
    assert lesson.links == ["img/a.png", "b.md"]
    assert 'src="img/a.png"' in lesson.body_html
    assert lesson.references == []


# ------------------------------------------------------------------------------------------ front matter
@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("12", 720),
        ("12.5", 750),
        ('"12 min"', 720),
        ("12 minutes", 720),
        ("12:30", 750),
        ('"1:05:00"', 3900),
        ("1h 5m", 3900),
        ("1 hour 5 minutes", 3900),
        ("90s", 90),
        ("2h", 7200),
        ("", None),
    ],
)
def test_duration_is_normalized_to_seconds(value: str, seconds: int | None) -> None:
    lesson = render(f"---\ntitle: T\nduration: {value}\n---\n# T\n")
    assert lesson.duration_s == seconds


@pytest.mark.parametrize("value", ["soon", "12 parsecs", "-5", "0", "25h", "[1, 2]", "true", ".nan"])
def test_bad_duration_names_the_line(value: str) -> None:
    with pytest.raises(LessonError, match=r"lessons/01-test.md, line 3: `duration: .*`"):
        render(f"---\ntitle: T\nduration: {value}\n---\n# T\n")


def test_description() -> None:
    assert render("---\ndescription: '  What HLS is. '\n---\nx\n").description == "What HLS is."
    assert render("x\n").description is None
    with pytest.raises(LessonError, match="`description` .* must be text"):
        render("---\ndescription: [a, b]\n---\nx\n")


def test_front_matter_refuses_aliases_and_deep_nesting() -> None:
    laughs = "---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n---\n"
    with pytest.raises(LessonError, match=r"line 3: .*aliases"):
        render(laughs)
    with pytest.raises(LessonError, match="nested more than 20 levels"):
        render("---\nx: " + "[" * 30 + "]" * 30 + "\n---\n")


# ------------------------------------------------------------------------------------------ player
def test_player_escapes_everything() -> None:
    target = Target("video", "v.mp4", 'a"b<c>.m3u8?x=1&y=2', poster="p'.jpg")
    html = player_html(target, title='<script>alert("x")</script>')

    assert 'data-hls-src="a&quot;b&lt;c&gt;.m3u8?x=1&amp;y=2"' in html
    assert 'poster="p&#x27;.jpg"' in html
    assert '<figcaption>&lt;script&gt;alert("x")&lt;/script&gt;</figcaption>' in html
    assert "<track" not in html  # no thumbnails


def test_player_refuses_what_it_cannot_play() -> None:
    with pytest.raises(ValueError, match="not a video or audio"):
        player_html(IMAGE, title="x")
    with pytest.raises(ValueError, match="unsafe"):
        player_html(Target("video", "v.mp4", "javascript:alert(1)"), title="x")


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("../a.webp", True),
        ("#x", True),
        ("https://example.com/a", True),
        ("HTTP://example.com/a", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("vbscript:x", False),
        ("//evil.example", False),
        ("\\\\evil.example", False),
        ("/\\evil.example", False),
        ("/\t/evil.example", False),
        ("java\tscript:alert(1)", False),
        ("", False),
    ],
)
def test_safe_url(url: str, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


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


def test_title_from_front_matter_without_an_h1_in_the_body() -> None:
    lesson = render("---\ntitle: Only <front> matter\n---\nBody text.\n")
    assert lesson.title == "Only <front> matter"  # plain text: the caller escapes it
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
        rendered[ref.id] = render_lesson(source.read_bytes(), name=ref.file, video=ref.video)
        assert 30 <= len(source.read_text(encoding="utf-8").splitlines()) <= 80

    bodies = "".join(lesson.body_html for lesson in rendered.values())
    assert rendered["welcome"].front_matter["title"] == "Welcome to the course"
    assert "<table>" in bodies
    assert '<span class="k">def</span>' in bodies
    assert 'class="admonition warning"' in bodies
    assert 'class="footnote"' in bodies
    assert "../images/diagram.png" in rendered["publishing"].links
