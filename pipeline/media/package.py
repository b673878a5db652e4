"""Package: stitch the chunks' segments into media playlists and write the master and I-frame playlists.

Nothing is re-muxed: segments are already in place with global numbers. Every figure in the master comes
from what was written — BANDWIDTH is the peak bit rate as RFC 8216 §4.3.4.2 defines it (the largest rate
of any run of segments lasting 0.5–1.5 target durations), AVERAGE-BANDWIDTH the total bits over the total
duration, each including the largest audio rendition a variant may play with (RFC 8216 §4.3.4.2: the
figures must cover every rendition combination) — because ffmpeg 5.x's own master has neither
AVERAGE-BANDWIDTH nor FRAME-RATE nor I-frame playlists, and guesses BANDWIDTH from settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from pipeline.media.encode import AudioManifest, ChunkManifest, EncoderOutputError, Loudness, SegmentInfo

if TYPE_CHECKING:
    from pipeline.media.plan import AudioRendition, EncodeJob

MASTER = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
IFRAME_DIR = "iframes"
AUDIO_GROUP = "audio"
# Players start with the first variant listed (Apple's guidance): the rung nearest this rate.
STARTUP_BITRATE = 2_000_000


@dataclass(frozen=True)
class Variant:
    name: str
    width: int | None
    height: int | None
    bandwidth: int
    average_bandwidth: int
    codecs: str
    playlist: str
    segments: int
    iframe_playlist: str | None = None
    iframe_bandwidth: int | None = None


@dataclass(frozen=True)
class AudioOutput:
    """One published audio rendition: its ``EXT-X-MEDIA`` attributes and what the catalog records."""

    language: str | None
    name: str
    default: bool
    channels: int
    codecs: str
    playlist: str
    bandwidth: int
    average_bandwidth: int
    segments: int
    loudness: Loudness | None


@dataclass(frozen=True)
class Package:
    """Playlist texts by path (relative to the HLS directory) and the figures the catalog records."""

    playlists: dict[str, str]
    variants: list[Variant]
    target_duration: int
    duration_s: float
    segment_files: list[str]
    audio: list[AudioOutput] = field(default_factory=list)


def package(job: EncodeJob, chunks: list[ChunkManifest], audio: list[AudioManifest] | None) -> Package:
    """Build every playlist from the manifests; the master goes last when the caller publishes."""
    rung_segments = _stitch(job, chunks)
    tracks = sorted(audio or [], key=lambda m: m.track)
    durations = [s.frames / job.fps for segments in rung_segments.values() for s in segments]
    target = max(
        [_rounded(float(d)) for d in durations]
        + [_rounded(d) for m in tracks for _, d, _ in m.segments]
        + [1]
    )

    playlists: dict[str, str] = {}
    files: list[str] = []
    outputs: list[AudioOutput] = []
    for manifest in tracks:
        playlist = f"{manifest.directory}/{MEDIA_PLAYLIST}"
        playlists[playlist] = _media_playlist([(uri, d) for uri, d, _ in manifest.segments], target)
        files += [f"{manifest.directory}/{uri}" for uri, _, _ in manifest.segments]
        timed = [(d, n) for _, d, n in manifest.segments]
        rendition = _rendition(job, manifest)
        outputs.append(
            AudioOutput(
                language=rendition.language,
                name=rendition.name,
                default=rendition.default,
                channels=manifest.channels,
                codecs=manifest.codecs,
                playlist=playlist,
                bandwidth=peak_bitrate(timed, target),
                average_bandwidth=_average(timed),
                segments=len(manifest.segments),
                loudness=manifest.loudness,
            )
        )
    _check_group(outputs)
    # A variant plays with any one rendition of the group: its figures cover the largest.
    audio_peak = max((a.bandwidth for a in outputs), default=0)
    audio_average = max((a.average_bandwidth for a in outputs), default=0)
    audio_codecs = ",".join(dict.fromkeys(a.codecs for a in outputs))

    variants: list[Variant] = []
    for rung in job.rungs:
        segments = rung_segments[rung.name]
        codecs = _consistent_codecs(rung.name, chunks)
        timed = [(float(s.frames / job.fps), s.size) for s in segments]
        playlist = f"{rung.name}/{MEDIA_PLAYLIST}"
        playlists[playlist] = _media_playlist([(s.uri, float(s.frames / job.fps)) for s in segments], target)
        files += [f"{rung.name}/{s.uri}" for s in segments]
        iframes = f"{IFRAME_DIR}/{rung.name}.m3u8"
        playlists[iframes], iframe_peak = _iframe_playlist(job, rung.name, segments, target)
        variants.append(
            Variant(
                name=rung.name,
                width=rung.width,
                height=rung.height,
                bandwidth=peak_bitrate(timed, target) + audio_peak,
                average_bandwidth=_average(timed) + audio_average,
                codecs=f"{codecs},{audio_codecs}" if outputs else codecs,
                playlist=playlist,
                segments=len(segments),
                iframe_playlist=iframes,
                iframe_bandwidth=iframe_peak,
            )
        )
    if not variants and outputs:
        # An audio lecture: the default rendition is the variant itself.
        main = next(a for a in outputs if a.default)
        variants.append(
            Variant(
                name=AUDIO_GROUP,
                width=None,
                height=None,
                bandwidth=audio_peak,
                average_bandwidth=audio_average,
                codecs=audio_codecs,
                playlist=main.playlist,
                segments=main.segments,
            )
        )
    if not variants:
        raise EncoderOutputError("nothing was encoded: no video rungs and no audio")
    # An audio lecture with one soundtrack needs no group; with several, the group lets players switch.
    group = outputs if job.rungs or len(outputs) > 1 else []
    playlists[MASTER] = _master(job, variants, group)
    if job.rungs:
        duration = float(sum(s.frames for s in rung_segments[job.rungs[0].name]) / job.fps)
    else:
        main_track = next(m for m, a in zip(tracks, outputs, strict=True) if a.default)
        duration = sum(d for _, d, _ in main_track.segments)
    return Package(playlists, variants, target, duration, files, outputs)


def _rendition(job: EncodeJob, manifest: AudioManifest) -> AudioRendition:
    if not 0 <= manifest.track < len(job.audio_tracks):
        raise EncoderOutputError(
            f"the audio manifest names track {manifest.track}; the plan has {len(job.audio_tracks)}"
        )
    return job.audio_tracks[manifest.track]


def _check_group(outputs: list[AudioOutput]) -> None:
    """RFC 8216 §4.3.4.1.1: NAMEs unique within the group; and exactly one DEFAULT=YES."""
    if not outputs:
        return
    names = [a.name for a in outputs]
    if len(set(names)) != len(names):
        raise EncoderOutputError(f"audio rendition names are not unique: {names}")
    if sum(a.default for a in outputs) != 1:
        raise EncoderOutputError(f"{sum(a.default for a in outputs)} audio renditions are marked DEFAULT")


def peak_bitrate(segments: list[tuple[float, int]], target: int) -> int:
    """RFC 8216 §4.3.4.2 peak: the highest rate of any contiguous run of segments lasting between 0.5 and
    1.5 target durations. A presentation shorter than half a target duration is one run."""
    best = 0.0
    for i in range(len(segments)):
        seconds = bits = 0.0
        for duration, size in segments[i:]:
            seconds += duration
            bits += size * 8
            if seconds > 1.5 * target:
                break
            if seconds >= 0.5 * target:
                best = max(best, bits / seconds)
    if best == 0.0 and segments:
        best = _average(segments)
    return math.ceil(best)


def _average(segments: list[tuple[float, int]]) -> int:
    seconds = sum(d for d, _ in segments)
    return math.ceil(sum(n for _, n in segments) * 8 / seconds) if seconds > 0 else 0


def _rounded(seconds: float) -> int:
    # RFC 8216 §4.3.3.1: each EXTINF rounded to the nearest integer must not exceed the target duration.
    return math.floor(seconds + 0.5)


def _stitch(job: EncodeJob, chunks: list[ChunkManifest]) -> dict[str, list[SegmentInfo]]:
    ordered = sorted(chunks, key=lambda c: c.chunk)
    result: dict[str, list[SegmentInfo]] = {r.name: [] for r in job.rungs}
    expected_first = 0
    for manifest in ordered:
        if manifest.first_segment != expected_first:
            raise EncoderOutputError(
                f"chunk {manifest.chunk} starts at segment {manifest.first_segment}, "
                f"expected {expected_first}"
            )
        counts = {len(manifest.rungs.get(r.name, {}).get("segments", [])) for r in job.rungs}
        if len(counts) != 1 or 0 in counts:
            raise EncoderOutputError(
                f"chunk {manifest.chunk}: rungs disagree on segment counts {sorted(counts)}"
            )
        for rung in job.rungs:
            result[rung.name].extend(manifest.rungs[rung.name]["segments"])
        expected_first += counts.pop()
    for rung in job.rungs:
        frames = [s.frames for s in result[rung.name]]
        if any(f != job.segment_frames for f in frames[:-1]):
            raise EncoderOutputError(f"rung {rung.name}: segments are not {job.segment_frames} frames each")
    return result


def _consistent_codecs(rung: str, chunks: list[ChunkManifest]) -> str:
    codecs = {c.rungs[rung]["codecs"] for c in chunks}
    if len(codecs) != 1:
        raise EncoderOutputError(f"rung {rung}: chunks encoded with different codec levels {sorted(codecs)}")
    return str(codecs.pop())


def _media_playlist(segments: list[tuple[str, float]], target: int) -> str:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for uri, seconds in segments:
        lines += [f"#EXTINF:{seconds:.6f},", uri]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _iframe_playlist(job: EncodeJob, rung: str, segments: list[SegmentInfo], target: int) -> tuple[str, int]:
    """Keyframes as byte ranges of the segments; each segment's PAT/PMT is its EXT-X-MAP, so a player
    can fetch any one I-frame on its own (RFC 8216 §4.3.3.6). Version 5: EXT-X-MAP in I-frames-only."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:5",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-I-FRAMES-ONLY",
    ]
    peak = 0.0
    for segment in segments:
        uri = f"../{rung}/{segment.uri}"
        lines.append(f'#EXT-X-MAP:URI="{uri}",BYTERANGE="{segment.init_length}@0"')
        for i, (offset, length) in enumerate(segment.keyframes):
            start = i * job.gop_frames
            end = min(start + job.gop_frames, segment.frames)
            seconds = float(Fraction(end - start) / job.fps)
            peak = max(peak, length * 8 / seconds)
            lines += [f"#EXTINF:{seconds:.6f},", f"#EXT-X-BYTERANGE:{length}@{offset}", uri]
        expected = math.ceil(segment.frames / job.gop_frames)
        if len(segment.keyframes) != expected:
            raise EncoderOutputError(
                f"{segment.uri} has {len(segment.keyframes)} keyframes, expected {expected} (GOP misaligned)"
            )
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n", math.ceil(peak)


