"""What a relative URL in a lesson points at, once the course's files are known.

The lesson renderer asks a resolver about every relative URL it finds (links, images, the lesson's
``video:``); the use case builds the resolver from the course's uploaded files and the catalog. So the
renderer knows nothing about S3 or the publish layout, and the use case nothing about Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TargetKind = Literal["page", "image", "video", "audio", "file", "attachment"]


@dataclass(frozen=True)
class CaptionTrack:
    """One caption or subtitle language of a video, as the page's ``<track>`` and menu offer it.

    ``src`` is the whole-file WebVTT (relative to the page); ``kind`` is the ``<track kind>``: captions
    (for viewers who cannot hear: sound cues too) or subtitles (a translation of the dialogue).
    """

    language: str
    label: str
    src: str
    kind: Literal["captions", "subtitles"] = "subtitles"
    default: bool = False


@dataclass(frozen=True)
class Chapter:
    """A titled point of a video: the chapter list under the player, and its WebVTT chapters track."""

    start_ms: int
    title: str


@dataclass(frozen=True)
class TranscriptCue:
    """One cue of the transcript shown under the player: plain text (cue markup stripped)."""

    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class DownloadLink:
    """A file of a video the learner may save (``course.yaml``'s ``downloads``), as the page links it:
    ``label`` names the format and size ("Video (MP4, 720p, 12.3 MB)"), ``href`` is relative to the page."""

    label: str
    href: str


@dataclass(frozen=True)
class FileCard:
    """A handout as a download card shows it: its name, what it is ("PDF · 12 pages · 1.2 MB"), its URL and
    a first-page preview (``(url, width)`` candidates; empty until published, and for other files)."""

    name: str
    about: str
    href: str
    preview: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Target:
    """A course file a lesson refers to, with URLs relative to the lesson page.

    ``href`` is the published entry point (lesson page, image variant, HLS master playlist). Images also
    carry ``srcset`` candidates ``(url, width)``; videos their ``poster`` and scrub-preview ``thumbnails``
    (WebVTT) when published. ``missing`` means no such file was uploaded to the course: the page still
    renders (with the predicted URL) and the author gets a warning in the catalog.
    """

    kind: TargetKind
    path: str
    href: str
    srcset: tuple[tuple[str, int], ...] = ()
    poster: str | None = None
    thumbnails: str | None = None
    missing: bool = False
    captions: tuple[CaptionTrack, ...] = ()
    """Published (or predicted) caption languages of a video, the default first."""
    transcript: tuple[TranscriptCue, ...] = ()
    """The default caption language's cues, once that caption file is published."""
    transcript_language: str | None = None
    chapters: tuple[Chapter, ...] = ()
    chapters_src: str | None = None
    """A ``lecture.chapters.vtt`` beside the video, published; front matter chapters carry none."""
    hls_subtitles: bool = False
    """The master playlist carries the captions as ``EXT-X-MEDIA TYPE=SUBTITLES`` renditions: a player that
    plays it through HLS drops the page's ``<track>`` copies, which would list every language twice."""
    downloads: tuple[DownloadLink, ...] = ()
    """The video's published downloads (MP4, M4A) when the course allows them; the page links them."""
    card: FileCard | None = None
    """A handout (``attachment``): a paragraph holding only a link to it becomes its download card."""


# ``None``: not a course file (an anchor, an external URL, a path leaving the course): keep it as written.
Resolver = Callable[[str], Target | None]
