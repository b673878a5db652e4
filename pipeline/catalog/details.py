"""The shapes of a catalog item's ``details``, per kind (SCHEMA.md section 4, "details by kind").

TypedDicts, not dataclasses: ``details`` is stored in DynamoDB and read by downstream apps as plain JSON,
so what the producers build is what is stored, and mypy checks both the producers (the use cases) and the
readers (the API's views) against these names. ``total=False`` where SCHEMA.md says a key is absent when
its value is unknown.
"""

from __future__ import annotations

from typing import Any, TypedDict


class AudioRendition(TypedDict):
    """The default soundtrack (kept for readers written before ``audioTracks``)."""

    language: str
    codecs: str


class AudioLoudness(TypedDict):
    """EBU R128 figures of one track: measured on the source (LUFS, dBTP, LU; null where ffmpeg says
    -inf, i.e. silence), the integrated target applied (null: the level was left alone, ``note`` says
    why) and how: ``mode`` "linear" (one gain) or "limited" (the same gain, then a limiter on the peaks it
    would have pushed over the true-peak limit); "dynamic" in items written before (loudnorm compressed)."""

    inputI: float | None
    inputTP: float | None
    inputLRA: float | None
    targetI: float | None
    mode: str | None
    note: str | None


class AudioTrackDetails(TypedDict):
    """One published audio rendition (one ``EXT-X-MEDIA:TYPE=AUDIO`` line of the master)."""

    language: str | None
    name: str
    default: bool
    channels: int
    codecs: str
    playlist: str
    loudness: AudioLoudness | None


class Rendition(TypedDict):
    name: str
    width: int | None
    height: int | None
    bandwidth: int
    averageBandwidth: int
    codecs: str
    playlist: str
    iframePlaylist: str | None


class SubtitleDetails(TypedDict):
    language: str
    name: str
    kind: str
    forced: bool
    folder: str


class HlsDetails(TypedDict, total=False):
    """PackageHls's result; ``{superseded, discarded}`` only when a newer version claimed the asset."""

    master: str
    targetDuration: int
    durationS: float
    frameRate: float | None
    segments: int
    chunks: int
    audio: AudioRendition | None
    audioTracks: list[AudioTrackDetails]
    renditions: list[Rendition]
    superseded: bool
    discarded: int
    subtitles: list[SubtitleDetails]
    """Subtitle renditions the master listed when it was written (caption files attach later too)."""


class SpriteDetails(TypedDict):
    vtt: str
    sheets: list[str]
    tileWidth: int
    tileHeight: int
    intervalS: float
    tiles: int


class VideoDownload(TypedDict):
    """The progressive MP4 learners may download: one rung's picture with the default soundtrack."""

    key: str
    bytes: int
    width: int
    height: int


class AudioDownload(TypedDict):
    """The default soundtrack as an M4A file."""

    key: str
    bytes: int


class DownloadDetails(TypedDict, total=False):
    """MakeDownloads' result when ``course.yaml`` allows downloads of the file; each key is absent when
    there is nothing to offer (``mp4`` for an audio lecture, ``m4a`` for a silent video)."""

    mp4: VideoDownload
    m4a: AudioDownload


class ImageVariant(TypedDict):
    key: str
    width: int
    height: int
    contentType: str
    bytes: int


class LessonDetails(TypedDict):
    title: str
    lessonId: str | None
    description: str | None
    durationS: int | None
    words: int
    headings: int
    links: list[str]
    references: list[str]
    handouts: dict[str, str]
    """The published handouts among ``references`` whose facts the page shows, by path: their sequencer."""


class CourseDetails(TypedDict, total=False):
    """BuildCourse's result; only ``{superseded: true}`` when the record already held a newer manifest."""

    title: str
    lessons: int
    pagesRendered: int
    pending: list[str]
    handouts: dict[str, str]
    """The course's published handouts when the index was rendered (its Downloads list), as a lesson's."""
    superseded: bool


class CaptionDetails(TypedDict):
    """A caption file's: its language, the video(s) it attached to, and what the check repaired."""

    language: str
    label: str
    forced: bool
    sdh: bool
    chapters: bool
    cues: int
    encoding: str
    vtt: str
    videos: list[str]
    """Paths of the videos (same name, other extension) it is a rendition of; empty until one is uploaded."""
    attached: list[str]
    """Those whose published master lists it now (a video still encoding adds it when it publishes)."""


class AttachmentDetails(TypedDict):
    """A handout's: what the download card and the course's Downloads list show."""

    name: str
    """The uploaded file's name, which the download keeps."""
    label: str
    """What the file is ("PDF", "PowerPoint slides")."""
    contentType: str
    bytes: int
    key: str
    """The published file (served with ``Content-Disposition: attachment``)."""
    pages: int | None
    entries: int | None
    """Files in an archive or an Office/OpenDocument package."""
    previews: list[str]
    """A PDF's first page, one WebP per width (empty for other files)."""


class Details(TypedDict, total=False):
    """Everything a kind may record; each kind fills its own keys (SCHEMA.md)."""

    hls: HlsDetails
    posters: list[str]
    sprites: SpriteDetails | None
    probe: dict[str, Any]
    image: dict[str, Any]
    variants: list[ImageVariant]
    lesson: LessonDetails
    course: CourseDetails
    caption: CaptionDetails
    downloads: DownloadDetails
    attachment: AttachmentDetails
    warnings: list[str]


def merge(parts: list[Details]) -> Details:
    """One item's details from its producing tasks' (PackageHls + MakeDownloads + MakeThumbnails for a
    video): each task fills its own keys, and their ``warnings`` are kept side by side."""
    merged = Details()
    warnings: list[str] = []
    for part in parts:
        merged.update(part)
        warnings += part.get("warnings") or []
    if warnings:
        merged["warnings"] = warnings
    return merged
