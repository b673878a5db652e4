"""The course site's search: one small JSON document per lesson (its text cut at its headings) and one per
course (which lessons to search, in course order), merged by the reader's ``search.js``.

Why fragments merged in the browser rather than one index written by whichever run finishes last: lessons
render concurrently, each in its own execution, and a merged file written after reading the others can be
overwritten by a run that read before a sibling wrote. A lesson's fragment is written by the same render
that writes its page, so it always says what that page says (a transcript appears in both when the
captions' run re-renders the lesson) and it is removed with the page. The course list is written with the
index page, from the same view: a learner can search exactly the lessons the index links; a listed
lesson whose fragment is missing (never rendered, failed) is skipped by the reader.

Why our own index rather than Pagefind: its Python package downloads a platform binary at first use, and
the indexer would need every page at once, which no single execution has.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from pipeline import layout
from pipeline.keys import asset_id_for

if TYPE_CHECKING:
    from pipeline.text.page import CourseView

FORMAT = 1
SECTION_LEVELS = {"h2", "h3", "h4"}
MAX_SECTION_CHARS = 20_000
"""Per section, and the transcript of each player: enough for a snippet and every word of a long talk."""
MAX_LESSON_CHARS = 300_000
"""Per lesson, so a 1 MB lesson with a 4-hour transcript stays a fetch a phone can afford."""
TRANSCRIPT = "transcript"

_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_BLOCK = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "pre", "table", "tr", "td", "th", "blockquote",
    "figure", "figcaption", "section", "details", "summary", "br", "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
_SPACE = re.compile(r"\s+")
_PAGE = re.compile(re.escape(layout.lesson_page("@")).replace("@", "([^/]+)"))


def lesson_fragment(title: str, body_html: str) -> dict[str, Any]:
    """``{"v", "title", "sections": [{"anchor", "heading", "text"[, "kind"]}]}`` from a sanitized body.

    A section starts at each h2-h4 that has an id (its ``#anchor``); text before the first is the
    lesson's own (anchor ``""``: the top of the page). A player's transcript is a section of its own
    (``kind: "transcript"``) under the heading it follows. Left out: the h1 (the title is the
    fragment's ``title``), the headings' permalink signs, buttons
    (seek times, copy), Mermaid sources (a diagram's words are in its labels, not worth a snippet)."""
    parser = _Sections()
    parser.feed(body_html)
    parser.close()
    sections, total = [], 0
    for section in parser.finished():
        room = MAX_LESSON_CHARS - total
        text = _clip(section["text"], min(MAX_SECTION_CHARS, room))
        if not text and not section["heading"]:
            continue
        total += len(text)
        sections.append({**section, "text": text})
        if total >= MAX_LESSON_CHARS:
            break
    return {"v": FORMAT, "title": title, "sections": sections}


def course_search_list(view: CourseView) -> dict[str, Any]:
    """``{"v", "course", "lessons": [{"id", "title", "href", "fragment"}]}``: every lesson the index page
    links (uploaded and listed in ``course.yaml``), with URLs relative to the course folder."""
    lessons = []
    for section in view.sections:
        for lesson in section.lessons:
            if not lesson.href:
                continue  # not uploaded: the index says "coming soon", search knows nothing of it
            page = _PAGE.fullmatch(lesson.href)
            if page is None:
                continue  # not a page of this course's lessons/ folder (a view built for another folder)
            aid = page.group(1)
            lessons.append(
                {
                    "id": lesson.id,
                    "title": lesson.title,
                    "section": section.title,
                    "href": lesson.href,
                    "fragment": layout.search_fragment(aid),
                }
            )
    return {"v": FORMAT, "course": view.title, "lessons": lessons}


def fragment_for(path: str) -> str:
    """Where the fragment of the lesson at course path ``path`` is published."""
    return layout.search_fragment(asset_id_for(path))


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _skipped(tag: str, classes: set[str], mode: str) -> bool:
    return (
        tag in ("h1", "button", "script", "style", "template")
        or "headerlink" in classes
        or (tag == "pre" and "cp-mermaid-source" in classes)
        or (tag == "summary" and mode == TRANSCRIPT)
    )


def _clip(text: str, limit: int) -> str:
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit)]
    return cut[: cut.rfind(" ")] if " " in cut else cut


class _Sections(HTMLParser):
    """Text by section. The body is nh3's output (balanced, escaped), so a stack of open tags is exact
    enough; an unexpected end tag closes up to its match and a stray one is ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._stack: list[tuple[str, str]] = []  # (tag, mode) with mode "", "skip", "heading", "transcript"
        self._sections: list[dict[str, Any]] = []
        self._current: dict[str, Any] = {"anchor": "", "heading": "", "parts": []}
        self._heading: list[str] = []
        self._transcript: list[str] | None = None

    def _mode(self) -> str:
        modes = [m for _, m in self._stack if m]
        return "skip" if "skip" in modes else (modes[-1] if modes else "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        mode = ""
        if tag in _BLOCK:
            self._text(" ")
        if _skipped(tag, classes, self._mode()):
            mode = "skip"
        elif tag == "details" and "cp-transcript" in classes and self._mode() != "skip":
            self._transcript = []
            mode = TRANSCRIPT
        elif tag in SECTION_LEVELS and found.get("id") and self._mode() == "":
            self._start_section(str(found["id"]))
            mode = "heading"
        if tag not in _VOID:
            self._stack.append((tag, mode))

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self._stack):
            return
        while self._stack:
            open_tag, mode = self._stack.pop()
            if mode == "heading":
                self._current["heading"] = _SPACE.sub(" ", "".join(self._heading)).strip()
                self._heading = []
            elif mode == TRANSCRIPT and self._transcript is not None:
                text = "".join(self._transcript)
                self._transcript = None
                if text.strip():
                    self._sections.append(
                        {
                            "anchor": self._current["anchor"],
                            "heading": self._current["heading"],
                            "kind": TRANSCRIPT,
                            "text": text,
                        }
                    )
            if open_tag == tag:
                break
        if tag in _BLOCK:
            self._text(" ")

    def handle_data(self, data: str) -> None:
        self._text(data)

    def _text(self, data: str) -> None:
        mode = self._mode()
        if mode == "skip":
            return
        if mode == "heading":
            self._heading.append(data)
        elif mode == TRANSCRIPT and self._transcript is not None:
            self._transcript.append(data)
        else:
            self._current["parts"].append(data)

    def _start_section(self, anchor: str) -> None:
        self._flush()
        self._current = {"anchor": anchor, "heading": "", "parts": []}

    def _flush(self) -> None:
        current = self._current
        self._sections.append(
            {"anchor": current["anchor"], "heading": current["heading"], "text": "".join(current["parts"])}
        )

    def finished(self) -> list[dict[str, Any]]:
        self._flush()
        self._current = {"anchor": "", "heading": "", "parts": []}
        # Sections were appended when they ended, transcripts when theirs did: put each transcript after
        # the section it belongs to (stable: same anchor keeps the order they were met).
        order = {s["anchor"]: i for i, s in reversed(list(enumerate(self._sections))) if "kind" not in s}
        return sorted(self._sections, key=lambda s: (order.get(s["anchor"], len(order)), "kind" in s))
