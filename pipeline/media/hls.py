"""Encode a source into HLS: one rendition for the walking skeleton, and a master playlist written by us.

ffmpeg 5.x writes neither AVERAGE-BANDWIDTH nor FRAME-RATE in its master playlist and guesses BANDWIDTH
from the configured bitrate, so the master is built from what was actually written: segment sizes from
disk, durations from the media playlist, codec profile/level from probing a segment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.errors import InvalidMediaError
from pipeline.media.ffmpeg_tools import as_int, input_url, parse_rate, run
from pipeline.media.probe import ProbeResult

MASTER = "master.m3u8"
AUDIO_BITRATE_K = 128
AUDIO_CODECS = "mp4a.40.2"
_DEFAULT_FPS = 30.0
# libx264 names -> (profile_idc, constraint flags) as they appear in an RFC 6381 avc1 string.
_AVC_PROFILES = {
    "Constrained Baseline": (0x42, 0xE0),
    "Baseline": (0x42, 0x00),
    "Main": (0x4D, 0x40),
    "High": (0x64, 0x00),
}


@dataclass(frozen=True)
class HlsRendition:
    name: str
    width: int | None
    height: int | None
    bandwidth: int
    average_bandwidth: int
    codecs: str
    playlist: str
    segment_count: int


@dataclass(frozen=True)
class HlsResult:
    master: str
    renditions: list[HlsRendition]
    files: list[Path]
    duration_s: float


def encode_hls(
    source: Path,
    out_dir: Path,
    probe: ProbeResult,
    *,
    target_height: int = 720,
    video_bitrate_k: int = 3000,
    segment_s: int = 6,
    gop_s: int = 2,
) -> HlsResult:
    """Encode ``source`` into ``out_dir`` (``master.m3u8`` + ``{rendition}/index.m3u8`` + segments).

    ``target_height`` is the rendition class ("720p") and applies to the short side, so a portrait
    phone video gets the same pixel budget as a landscape one; it is never larger than the source.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    inp = ffmpeg.input(input_url(source), protocol_whitelist="file")
    options: dict[str, Any] = {
        "f": "hls",
        "hls_time": segment_s,
        "hls_playlist_type": "vod",
        "hls_flags": "independent_segments",
        "map_metadata": -1,
    }
    streams: list[Any] = []
    size: tuple[int, int] | None = None
    if probe.has_video:
        size = output_size(probe, target_height)
        width, height = size
        name = f"{min(size)}p"
        fps = probe.fps or _DEFAULT_FPS
        # setsar=1: players ignore SAR in HLS more often than not, so the pixels themselves must be square.
        streams.append(
            inp["V:0"].filter("scale", width, height).filter("setsar", 1).filter("format", "yuv420p")
        )
        options.update(
            {
                "c:v": "libx264",
                "preset": "veryfast",
                "profile:v": "high",
                "b:v": f"{video_bitrate_k}k",
                "maxrate": f"{round(video_bitrate_k * 1.07)}k",
                "bufsize": f"{round(video_bitrate_k * 1.5)}k",
                # Fixed GOPs and no scene-cut keyframes keep segment boundaries identical across renditions.
                "g": max(1, round(fps * gop_s)),
                "keyint_min": max(1, round(fps * gop_s)),
                "sc_threshold": 0,
                "force_key_frames": f"expr:gte(t,n_forced*{gop_s})",
            }
        )
    else:
        name = "audio"
    if probe.has_audio:
        streams.append(inp["a:0"])
        options.update({"c:a": "aac", "b:a": f"{AUDIO_BITRATE_K}k", "ac": 2, "ar": 48000})
    if not streams:
        raise InvalidMediaError(f"{source.name} has neither a picture nor sound to encode.")

    rendition_dir = out_dir / name
    rendition_dir.mkdir(parents=True, exist_ok=True)
    options["hls_segment_filename"] = str(rendition_dir / "seg_%05d.ts")
    run(
        ffmpeg.output(*streams, str(rendition_dir / "index.m3u8"), **options).overwrite_output(),
        source,
        "encoded",
    )

    playlist = f"{name}/index.m3u8"
    segments = _read_media_playlist(out_dir / playlist)
    if not segments:
        raise InvalidMediaError(f"{source.name} produced no video or audio when decoded; it may be corrupt.")
    duration = sum(d for _, d in segments)
    _check_complete(source, probe, duration)

    sizes = [(out_dir / name / uri).stat().st_size for uri, _ in segments]
    peak = max(size_b * 8 / max(d, 0.001) for size_b, (_, d) in zip(sizes, segments, strict=True))
    first = out_dir / name / segments[0][0]
    codecs, frame_rate = _codecs(first, source)
    rendition = HlsRendition(
        name=name,
        width=size[0] if size else None,
        height=size[1] if size else None,
        bandwidth=math.ceil(peak),
        average_bandwidth=math.ceil(sum(sizes) * 8 / duration),
        codecs=codecs,
        playlist=playlist,
        segment_count=len(segments),
    )
    # The master goes last: it is the entry point, and a reader must never find it before its variants.
    version = _playlist_version(out_dir / playlist)
    (out_dir / MASTER).write_text(_master_playlist([rendition], frame_rate, version), encoding="utf-8")
    files = [Path(name) / uri for uri, _ in segments] + [Path(playlist), Path(MASTER)]
    return HlsResult(master=MASTER, renditions=[rendition], files=files, duration_s=duration)


