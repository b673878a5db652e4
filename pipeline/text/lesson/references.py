"""The relative URLs of one lesson: collected, resolved to course files, rewritten, turned into players.

The caller's resolver (``pipeline/text/links.py``) says what each relative URL points at; this module
writes the answer into the HTML between the sanitizer's two passes (``sanitize.py``), so what the resolver
returns is checked and cleaned like the author's own text.

Players (``<video>``, not on the allow-list) go in after the last clean, at placeholders whose id carries
a random per-render nonce, so an author cannot forge one.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from html import escape, unescape
from typing import TYPE_CHECKING

import nh3

from pipeline.text.file_card import file_card_html
from pipeline.text.lesson.sanitize import IMG_SIZES, author_cleaner, final_cleaner
from pipeline.text.player import is_playable, player_html
from pipeline.text.urls import safe_url

if TYPE_CHECKING:
    from pipeline.text.lesson.limits import Locator
    from pipeline.text.links import Chapter, FileCard, Resolver, Target

MAX_WARNINGS = 20

_KIND_NAMES = {
    "page": "a lesson",
    "image": "an image",
    "video": "a video",
    "audio": "an audio file",
    "file": "a file",
    "attachment": "a handout",
}


@dataclass
class _Ref:
    written: str
    target: Target
    placeholder: str


class Links:
    """Relative URLs of one render: collected, resolved, rewritten, turned into players.

    First clean: nh3 hands every relative ``href``/``src`` to ``_on_relative``, which swaps a resolved one
    for ``cp-ref-NONCE-N``. Then each placeholder becomes the target's URL (plus ``srcset`` on images), a
    paragraph that holds only a video link becomes a player placeholder, and the result is cleaned again
    (the resolver's URLs are data like any other). Players replace their placeholders last.
    """

    def __init__(self, resolve: Resolver | None, nonce: str, *, name: str, where: Locator) -> None:
        self.resolve = resolve
        self.nonce = nonce
        self.name = name
        self.where = where
        self.written: list[str] = []
        self.references: list[str] = []
        self.players = 0
        self._refs: list[_Ref] = []
        self._warnings: dict[str, str] = {}  # dedupe by URL, first occurrence wins
        self._players: dict[str, str] = {}  # placeholder element -> player markup
        self._errors: list[BaseException] = []
        self.chapters: tuple[Chapter, ...] = ()
        """The front matter's chapters: they go to the lesson's ``video:`` player, else its first one."""
        self.chapters_on_body_player = True
        self.chapters_used = False
        self._ref_re = re.compile(rf"cp-ref-{nonce}-(\d+)")
        self._solo_re = re.compile(rf'<p id="cp-solo-{nonce}-\d+">(.*?)</p>', re.DOTALL)
        self._solo_id = re.compile(rf"^cp-solo-{nonce}-\d+$")

    # -------------------------------------------------------------------------------------- cleaning
    def sanitize(self, raw_html: str) -> str:
        first = author_cleaner(self._on_relative, marker=self._solo_id).clean(raw_html)
        if self._errors:
            raise self._errors[0]
        html = self._solo_re.sub(self._solo_paragraph, first)
        if not self._refs:
            return html
        html = _START_TAG.sub(self._rewrite_tag, html)
        return final_cleaner().clean(html)

    def _on_relative(self, value: str) -> str:
        """A safe relative URL the author wrote (the cleaner dropped the others): record it, resolve it."""
        if value not in self.written:
            self.written.append(value)
        if self.resolve is None:
            return value
        try:
            target = self.resolve(value)
        except Exception as exc:  # nh3 would swallow it (and drop the URL); re-raised after cleaning
            self._errors.append(exc)
            return value
        if target is None:
            return value
        placeholder = f"cp-ref-{self.nonce}-{len(self._refs)}"
        self._refs.append(_Ref(value, target, placeholder))
        if target.path not in self.references:
            self.references.append(target.path)
        return placeholder

    # -------------------------------------------------------------------------------------- rewriting
    def _ref(self, text: str) -> _Ref | None:
        match = self._ref_re.search(text)
        return None if match is None else self._refs[int(match.group(1))]

    def _solo_paragraph(self, match: re.Match[str]) -> str:
        """A paragraph that holds only a link (or image) to a video or audio file becomes a player."""
        inner = match.group(1)
        first = _START_TAG.match(inner)
        ref = None if first is None else self._ref(first.group(0))
        if first is not None and ref is not None and ref.target.card is not None and first.group(1) == "a":
            self._warn_missing(ref)
            return self._card_placeholder(ref.target.card, unescape(nh3.clean(inner, tags=set())).strip())
        if first is None or ref is None or not is_playable(ref.target) or safe_url(ref.target.href) is None:
            return f"<p>{inner}</p>"
        if first.group(1) == "img":
            alt = re.search(r'\salt="([^"]*)"', first.group(0))
            caption = unescape(alt.group(1)) if alt else ""
        else:
            caption = unescape(nh3.clean(inner, tags=set()))
        self._warn_missing(ref)
        return self._player_placeholder(ref.target, caption.strip())

    def _with_chapters(self, target: Target, *, main: bool) -> Target:
        if not self.chapters or self.chapters_used or not (main or self.chapters_on_body_player):
            return target
        self.chapters_used = True
        return dataclasses.replace(target, chapters=self.chapters, chapters_src=None)

    def _card_placeholder(self, card: FileCard, title: str) -> str:
        """A handout's download card, inserted after the last clean like a player (it is built from the
        resolver's data, escaped; see ``file_card``)."""
        element = f'<div id="cp-player-{self.nonce}-{len(self._players)}"></div>'
        self._players[element] = file_card_html(card, title)
        return element

    def _player_placeholder(self, target: Target, title: str) -> str:
        element = f'<div id="cp-player-{self.nonce}-{len(self._players)}"></div>'
        self._players[element] = player_html(self._with_chapters(target, main=False), title=title)
        self.players += 1
        return element

    def _rewrite_tag(self, match: re.Match[str]) -> str:
        tag = match.group(0)
        ref = self._ref(tag)
        if ref is None:
            return tag
        target = ref.target
        self._warn_missing(ref)
        url = target.href
        if match.group(1) == "img" and is_playable(target):
            message = f"shows {ref.written} as an image, but it is {_KIND_NAMES[target.kind]}"
            self._warn(ref, f"{message}; put it on a line of its own to embed the player")
            url = target.poster or target.href
        extra = ""
        if match.group(1) == "img" and target.kind == "image":
            srcset = _srcset(target.srcset)
            if srcset:
                extra = f' srcset="{escape(srcset, quote=True)}" sizes="{IMG_SIZES}"'
        # escape(): the cleaner that follows parses this like author HTML, and drops what is unsafe.
        return tag.replace(f'"{ref.placeholder}"', f'"{escape(url, quote=True)}"{extra}', 1)

    def insert_players(self, html: str) -> str:
        for element, player in self._players.items():
            html = html.replace(element, player, 1)
        return html

    def video_player(self, html: str, video: str, *, title: str) -> str:
        """The lesson's ``video:`` player: first in the body, or right after the body's opening h1."""
        target = self.resolve(video) if self.resolve is not None else None
        if target is None or not is_playable(target) or safe_url(target.href) is None:
            what = (
                "not a file of this course"
                if target is None
                else f"{_KIND_NAMES[target.kind]}, not a video or audio"
            )
            self._warnings.setdefault(f"video:{video}", f"{self.name}: video: {video} is {what}; no player.")
            return html
        if target.path not in self.references:
            self.references.append(target.path)
        if target.missing:
            self._warnings.setdefault(
                f"video:{video}",
                f"{self.name}: video: {video} is not in the course; upload it (the player shows nothing "
                "until it is published).",
            )
        self.players += 1
        player = player_html(self._with_chapters(target, main=True), title=title)
        h1 = re.match(r"\s*<h1\b.*?</h1>\n?", html, re.DOTALL)
        at = 0 if h1 is None else h1.end()
        return f"{html[:at]}{player}\n{html[at:]}"

    # -------------------------------------------------------------------------------------- warnings
    def _warn_missing(self, ref: _Ref) -> None:
        if ref.target.missing:
            self._warn(ref, f"links to {ref.written}, which is not in the course; upload it or fix the link")

    def _warn(self, ref: _Ref, message: str) -> None:
        key = f"{ref.written}:{message}"
        if key not in self._warnings and len(self._warnings) <= MAX_WARNINGS:
            self._warnings[key] = f"{self.where.prefix(ref.written)}: {message}."

    def warnings(self) -> list[str]:
        found = list(self._warnings.values())
        if len(found) > MAX_WARNINGS:
            found = [
                *found[:MAX_WARNINGS],
                f"{self.name}: more warnings like these; fix the ones above first.",
            ]
        return found


# The start tag of a link or image, as nh3 serializes it: attribute values double-quoted, with `"`, `<`,
# `>` and `&` escaped inside them.
_START_TAG = re.compile(r'<(a|img)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*/?>')


def _srcset(candidates: tuple[tuple[str, int], ...]) -> str:
    """``url 320w, url 640w``, leaving out any URL that is unsafe or would break the list (spaces, commas)."""
    parts = []
    for url, width in candidates:
        safe = safe_url(url)
        if safe is None or re.search(r"[\s,]", safe) or not isinstance(width, int) or width <= 0:
            continue
        parts.append(f"{safe} {width}w")
    return ", ".join(parts)
