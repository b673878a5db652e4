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
SAMPLE_HANDOUT = "handouts/hls-cheat-sheet.pdf"
_CHEAT_SHEET = (
    "HLS publishing cheat sheet",
    "",
    "1. Encode every rung from one source, keyframes aligned (GOP 2 s).",
    "2. Segments of 6 s; the master lists BANDWIDTH, CODECS, RESOLUTION.",
    "3. Publish segments first, playlists next, the master last.",
    "4. Captions: lecture.en.srt beside lecture.mp4.",
    "5. Check: first frame in 2 s, phone width drops a rung.",
)


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
    make_handout_pdf(dest / SAMPLE_HANDOUT)
    return dest


def make_handout_pdf(path: Path) -> Path:
    """A two-page A4 handout drawn with Pillow (a real PDF, made at run time like the lecture)."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - only the demo draws one

    path.parent.mkdir(parents=True, exist_ok=True)
    pages = []
    for number in (1, 2):
        page = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
        draw = ImageDraw.Draw(page)
        draw.rectangle((0, 0, 1240, 180), fill=(11, 92, 173))
        title = ImageFont.load_default(size=56)
        body = ImageFont.load_default(size=34)
        draw.text((80, 60), _CHEAT_SHEET[0] if number == 1 else "Notes", font=title, fill="white")
        for row, line in enumerate(_CHEAT_SHEET[2:] if number == 1 else ()):
            draw.text((80, 260 + row * 90), line, font=body, fill=(31, 35, 40))
        pages.append(page)
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return path