def output_size(probe: ProbeResult, target_height: int) -> tuple[int, int]:
    """The encoded size: display aspect kept, short side at most ``target_height``, never upscaled, even."""
    if not probe.width or not probe.height:
        raise InvalidMediaError("the video has no picture size")
    w, h = probe.width, probe.height
    short = min(w, h)
    scale = min(1.0, target_height / short)
    return _even(w * scale), _even(h * scale)


def _even(value: float) -> int:
    # Round down: rounding up could make the output one pixel larger than the source.
    return max(2, math.floor(value / 2) * 2)


def _read_media_playlist(path: Path) -> list[tuple[str, float]]:
    segments: list[tuple[str, float]] = []
    duration: float | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return segments


def _playlist_version(path: Path) -> int:
    # The master declares the same compatibility version as its variants (ffmpeg picks theirs).
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXT-X-VERSION:"):
            return max(3, int(line.split(":", 1)[1]))
    return 3


def _check_complete(source: Path, probe: ProbeResult, encoded_s: float) -> None:
    # A file cut short after its index (mp4 with the moov atom first) probes fine and ffmpeg exits 0 after
    # decoding what is there: only the missing duration tells us the upload is incomplete.
    if encoded_s < probe.duration_s * 0.9 and probe.duration_s - encoded_s > 0.5:
        raise InvalidMediaError(
            f"{source.name} says it is {probe.duration_s:.1f} s long but only {encoded_s:.1f} s could be "
            "decoded; the file looks truncated. Upload it again (check that the upload completed)."
        )


def _codecs(segment: Path, source: Path) -> tuple[str, float | None]:
    try:
        info: dict[str, Any] = ffmpeg.probe(input_url(segment), v="error")
    except ffmpeg.Error as exc:
        raise InvalidMediaError(f"{source.name}: the encoded output could not be read back.") from exc
    codecs: list[str] = []
    frame_rate: float | None = None
    for stream in info.get("streams") or []:
        if stream.get("codec_type") == "video":
            profile_idc, constraints = _AVC_PROFILES.get(str(stream.get("profile")), (0x64, 0x00))
            level = as_int(stream.get("level")) or 31
            codecs.append(f"avc1.{profile_idc:02x}{constraints:02x}{level:02x}")
            frame_rate = parse_rate(stream.get("avg_frame_rate")) or parse_rate(stream.get("r_frame_rate"))
        elif stream.get("codec_type") == "audio":
            codecs.append(AUDIO_CODECS if stream.get("profile") in (None, "LC") else "mp4a.40.5")
    # RFC 6381 lists the video codec first by convention; players do not care, validators do.
    codecs.sort(key=lambda c: not c.startswith("avc1"))
    return ",".join(codecs), frame_rate


def _master_playlist(renditions: list[HlsRendition], frame_rate: float | None, version: int) -> str:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions:
        attrs = [
            f"BANDWIDTH={r.bandwidth}",
            f"AVERAGE-BANDWIDTH={r.average_bandwidth}",
            f'CODECS="{r.codecs}"',
        ]
        if r.width and r.height:
            attrs.append(f"RESOLUTION={r.width}x{r.height}")
            if frame_rate:
                attrs.append(f"FRAME-RATE={frame_rate:.3f}")
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), r.playlist]
    return "\n".join(lines) + "\n"
