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
from pipeline.catalog.caption_bindings import Binding, bindings_of_caption, listed_videos
from pipeline.catalog.details import CaptionDetails, Details
from pipeline.errors import CaptionError
from pipeline.keys import AssetKey, parse_key
from pipeline.kinds import is_kind
from pipeline.media.captions import MAX_CAPTION_BYTES, caption_name, parse_captions, to_webvtt
from pipeline.publish import SHORT
from pipeline.steps import Outputs
from pipeline.usecases import text
from pipeline.usecases.downloads import course_record
from pipeline.usecases.subtitle_renditions import attach_captions

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.media.captions import CaptionName
    from pipeline.services import Services


def render_captions(source: SourceRef, services: Services) -> Outputs:
    """Check, repair and publish one caption file, then attach it to its video(s) where published.

    The WebVTT is published whatever the name says: course.yaml may list the file later (it binds it
    when BuildCourse writes the record), so a name without a language is a warning, not a failure."""
    asset = parse_key(source.key)
    bindings, name, naming_problem = _bindings(asset, services)
    data = services.store.read_range(source.bucket, source.key, MAX_CAPTION_BYTES + 1, source.version_id)
    videos = _uploaded_videos(asset.course_id, bindings, services)
    captions = parse_captions(data, asset.name, duration_s=_longest_duration(videos, services))
    if not captions.cues:
        raise CaptionError(f"{asset.name}: no cues found; export the captions again (SRT or WebVTT)")
    vtt = asset.publish_prefix + layout.caption_vtt(asset.asset_id)
    bucket = services.settings.publish_bucket
    services.store.put_bytes(bucket, vtt, to_webvtt(captions.cues).encode(), cache_control=SHORT)
    chapters = name is not None and name.chapters
    # Looked up again now the WebVTT is out: a course.yaml recorded meanwhile binds it, and BuildCourse,
    # attaching after it recorded, sees the WebVTT (see the module docstring: publish, then look).
    bindings, name, naming_problem = _bindings(asset, services)
    videos = _uploaded_videos(asset.course_id, bindings, services)
    attached = [] if chapters else [v.path for v in videos if attach_captions(v, services) is not None]
    # The lessons that play the video show the new track; those pages are the lessons' outputs.
    refresh_players(asset, services)
    warnings = list(captions.warnings)
    if naming_problem and not bindings:
        warnings.append(naming_problem)
    first = bindings[0] if bindings else None
    details = CaptionDetails(
        language=first.language if first else (name.language if name and not chapters else "und"),
        label="Chapters" if chapters else first.name() if first else "Not attached",
        forced=bool(first and first.forced),
        sdh=bool(first and first.sdh),
        chapters=chapters,
        cues=len(captions.cues),
        encoding=captions.encoding,
        vtt=vtt,
        videos=[v.path for v in videos],
        attached=attached,
    )
    return Outputs([vtt], Details(caption=details, warnings=warnings))


def _bindings(asset: AssetKey, services: Services) -> tuple[list[Binding], CaptionName | None, str | None]:
    """The caption's bindings (course.yaml's, else its name's), its name, and what is wrong with the name
    when nothing binds it (None when nothing is)."""
    record = course_record(services.catalog.course_items(asset.course_id))
    problem: str | None = None
    try:
        name = caption_name(asset.path)
    except CaptionError as exc:
        name, problem = None, f"{exc}, or list it under its lesson's `captions:` in course.yaml"
    if name is None and problem is None:
        problem = (
            f"{asset.name} is attached to no video: a caption file is named after its video and language "
            "(lecture.en.srt next to lecture.mp4, or lecture.pt-BR.vtt), or listed under its lesson's "
            "`captions:` in course.yaml with its `language`; rename it or list it"
        )
    siblings: list[str] = []
    if name is not None:  # the videos its name binds it to, unless course.yaml lists it
        course = asset.publish_prefix
        keys = services.store.list_keys(services.settings.ingest_bucket, course + name.stem + ".")
        siblings = [k[len(course) :] for k in keys]
    return bindings_of_caption(asset.path, record, siblings), name, problem


def refresh_after_removal(asset: AssetKey, services: Services) -> list[str]:
    """A caption file was deleted (its WebVTT is gone): its videos' masters drop the rendition and the
    lessons that play them drop the track."""
    bindings, _, _ = _bindings(asset, services)
    for video in _uploaded_videos(asset.course_id, bindings, services):
        attach_captions(video, services)
    return refresh_players(asset, services)


def refresh_after_publish(video: AssetKey, services: Services) -> list[str]:
    """A video or audio file was published: if it has captions, the lessons that play it show them
    (a lesson rendered before the captions' run ended has their tracks but not the transcript)."""
    stem = posixpath.splitext(video.path)[0]
    course = video.publish_prefix
    siblings = services.store.list_keys(services.settings.ingest_bucket, course + stem + ".")
    named = any(is_kind(k, "caption") for k in siblings)
    record = course_record(services.catalog.course_items(video.course_id))
    if not named and video.path not in listed_videos(record):
        return []
    return text.refresh_embedders(video, services)


def refresh_players(caption: AssetKey, services: Services) -> list[str]:
    """Render again the lessons that play a video or audio file of the caption: the uploaded ones it binds
    to, the ones course.yaml binds it to, and the ones lessons link to by its name before they are
    uploaded."""
    bindings, name, _ = _bindings(caption, services)
    paths = {b.video for b in bindings}
    if name is not None:
        for item in services.catalog.course_items(caption.course_id):
            for ref in ((item.get("details") or {}).get("lesson") or {}).get("references") or []:
                if posixpath.splitext(str(ref))[0] == name.stem and is_kind(str(ref), "video", "audio"):
                    paths.add(str(ref))
    pages: list[str] = []
    for path in sorted(paths):
        pages += text.refresh_embedders(AssetKey(course_id=caption.course_id, path=path), services)
    return pages


def _uploaded_videos(course_id: str, bindings: list[Binding], services: Services) -> list[AssetKey]:
    """The bound videos that are uploaded (a listed one may not be yet)."""
    ingest = services.settings.ingest_bucket
    found = []
    for video in sorted({b.video for b in bindings}):
        key = AssetKey(course_id=course_id, path=video)
        if services.store.head(ingest, f"courses/{course_id}/{video}"):
            found.append(key)
    return found


def _longest_duration(videos: list[AssetKey], services: Services) -> float | None:
    """The duration the probe recorded for the caption's video(s), to flag cues past the end."""
    durations = []
    for video in videos:
        item = services.catalog.get_asset(video.course_id, video.asset_id) or {}
        probe = (item.get("details") or {}).get("probe") or {}
        if probe.get("duration_s"):
            durations.append(float(probe["duration_s"]))
    return max(durations) if durations else None
