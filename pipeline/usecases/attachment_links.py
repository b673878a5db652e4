"""What pages show of handouts: a lesson's download card, and the course index's Downloads list.

From the catalog items RecordAsset wrote (type, size, pages, previews); before a handout is published
its card links the URL it will have (its name is known from the path) and says only what its extension
says, as a video's player links its future master.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pipeline import layout
from pipeline.keys import asset_id_for
from pipeline.kinds import extension
from pipeline.media.attachments import TYPES
from pipeline.text.links import FileCard, Target
from pipeline.usecases.downloads import size_label

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


def attachment_target(
    path: str, item: Mapping[str, Any], rel: Callable[[str], str], *, missing: bool, anchor: str = ""
) -> Target:
    """``rel`` turns a course-relative published path into a URL from the page."""
    card = file_card(path, item, rel)
    return Target("attachment", path, card.href + anchor, missing=missing, card=card)


def file_card(path: str, item: Mapping[str, Any], rel: Callable[[str], str]) -> FileCard:
    aid = asset_id_for(path)
    name = unicodedata.normalize("NFC", posixpath.basename(path))
    found = (item.get("details") or {}).get("attachment") if item.get("status") == "PUBLISHED" else None
    kind = TYPES.get(extension(path))
    if not isinstance(found, dict):
        return FileCard(name, kind.label if kind else "File", _href(aid, name, rel))
    facts = [str(found.get("label") or (kind.label if kind else "File"))]
    if found.get("pages"):
        pages = int(found["pages"])
        facts.append(f"{pages} page{'s' if pages != 1 else ''}")
    facts.append(size_label(int(found.get("bytes") or 0)))
    previews = [str(k) for k in found.get("previews") or []]
    folder = layout.attachment_dir(aid)
    preview = tuple(
        (rel(f"{folder}/{posixpath.basename(k)}"), width)
        for k, width in zip(previews, _widths(previews), strict=True)
    )
    return FileCard(name, " · ".join(facts), _href(aid, name, rel), preview)


def _href(aid: str, name: str, rel: Callable[[str], str]) -> str:
    """The file's URL from the page, its name percent-encoded (spaces, accents, ``#`` and ``?`` in an
    author's file name must not end the path)."""
    return f"{rel(layout.attachment_dir(aid))}/{quote(name, safe='')}"


def course_downloads(
    assets: Mapping[str, Mapping[str, Any]], rel: Callable[[str], str]
) -> tuple[FileCard, ...]:
    """Every published handout of the course, by path (folders group them as the author did)."""
    return tuple(
        file_card(path, item, rel)
        for path, item in sorted(assets.items())
        if item.get("kind") == "attachment" and item.get("status") == "PUBLISHED"
    )


def _widths(keys: list[str]) -> list[int]:
    """``preview-640.webp`` → 640."""
    widths = []
    for key in keys:
        stem = posixpath.splitext(posixpath.basename(key))[0]
        digits = stem.rpartition("-")[2]
        widths.append(int(digits) if digits.isdigit() else 0)
    return widths


def handouts_shown(assets: Mapping[str, Mapping[str, Any]], paths: Iterable[str]) -> dict[str, str]:
    """The published handouts among ``paths``, each with the sequencer of the version whose facts a page
    rendered now shows: stored with the page's item, so its RecordAsset can tell a card went stale."""
    shown = {}
    for path in paths:
        item = assets.get(path) or {}
        if item.get("kind") == "attachment" and item.get("status") == "PUBLISHED":
            shown[path] = str(item.get("sequencer") or "")
    return shown
