"""Fenced code (pipeline/text/fences.py) reads fences as Python-Markdown's fenced_code does, and writes what
fenced_code + CodeHilite wrote for the options it keeps: checked against the library itself, so an upgrade
that changes the syntax fails here rather than reopening the highlighting guard."""

from __future__ import annotations

import re

import markdown
import pytest

from pipeline.text.fences import FencedCode, find_fences, lexer_class, markdown_lines
from pipeline.text.lesson import render_lesson

OPENINGS = [
    "```",
    "~~~",
    "````",
    "```python",
    "```.python",
    "```python   ",
    "```   python",
    "```java\t",
    "```\tjava",
    "``` java\t\t",
    "```JAVA",
    "```c++",
    "```c#",
    "```html+php",
    "```{.java}",
    "```{ .java }",
    "``` { .java }",
    "```{.java} ",
    "```{.java #x .extra hl_lines='1'}",
    '```{key=" .py" .java}',
    "```{#only-id}",
    "```{}",
    "```{.python }}",
    "```{{.python}}",
    "```{.python {}",
    "```java{.x}",
    "```java {.x}",
    '```python hl_lines="1 2"',
    "```python hl_lines='1'  ",
    '```hl_lines="1"',
    '```python hl_lines="1',
    "```python title",
    "```python3 extra words",
    "~~~{.rust}",
    "```\t{.java}",
]


def _upstream(document: str) -> list[str | None]:
    """The language of each block fenced_code finds (None: a block without one)."""
    html = markdown.markdown(document, extensions=["fenced_code"])
    return [lang or None for lang in re.findall(r'<pre[^>]*><code(?: class="language-([^"]*)")?>', html)]


def _ours(document: str) -> list[str | None]:
    md = markdown.Markdown()
    return [fence.lang for fence in find_fences(markdown_lines(md, document), name="t.md", first_line=1)]


@pytest.mark.parametrize("opening", OPENINGS)
def test_fences_are_found_as_fenced_code_finds_them(opening: str) -> None:
    fence = re.match(r"[`~]+", opening)
    assert fence is not None
    document = f"before\n\n{opening}\ncode\n{fence.group(0)}\n\nafter\n"

    assert _ours(document) == _upstream(document), opening


def test_a_false_opening_does_not_hide_what_follows() -> None:
    # fenced_code skips "{.python }}" (unbalanced braces) and finds the next fence at the "```" below it.
    document = "```{.python }}\nnot code\n```\ncode\n```\n"

    fences = find_fences(markdown_lines(markdown.Markdown(), document), name="t.md", first_line=1)

    assert [(f.start, f.end) for f in fences] == [(2, 4)]
    assert _ours(document) == _upstream(document)


@pytest.mark.parametrize(
    "opening",
    [
        "```python",
        "```{.python}",
        '```{.python hl_lines="1 3"}',
        "```{.python linenums=true}",
        "```{.python .extra #x}",
        "```",
        "```{.java}",
        "```{.python use_pygments=false}",
        "```{.fortran .extra #x}",
    ],
)
def test_output_is_what_fenced_code_and_codehilite_wrote(opening: str) -> None:
    document = f"{opening}\nx = 1  # c\ny = '<b>'\nz = 3\n```\n"
    config = {"codehilite": {"guess_lang": False, "css_class": "codehilite", "noclasses": False}}
    upstream = markdown.markdown(document, extensions=["fenced_code", "codehilite"], extension_configs=config)
    md = markdown.Markdown(extensions=["codehilite"])
    md.preprocessors.register(FencedCode(md, name="t.md", first_line=1), "fenced_code_block", 25)

    ours = md.convert(document)

    if "java" in opening or "fortran" in opening:  # shown plain here, highlighted by CodeHilite
        assert ours.startswith("<pre") and "codehilite" not in ours
    else:
        assert ours == upstream


def test_the_guard_checks_the_lexer_that_runs() -> None:
    assert lexer_class("Python") is lexer_class("py3") is lexer_class("python")
    assert lexer_class("JAVA") is lexer_class("java")
    assert lexer_class("no-such-language") is None
    # A listed name Pygments does not know gets the text lexer, as CodeHilite gives it.
    assert lexer_class("txt") is lexer_class("text")


@pytest.mark.parametrize(
    "opening",
    ["```java\t", "```java   ", "```{.java}", "```{ .java }", '```{key=" .py" .java}', "```Java", "```jsp"],
)
def test_slow_lexers_are_not_used_whatever_the_fence_says(opening: str) -> None:
    lesson = render_lesson(f"{opening}\nclass A {{}}\n```\n".encode(), name="t.md")

    assert "codehilite" not in lesson.body_html
    assert 'class="language-' in lesson.body_html and "class A {}" in lesson.body_html
    assert lesson.warnings and "shown without highlighting" in lesson.warnings[0]


def test_structure_checks_see_the_lines_markdown_parses() -> None:
    # A tab after the language: Markdown reads a fence (it expands tabs first), so the checks skip it too.
    lesson = render_lesson(("```text\t\n" + "> " * 60 + "x\n```\n").encode(), name="t.md")

    assert "&gt; &gt;" in lesson.body_html
