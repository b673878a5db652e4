"""Fenced code blocks: where they are, which fence options are honoured, and which blocks Pygments colours.

This replaces Python-Markdown's fenced_code preprocessor (same syntax: ``OPENING``), so that one function,
``find_fences``, run on the text Markdown's block parser sees, decides both what the structure checks skip
as code and what the renderer highlights. Two holes made that necessary (issue 11):

- fenced_code hands every ``key=value`` of ``{.python key=value}`` to CodeHilite and on to Pygments, where
  unexpected keys raise (``lang=``, ``src=``, ``pygments_style=``, ``tagsfile=``...) or cost without bound
  (``tabsize=``, ``guess_lang=``). Only ``ALLOWED_OPTIONS`` pass here; the rest are reported and ignored.
- the guard that keeps Pygments to lexers that are fast on hostile input parsed fence lines its own way,
  so ``java`` followed by a tab (which Markdown turns into spaces), or a class hidden in a quoted value,
  reached a lexer that is quadratic. Here the lexer that is checked is the lexer that runs.

One difference from fenced_code, on purpose: ``hl_lines="..."`` outside braces must close on the fence's
own line. fenced_code lets it run over several lines, which costs time quadratic in the lesson's quotes.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from functools import cache
from html import escape
from typing import TYPE_CHECKING, Any

from markdown.extensions.attr_list import get_attrs_and_remainder
from markdown.extensions.codehilite import parse_hl_lines
from markdown.util import parseBoolValue
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import find_lexer_class_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from pipeline.errors import LessonError

if TYPE_CHECKING:
    from pygments.lexer import Lexer

MAX_CODE_BLOCKS = 1_000
MAX_UNCLOSED_FENCES = 50  # an opening fence nothing closes is shown as text: 50 of them are a mistake
# Pygments is quadratic or worse on hostile input for many lexers (java, csharp, html, xml... time out on
# 20 KB): only the lexers of these names, fuzzed at <= 8 us a character on blocks within the limits
# below, highlight. Other blocks are shown plain, in <pre><code class="language-...">.
HIGHLIGHTED_LANGUAGES = frozenset(
    {
        *("python", "py", "python3", "pycon", "javascript", "js", "jsx", "typescript", "ts", "tsx", "json"),
        *("yaml", "yml", "bash", "sh", "shell", "zsh", "console", "shell-session", "css", "scss", "sql"),
        *("c", "cpp", "c++", "go", "golang", "rust", "rs", "ruby", "rb", "php", "kotlin", "swift", "diff"),
        *("patch", "ini", "toml", "docker", "dockerfile", "markdown", "md", "text", "txt", "r", "lua"),
        *("perl", "haskell", "scala"),
    }
)
MAX_HIGHLIGHTED_BLOCK = 20_000  # characters of one code block
MAX_HIGHLIGHTED_LINE = 500  # characters of its longest line
MAX_HIGHLIGHTED_CHARS = 60_000  # all highlighted code of a lesson (~0.5 s at worst)
CSS_CLASS = "codehilite"  # the page's stylesheet colours tokens inside it (see page.py)
# What a fence may say besides its language, #id and .classes. Pygments gets nothing else from an author.
ALLOWED_OPTIONS = ("hl_lines", "linenums", "use_pygments")
# The markdown lexer would lex the code blocks inside a Markdown sample with their own lexers (java...);
# no other lexer reads this option.
_LEXER_OPTIONS = {"handlecodeblocks": False}
_MAX_NOTED = 10  # languages or option names listed in one note
_MAX_LINES_NOTED = 5

# The opening line of a fenced code block, as fenced_code's FENCED_BLOCK_RE reads it (whole line): the
# fence, then either ``{attribute list}`` or an optional ``.lang`` and an optional ``hl_lines="..."``.
OPENING = re.compile(
    r"(?P<fence>~{3,}|`{3,}) *(?:\{(?P<attrs>.*)\}|\.?(?P<lang>[\w#.+-]*) *"
    r"(?:hl_lines=(?P<quot>[\"'])(?P<hl_lines>.*?)(?P=quot) *)?)"
)


@dataclass(frozen=True)
class Fence:
    """A fenced code block: the opening line is ``lines[start]``, the closing one ``lines[end]``."""

    start: int
    end: int
    lang: str | None
    id: str = ""
    classes: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # only ALLOWED_OPTIONS, parsed
    ignored: tuple[str, ...] = ()  # the other option names the author wrote


def markdown_lines(md: Any, text: str) -> list[str]:
    """``text`` as Markdown's block parser will see it: its own whitespace normalization (tabs become
    spaces, blank lines empty), which is idempotent, so checks made on these lines hold for the render."""
    lines: list[str] = md.preprocessors["normalize_whitespace"].run(text.split("\n"))
    return lines


def find_fences(lines: list[str], *, name: str, first_line: int) -> list[Fence]:
    """Fenced code blocks, with fenced_code's rules: an opening line ``OPENING`` matches (an attribute list
    with unbalanced braces is none), closed by the next line that is the same fence, optionally followed by
    spaces. An opening without a close is no block at all: its lines are Markdown."""
    closers: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        if line[:3] in ("```", "~~~"):
            closers.setdefault(line.rstrip(" "), []).append(index)
    fences: list[Fence] = []
    unclosed = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        opened = OPENING.fullmatch(line) if line[:3] in ("```", "~~~") else None
        fence = None if opened is None else _parse(opened, index)
        if opened is None or fence is None:
            index += 1
            continue
        candidates = closers.get(opened.group("fence"), [])
        after = bisect.bisect_right(candidates, index)
        end = candidates[after] if after < len(candidates) else None
        if end is None:
            unclosed += 1
            if unclosed > MAX_UNCLOSED_FENCES:
                raise LessonError(
                    f"{name}, line {first_line + index}: more than {MAX_UNCLOSED_FENCES} code fences "
                    f"({opened.group('fence')}) that are never closed; close each with the same fence."
                )
            index += 1
            continue
        fences.append(replace(fence, end=end))
        if len(fences) > MAX_CODE_BLOCKS:
            raise LessonError(
                f"{name}, line {first_line + index}: more than {MAX_CODE_BLOCKS:,} code blocks; "
                "split the lesson."
            )
        index = end + 1
    return fences


def _parse(opened: re.Match[str], start: int) -> Fence | None:
    """Language, id, classes and options as fenced_code resolves them; None where it sees no fence."""
    attrs = opened.group("attrs")
    if not attrs:  # "{}" too: fenced_code reads it as no attribute list
        hl_lines = opened.group("hl_lines")
        options = {"hl_lines": parse_hl_lines(hl_lines)} if hl_lines else {}
        return Fence(start, start, opened.group("lang") or None, options=options)
    pairs, remainder = get_attrs_and_remainder(attrs)
    if remainder:
        return None
    id_, classes, options, ignored = "", [], {}, []
    for key, value in pairs:
        text = key if value is None else value  # a bare key is a flag: fenced_code uses it as its value
        if key == "id":
            id_ = text
        elif key == ".":
            classes.append(text)
        elif key == "hl_lines":
            options[key] = parse_hl_lines(text)
        elif key in ALLOWED_OPTIONS:
            options[key] = parseBoolValue(text, fail_on_errors=False, preserve_none=True)
        elif key not in ignored:
            ignored.append(key)
    lang = classes.pop(0) if classes else None
    return Fence(start, start, lang, id_, tuple(classes), options, tuple(ignored))


@cache
def _highlighted_lexers() -> frozenset[type[Lexer]]:
    return frozenset(filter(None, map(lexer_class, HIGHLIGHTED_LANGUAGES)))


def lexer_class(lang: str) -> type[Lexer] | None:
    """The lexer Pygments runs for ``lang`` (a name it does not know: the text lexer, as CodeHilite does,
    for the listed names; None for others, shown plain)."""
    try:
        found: type[Lexer] = find_lexer_class_by_name(lang)
    except ClassNotFound:
        return TextLexer if lang.lower() in HIGHLIGHTED_LANGUAGES else None
    return found


class FencedCode:
    """Markdown preprocessor (duck-typed: Markdown has no type stubs) standing in for fenced_code's.

    Each block goes into Markdown's HTML stash: highlighted by Pygments when its lexer is one of the listed
    ones and it fits the size limits, else escaped in ``<pre><code class="language-...">``. ``notes``
    holds what the author should know afterwards (blocks shown plain, options ignored).
    """

    def __init__(self, md: Any, *, name: str, first_line: int) -> None:
        self.md = md
        self.name = name
        self.first_line = first_line
        self.notes: list[str] = []

    def run(self, lines: list[str]) -> list[str]:
        budget = MAX_HIGHLIGHTED_CHARS
        plain_languages: set[str] = set()
        big: list[int] = []
        ignored: dict[str, list[int]] = {}
        out: list[str] = []
        at = 0
        for fence in find_fences(lines, name=self.name, first_line=self.first_line):
            number = self.first_line + fence.start
            code_lines = lines[fence.start + 1 : fence.end]
            code = "".join(f"{line}\n" for line in code_lines)
            for key in fence.ignored:
                ignored.setdefault(key, []).append(number)
            lexer = None if fence.lang is None else lexer_class(fence.lang)
            if fence.options.get("use_pygments", True) is False:
                html = _plain(code, fence)
            elif fence.lang is None:
                html = _highlight(code, TextLexer, fence)  # linear: nothing to guard
            elif lexer is None or lexer not in _highlighted_lexers():
                plain_languages.add(fence.lang.lower())
                html = _plain(code, fence)
            elif (
                len(code) > MAX_HIGHLIGHTED_BLOCK
                or len(code) > budget
                or max(map(len, code_lines), default=0) > MAX_HIGHLIGHTED_LINE
            ):
                big.append(number)
                html = _plain(code, fence)
            else:
                budget -= len(code)
                html = _highlight(code, lexer, fence)
            # As fenced_code: the block becomes a stashed placeholder on a line of its own.
            out += [*lines[at : fence.start], "", self.md.htmlStash.store(html), ""]
            at = fence.end + 1
        out += lines[at:]
        self.notes = self._notes(plain_languages, big, ignored)
        return out

    def _notes(self, languages: set[str], big: list[int], ignored: dict[str, list[int]]) -> list[str]:
        notes = []
        if languages:
            notes.append(
                f"{self.name}: code in {_some(sorted(languages), _MAX_NOTED)} is shown without highlighting "
                "(highlighted: Python, JavaScript/TypeScript, shell, JSON, YAML, SQL, CSS, C/C++, Go, Rust "
                "and a few more)."
            )
        if big:
            notes.append(
                f"{self.name}, line {_some(big, _MAX_LINES_NOTED)}: code shown without highlighting: a "
                f"block over {MAX_HIGHLIGHTED_BLOCK:,} characters or with lines over {MAX_HIGHLIGHTED_LINE}, "
                f"or more than {MAX_HIGHLIGHTED_CHARS:,} characters of code in the lesson."
            )
        if ignored:
            names = [key[:40] for key in ignored]
            where = sorted({n for numbers in ignored.values() for n in numbers})
            notes.append(
                f"{self.name}, line {_some(where, _MAX_LINES_NOTED)}: code block "
                f"option{'s' if len(names) > 1 else ''} {_some(names, _MAX_NOTED)} ignored; a fence takes a "
                'language, #id, .class, hl_lines="1 3", linenums=true and use_pygments=false, e.g. '
                '```{.python hl_lines="2"}.'
            )
        return notes


def _some(items: list[str] | list[int], limit: int) -> str:
    return ", ".join(str(item) for item in items[:limit]) + (" ..." if len(items) > limit else "")


def _highlight(code: str, lexer: type[Lexer], fence: Fence) -> str:
    """What CodeHilite would write for this block, with only the allowed options."""
    formatter = HtmlFormatter(
        cssclass=" ".join((*fence.classes, CSS_CLASS)),
        wrapcode=True,
        linenos=fence.options.get("linenums"),
        hl_lines=fence.options.get("hl_lines", []),
    )
    html: str = highlight(code.strip("\n"), lexer(**_LEXER_OPTIONS), formatter)
    return html


def _plain(code: str, fence: Fence) -> str:
    """What fenced_code writes without Pygments (minus key=value attributes on ``<code>``)."""
    pre = "".join(
        (
            f' id="{escape(fence.id)}"' if fence.id else "",
            f' class="{escape(" ".join(fence.classes))}"' if fence.classes else "",
        )
    )
    lang = f' class="language-{escape(fence.lang)}"' if fence.lang else ""
    text = code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return f"<pre{pre}><code{lang}>{text}</code></pre>"
