"""What the encoders would have staged, without ffmpeg: segments, the chunk and audio manifests (built with
the media layer's own ``ChunkManifest.to_dict``/``dump_audio_manifests``, so PackageHls parses exactly
what EncodeChunk and EncodeAudio write) and the thumbnails, under one version's work prefix."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.media.encode import (
    AUDIO_CODECS,
    AudioManifest,
    ChunkManifest,
    SegmentInfo,
    dump_audio_manifests,
)
from pipeline.media.probe import ProbeResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline.media.encode import Loudness
    from pipeline.media.plan import EncodePlan
    from pipeline.storage import ObjectStore

HD = ProbeResult(
    format_name="mov,mp4", duration_s=12.0, size_bytes=1, bit_rate=None, has_video=True, has_audio=True,
    width=1280, height=720, coded_width=1280, coded_height=720, rotation=0, fps=30.0, video_codec="h264",
    pix_fmt="yuv420p", audio_codec="aac", audio_channels=2, audio_sample_rate=48000,
)  # fmt: skip
"""A 12 s 720p lecture with stereo sound: two 6 s segments per rung."""

SEGMENT_BYTES = 4_000
THUMBNAILS = (
    *(layout.poster_name(w, ext) for w in layout.POSTER_WIDTHS for ext in ("jpg", "webp")),
    "sprite-0.jpg",
    layout.SPRITE_VTT,
)


def stage_encode(
    store: ObjectStore,
    bucket: str,
    plan: EncodePlan,
    probe: ProbeResult = HD,
    loudness: Sequence[Loudness | None] = (),
    *,
    one_audio_document: bool = False,
) -> list[str]:
    """Every chunk's segments for every rung, every audio rendition (``loudness[n]`` as track n's
    measurement) and their manifests, one per track as the EncodeSoundtracks Map writes them (or the one
    document of the definition before it); returns the keys."""
    job = plan.job
    staged = layout.work_hls(job.work_prefix)
    total = math.ceil((probe.video_duration_s or probe.duration_s) * float(job.fps))
    keys: list[str] = []
    first = 0
    for chunk in plan.chunks:
        frames = chunk.frames if chunk.frames is not None else total - chunk.start_frame
        lengths = [job.segment_frames] * (frames // job.segment_frames)
        if frames % job.segment_frames:
            lengths.append(frames % job.segment_frames)
        rungs = {}
        for rung in job.rungs:
            segments = []
            for n, length in enumerate(lengths, start=first):
                uri = job.segment_name(n)
                gops = math.ceil(length / job.gop_frames)
                keyframes = [(376 + g * 1_000, 900) for g in range(gops)]
                segments.append(SegmentInfo(uri, length, SEGMENT_BYTES, 376, keyframes))
                keys.append(f"{staged}{rung.name}/{uri}")
                store.put_bytes(bucket, keys[-1], b"\x47" * 188)
            rungs[rung.name] = {"codecs": "avc1.64001f", "segments": segments}
        manifest = ChunkManifest(chunk=chunk.index, first_segment=first, rungs=rungs)
        keys.append(layout.work_chunk(job.work_prefix, chunk.index))
        store.put_bytes(bucket, keys[-1], json.dumps(manifest.to_dict()).encode())
        first += len(lengths)
    if job.has_audio:
        count = math.ceil(probe.duration_s / job.segment_seconds)
        audio = [(job.segment_name(n), job.segment_seconds, 1_000) for n in range(count)]
        manifests = []
        for track in range(len(job.audio_tracks)):
            for uri, _, _ in audio:
                keys.append(f"{staged}audio/{track}/{uri}")
                store.put_bytes(bucket, keys[-1], b"\x47" * 188)
            measured = loudness[track] if track < len(loudness) else None
            manifests.append(AudioManifest(AUDIO_CODECS, 2, audio, track, f"audio/{track}", measured))
        documents = {None: manifests} if one_audio_document else {n: [m] for n, m in enumerate(manifests)}
        for track_or_all, written in documents.items():
            keys.append(layout.work_audio(job.work_prefix, track_or_all))
            store.put_bytes(bucket, keys[-1], json.dumps(dump_audio_manifests(written)).encode())
    return keys


def stage_thumbnails(store: ObjectStore, bucket: str, plan: EncodePlan) -> list[str]:
    """MakeThumbnails' staged posters, sprite sheet and WebVTT track."""
    staged = layout.work_thumbs(plan.job.work_prefix)
    keys = [staged + name for name in THUMBNAILS]
    for key in keys:
        store.put_bytes(bucket, key, b"thumb")
    return keys
