"""The caption languages and transcript a lesson's player shows for one video, from the course's state.

Every caption file uploaded beside the video is a ``<track>`` (its URL is known before its run ends, as a
video's poster is), unless its run failed; the transcript needs the published WebVTT, so it appears once
that exists. The caption run re-renders the lessons that play its video, and so does a captioned video's
publish, so the page catches up without the author re-uploading the lesson. The transcript is the
captions in the soundtrack's language (else the first language).
"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pipeline import layout
from pipeline.catalog.caption_bindings import bindings_of_video
from pipeline.errors import CaptionError
from pipeline.keys import asset_id_for
from pipeline.media.captions import lenient_name, parse_captions
from pipeline.text.links import CaptionTrack, Chapter, TranscriptCue
from pipeline.usecases.embedded_subtitles import TRACK_VTT
from pipeline.usecases.subtitle_renditions import EMBEDDED_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class VideoCaptions:
    tracks: tuple[CaptionTrack, ...] = ()
    transcript: tuple[TranscriptCue, ...] = ()
    transcript_language: str | None = None
    in_master: bool = False
    """The video's master lists them as HLS renditions too (every master lists its published captions),
    so a player that reads the master's must not add the page's ``<track>``s again."""
    chapters: tuple[Chapter, ...] = ()
    chapters_src: str | None = None


def video_captions(
    video_path: str,
    files: set[str],
    assets: dict[str, dict[str, Any]],
    rel: Callable[[str], str],
    read: Callable[[str], bytes | None] | None,
    record: Mapping[str, Any] | None = None,
) -> VideoCaptions:
    """``rel`` turns a course-relative published path into a URL from the page; ``read`` reads a
    course-relative published file (None: no transcript); ``record`` is the course record, whose
    lessons' ``captions:`` bind files to videos whatever their names."""
    stem = posixpath.splitext(video_path)[0]
    chapters_path: str | None = None
    video = assets.get(video_path) or {}
    details = video.get("details") or {}
    audio_language = _audio_language(details)
    found: list[tuple[str, CaptionTrack]] = []
    for binding in bindings_of_video(video_path, record, files):
        item = assets.get(binding.caption) or {}
        if item.get("status") in ("FAILED", "DELETED"):
            continue
        published = layout.caption_vtt(asset_id_for(binding.caption))
        kind = binding.kind_for(audio_language)
        found.append((published, CaptionTrack(binding.language, binding.name(), rel(published), kind)))
    for path in sorted(files):
        name = lenient_name(path) if path.startswith(stem + ".") else None
        item = assets.get(path) or {}
        if name and name.chapters and name.stem == stem and item.get("status") not in ("FAILED", "DELETED"):
            chapters_path = path
    aid = asset_id_for(video_path)
    for sub in (details.get("hls") or {}).get("subtitles") or []:
        folder = str(sub.get("folder") or "")
        if not folder.startswith(EMBEDDED_PREFIX):
            continue
        language = str(sub.get("language") or "und")
        same = audio_language is not None and _primary(audio_language) == _primary(language)
        published = f"{layout.subtitles_dir(aid)}/{folder}/{TRACK_VTT}"
        embedded: Literal["captions", "subtitles"] = "captions" if same else "subtitles"
        label = str(sub.get("name") or language)
        found.append((published, CaptionTrack(language, label, rel(published), embedded)))
    chapters: tuple[Chapter, ...] = ()
    chapters_src = None
    if chapters_path is not None and read is not None:
        published = layout.caption_vtt(asset_id_for(chapters_path))
        data = read(published)
        if data:
            chapters = tuple(Chapter(c.start_ms, c.text) for c in _transcript(data, published))
            chapters_src = rel(published) if chapters else None
    if not found:
        return VideoCaptions(chapters=chapters, chapters_src=chapters_src)
    found.sort(key=lambda pt: (pt[1].kind != "captions", pt[1].language))
    tracks = tuple(t for _, t in found)
    transcript: tuple[TranscriptCue, ...] = ()
    spoken: str | None = None
    if read is not None:
        published, track = found[0]
        data = read(published)
        if data:
            transcript = _transcript(data, published)
            spoken = track.language if transcript else None
    return VideoCaptions(tracks, transcript, spoken, True, chapters, chapters_src)


def _transcript(data: bytes, name: str) -> tuple[TranscriptCue, ...]:
    try:
        cues = parse_captions(data, name).cues
    except CaptionError:
        return ()
    return tuple(
        TranscriptCue(c.start_ms, c.end_ms, html.unescape(_TAG.sub("", c.text)).strip())
        for c in cues
        if _TAG.sub("", c.text).strip()
    )


def _audio_language(details: dict[str, Any]) -> str | None:
    """The default soundtrack's language as the master names it (the probe's before it is packaged)."""
    audio = (details.get("hls") or {}).get("audio")
    tracks = audio if isinstance(audio, list) else [audio] if isinstance(audio, dict) else []
    for track in sorted(tracks, key=lambda t: not t.get("default", True)):
        if track.get("language"):
            return str(track["language"])
    return str((details.get("probe") or {}).get("audio_language") or "") or None


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0].lower()
