"""Subtitle streams inside the video: extracted beside the encode, published with its master.

ExtractSubtitles (a branch of Transcode, so it costs no wall time) stages each text stream as WebVTT
under the encode's work prefix, with a small manifest of what the container said about it (language,
title, default, forced). PackageHls reads that manifest, checks and sanitizes each file with the sidecar
caption rules, segments it to the encoded video's timeline and lists it in the master as
``subs/embedded-<n>/``; a caption file uploaded beside the video is listed after them (both are kept when
they share a language: the names tell them apart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline import layout
from pipeline.errors import CaptionError
from pipeline.media.captions import parse_captions, to_webvtt
from pipeline.media.languages import language_name
from pipeline.media.subtitles import SUBS_DIR, SubtitleSpec, segment_captions
from pipeline.media.text_tracks import extract_text_tracks
from pipeline.publish import SHORT
from pipeline.steps import SubtitlesDone
from pipeline.usecases.subtitle_renditions import EMBEDDED_PREFIX, timeline
from pipeline.usecases.workspace import workspace

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.keys import AssetKey
    from pipeline.media.plan import EncodeJob
    from pipeline.media.probe import ProbeResult
    from pipeline.services import Services

TRACK_VTT = "track.vtt"
MANIFEST = "tracks.json"


def extract_subtitles(
    source: SourceRef, probed: ProbeResult, job: EncodeJob, services: Services
) -> SubtitlesDone:
    """Stage the text subtitle streams; bitmap ones are named in the warnings (they need OCR)."""
    tracks = list(probed.subtitle_tracks)
    text = [t for t in tracks if t.text]
    warnings = [
        f"subtitle stream {t.index} ({t.codec}{', ' + t.language if t.language else ''}) is a picture "
        "format; export it as SRT or WebVTT and upload it beside the video to publish it"
        for t in tracks
        if not t.text
    ]
    bucket = services.settings.publish_bucket
    staged = layout.work_subtitles(job.work_prefix)
    if not text:
        if warnings:
            manifest_body = {"tracks": [], "warnings": warnings}
            services.store.put_bytes(bucket, staged + MANIFEST, json.dumps(manifest_body).encode())
        return SubtitlesDone(tracks=0, warnings=warnings)
    with workspace(source, services) as ws:
        files = extract_text_tracks(ws.source, ws.out / "subs", [t.index for t in text])
        manifest = []
        for track, path in zip(text, files, strict=True):
            services.store.put_file(bucket, staged + path.name, path)
            manifest.append(
                {
                    "file": path.name,
                    "index": track.index,
                    "language": track.language,
                    "title": track.title,
                    "default": track.default,
                    "forced": track.forced,
                }
            )
    body = {"tracks": manifest, "warnings": warnings}
    services.store.put_bytes(bucket, staged + MANIFEST, json.dumps(body).encode())
    return SubtitlesDone(tracks=len(manifest), warnings=warnings)


@dataclass(frozen=True)
class Published:
    specs: list[SubtitleSpec]
    files: list[str]
    warnings: list[str]


def publish_embedded(video: AssetKey, job: EncodeJob, master: str, services: Services) -> Published:
    """Sanitize, segment (to ``master``'s first variant, already published) and publish the staged
    tracks of this encode; none staged: nothing."""
    bucket = services.settings.publish_bucket
    staged = layout.work_subtitles(job.work_prefix)
    found = services.store.read_object(bucket, staged + MANIFEST)
    if found is None:
        return Published([], [], [])
    staged_manifest: dict[str, Any] = json.loads(found[0])
    entries: list[dict[str, Any]] = staged_manifest.get("tracks") or []
    warnings: list[str] = list(staged_manifest.get("warnings") or [])
    hls = video.publish_prefix + layout.hls_dir(video.asset_id) + "/"
    specs: list[SubtitleSpec] = []
    written: list[str] = []
    if not entries:
        return Published([], [], warnings)
    durations, mpegts = timeline(master, hls, services)
    for entry in entries:
        label = f"subtitle stream {entry['index']} of {video.name}"
        try:
            cues = parse_captions(services.store.get_bytes(bucket, staged + entry["file"]), label).cues
        except CaptionError as exc:
            warnings.append(f"{exc}; left out")
            continue
        if not cues:
            continue
        folder = f"{EMBEDDED_PREFIX}{entry['index']}"
        rendition = segment_captions(cues, durations=durations, mpegts_start=mpegts)
        files = {f"{SUBS_DIR}/{folder}/{name}": body for name, body in rendition.segments.items()}
        files[f"{SUBS_DIR}/{folder}/index.m3u8"] = rendition.playlist
        files[f"{SUBS_DIR}/{folder}/{TRACK_VTT}"] = to_webvtt(cues)
        for rel, body in files.items():
            services.store.put_bytes(bucket, hls + rel, body.encode(), cache_control=SHORT)
        written += [hls + rel for rel in files]
        language = entry.get("language")
        specs.append(
            SubtitleSpec(
                folder=folder,
                language=language or "und",
                name=entry.get("title") or (language_name(language) if language else f"Subtitles {folder}"),
                # Never DEFAULT: a container's default flag on a text stream is no author's choice
                # (ffmpeg's MP4 muxer flags the first text track default whatever it is told; Matroska's
                # is set unless cleared), and hls.js turns a DEFAULT=YES subtitle rendition on for every
                # viewer. A forced one is chosen by the player through FORCED + AUTOSELECT, like a
                # forced caption file's.
                default=False,
                forced=bool(entry.get("forced")),
            )
        )
    return Published(specs, written, warnings)
