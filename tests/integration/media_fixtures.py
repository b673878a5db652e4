"""Media generated at test time with ffmpeg's lavfi sources (nothing binary is committed).

Plain functions, not fixtures: each test module wraps the ones it needs in module-scoped fixtures, so the
clips are encoded once per module and imports stay explicit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import ffmpeg

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
