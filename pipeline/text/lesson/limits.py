"""What a lesson may ask of the renderer: bounds, and the checks that refuse a lesson before it costs.

Python-Markdown is quadratic or recursive on some inputs (deep lists, thousands of headings, long runs of
unclosed brackets...): ``check_structure`` (over the source lines, before Markdown runs) and
``check_html_depth`` (over Markdown's output, before the sanitizer parses it) refuse those with a message
that tells the author what to change; the inline work meter (``treeprocessors.py``) stops what only shows
while Markdown runs; ``pipeline/text/fences.py`` keeps Pygments (quadratic in many lexers) to blocks it
handles quickly. So a 1 MB lesson renders in bounded time or fails fast. The limits and their costs
were measured with tests/unit/test_lesson_hostile.py's inputs on a 2-CPU machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import LessonError

if TYPE_CHECKING:
    from pipeline.text.fences import Fence

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
_TEXT_PLACEHOLDER = re.compile("[\x02\x03]|wzxhzdk:\\d+|klzzwxh:\\d+")


def snippet(text: str) -> str:
    """The start of ``text`` as the author wrote it (no Markdown placeholders), to quote in a message."""
    return _TEXT_PLACEHOLDER.sub("", text)[:40].split("\n", 1)[0]


class Locator:
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


def check_html_depth(html: str, *, name: str) -> None:
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


def check_structure(lines: list[str], fences: list[Fence], *, name: str, first_line: int) -> None:
    """One pass over the lines for what Python-Markdown handles in super-linear time or by recursion.

    Each refusal names the line and says what to change. Fenced code is skipped: Markdown sets it aside
    before parsing anything else. The checks of one line run in a fixed order (the line's own shape, then
    the running counts), so a line over two limits always names the same one.
    """
    in_code = bytearray(len(lines))
    for fence in fences:
        in_code[fence.start : fence.end + 1] = b"\x01" * (fence.end + 1 - fence.start)
    tally = _Tally()
    outside: list[str] = []  # lines outside fenced code, for the unclosed-tag scan
    for index, line in enumerate(lines):
        fail = _Refusal(name, first_line + index)
        if len(line) > MAX_LINE_CHARS:
            raise fail(f"the line has {len(line):,} characters (limit {MAX_LINE_CHARS:,})", "break it up")
        if in_code[index]:
            outside.append("")
            continue
        outside.append(line)
        _check_line(line, tally, fail)
    _check_unclosed_tags("\n".join(outside), name=name, first_line=first_line)


@dataclass(frozen=True)
class _Refusal:
    name: str
    number: int

    def __call__(self, problem: str, fix: str) -> LessonError:
        return LessonError(f"{self.name}, line {self.number}: {problem}; {fix}.")


@dataclass
class _Tally:
    """The running counts of one lesson's lines."""

    headings: int = 0
    footnotes: int = 0
    abbreviations: int = 0
    markup: int = 0
    blocks: int = 0
    quote_depth: int = 0
    list_level: int = 0
    previous_blank: bool = True
    # A term line between two definitions with no blank line nests a new list inside the last definition.
    definitions: int = 0
    after_term: int = 0


def _check_line(line: str, tally: _Tally, fail: _Refusal) -> None:
    quotes = _QUOTE_PREFIX.match(line)
    depth = quotes.group(0).count(">") if quotes else 0
    rest = line[quotes.end() :] if quotes else line
    if depth > MAX_NESTING:
        raise fail(f"quotes nested {depth} levels deep (limit {MAX_NESTING})", "use fewer '>'")
    indent = len(rest) - len(rest.lstrip(" \t"))
    markers = _check_shape(rest, indent, fail)
    _count_marks(rest, tally, fail)
    _count_blocks(line, rest, depth, indent, markers, tally, fail)
    _count_definitions(rest, tally, fail)
    tally.previous_blank = not line.strip()


def _check_shape(rest: str, indent: int, fail: _Refusal) -> re.Match[str] | None:
    """Limits of the line alone: indentation, list markers, delimiter runs. Returns its list markers."""
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
    return markers


def _count_marks(rest: str, tally: _Tally, fail: _Refusal) -> None:
    """Headings, footnote marks, abbreviations: each costs Markdown work over the whole lesson."""
    if _ATX_HEADING.match(rest) or (not tally.previous_blank and _SETEXT_UNDERLINE.match(rest)):
        tally.headings += 1
        if tally.headings > MAX_HEADINGS:
            raise fail(f"more than {MAX_HEADINGS:,} headings", "split the lesson")
    tally.footnotes += rest.count("[^")
    if tally.footnotes > MAX_FOOTNOTE_MARKS:
        raise fail(f"more than {MAX_FOOTNOTE_MARKS:,} footnote references and notes", "split the lesson")
    if _ABBREVIATION.match(rest):
        tally.abbreviations += 1
        if tally.abbreviations > MAX_ABBREVIATIONS:
            raise fail(f"more than {MAX_ABBREVIATIONS} abbreviation definitions", "define fewer")
    pipes = rest.count("|")
    if pipes > MAX_TABLE_PIPES:
        raise fail(
            f"{pipes:,} '|' on one line (a table may have about {MAX_TABLE_PIPES} columns)", "split it"
        )


def _count_blocks(
    line: str,
    rest: str,
    depth: int,
    indent: int,
    markers: re.Match[str] | None,
    tally: _Tally,
    fail: _Refusal,
) -> None:
    """Each quote or list level an author opens is another block for Markdown to parse; '<' and '&'
    outside code are events for its HTML scanner."""
    level = len(rest[:indent].expandtabs(4)) // 4 if markers else tally.list_level
    tally.blocks += max(0, depth - tally.quote_depth) + max(0, level - tally.list_level)
    tally.quote_depth = depth
    tally.list_level = level if markers or (indent and line.strip()) else 0
    if rest.strip() and (tally.previous_blank or markers):
        tally.blocks += 1
    if tally.blocks > MAX_BLOCKS:
        raise fail(f"more than {MAX_BLOCKS:,} paragraphs, list items, headings and quote levels", "split it")
    tally.markup += rest.count("<") + rest.count("&")
    if tally.markup > MAX_MARKUP_CHARS:
        raise fail(f"more than {MAX_MARKUP_CHARS:,} '<' and '&' outside code blocks", "split the lesson")


def _count_definitions(rest: str, tally: _Tally, fail: _Refusal) -> None:
    if not rest.strip():
        tally.definitions = tally.after_term = 0
    elif _DEFINITION.match(rest):
        tally.definitions += tally.after_term
        tally.after_term = 0
        if tally.definitions > MAX_NESTING:
            raise fail(
                f"definition lists nested more than {MAX_NESTING} deep (a term right after a "
                "definition starts a list inside it)",
                "put a blank line between one definition and the next term",
            )
    else:
        tally.after_term = 1


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
