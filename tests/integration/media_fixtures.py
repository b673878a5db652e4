"""Media generated at test time with ffmpeg's lavfi sources (nothing binary is committed).

Plain functions, not fixtures: each test module wraps the ones it needs in module-scoped fixtures, so the
clips are encoded once per module and imports stay explicit.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import ffmpeg

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

# Test media only: production code never uses ultrafast.
FAST_H264 = ("-c:v", "libx264", "-preset", "ultrafast")


def ffmpeg_run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clip(
    out: Path,
    *,
    size: str = "640x360",
    duration: float = 4.0,
    fps: int = 25,
    video: bool = True,
    audio: bool = True,
    black_lead_s: float = 0.0,
    sar: str | None = None,
    faststart: bool = False,
) -> Path:
    """An H.264/AAC clip (mp4/mov/mkv by suffix) or, for ``video=False``, an audio file (mp3/m4a/wav)."""
    args: list[str] = []
    filters: list[str] = []
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={duration - black_lead_s}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration}"]
    if video and black_lead_s:
        # A fade-in-from-black lecture: the first frames are useless as a poster.
        args += ["-f", "lavfi", "-i", f"color=black:s={size}:r={fps}:d={black_lead_s}"]
        black = 2 if audio else 1
        filters.append(f"[{black}:v][0:v]concat=n=2:v=1:a=0,format=yuv420p[v]")
    elif video:
        filters.append("[0:v]format=yuv420p" + (f",setsar={sar}" if sar else "") + "[v]")
    if filters:
        args += ["-filter_complex", ";".join(filters), "-map", "[v]", *FAST_H264]
    if audio:
        args += ["-map", "1:a" if video else "0:a"]
        if out.suffix == ".mp3":
            args += ["-c:a", "libmp3lame"]
        elif out.suffix == ".wav":
            args += ["-c:a", "pcm_s16le"]
        else:
            args += ["-c:a", "aac"]
    if faststart:
        args += ["-movflags", "+faststart"]
    ffmpeg_run(*args, str(out))
    return out


def rotate(src: Path, out: Path, degrees: int) -> Path:
    """Remux ``src`` with a display-matrix rotation, without re-encoding (as phones record portrait video).

    ffmpeg 5.1 only offers the legacy ``rotate`` stream tag on the mp4 muxer; ffmpeg 6+ ignores that tag
    and has ``-display_rotation`` instead, so try the old way and fall back."""
    ffmpeg_run("-i", str(src), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(out))
    if rotation_of(out) is None:
        ffmpeg_run("-display_rotation:v:0", str(degrees), "-i", str(src), "-c", "copy", str(out))
    assert rotation_of(out) is not None, "this ffmpeg cannot write rotation metadata"
    return out


def rotation_of(path: Path) -> float | None:
    for stream in ffmpeg.probe(str(path))["streams"]:
        for side in stream.get("side_data_list") or []:
            if "rotation" in side:
                return float(side["rotation"])
    return None


def truncate(src: Path, out: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def make_variable_rate(out: Path, *, size: str = "320x180") -> Path:
    """A phone-style variable-frame-rate clip (``out`` should be .mp4: mkv has no average rate to tell):
    2 s at 30 fps, then 2 s at 15 fps, in one stream; r_frame_rate and avg_frame_rate disagree."""
    ffmpeg_run(
        "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d=2",
        "-f", "lavfi", "-i", f"testsrc2=s={size}:r=15:d=2",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v]",
        "-map", "[v]", "-map", "2:a", "-fps_mode", "vfr", *FAST_H264, "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


def make_high_bit_depth(out: Path, *, size: str = "320x180", duration: float = 2.0) -> Path:
    """10-bit 4:2:2 H.264 (High 4:2:2), as some cameras and screen recorders write."""
    ffmpeg_run(
        "-f", "lavfi", "-i", f"testsrc2=s={size}:r=25:d={duration}",
        "-pix_fmt", "yuv422p10le", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high422",
        str(out),
    )  # fmt: skip
    return out


def make_interlaced(out: Path, *, size: str = "720x480", duration: float = 2.0) -> Path:
    """Interlaced (top field first) H.264, as a broadcast or camcorder source."""
    ffmpeg_run(
        "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30000/1001:d={duration}",
        "-vf", "setfield=tff,format=yuv420p", "-flags", "+ildct+ilme", "-top", "1",
        *FAST_H264, str(out),
    )  # fmt: skip
    return out


def make_sequence(
    out: Path,
    segments: Sequence[tuple[str, float]],
    *,
    size: str = "320x180",
    fps: int = 25,
    gop: int | None = None,
    one_keyframe: bool = False,
) -> Path:
    """A video-only H.264 clip of lavfi sources shown one after another, e.g.
    ``[("color=black", 1.5), ("testsrc2", 2)]``; a source may carry a filter chain
    (``"color=blue,drawbox=..."``).

    Keyframes: x264's own placement by default (scene cuts get one); ``gop=N`` puts one every N frames and
    nowhere else; ``one_keyframe`` writes only the first, as some screen recorders do."""
    args: list[str] = []
    for source, seconds in segments:
        head, comma, chain = source.partition(",")
        options = f"s={size}:r={fps}:d={seconds}"
        args += ["-f", "lavfi", "-i", f"{head}{':' if '=' in head else '='}{options}{comma}{chain}"]
    inputs = "".join(f"[{i}:v]" for i in range(len(segments)))
    args += ["-filter_complex", f"{inputs}concat=n={len(segments)}:v=1:a=0,format=yuv420p[v]", "-map", "[v]"]
    if one_keyframe:
        args += ["-x264-params", "keyint=infinite:scenecut=0"]
    elif gop is not None:
        args += ["-x264-params", f"keyint={gop}:min-keyint={gop}:scenecut=0"]
    ffmpeg_run(*args, *FAST_H264, str(out))
    return out


def make_soundtracks(
    out: Path,
    tracks: Sequence[str],
    *,
    duration: float = 8.0,
    video: bool = True,
    stream_args: Sequence[str] = (),
) -> Path:
    """A clip (mp4/mkv/m4a by suffix) whose audio streams are ``tracks``, in order, each a lavfi source
    with its filters (``"sine=frequency=440,volume=-13dB"``, ``"anullsrc=channel_layout=5.1"``), all cut
    to ``duration``; ``stream_args`` are per-stream options (``-metadata:s:a:0 language=eng``,
    ``-disposition:a:1 default``). AAC audio; with ``video``, a small H.264 picture as stream 0."""
    args: list[str] = []
    maps: list[str] = []
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={duration}"]
        maps += ["-map", "0:v", *FAST_H264]
    for n, track in enumerate(tracks, start=len(args) // 4):
        args += ["-f", "lavfi", "-i", track]
        maps += ["-map", f"{n}:a"]
    ffmpeg_run(*args, *maps, "-c:a", "aac", "-ar", "48000", *stream_args, "-t", str(duration), str(out))
    return out


def integrated_loudness(path: Path) -> float:
    """EBU R128 integrated loudness (LUFS) of ``path``'s first audio stream as ffmpeg's ebur128 filter
    measures it: an independent meter, not the loudnorm filter the pipeline uses."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-protocol_whitelist", "file,crypto,data",
         "-i", str(path), "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = result.stderr.rsplit("Summary:", 1)[1]
    value = summary.split("I:", 1)[1].split("LUFS", 1)[0].strip()
    return float(value)
