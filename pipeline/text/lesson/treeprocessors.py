"""The renderer's Markdown tree processors: what it changes in, and measures of, Markdown's element tree.

Markdown runs them by priority (``render.py`` registers them): ``NodeCheck`` before inline parsing,
``BlankTails`` around smarty, ``SoloLinkMarker`` after attr_list, ``TableWrapper`` last. They are
duck-typed (``run(root)``): Markdown has no type stubs to subclass. ``InlineMeter`` is not one, but wraps
Markdown's inline patterns to count their work.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from typing import TYPE_CHECKING, Any

from markdown.util import AtomicString

from pipeline.errors import LessonError
from pipeline.text.lesson.limits import INLINE_WORK_BUDGET, MAX_PARAGRAPH_CHARS, Locator, snippet

if TYPE_CHECKING:
    import re
    from collections.abc import Callable

    import markdown


class TableWrapper:
    """Put each table in a scroll container, so a wide table scrolls instead of widening the page.

    A Markdown tree processor (duck-typed: Markdown has no type stubs to subclass), so the wrapper is
    part of the tree before sanitizing rather than spliced into sanitized HTML as text.
    """

    def run(self, root: etree.Element) -> None:
        # Collect first: wrapping while iterating would visit each table again inside its wrapper.
        found = [(parent, child) for parent in root.iter() for child in parent if child.tag == "table"]
        for parent, table in found:
            wrapper = etree.Element("div", {"class": "cp-table"})
            wrapper.tail, table.tail = table.tail, None
            parent.insert(list(parent).index(table), wrapper)
            parent.remove(table)
            wrapper.append(table)


class SoloLinkMarker:
    """Mark each paragraph whose only content is one link or image: a video there becomes a player.

    Runs after attr_list (so ``{: .x }`` is gone from the text). The marker is an id with the render's
    nonce; the first clean keeps only such ids on paragraphs, and the rewrite removes them again.
    """

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce

    def run(self, root: etree.Element) -> None:
        count = 0
        for p in root.iter("p"):
            if len(p) != 1 or (p.text or "").strip() or (p[0].tail or "").strip():
                continue
            if p[0].tag in ("a", "img"):
                p.attrib.pop("id", None)
                p.set("id", f"cp-solo-{self.nonce}-{count}")
                count += 1


class NodeCheck:
    """Before inline parsing: refuse a paragraph (list item, table cell...) too long for Markdown's inline
    parser, which slows down with the length of the text it works on, and charge the meter for each text
    (every one costs a pass of each inline pattern, twice with smarty)."""

    def __init__(self, meter: InlineMeter) -> None:
        self.meter = meter

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            for text in (element.text, element.tail):
                if not text or isinstance(text, AtomicString):
                    continue
                if len(text) > MAX_PARAGRAPH_CHARS:
                    raise LessonError(
                        f"{self.meter.where.prefix(snippet(text), unique=True)}: a paragraph of "
                        f"{len(text):,} characters; the limit is {MAX_PARAGRAPH_CHARS:,}. "
                        "Split it with blank lines."
                    )
                self.meter.spend(1 + len(text) // 1_000, text, 0)


class BlankTails:
    """Take whitespace-only tails off the tree while smarty runs, then put them back.

    Smarty runs its inline parser after prettify gave every block a "\\n" tail, and Markdown's inline
    parser handles each tail with a linear search of the siblings: quadratic in the number of blocks
    (20,000 paragraphs: 4 s). Smarty would not change whitespace anyway.
    """

    def __init__(self, store: dict[etree.Element, str], *, stash: bool) -> None:
        self.store = store
        self.stash = stash

    def run(self, root: etree.Element) -> None:
        if not self.stash:
            for element, tail in self.store.items():
                element.tail = tail
            self.store.clear()
            return
        for element in root.iter():
            if element.tail is not None and not element.tail.strip():
                self.store[element] = element.tail
                element.tail = None


class InlineMeter:
    """Count the work of Markdown's inline parser, deterministically, and stop a lesson that needs too much.

    Each inline match costs one unit (more in long paragraphs, where Markdown rebuilds the text after each),
    and link parsing one unit per ~200 characters it scans looking for a closing ``]`` or ``)`` (unclosed
    brackets make it scan to the end of the paragraph, for each one). ~30 us a unit on a 2-CPU machine.
    """

    def __init__(self, where: Locator) -> None:
        self.where = where
        self.units = 0

    def attach(self, md: markdown.Markdown) -> None:
        # smarty (and any extension like it) runs its own inline parser as a tree processor.
        registries = [md.inlinePatterns]
        registries += [p.inlinePatterns for p in md.treeprocessors if hasattr(p, "inlinePatterns")]
        for registry in registries:
            for pattern in registry:
                self._wrap(pattern)

    def _wrap(self, pattern: Any) -> None:
        handle = pattern.handleMatch

        def handle_match(match: re.Match[str], data: str | None = None) -> Any:
            self.spend(1 + (len(data) // 1_000 if data else 0), data, match.start())
            return handle(match, data) if data is not None else handle(match)

        pattern.handleMatch = handle_match
        for scanner in ("getText", "getLink"):
            if hasattr(pattern, scanner):
                setattr(pattern, scanner, self._scanner(getattr(pattern, scanner)))

    def _scanner(self, scan: Callable[..., Any]) -> Callable[..., Any]:
        def counted(data: str, index: int) -> Any:
            result = scan(data, index)
            end = result[-2] if result[-1] else len(data)  # (..., index, handled)
            self.spend(max(0, end - index) // 200, data, index)
            return result

        return counted

    def spend(self, units: int, data: str | None, at: int) -> None:
        self.units += units
        if self.units > INLINE_WORK_BUDGET:
            near = snippet(data[at:]) if data else ""
            raise LessonError(
                f"{self.where.prefix(near, unique=True)}: too much inline markup for one lesson (links, "
                f"emphasis, code, quotes, or '[', '`', '*', '<' that never close) near {near!r}. "
                "Split the lesson, or check for unclosed brackets and backticks."
            )
