"""Hostile lessons: whatever an author (or an attacker with upload rights) writes, the fragment only holds
allow-listed tags, attributes and URLs, legitimate formatting next to an attack still renders, and
pathological input renders in bounded time or fails with a LessonError that tells the author what to fix.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest

from pipeline.errors import LessonError, LessonRenderError
from pipeline.text import fences
from pipeline.text.lesson import RenderedLesson, render_lesson
from pipeline.text.lesson.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from pipeline.text.links import Target
from pipeline.text.urls import safe_url

if TYPE_CHECKING:
    from collections.abc import Callable

SENTINEL = "<strong>bold</strong>"
# Attributes the sanitizer itself sets: rel on links, loading/decoding on images.
ADDED_ATTRIBUTES = {"a": {"rel"}, "img": {"loading", "decoding"}}
URL_ATTRIBUTES = {"href", "src"}


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_only_allowed(html: str) -> None:
    """Every tag, attribute and URL in ``html`` is one the allow-list permits."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        allowed = (
            ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, set()) | ADDED_ATTRIBUTES.get(tag, set())
        )
        for name, value in attrs:
            assert name in allowed, (tag, name, html)
            assert not name.startswith("on") and name != "style", (tag, name, html)
            if name in URL_ATTRIBUTES and value is not None and not value.startswith("mailto:"):
                assert safe_url(value) is not None, (tag, name, value, html)
            if name == "srcset" and value is not None:
                for candidate in value.split(","):
                    assert safe_url(candidate.split()[0]) is not None, (value, html)


def tags_and_attrs(html: str) -> str:
    """Only the markup, without text: a payload that survives as text is inert."""
    return " ".join(re.findall(r"<[^>]*>", html)).lower()


def render(markdown: str, **kwargs: object) -> RenderedLesson:
    return render_lesson(markdown.encode("utf-8"), name="lessons/01-test.md", **kwargs)  # type: ignore[arg-type]


def resolve(url: str) -> Target | None:
    """Resolves anything that looks like a course file, so rewriting runs on every payload."""
    if url.endswith(".md"):
        return Target("page", url, url[:-3] + ".html")
    if url.endswith(".png"):
        return Target("image", url, url[:-4] + ".webp", srcset=((url[:-4] + "-320.webp", 320),))
    if url.endswith(".mp4"):
        return Target("video", url, url[:-4] + "/master.m3u8", poster=url[:-4] + "/poster.jpg")
    return None


