"""Sample media made at run time with ffmpeg's lavfi sources (nothing large is committed)."""

from __future__ import annotations

import shutil
from importlib import resources
from typing import TYPE_CHECKING

import ffmpeg

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE_COURSE_ID = "intro-to-pipelines"
SAMPLE_VIDEO = "media/welcome.mp4"


def make_lecture_clip(
    path: Path,
    *,
    seconds: float = 10.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    audio: bool = True,
) -> Path:
    """A test-pattern lecture with a tone: real H.264/AAC in MP4, like a screen recording export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    video = ffmpeg.input(f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}", f="lavfi")
    streams = [video]
    if audio:
        streams.append(ffmpeg.input(f"sine=frequency=440:sample_rate=48000:duration={seconds}", f="lavfi"))
    out = ffmpeg.output(
        *streams,
        str(path),
        vcodec="libx264",
        pix_fmt="yuv420p",
        preset="veryfast",
        crf=23,
        acodec="aac",
        audio_bitrate="128k",
        movflags="+faststart",
        t=seconds,
    )
    out.global_args("-nostdin", "-loglevel", "error").overwrite_output().run(
        capture_stdout=True, capture_stderr=True
    )
    return path


def materialize_sample_course(dest: Path, *, video_seconds: float = 10.0) -> Path:
    """Copy the bundled sample course to ``dest`` and render its lecture video there."""
    src = resources.files("pipeline") / "sample"
    with resources.as_file(src) as src_path:
        shutil.copytree(
            src_path,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"),
        )
    make_lecture_clip(dest / SAMPLE_VIDEO, seconds=video_seconds)
    return dest
