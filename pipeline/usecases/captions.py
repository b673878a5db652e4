"""Caption files: checked and published on their own, attached to their video's HLS master by name.

``media/lecture.en.srt`` is the English captions of ``media/lecture.mp4`` (or ``.mov``...: any video or
audio file of that stem). Either may arrive first, and either may be deleted, so two runs meet:

- a caption run (RenderCaptions) publishes the caption's own WebVTT, then attaches every caption of its
  video to the video's master if the video is published;
- a video run (PackageHls) writes its master with the captions already published, then attaches again.

Both publish before they look: the caption its WebVTT before reading the master, the video its master
before listing the captions. Whichever runs second sees the other's write (S3 is strongly consistent),
and ``attach_captions`` re-lists after every master it writes until what it listed is still what is
there, so two caption runs of one video racing each other converge too. The master is edited as text
(only its SUBTITLES lines and attributes change), conditionally on the version it read: adding a
language never re-encodes or re-measures, and never puts back an older encode's master.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.catalog.details import CaptionDetails, Details
from pipeline.errors import CaptionError
from pipeline.keys import AssetKey, parse_key
from pipeline.kinds import is_kind
from pipeline.media.captions import MAX_CAPTION_BYTES, parse_captions, to_webvtt
from pipeline.media.languages import language_name
from pipeline.publish import SHORT
from pipeline.steps import Outputs
from pipeline.usecases import text
from pipeline.usecases.subtitle_renditions import attach_captions, caption_name, lenient_name

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services


def render_captions(source: SourceRef, services: Services) -> Outputs:
    """Check, repair and publish one caption file, then attach it to its video(s) where published."""
    asset = parse_key(source.key)
    name = caption_name(asset.path)
    if name is None:
        raise CaptionError(
            f"{asset.name}: a caption file is named after its video and language, e.g. lecture.en.srt "
            "next to lecture.mp4 (or lecture.pt-BR.vtt); rename it and upload it again"
        )
    data = services.store.read_range(source.bucket, source.key, MAX_CAPTION_BYTES + 1, source.version_id)
    videos = videos_of(asset.course_id, name.stem, services)
    duration = _longest_duration(videos, services)
    captions = parse_captions(data, asset.name, duration_s=duration)
    if not captions.cues:
        raise CaptionError(f"{asset.name}: no cues found; export the captions again (SRT or WebVTT)")
    vtt = asset.publish_prefix + layout.caption_vtt(asset.asset_id)
    bucket = services.settings.publish_bucket
    services.store.put_bytes(bucket, vtt, to_webvtt(captions.cues).encode(), cache_control=SHORT)
    # Chapters are no HLS rendition: the lesson page shows them.
    attached = [] if name.chapters else [v.path for v in videos if attach_captions(v, services) is not None]
    # The lessons that play the video show the new track; those pages are the lessons' outputs.
    refresh_players(asset.course_id, name.stem, services)
    details = CaptionDetails(
        language=name.language,
        label="Chapters" if name.chapters else language_name(name.language),
        forced=name.forced,
        sdh=name.sdh,
        chapters=name.chapters,
        cues=len(captions.cues),
        encoding=captions.encoding,
        vtt=vtt,
        videos=[v.path for v in videos],
        attached=attached,
    )
    return Outputs([vtt], Details(caption=details, warnings=captions.warnings))


def refresh_after_removal(asset: AssetKey, services: Services) -> list[str]:
    """A caption file was deleted (its WebVTT is gone): its videos' masters drop the rendition and the
    lessons that play them drop the track."""
    name = lenient_name(asset.path)
    if name is None:
        return []
    for video in videos_of(asset.course_id, name.stem, services):
        attach_captions(video, services)
    return refresh_players(asset.course_id, name.stem, services)


def refresh_after_publish(video: AssetKey, services: Services) -> list[str]:
    """A video or audio file was published: if it has captions, the lessons that play it show them
    (a lesson rendered before the captions' run ended has their tracks but not the transcript)."""
    stem = posixpath.splitext(video.path)[0]
    prefix = f"courses/{video.course_id}/{stem}."
    siblings = services.store.list_keys(services.settings.ingest_bucket, prefix)
    if not any(is_kind(k, "caption") for k in siblings):
        return []
    return text.refresh_embedders(video, services)


def refresh_players(course_id: str, stem: str, services: Services) -> list[str]:
    """Render again the lessons that play any video or audio file of ``stem``: the uploaded ones, and
    the ones lessons link to before they are uploaded."""
    paths = {v.path for v in videos_of(course_id, stem, services)}
    for item in services.catalog.course_items(course_id):
        for ref in ((item.get("details") or {}).get("lesson") or {}).get("references") or []:
            if posixpath.splitext(str(ref))[0] == stem and is_kind(str(ref), "video", "audio"):
                paths.add(str(ref))
    pages: list[str] = []
    for path in sorted(paths):
        pages += text.refresh_embedders(AssetKey(course_id=course_id, path=path), services)
    return pages


def videos_of(course_id: str, stem: str, services: Services) -> list[AssetKey]:
    """The uploaded videos and audio files a caption stem names (``media/lecture`` → ``lecture.mp4``)."""
    prefix = f"courses/{course_id}/{stem}."
    found = []
    for key in services.store.list_keys(services.settings.ingest_bucket, prefix):
        rest = key[len(prefix) :]
        if "/" not in rest and "." not in rest and is_kind(key, "video", "audio"):
            found.append(parse_key(key))
    return sorted(found, key=lambda a: a.path)


def _longest_duration(videos: list[AssetKey], services: Services) -> float | None:
    """The duration the probe recorded for the caption's video(s), to flag cues past the end."""
    durations = []
    for video in videos:
        item = services.catalog.get_asset(video.course_id, video.asset_id) or {}
        probe = (item.get("details") or {}).get("probe") or {}
        if probe.get("duration_s"):
            durations.append(float(probe["duration_s"]))
    return max(durations) if durations else None
