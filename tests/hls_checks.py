"""Every check issue 3 lists for a published ladder, as one function tests can run on any output tree.

Written independently of the packager (it re-measures from the files), with the m3u8 parser, ffprobe on
segments and ffmpeg itself as the HLS client.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from typing import TYPE_CHECKING, Any

import m3u8

if TYPE_CHECKING:
    from pathlib import Path


def ffprobe_json(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def rfc_peak(segments: list[tuple[float, int]], target: int) -> float:
    """RFC 8216 §4.3.4.2: the highest rate of any run of contiguous segments lasting 0.5–1.5 targets."""
    rates = []
    for i in range(len(segments)):
        for j in range(i + 1, len(segments) + 1):
            seconds = sum(d for d, _ in segments[i:j])
            if 0.5 * target <= seconds <= 1.5 * target:
                rates.append(sum(n for _, n in segments[i:j]) * 8 / seconds)
    return max(rates) if rates else sum(n for _, n in segments) * 8 / sum(d for d, _ in segments)


def sized_segments(playlist: Path) -> list[tuple[float, int]]:
    """(EXTINF, bytes on disk) for each segment of a media playlist."""
    return [(s.duration, (playlist.parent / s.uri).stat().st_size) for s in m3u8.load(str(playlist)).segments]


def validate_ladder(master_path: Path, *, fps: float, has_audio: bool = True) -> dict[str, Any]:
    """Assert the Apple/RFC 8216 rules on the tree under ``master_path``; return a summary."""
    root = master_path.parent
    master = m3u8.load(str(master_path))
    text = master_path.read_text()
    assert text.startswith("#EXTM3U\n") and "#EXT-X-INDEPENDENT-SEGMENTS" in text
    audio_rendition: Path | None = None
    if has_audio:
        (media,) = master.media
        assert media.type == "AUDIO" and media.language and media.name and media.group_id
        audio_rendition = root / media.uri
    else:
        assert not master.media
    targets: set[int] = set()
    playlists = [root / v.uri for v in master.playlists] + [root / v.uri for v in master.iframe_playlists]
    playlists += [audio_rendition] if audio_rendition else []
    for path in playlists:
        media_playlist = m3u8.load(str(path))
        assert media_playlist.playlist_type == "vod" and media_playlist.is_endlist, path
        targets.add(media_playlist.target_duration)
        assert all(
            math.floor(s.duration + 0.5) <= media_playlist.target_duration for s in media_playlist.segments
        )
    assert len(targets) == 1, f"target durations differ: {targets}"
    target = targets.pop()

    audio = sized_segments(audio_rendition) if audio_rendition else []
    keyframe_times: dict[str, list[float]] = {}
    for variant in master.playlists:
        info = variant.stream_info
        width, height = info.resolution
        assert width % 2 == 0 and height % 2 == 0
        assert info.frame_rate == round(fps, 3)
        playlist = root / variant.uri
        video = sized_segments(playlist)
        average = sum(n for _, n in video + audio) * 8 / sum(d for d, _ in video)
        peak = rfc_peak(video, target) + (rfc_peak(audio, target) if audio else 0)
        assert abs(info.average_bandwidth - average) / average < 0.10, (
            variant.uri,
            info.average_bandwidth,
            average,
        )
        assert abs(info.bandwidth - peak) / peak < 0.10, (variant.uri, info.bandwidth, peak)
        codecs = info.codecs.split(",")
        assert (codecs[1:] == ["mp4a.40.2"]) if has_audio else (len(codecs) == 1)
        assert (info.audio is not None) == has_audio
        times: list[float] = []
        for segment in m3u8.load(str(playlist)).segments:
            path = playlist.parent / segment.uri
            stream = ffprobe_json(path, "-show_streams", "-select_streams", "v:0")["streams"][0]
            assert (stream["width"], stream["height"]) == (width, height)
            assert stream["profile"] == "High" and stream["pix_fmt"] == "yuv420p"
            assert codecs[0] == f"avc1.6400{int(stream['level']):02x}"
            packets = ffprobe_json(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")[
                "packets"
            ]
            assert packets[0]["flags"].startswith("K"), f"{segment.uri} does not start with a keyframe"
            times += [round(float(p["pts_time"]), 3) for p in packets if p["flags"].startswith("K")]
        keyframe_times[variant.uri] = times
        # ffmpeg as the HLS client: the rung (with its audio) decodes without a single error.
        decode = subprocess.run(
            ["ffmpeg", "-v", "error", "-xerror", "-i", str(playlist), "-f", "null", "-"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
    assert len({tuple(t) for t in keyframe_times.values()}) == 1, "keyframes are not aligned across rungs"

    client = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(master_path), "-map", "0", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert client.returncode == 0 and not client.stderr.strip(), client.stderr

    iframe_count = 0
    for variant in master.iframe_playlists:
        assert "#EXT-X-I-FRAMES-ONLY" in (root / variant.uri).read_text()
        for segment in m3u8.load(str(root / variant.uri)).segments:
            data = (root / variant.uri).parent.joinpath(segment.uri).resolve().read_bytes()
            init = int(re.split("@", segment.init_section.byterange)[0])
            length, offset = (int(x) for x in segment.byterange.split("@"))
            sample = root / ".iframe-check.ts"
            sample.write_bytes(data[:init] + data[offset : offset + length])
            frames = ffprobe_json(sample, "-show_entries", "frame=key_frame,pict_type")["frames"]
            sample.unlink()
            assert [(f["key_frame"], f["pict_type"]) for f in frames] == [(1, "I")]
            iframe_count += 1
    return {"rungs": len(master.playlists), "target": target, "iframes": iframe_count}