def _master(job: EncodeJob, variants: list[Variant], audio: list[AudioOutput]) -> str:
    """The master playlist; ``audio`` is the AUDIO group (empty: none), one ``EXT-X-MEDIA`` per rendition."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:5", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition in audio:
        attrs = [f'TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}"']
        if rendition.language:
            attrs.append(f'LANGUAGE="{rendition.language}"')
        attrs += [
            f'NAME="{rendition.name}"',
            f"DEFAULT={'YES' if rendition.default else 'NO'}",
            "AUTOSELECT=YES",
            f'CHANNELS="{rendition.channels}"',
            f'URI="{rendition.playlist}"',
        ]
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    start = min(variants, key=lambda v: abs(v.average_bandwidth - STARTUP_BITRATE))
    ordered = [start] + sorted((v for v in variants if v is not start), key=lambda v: v.bandwidth)
    for v in ordered:
        attrs = [
            f"BANDWIDTH={v.bandwidth}",
            f"AVERAGE-BANDWIDTH={v.average_bandwidth}",
            f'CODECS="{v.codecs}"',
        ]
        if v.width and v.height:
            attrs += [f"RESOLUTION={v.width}x{v.height}", f"FRAME-RATE={float(job.fps):.3f}"]
        if audio:
            attrs.append(f'AUDIO="{AUDIO_GROUP}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), v.playlist]
    for v in sorted(variants, key=lambda v: v.bandwidth):
        if v.iframe_playlist:
            video_codecs = v.codecs.split(",")[0]
            lines.append(
                f'#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={v.iframe_bandwidth},CODECS="{video_codecs}",'
                f'RESOLUTION={v.width}x{v.height},URI="{v.iframe_playlist}"'
            )
    return "\n".join(lines) + "\n"