# (id, payload, strings that must not be in the markup, lower-cased)
XSS: list[tuple[str, str, list[str]]] = [
    ("script", "<script>alert(1)</script>", ["<script", "alert"]),
    ("script-src", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", ["<script", "evil.example"]),
    ("script-mixed-case", "<ScRiPt>alert(1)</sCrIpT>", ["<script", "alert"]),
    ("script-split", "<scr<script>ipt>alert(1)</script>", ["<script", "<scr"]),
    ("img-onerror", "<img src=x onerror=alert(1)>", ["onerror"]),
    ("img-onerror-caps", '<IMG SRC="x" ONERROR="alert(1)">', ["onerror"]),
    ("img-javascript", "<IMG SRC=\"javascript:alert('XSS');\">", ["javascript"]),
    ("img-src-eval", "<img src=x:alert(alt) onerror=eval(src) alt=0>", ["onerror", "x:alert"]),
    ("svg-onload", "<svg onload=alert(1)><circle r=1 /></svg>", ["<svg", "onload", "<circle"]),
    ("svg-script", "<svg><script>alert(1)</script></svg>", ["<svg", "<script", "alert"]),
    (
        "svg-foreign",
        "<svg><foreignObject><iframe src=javascript:alert(1)>",
        ["<svg", "<iframe", "javascript"],
    ),
    (
        "iframe-srcdoc",
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        ["<iframe", "srcdoc", "<script"],
    ),
    ("iframe-js", '<iframe src="javascript:alert(1)"></iframe>', ["<iframe", "javascript"]),
    ("object", '<object data="javascript:alert(1)"></object>', ["<object", "javascript"]),
    ("embed", '<embed src="data:text/html,<script>alert(1)</script>">', ["<embed", "data:", "<script"]),
    ("style-element", "<style>@import 'http://evil.example/x.css';</style>", ["<style", "evil.example"]),
    ("style-url", '<p style="background:url(javascript:alert(1))">x</p>', ["style", "javascript"]),
    ("style-expression", '<div style="width: expression(alert(1))">x</div>', ["style", "expression"]),
    ("md-javascript", "[x](javascript:alert(1))", ["javascript"]),
    ("md-javascript-case", "[x](JaVaScRiPt:alert(1))", ["javascript"]),
    ("md-entity", "[x](&#106;avascript:alert(1))", ["javascript", "&#106;"]),
    ("md-entity-hex", "[x](&#x6A;avascript&#x3A;alert(1))", ["avascript"]),
    ("href-tab", '<a href="java&#x09;script:alert(1)">x</a>', ["script:"]),
    ("href-newline", '<a href="java&#x0A;script:alert(1)">x</a>', ["script:"]),
    (
        "href-all-entities",
        '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:1">x</a>',
        ["script"],
    ),
    ("href-padded-entity", '<a href="&#0000106avascript:alert(1)">x</a>', ["avascript"]),
    ("href-leading-control", '<a href=" &#14;  javascript:alert(1)">x</a>', ["javascript"]),
    ("vbscript", '<a href="vbscript:msgbox(1)">x</a>', ["vbscript"]),
    ("data-html", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", ["data:"]),
    ("data-svg", "![x](data:image/svg+xml;base64,PHN2Zz4=)", ["data:"]),
    ("protocol-relative", '<a href="//evil.example/x">x</a> [y](//evil.example/y)', ["evil.example"]),
    (
        "backslash-host",
        '<a href="\\\\evil.example/x">x</a> <a href="/\\evil.example">y</a>',
        ["evil.example"],
    ),
    ("attr-list-paragraph", 'Text\n{: onclick="alert(1)" style="color:red" }', ["onclick", "style"]),
    (
        "attr-list-link",
        '[x](https://ok.example){: onclick="alert(1)" href="javascript:alert(1)" }',
        ["onclick", "javascript"],
    ),
    ("attr-list-heading", '## Heading {: onmouseover="alert(1)" }', ["onmouseover"]),
    (
        "attr-list-image",
        '![x](pic.png){: srcset="javascript:alert(1) 2x" onload="alert(1)" }',
        ["javascript", "onload"],
    ),
    ("fence-attrs", '```{.python use_pygments=false onclick="alert(1)"}\nx = 1\n```', ["onclick"]),
    ("md-in-html-onclick", '<div markdown="1" onclick="alert(1)">*x*</div>', ["onclick"]),
    ("md-in-html-script", '<div markdown="1">\n<script>alert(1)</script>\n</div>', ["<script", "alert"]),
    ("reference-definition", "[x][evil]\n\n[evil]: javascript:alert(1)", ["javascript"]),
    ("reference-image", "![x][pic]\n\n[pic]: javascript:alert(1)", ["javascript"]),
    ("autolink-javascript", "<javascript:alert(1)>", ["javascript:"]),
    (
        "form",
        '<form action="https://evil.example"><input name=p>'
        '<button formaction="javascript:alert(1)">go</button></form>',
        ["<form", "<input", "<button", "action"],
    ),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', ["<meta", "refresh"]),
    ("base-href", '<base href="https://evil.example/">', ["<base", "evil.example"]),
    ("link-stylesheet", "<link rel=stylesheet href=//evil.example/x.css>", ["<link", "evil.example"]),
    ("math-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ["onerror", "<math"]),
    ("template", "<template><img src=x onerror=alert(1)></template>", ["onerror", "<template"]),
    (
        "noscript-mxss",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        ["onerror", "<noscript"],
    ),
    ("comment-breakout", "<!--><img src=x onerror=alert(1)>-->", ["onerror"]),
    ("conditional-comment", "<!--[if IE]><script>alert(1)</script><![endif]-->", ["<!--", "<script"]),
    (
        "target-opener",
        '<a href="https://ok.example" target="_blank" rel="opener">x</a>',
        ["target", '"opener"'],
    ),
    ("details-ontoggle", "<details open ontoggle=alert(1)><summary>s</summary></details>", ["ontoggle"]),
    ("video-source", "<video><source onerror=alert(1)></video>", ["<video", "<source", "onerror"]),
    ("textarea", "<textarea><script>alert(1)</script></textarea>", ["<textarea", "<script"]),
    (
        "img-srcset",
        '<img src="ok.png" srcset="javascript:alert(1) 1x, //evil.example/a 2x">',
        ["javascript", "evil"],
    ),
    (
        "forged-player",
        '<div id="cp-player-00-0"></div><p id="cp-solo-00-0"><a href="talk.mp4">x</a></p>',
        ["video", "cp-solo"],
    ),
]


@pytest.mark.parametrize(("payload", "forbidden"), [pytest.param(p, f, id=i) for i, p, f in XSS])
@pytest.mark.parametrize("where", ["own-block", "inline"])
def test_attack_is_inert_and_formatting_survives(payload: str, forbidden: list[str], where: str) -> None:
    if where == "inline":
        source = f"# Lesson\n\n**bold** {payload}\n\n**bold** after.\n"
    else:
        source = f"# Lesson\n\n**bold** before.\n\n{payload}\n\n**bold** after.\n"
    lesson = render(source, resolve=resolve)
    body = lesson.body_html

    assert_only_allowed(body)
    markup = tags_and_attrs(body)
    for needle in forbidden:
        assert needle.lower() not in markup, (needle, body)
    assert SENTINEL in body, body  # the formatting right before the attack
    assert '<h1 id="lesson">' in body


def test_the_allow_list_excludes_dangerous_things() -> None:
    """The list itself: a reviewer's checklist as an assertion."""
    never = {"script", "style", "iframe", "object", "embed", "form", "input", "button", "svg", "math", "link"}
    assert not never & ALLOWED_TAGS
    assert not (never | {"meta", "base", "video", "audio", "source", "track", "template"}) & ALLOWED_TAGS
    attributes = set().union(*ALLOWED_ATTRIBUTES.values())
    assert not {a for a in attributes if a.startswith("on")} and "style" not in attributes


def test_external_links_get_noopener() -> None:
    lesson = render("[x](https://example.com) <a href='https://example.com' rel='opener'>y</a>\n")
    assert lesson.body_html.count('rel="noopener noreferrer"') == 2


# ------------------------------------------------------------------------------------------ bounded time
LIMIT_S = 5.0  # generous: each of these takes well under 1.5 s on a 2-CPU machine
MB = 990_000


def repeat(unit: str, total: int = MB) -> str:
    return unit * (total // len(unit))


# Java that the Java lexer takes ~14 s on (before the guard saw through these fences: 2 blocks, ~28 s).
# Each block is under the size limits for highlighting, so only the choice of lexer keeps it fast.
SLOW_JAVA = ("a " * 40 + "\n") * 240
SLOW_FENCES = {
    "tab": "```java\t",
    "tab-and-spaces": "```java \t ",
    "spaces": "```java   ",
    "braces": "```{.java}",
    "braces-spaced": "```{ .java }",
    "braces-id": "``` { .java #x }",
    "quoted-class": '```{key=" .py" .java}',  # a class inside a quoted value is not the language
    "upper": "```JAVA",
    "title-case": "```Java",
    "alias-jsp": "```jsp",
    "alias-html-php": "```html+php",
    "braces-html-php": "```{.html+php}",
    "hl-lines-tab": '```java hl_lines="1"\t',
}


def slow_blocks(opening: str) -> str:
    return (opening + "\n" + SLOW_JAVA + "```\n\n") * 2


BOUNDED: list[tuple[str, Callable[[], str], str | None]] = [
    # (id, lesson, what the LessonError says, or None if it must render)
    ("quote-10000-deep", lambda: ">" * 10_000 + " x\n", "quotes nested 10000 levels deep"),
    ("quote-50-deep-many", lambda: ("> " * 50 + "x\n\n") * 9_000, "quote levels"),
    ("list-deep-4-spaces", lambda: "".join("    " * i + "- x\n" for i in range(600)), "levels of nesting"),
    ("list-deep-2-spaces", lambda: "".join("  " * i + "- x\n" for i in range(900)), "levels of nesting"),
    ("list-markers-one-line", lambda: "- " * 5_000 + "x\n", "list markers nested on one line"),
    ("long-line-text", lambda: repeat("word "), "characters (limit 20,000)"),
    ("long-line-star-a", lambda: repeat("*a"), "break it up"),
    ("long-line-brackets", lambda: repeat("["), "break it up"),
    ("long-line-backticks", lambda: repeat("`"), "break it up"),
    ("long-line-lt", lambda: repeat("<"), "break it up"),
    ("paragraphs-of-text", lambda: repeat("word " * 100 + "\n\n"), None),
    ("paragraphs-of-brackets", lambda: repeat("[" * 500 + "\n\n"), "unclosed brackets"),
    ("paragraphs-of-images-open", lambda: repeat("![" * 250 + "\n\n"), "too much inline markup"),
    ("paragraphs-of-star-a", lambda: repeat("*a" * 250 + "\n\n"), "too much inline markup"),
    ("paragraphs-of-emphasis-mix", lambda: repeat("*_" * 250 + "\n\n"), "too much inline markup"),
    ("paragraphs-of-code-spans", lambda: repeat("`a" * 250 + "\n\n"), "too much inline markup"),
    ("paragraphs-of-open-links", lambda: repeat("[a](" * 125 + "\n\n"), "too much inline markup"),
    ("paragraphs-of-quotes", lambda: repeat("'\"" * 250 + "\n\n"), "too much inline markup"),
    ("paragraphs-of-line-breaks", lambda: repeat("a  \n" * 125 + "\n"), "too much inline markup"),
    ("paragraphs-of-lt-a", lambda: repeat("<a" * 250 + "\n\n"), "'<' and '&'"),
    ("unclosed-tags", lambda: "x <b y\n\n" * 6_000 + "\n>", "never closed with '>'"),
    ("one-paragraph-of-lines", lambda: repeat(":\n"), "a paragraph of"),
    ("star-run", lambda: "*" * 5_000 + "a" + "*" * 5_000, "a run of 5,000 '*'"),
    ("nested-emphasis", lambda: "*a _a " * 3_000 + " a_ a*" * 3_000, "break it up"),
    ("many-footnotes", lambda: "".join(f"x[^{i}]\n" for i in range(2_000)), "footnote references"),
    ("same-heading-many-times", lambda: "# a\n\n" * 5_000, "more than 1,000 headings"),
    (
        "many-abbreviations",
        lambda: "".join(f"*[A{i}]: x\n" for i in range(3_000)),
        "abbreviation definitions",
    ),
    ("long-table", lambda: "|a|b|\n|-|-|\n" + "|x|y|\n" * 150_000, "too much inline markup"),
    ("wide-table", lambda: "|" + "a|" * 5_000 + "\n|" + "-|" * 5_000 + "\n", "'|' on one line"),
    ("many-code-blocks", lambda: "```\nx\n```\n" * 50_000, "code blocks"),
    ("many-admonitions", lambda: "!!! note\n    x\n\n" * 40_000, "split it"),
    ("definition-list-chain", lambda: "t\n:   d\n" * 3_000, "definition lists nested more than 50 deep"),
    ("nested-html-divs", lambda: "<div>\n" * 20_000, "nested more than 200 deep"),
    ("table-foster-parenting", lambda: "<table>x\n" * 20_000, "nested more than 200 deep"),
    ("inline-html-nesting", lambda: "x " + "<b><i>" * 150 + "\n", "nested more than 200 deep"),
    ("md-in-html-nesting", lambda: '<div markdown="1">\n' * 3_000 + "x\n", None),
    ("huge-code-block", lambda: "```python\n" + "x = [1, 2, 'a', \"b\"]  # c\n" * 35_000 + "```\n", None),
    ("many-paragraphs", lambda: "a\n\n" * 11_000, "more than 10,000 paragraphs"),
    # Pygments: quadratic lexers are not used, big blocks are not highlighted.
    ("pygments-java", lambda: "```java\n" + ("a " * 40 + "\n") * 12_000 + "```\n", None),
    ("pygments-html", lambda: "```html\n" + ("<?" * 40 + "\n") * 12_000 + "```\n", None),
    ("pygments-indented-java", lambda: "    :::java\n" + ("    " + "a " * 40 + "\n") * 10_000, None),
    ("pygments-python-budget", lambda: ("```python\n" + ("`" * 79 + "\n") * 240 + "```\n\n") * 40, None),
    ("pygments-long-lines", lambda: ("```js\n" + "'\\" * 9_000 + "\n```\n\n") * 40, None),
    ("fake-fence-hides-nothing", lambda: "```python title\n" + "> " * 60 + "x\n```\n", "quotes nested 60"),
    ("unclosed-fences", lambda: "".join("`" * (3 + i) + "\n" for i in range(60)), "never closed"),
    *(
        (f"pygments-java-fence-{variant}", lambda opening=opening: slow_blocks(opening), None)
        for variant, opening in SLOW_FENCES.items()
    ),
    # Markdown in a Markdown block: the markdown lexer would lex it with the Java lexer.
    ("pygments-java-inside-md", lambda: ("````md\n```java\n" + SLOW_JAVA + "```\n````\n\n") * 2, None),
    # fenced_code let hl_lines="..." run over lines, trying each quote to the end: quadratic. No fence here.
    ("fence-info-over-lines", lambda: '```python hl_lines="\n' + '"\n' * 40_000, "a paragraph of"),
    (
        "pygments-java-fences-at-the-size-limit",
        lambda: "".join(f"{opening}\n{SLOW_JAVA}```\n\n" for opening in ([*SLOW_FENCES.values()] * 4)[:50]),
        None,
    ),
]


@pytest.mark.parametrize(("make", "error"), [pytest.param(m, e, id=i) for i, m, e in BOUNDED])
def test_pathological_input_is_bounded(make: Callable[[], str], error: str | None) -> None:
    source = make().encode("utf-8")
    assert len(source) <= 1_000_000
    start = time.perf_counter()
    try:
        lesson = render_lesson(source, name="lessons/01-test.md")
    except LessonError as exc:
        elapsed = time.perf_counter() - start
        assert error is not None, f"unexpected LessonError: {exc}"
        assert error in str(exc), str(exc)
        assert str(exc).startswith("lessons/01-test.md")
    else:
        elapsed = time.perf_counter() - start
        assert error is None, f"rendered, but expected a LessonError saying {error!r}"
        assert_only_allowed(lesson.body_html)
    assert elapsed < LIMIT_S, elapsed


def test_too_much_code_is_shown_plain_with_a_warning() -> None:
    block = "```python\n" + "x = 1  # c\n" * 1_500 + "```\n\n"  # 16.5 KB: 3 fit the 60 KB budget
    lesson = render("# T\n\n" + block * 5)

    assert lesson.body_html.count('<div class="codehilite">') == 3
    assert lesson.body_html.count('<pre><code class="language-python">') == 2
    assert lesson.warnings == [
        "lessons/01-test.md, line 4512, 6015: code shown without highlighting: a block over 20,000 "
        "characters or with lines over 500, or more than 60,000 characters of code in the lesson."
    ]


def test_unlisted_languages_are_shown_plain() -> None:
    lesson = render("```java\nclass A {}\n```\n\n```{.fortran #f}\nx\n```\n\n```python\nx = 1\n```\n")

    assert '<pre><code class="language-java">class A {}' in lesson.body_html
    assert '<pre><code class="language-fortran">x' in lesson.body_html
    assert '<span class="n">x</span>' in lesson.body_html
    assert lesson.warnings[0].startswith(
        "lessons/01-test.md: code in fortran, java is shown without highlighting"
    )


def test_nesting_limit_names_the_line() -> None:
    with pytest.raises(
        LessonError, match=r"lessons/01-test.md, line 3: quotes nested 51 levels deep \(limit 50\)"
    ):
        render("# T\n\n" + "> " * 51 + "x\n")


# ------------------------------------------------------------------------------------------ fence options
# fenced_code passed every key=value on a fence to CodeHilite and Pygments: these raised TypeError,
# ClassNotFound, OptionError, RuntimeError, LookupError, ZeroDivisionError..., or wrote a PNG into the page.
FENCE_OPTIONS = [
    "{.python src=x}",
    "{.python lang=x}",
    " { .python lang=x }",
    "{.python style=x}",
    "{.python pygments_style=x}",
    "{.python pygments_formatter=img}",
    "{.python pygments_formatter=latex}",
    "{.python tagsfile=x}",
    "{.python linenostart=x}",
    "{.python linenos=inline linenostep=0}",
    "{.python tabsize=100000000}",
    "{.python encoding=x}",
    "{.python filters=x}",
    "{.python wrapcode=x}",
    "{.python stripnl=x}",
    "{.python noclasses=true}",
    "{.python full=true cssfile=/etc/passwd}",
    "{.no-such-language guess_lang=true}",
    "{.python css_class=x lang_prefix=y}",
    '{.python hl_lines="x" linenums=maybe}',
    "{.python hl_lines=99999999999999999999 use_pygments}",
]


@pytest.mark.parametrize("attrs", FENCE_OPTIONS)
def test_fence_options_never_reach_pygments(attrs: str) -> None:
    try:
        lesson = render(f"# T\n\n**bold** before.\n\n```{attrs}\nx = 1\n\tindented\n```\n\n**bold** after.\n")
    except LessonError as exc:  # allowed, if it tells the author what to fix; nothing else is
        assert str(exc).startswith("lessons/01-test.md") and "code block" in str(exc), str(exc)
        return

    assert_only_allowed(lesson.body_html)
    assert SENTINEL in lesson.body_html and "x" in lesson.body_html
    assert "PNG" not in lesson.body_html and "\\begin" not in lesson.body_html
    assert len(lesson.body_html) < 5_000, len(lesson.body_html)  # tabsize: no megabytes of spaces
    keys = {key for key in re.findall(r"(\w+)=", attrs) if key not in fences.ALLOWED_OPTIONS}
    if keys:
        (note,) = [w for w in lesson.warnings if "code block option" in w]
        assert note.startswith("lessons/01-test.md, line 5: code block option")
        assert all(key in note for key in keys), note
        assert "a fence takes a language, #id, .class" in note


def test_allowed_fence_options_still_work() -> None:
    lesson = render('```{.python #sample .wide hl_lines="2" linenums=true}\nx = 1\ny = 2\n```\n')

    assert '<div class="wide codehilite">' in lesson.body_html
    assert '<span class="hll">' in lesson.body_html and 'class="linenos"' in lesson.body_html
    assert lesson.warnings == []


# ------------------------------------------------------------------------------------------ unexpected errors
def test_an_unexpected_error_is_a_lesson_error_naming_the_lesson(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise TypeError("a bug in a highlighter")

    monkeypatch.setattr(fences, "highlight", broken)

    with pytest.raises(LessonRenderError) as caught:
        render("# T\n\n```python\nx = 1\n```\n")
    assert str(caught.value).startswith(
        "lessons/01-test.md: the lesson could not be rendered (TypeError, a renderer failure"
    )
    assert "upload it again" in str(caught.value)
    assert "a bug in a highlighter" not in str(caught.value)  # internals stay in the log
    assert any(r.exc_info and "lessons/01-test.md" in r.getMessage() for r in caplog.records)
    assert isinstance(caught.value, LessonError) and isinstance(caught.value.__cause__, TypeError)


def test_memory_errors_are_not_disguised_as_lesson_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> str:
        raise MemoryError

    monkeypatch.setattr(fences, "highlight", exhausted)

    with pytest.raises(MemoryError):
        render("```python\nx = 1\n```\n")
