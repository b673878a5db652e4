"""Video and audio lectures: probe gate, encode plan, chunk and audio encodes, packaging, thumbnails.

Each function is one state of the video branch. Between them only small JSON travels in the state (the
plan, chunk numbers); segment listings go through the work prefix of the publish bucket as JSON
manifests, because Step Functions caps a state's payload at 256 KB and a long lecture has thousands of
segments.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import layout
from pipeline.catalog.details import AudioLoudness, AudioTrackDetails, Details, HlsDetails, SpriteDetails
from pipeline.keys import AssetKey, parse_key
from pipeline.media.encode import (
    AudioManifest,
    ChunkManifest,
    Loudness,
    dump_audio_manifests,
    encode_audio,
    encode_chunk,
    load_audio_manifests,
)
from pipeline.media.hls import check_complete
from pipeline.media.package import MASTER, AudioOutput, package
from pipeline.media.plan import Chunk, EncodeJob, EncodePlan, generation_for, make_plan
from pipeline.media.poster import make_poster
from pipeline.media.probe import ProbeResult, probe
from pipeline.media.sprites import make_sprites
from pipeline.media.subtitles import with_subtitles
from pipeline.publish import IMMUTABLE, SHORT, publish_tree
from pipeline.steps import AssetInfo, AudioDone, ChunkDone, ExecutionState, Outputs
from pipeline.usecases.embedded_subtitles import publish_embedded
from pipeline.usecases.subtitle_renditions import attach_captions
from pipeline.usecases.workspace import workspace

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services

_UPLOAD_THREADS = 8
_COPY_THREADS = 16


def _asset(source: SourceRef) -> AssetKey:
    return parse_key(source.key)


def hls_prefix(asset: AssetKey) -> str:
    return asset.publish_prefix + layout.hls_dir(asset.asset_id) + "/"


def probe_media(source: SourceRef, services: Services) -> ProbeResult:
    """The gate: a file ffprobe cannot read, or over the limits, fails here before any encode cost."""
    with workspace(source, services) as ws:
        return probe(ws.source, limits=services.settings.limits)


def _probe(ws_source: Path, probed: ProbeResult | None, services: Services) -> ProbeResult:
    """The ProbeMedia result from the state when there is one; probing again only when called alone."""
    if probed is not None:
        return probed
    return probe(ws_source, limits=services.settings.limits)


def plan_encode(source: SourceRef, probed: ProbeResult, services: Services) -> EncodePlan:
    """Ladder and chunks, from the probe alone (no download): cheap, and the Map state fans out on it."""
    asset = _asset(source)
    generation = generation_for(source.key, source.version_id or source.etag)
    work_prefix = layout.work_dir(asset.course_id, asset.asset_id, generation)
    return make_plan(probed, services.settings.encode, generation=generation, work_prefix=work_prefix)


def encode_video_chunk(source: SourceRef, job: EncodeJob, chunk: Chunk, services: Services) -> ChunkDone:
    """One chunk, every rung: segments and the chunk's manifest are staged under the work prefix.

    Staged, not published: when one chunk fails, Step Functions stops waiting but chunks already running
    finish and upload; staging keeps those stragglers out of the published tree (the work prefix
    expires), and PackageHls moves a complete set into place with server-side copies.
    """
    prefix = _staged_hls(job)
    bucket = services.settings.publish_bucket
    with workspace(source, services) as ws:
        manifest = encode_chunk(ws.source, ws.out, job, chunk)
        uploads = [
            (f"{prefix}{rung}/{segment.uri}", ws.out / rung / segment.uri)
            for rung, data in manifest.rungs.items()
            for segment in data["segments"]
        ]
        _upload_all(services, bucket, uploads)
    services.store.put_bytes(bucket, _chunk_key(job, chunk.index), json.dumps(manifest.to_dict()).encode())
    segments = len(next(iter(manifest.rungs.values()))["segments"])
    return ChunkDone(chunk=chunk.index, first_segment=manifest.first_segment, segments=segments)


def encode_audio_track(
    source: SourceRef, job: EncodeJob, services: Services, track: int | None = None
) -> AudioDone:
    """The soundtrack at position ``track``, whole, as its audio rendition (``None``: every soundtrack,
    as the single EncodeAudio of an older definition did); nothing for a silent video. ``segments``
    counts what it staged."""
    if not job.has_audio:
        return AudioDone(audio=False)
    prefix = _staged_hls(job)
    bucket = services.settings.publish_bucket
    with workspace(source, services) as ws:
        manifests = encode_audio(ws.source, ws.out, job, only=track)
        uploads = [
            (f"{prefix}{m.directory}/{uri}", ws.out / m.directory / uri)
            for m in manifests
            for uri, _, _ in m.segments
        ]
        _upload_all(services, bucket, uploads)
    document = json.dumps(dump_audio_manifests(manifests)).encode()
    services.store.put_bytes(bucket, layout.work_audio(job.work_prefix, track), document)
    return AudioDone(audio=True, segments=sum(len(m.segments) for m in manifests))


def package_hls(
    source: SourceRef, info: AssetInfo, plan: EncodePlan, probed: ProbeResult, services: Services
) -> Outputs:
    """Publish the staged thumbnails and write the playlists (master last), then prune what an earlier
    version left and drop the work files.

    Two versions of one file can be in flight at once (a re-upload while the first still encodes). Only
    the current one may publish: the catalog item is claimed with the same version condition every step
    uses, and a superseded run removes its own segments instead. Pruning spares objects written after the
    claim, so a newer version's segments, already uploading, are never deleted by an older run.
    """
    asset = _asset(source)
    job = plan.job
    bucket = services.settings.publish_bucket
    # S3's LastModified has whole seconds: a newer version's file written later in the claim's second
    # reads as older than an exact claim time. From the start of that second, the prune spares it (and at
    # worst leaves a stale file of this second for the next publish to prune).
    claimed_at = datetime.now(UTC).replace(microsecond=0)
    current = services.catalog.mark_processing(asset.course_id, asset.asset_id, source, info.kind, None)
    if not current:
        discarded = _discard_generation(services, asset, job)
        return Outputs([], Details(hls=HlsDetails(superseded=True, discarded=discarded)))
    chunks = [
        ChunkManifest.from_dict(_read_json(services, bucket, _chunk_key(job, c.index))) for c in plan.chunks
    ]
    audio = _audio_manifests(services, bucket, job)
    result = package(job, chunks, audio)
    check_complete(Path(asset.path), probed, result.duration_s)

    prefix = hls_prefix(asset)
    _publish_segments(services, bucket, job, prefix, result.segment_files)
    thumbs = _publish_thumbnails(services, bucket, job, thumbs_prefix(asset))
    for rel in result.playlists:
        if rel != MASTER:
            services.store.put_bytes(
                bucket, prefix + rel, result.playlists[rel].encode(), cache_control=SHORT
            )
    # The master last, with the video's own subtitle streams and the caption files already published
    # for it, segmented to its timeline.
    embedded = publish_embedded(asset, job, result.playlists[MASTER], services)
    master_text = with_subtitles(result.playlists[MASTER], embedded.specs)
    subtitles = attach_captions(asset, services, new_master=master_text) or []
    # Only now, with the new master in place, may what the previous version published go (the subtitle
    # renditions are attach_captions' to keep or remove).
    wanted = {prefix + rel for rel in [*result.playlists, *result.segment_files]} | thumbs
    subs = asset.publish_prefix + layout.subtitles_dir(asset.asset_id) + "/"
    for tree in (prefix, thumbs_prefix(asset)):
        stale = [
            k
            for k in services.store.list_keys(bucket, tree, modified_before=claimed_at)
            if k not in wanted and not k.startswith(subs)
        ]
        services.store.delete_keys(bucket, stale)
    services.store.delete_keys(bucket, list(services.store.list_keys(bucket, job.work_prefix)))

    master = prefix + MASTER
    hls = HlsDetails(
        master=master,
        targetDuration=result.target_duration,
        durationS=round(result.duration_s, 3),
        frameRate=round(float(job.fps), 3) if job.has_video else None,
        segments=sum(v.segments for v in result.variants),
        chunks=len(plan.chunks),
        audio={"language": job.audio_language, "codecs": result.audio[0].codecs} if result.audio else None,
        audioTracks=[_audio_details(a, prefix) for a in result.audio],
        subtitles=[
            {"language": s.language, "name": s.name, "kind": s.kind, "forced": s.forced, "folder": s.folder}
            for s in subtitles
        ],
        renditions=[
            {
                "name": v.name,
                "width": v.width,
                "height": v.height,
                "bandwidth": v.bandwidth,
                "averageBandwidth": v.average_bandwidth,
                "codecs": v.codecs,
                "playlist": prefix + v.playlist,
                "iframePlaylist": prefix + v.iframe_playlist if v.iframe_playlist else None,
            }
            for v in result.variants
        ],
    )
    notes = [a.loudness.note for a in result.audio if a.loudness and a.loudness.note]
    notes += embedded.warnings
    return Outputs([master], Details(hls=hls, warnings=notes) if notes else Details(hls=hls))


def _audio_details(audio: AudioOutput, prefix: str) -> AudioTrackDetails:
    return AudioTrackDetails(
        language=audio.language,
        name=audio.name,
        default=audio.default,
        channels=audio.channels,
        codecs=audio.codecs,
        playlist=prefix + audio.playlist,
        loudness=_loudness_details(audio.loudness) if audio.loudness else None,
    )


def _loudness_details(loudness: Loudness) -> AudioLoudness:
    return AudioLoudness(
        inputI=loudness.input_i,
        inputTP=loudness.input_tp,
        inputLRA=loudness.input_lra,
        targetI=loudness.target_i,
        mode=loudness.mode,
        note=loudness.note,
    )


def make_thumbnails(
    source: SourceRef, probed: ProbeResult | None, job: EncodeJob, services: Services
) -> Outputs:
    """Posters (JPEG + WebP, several widths) and, for videos, the scrub-preview sprites + WebVTT track.

    They are staged under the work prefix and published by PackageHls together with the playlists: a
    version that fails later must not replace the posters of the version learners are watching.
    """
    asset = _asset(source)
    final = thumbs_prefix(asset)
    with workspace(source, services) as ws:
        info = _probe(ws.source, probed, services)
        posters = [str(p) for p in make_poster(ws.source, ws.out, info, widths=layout.POSTER_WIDTHS)]
        files = list(posters)
        sprites: SpriteDetails | None = None
        if info.has_video:
            interval = services.settings.encode.sprite_interval_s
            result = make_sprites(ws.source, ws.out, info, interval_s=interval)
            # The WebVTT track references the sheets: it goes after them.
            files += [str(p) for p in result.sprites] + [str(result.vtt)]
            sprites = SpriteDetails(
                vtt=f"{final}{result.vtt}",
                sheets=[f"{final}{p}" for p in result.sprites],
                tileWidth=result.tile_width,
                tileHeight=result.tile_height,
                intervalS=result.interval_s,
                tiles=result.count,
            )
        publish_tree(
            services.store, services.settings.publish_bucket, _staged_thumbs(job), ws.out, files, prune=False
        )
    return Outputs([final + f for f in files], Details(posters=[final + p for p in posters], sprites=sprites))


def thumbs_prefix(asset: AssetKey) -> str:
    return asset.publish_prefix + layout.thumbs_dir(asset.asset_id) + "/"


def _staged_thumbs(job: EncodeJob) -> str:
    return layout.work_thumbs(job.work_prefix)


def _publish_thumbnails(services: Services, bucket: str, job: EncodeJob, final: str) -> set[str]:
    staged = _staged_thumbs(job)
    keys = {k: final + k[len(staged) :] for k in services.store.list_keys(bucket, staged)}
    # Sprite sheets before the WebVTT track that points at them.
    for src in sorted(keys, key=lambda k: k.endswith(".vtt")):
        services.store.copy(bucket, src, keys[src], cache_control=SHORT)
    return set(keys.values())


def discard_partial_video(state: ExecutionState, services: Services) -> int:
    """After a failure: remove the segments this version already wrote and its work files, so the
    published tree keeps only what the previous good version's playlists reference.

    Once PackageHls has run, this version's segments are the published ones (and the previous version is
    pruned): a failure after that (recording in the catalog) must not take them down.
    """
    if state.plan is None or state.package is not None:
        return 0
    return _discard_generation(services, _asset(state.source), state.plan.job)


def _discard_generation(services: Services, asset: AssetKey, job: EncodeJob) -> int:
    bucket = services.settings.publish_bucket
    marker = f"/seg-{job.generation}-"
    doomed = [k for k in services.store.list_keys(bucket, hls_prefix(asset)) if marker in k]
    doomed += list(services.store.list_keys(bucket, job.work_prefix))
    services.store.delete_keys(bucket, doomed)
    return len(doomed)


def _chunk_key(job: EncodeJob, index: int) -> str:
    return layout.work_chunk(job.work_prefix, index)


def _audio_manifests(services: Services, bucket: str, job: EncodeJob) -> list[AudioManifest]:
    """Every track's EncodeAudio manifest, in track order; an execution of the definition with one
    EncodeAudio for all tracks (in flight across a deploy) left one document instead."""
    if not job.has_audio:
        return []
    found = services.store.read_object(bucket, layout.work_audio(job.work_prefix, 0))
    if found is None:
        return load_audio_manifests(_read_json(services, bucket, layout.work_audio(job.work_prefix)))
    manifests = load_audio_manifests(json.loads(found[0]))
    for track in range(1, len(job.audio_tracks)):
        manifests += load_audio_manifests(
            _read_json(services, bucket, layout.work_audio(job.work_prefix, track))
        )
    return manifests


def _staged_hls(job: EncodeJob) -> str:
    return layout.work_hls(job.work_prefix)


def _publish_segments(services: Services, bucket: str, job: EncodeJob, prefix: str, files: list[str]) -> None:
    """Server-side copies (no bytes through the function); segment names carry the generation, so this
    never overwrites what players of the previous version are reading."""
    staged = _staged_hls(job)

    def copy(rel: str) -> None:
        services.store.copy(bucket, staged + rel, prefix + rel, cache_control=IMMUTABLE)

    with ThreadPoolExecutor(max_workers=_COPY_THREADS) as pool:
        list(pool.map(copy, files))


def _read_json(services: Services, bucket: str, key: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(services.store.get_bytes(bucket, key))
    return data


def _upload_all(services: Services, bucket: str, uploads: list[tuple[str, Path]]) -> None:
    def put(item: tuple[str, Path]) -> None:
        services.store.put_file(bucket, item[0], item[1], cache_control=IMMUTABLE)

    with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
        list(pool.map(put, uploads))
