"""Which caption files belong to which video, in which language: the one answer every caption reader uses.

Two sources say it. A file's name (``media/lecture.en.srt`` is the English captions of any uploaded
``media/lecture.*`` video or audio file), and ``course.yaml``, whose lessons may list ``captions:`` for
their ``video:`` under any name, with a language, a label and a kind. The manifest's word wins: a file it
lists attaches where it says and nowhere else, so an author can give ``lecture.en.srt`` another label
without renaming it, and a tool's ``English (auto).srt`` needs no renaming at all.

The attach step (HLS renditions), the lesson page (``<track>``s, transcript), the catalog's course
document and the refreshes all ask this module, from the course record as it is now: a manifest uploaded
after its captions binds them as soon as BuildCourse has written the record, and one that stops listing
a file unbinds it.
"""

from __future__ import annotations

import posixpath
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pipeline.kinds import is_kind
from pipeline.media.captions import lenient_name
from pipeline.media.languages import language_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

CaptionKind = Literal["captions", "subtitles"]


@dataclass(frozen=True)
class Binding:
    """One caption file of one video (course paths), as the player and the master list it."""

    caption: str
    video: str
    language: str
    label: str | None = None
    """The manifest's label; None: the language's own name (``Français``), + `` (SDH)`` for SDH files."""
    kind: CaptionKind | None = None
    """The manifest's kind; None: captions when SDH or in the soundtrack's language, else subtitles."""
    forced: bool = False
    sdh: bool = False
    listed: bool = False
    """Named by course.yaml (else by its file name)."""

    def name(self) -> str:
        return self.label or language_name(self.language) + (" (SDH)" if self.sdh else "")

    def kind_for(self, audio_language: str | None) -> CaptionKind:
        if self.kind is not None:
            return self.kind
        same = audio_language is not None and _primary(audio_language) == _primary(self.language)
        return "captions" if self.sdh or same else "subtitles"


def listed_captions(record: Mapping[str, Any] | None) -> list[Binding]:
    """The ``captions:`` of the record's lessons (BuildCourse's, from ``course.yaml``), as course paths."""
    found: list[Binding] = []
    for lesson in _lessons(record):
        video = lesson_video(lesson)
        for entry in lesson.get("captions") or []:
            path = entry.get("path")
            if not video or not path or not entry.get("language"):
                continue
            name = lenient_name(str(path))
            kind = entry.get("kind")
            found.append(
                Binding(
                    caption=_nfc(str(path)),
                    video=video,
                    language=str(entry["language"]),
                    label=str(entry["label"]) if entry.get("label") else None,
                    kind=kind if kind in ("captions", "subtitles") else None,
                    forced=bool(name and name.forced),
                    sdh=bool(name and name.sdh),
                    listed=True,
                )
            )
    return found


def bindings_of_caption(
    caption: str, record: Mapping[str, Any] | None, files: Iterable[str]
) -> list[Binding]:
    """What one caption file belongs to: the manifest's entries for it, else the uploaded videos of its
    name's stem (none for a name without a language; a chapters file's are no rendition of them)."""
    caption = _nfc(caption)
    listed = [b for b in listed_captions(record) if b.caption == caption]
    if listed:
        return listed
    name = lenient_name(caption)
    if name is None:
        return []
    return [
        Binding(caption, video, name.language, forced=name.forced, sdh=name.sdh)
        for video in sorted(_videos_of_stem(name.stem, files))
    ]


def bindings_of_video(video: str, record: Mapping[str, Any] | None, files: Iterable[str]) -> list[Binding]:
    """The caption files of one video that are uploaded (``files``: course paths), by language then path:
    the manifest's for it, and those named after it that the manifest does not list elsewhere."""
    video = _nfc(video)
    uploaded = {_nfc(f) for f in files}
    listed = listed_captions(record)
    taken = {b.caption for b in listed}
    found = [b for b in listed if b.video == video and b.caption in uploaded]
    stem = posixpath.splitext(video)[0]
    for path in sorted(uploaded):
        if path in taken or not path.startswith(stem + ".") or not is_kind(path, "caption"):
            continue
        name = lenient_name(path)
        if name is not None and name.stem == stem and not name.chapters:
            found.append(Binding(path, video, name.language, forced=name.forced, sdh=name.sdh))
    return sorted(found, key=lambda b: (b.language, b.caption))


def listed_videos(record: Mapping[str, Any] | None) -> set[str]:
    """The videos the manifest lists captions for (BuildCourse attaches to them when the list changes)."""
    return {b.video for b in listed_captions(record)}


def lesson_video(lesson: Mapping[str, Any]) -> str | None:
    """The course path of a lesson's ``video:`` (the record keeps it relative to the lesson file)."""
    link, path = lesson.get("videoLink"), lesson.get("path") or lesson.get("file")
    if not link or not path:
        return None
    return _nfc(posixpath.normpath(posixpath.join(posixpath.dirname(str(path)), str(link))))


def _videos_of_stem(stem: str, files: Iterable[str]) -> list[str]:
    found = []
    for path in files:
        rest = path[len(stem) + 1 :] if path.startswith(stem + ".") else ""
        if rest and "/" not in rest and "." not in rest and is_kind(path, "video", "audio"):
            found.append(_nfc(path))
    return found


def _lessons(record: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not record:
        return []
    return [lesson for s in record.get("sections") or [] for lesson in s.get("lessons") or []]


def _nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0].lower()
