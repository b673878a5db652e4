"""Package: stitch the chunks' segments into media playlists and write the master and I-frame playlists.

Nothing is re-muxed: segments are already in place with global numbers. Every figure in the master comes
from what was written — BANDWIDTH is the peak bit rate as RFC 8216 §4.3.4.2 defines it (the largest rate
of any run of segments lasting 0.5–1.5 target durations), AVERAGE-BANDWIDTH the total bits over the total
duration, each including the audio rendition a variant plays with — because ffmpeg 5.x's own master has
neither AVERAGE-BANDWIDTH nor FRAME-RATE nor I-frame playlists, and guesses BANDWIDTH from settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from pipeline.media.encode import AUDIO_DIR, AudioManifest, ChunkManifest, EncoderOutputError, SegmentInfo

if TYPE_CHECKING:
    from pipeline.media.plan import EncodeJob

MASTER = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
IFRAME_DIR = "iframes"
AUDIO_GROUP = "audio"
# Players start with the first variant listed (Apple's guidance): the rung nearest this rate.
STARTUP_BITRATE = 2_000_000
_LANGUAGE_NAMES = {
    "en": "English", "fr": "Français", "de": "Deutsch", "es": "Español", "it": "Italiano",
    "pt": "Português", "nl": "Nederlands", "ja": "日本語", "zh": "中文", "ko": "한국어", "ru": "Русский",
    "ar": "العربية", "hi": "हिन्दी", "pl": "Polski", "tr": "Türkçe", "sv": "Svenska", "uk": "Українська",
}  # fmt: skip


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
class Package:
    """Playlist texts by path (relative to the HLS directory) and the figures the catalog records."""

    playlists: dict[str, str]
    variants: list[Variant]
    target_duration: int
    duration_s: float
    segment_files: list[str]


def package(job: EncodeJob, chunks: list[ChunkManifest], audio: AudioManifest | None) -> Package:
    """Build every playlist from the manifests; the master goes last when the caller publishes."""
    rung_segments = _stitch(job, chunks)
    audio_entries = audio.segments if audio else []
    durations = [s.frames / job.fps for segments in rung_segments.values() for s in segments]
    target = max([_rounded(float(d)) for d in durations] + [_rounded(d) for _, d, _ in audio_entries] + [1])

    playlists: dict[str, str] = {}
    files: list[str] = []
    audio_peak = audio_average = 0
    if audio:
        playlists[f"{AUDIO_DIR}/{MEDIA_PLAYLIST}"] = _media_playlist(
            [(uri, d) for uri, d, _ in audio_entries], target
        )
        files += [f"{AUDIO_DIR}/{uri}" for uri, _, _ in audio_entries]
        audio_peak = peak_bitrate([(d, n) for _, d, n in audio_entries], target)
        audio_average = _average([(d, n) for _, d, n in audio_entries])

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
                codecs=f"{codecs},{audio.codecs}" if audio else codecs,
                playlist=playlist,
                segments=len(segments),
                iframe_playlist=iframes,
                iframe_bandwidth=iframe_peak,
            )
        )
    if not variants and audio:
        variants.append(
            Variant(
                name=AUDIO_DIR,
                width=None,
                height=None,
                bandwidth=audio_peak,
                average_bandwidth=audio_average,
                codecs=audio.codecs,
                playlist=f"{AUDIO_DIR}/{MEDIA_PLAYLIST}",
                segments=len(audio_entries),
            )
        )
    if not variants:
        raise EncoderOutputError("nothing was encoded: no video rungs and no audio")
    playlists[MASTER] = _master(job, variants, audio if job.rungs else None)
    if job.rungs:
        duration = float(sum(s.frames for s in rung_segments[job.rungs[0].name]) / job.fps)
    else:
        duration = sum(d for _, d, _ in audio_entries)
    return Package(playlists, variants, target, duration, files)


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


def _master(job: EncodeJob, variants: list[Variant], audio: AudioManifest | None) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:5", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio:
        language = job.audio_language
        name = _LANGUAGE_NAMES.get(language.split("-")[0], language)
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",LANGUAGE="{language}",NAME="{name}",'
            f'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="{audio.channels}",URI="{AUDIO_DIR}/{MEDIA_PLAYLIST}"'
        )
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
