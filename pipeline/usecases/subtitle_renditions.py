"""A video's subtitle renditions: which captions it has, segmented to its timeline, listed in its master.

Shared by the two runs that meet here (see ``pipeline.usecases.captions``): PackageHls writes a new master
through ``attach_captions`` and a caption run attaches to a published one. This module renders no page, so
the video use case can use it without importing the lesson renderer.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.catalog.caption_bindings import Binding, bindings_of_video, listed_captions
from pipeline.errors import CaptionError
from pipeline.keys import AssetKey
from pipeline.media.captions import parse_captions
from pipeline.media.subtitles import (
    SUBS_DIR,
    SubtitleSpec,
    attributes,
    first_variant,
    media_segments,
    segment_captions,
    subtitle_specs,
    with_subtitles,
)
from pipeline.media.ts import first_pts
from pipeline.publish import SHORT
from pipeline.usecases.downloads import course_record

if TYPE_CHECKING:
    from pipeline.services import Services

EMBEDDED_PREFIX = "embedded-"
_PTS_PROBE_BYTES = 188 * 200
_ATTACH_ROUNDS = 5


@dataclass(frozen=True)
class _Sidecar:
    asset: AssetKey
    binding: Binding


def sidecars_of(video: AssetKey, services: Services) -> list[_Sidecar]:
    """The caption files of ``video`` (by name, or course.yaml's ``captions:``) whose WebVTT is published,
    by language then name."""
    stem = posixpath.splitext(video.path)[0]
    course = f"courses/{video.course_id}/"
    bucket = services.settings.publish_bucket
    record = course_record(services.catalog.course_items(video.course_id))
    named = [
        k[len(course) :]
        for k in services.store.list_keys(services.settings.ingest_bucket, course + stem + ".")
    ]
    # A listed file's published WebVTT says it is there (its deletion removes it): no listing needed.
    candidates = named + [b.caption for b in listed_captions(record) if b.video == video.path]
    found = []
    for binding in bindings_of_video(video.path, record, candidates):
        caption = AssetKey(course_id=video.course_id, path=binding.caption)
        if services.store.head(bucket, caption.publish_prefix + layout.caption_vtt(caption.asset_id)):
            found.append(_Sidecar(caption, binding))
    return found


def attach_captions(
    video: AssetKey, services: Services, *, new_master: str | None = None
) -> list[SubtitleSpec] | None:
    """Make the video's published master list exactly its published captions (and its embedded ones).

    ``new_master``: PackageHls's freshly built master (its media playlists already published), written
    whatever is there. None when the video has no master yet (its own run will attach); else the
    renditions the master lists."""
    bucket = services.settings.publish_bucket
    master_key = video.publish_prefix + layout.hls_master(video.asset_id)
    specs: list[SubtitleSpec] = []
    for _ in range(_ATTACH_ROUNDS):
        etag: str | None = None
        if new_master is not None:
            master, new_master = new_master, None
        else:
            found = services.store.read_object(bucket, master_key)
            if found is None:
                return None
            master, etag = found[0].decode(), found[1]
        sidecars = sidecars_of(video, services)
        specs, files = subtitle_files(video, master, sidecars, services)
        for key, data in files.items():
            services.store.put_bytes(bucket, key, data, cache_control=SHORT)
        edited = with_subtitles(master, specs)
        # Conditional: a newer encode's master written meanwhile must not be replaced by this edit of the
        # one before it (whose segments that encode is pruning); read it again and edit that one.
        if etag is None:
            services.store.put_bytes(bucket, master_key, edited.encode(), cache_control=SHORT)
        elif edited != master and not services.store.replace_bytes(
            bucket, master_key, edited.encode(), etag=etag, cache_control=SHORT
        ):
            continue
        _prune_renditions(video, specs, services)
        if sidecars_of(video, services) == sidecars:
            return specs
    raise CaptionError(
        f"{video.path}: its captions kept changing while being attached; upload one caption file again"
    )


def subtitle_files(
    video: AssetKey, master: str, sidecars: list[_Sidecar], services: Services
) -> tuple[list[SubtitleSpec], dict[str, bytes]]:
    """The renditions ``master`` should list (its embedded ones kept, one per published sidecar) and the
    sidecars' segmented WebVTT files, aligned with the master's first variant's segments."""
    bucket = services.settings.publish_bucket
    hls = video.publish_prefix + layout.hls_dir(video.asset_id) + "/"
    embedded = [s for s in subtitle_specs(master) if s.folder.startswith(EMBEDDED_PREFIX)]
    if not sidecars:
        return embedded, {}
    durations, mpegts = timeline(master, hls, services)
    audio_language = _default_audio_language(master)
    specs: list[SubtitleSpec] = []
    files: dict[str, bytes] = {}
    for sidecar in sidecars:
        caption = sidecar.asset
        data = services.store.get_bytes(bucket, caption.publish_prefix + layout.caption_vtt(caption.asset_id))
        cues = parse_captions(data, caption.name).cues
        rendition = segment_captions(cues, durations=durations, mpegts_start=mpegts)
        folder = f"{SUBS_DIR}/{caption.asset_id}/"
        files[hls + folder + "index.m3u8"] = rendition.playlist.encode()
        files.update({hls + folder + n: body.encode() for n, body in rendition.segments.items()})
        binding = sidecar.binding
        specs.append(
            SubtitleSpec(
                folder=caption.asset_id,
                language=binding.language,
                name=binding.name(),
                kind=binding.kind_for(audio_language),
                forced=binding.forced,
            )
        )
    return embedded + specs, files


def timeline(master: str, hls_prefix: str, services: Services) -> tuple[list[float], int]:
    """The segment durations of the master's first variant and the 90 kHz time its first segment starts
    at (what ``X-TIMESTAMP-MAP`` maps cue time 0 to)."""
    bucket = services.settings.publish_bucket
    variant = first_variant(master)
    if variant is None:
        raise CaptionError("the video's master playlist lists no variant; upload the video again")
    playlist = services.store.get_bytes(bucket, hls_prefix + variant).decode()
    segments = media_segments(playlist)
    if not segments:
        raise CaptionError("the video's playlist lists no segments; upload the video again")
    first = posixpath.normpath(posixpath.join(posixpath.dirname(variant), segments[0][0]))
    head = services.store.read_range(bucket, hls_prefix + first, _PTS_PROBE_BYTES)
    pts = first_pts(head, first)
    return [seconds for _, seconds in segments], round((pts or 0.0) * 90_000)


def _prune_renditions(video: AssetKey, specs: list[SubtitleSpec], services: Services) -> None:
    bucket = services.settings.publish_bucket
    subs = video.publish_prefix + layout.subtitles_dir(video.asset_id) + "/"
    keep = {s.folder for s in specs}
    stale = [k for k in services.store.list_keys(bucket, subs) if k[len(subs) :].split("/", 1)[0] not in keep]
    services.store.delete_keys(bucket, stale)


def _default_audio_language(master: str) -> str | None:
    for line in master.splitlines():
        if line.startswith("#EXT-X-MEDIA:") and "TYPE=AUDIO" in line:
            attrs = attributes(line)
            if attrs.get("DEFAULT") == "YES" and attrs.get("LANGUAGE"):
                return attrs["LANGUAGE"]
    return None
