"""Animated GIF, WebP, APNG and AVIF sequences become animated WebP variants.

Why animated WebP and not a short muted video: a lesson shows an image with ``<img srcset>``, and an
animated WebP plays there in every current browser with nothing else to change (no player, no autoplay
policy, no HLS branch of the state machine, the same variants and cache rules as a still), loops as the
GIF did, keeps transparency (an H.264 video has none), and is typically half the GIF's size. Long screen
recordings belong in a video upload: past ``MAX_ANIMATION_FRAMES`` or ``MAX_ANIMATION_PIXELS`` the author
is told to upload one instead.

Frames are composited by Pillow (each is the whole canvas, GIF disposal applied), oriented like a still,
resized per variant, and encoded one variant at a time, so memory holds one variant's frames.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, ImageSequence

from pipeline.errors import MediaTooLargeError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG", "AVIF"})
"""Formats whose frames are an animation. A multi-page TIFF, a HEIF collection and an MPO (a phone's JPEG
with a depth map) are stills: their first picture is the image."""
MAX_ANIMATION_FRAMES = 1000
MAX_ANIMATION_PIXELS = 100_000_000
"""All frames' pixels together (400 MB as RGBA at the largest variant, within the function's memory)."""
# Browsers play GIF frame delays of 0-10 ms as 100 ms (the old Netscape behaviour); WebP delays as written.
_GIF_MIN_DELAY_MS = 20
_GIF_DEFAULT_DELAY_MS = 100


def is_animation(img: Image.Image) -> bool:
    return img.format in ANIMATED_FORMATS and bool(getattr(img, "is_animated", False))


def check_animation(img: Image.Image, name: str) -> int:
    """The frame count, once it is within the limits."""
    frames = int(getattr(img, "n_frames", 1))
    width, height = img.size
    pixels = frames * width * height
    if frames > MAX_ANIMATION_FRAMES or pixels > MAX_ANIMATION_PIXELS:
        raise MediaTooLargeError(
            f"{name} is an animation of {frames:,} frames of {width}x{height} ({pixels:,} pixels in all); "
            f"the limits are {MAX_ANIMATION_FRAMES:,} frames and {MAX_ANIMATION_PIXELS:,} pixels. Upload "
            "it as a video (MP4 or WebM): videos are streamed, animations are downloaded whole."
        )
    return frames


def write_animation(
    img: Image.Image, sizes: Sequence[tuple[str, int, int]], out_dir: Path
) -> tuple[int, list[int]]:
    """Write each ``(name, width, height)`` as an animated WebP in ``out_dir``; return the loop count and
    the frame delays (ms)."""
    is_gif = img.format == "GIF"
    loop = int(img.info.get("loop", 1 if is_gif else 0))  # a GIF without NETSCAPE2.0 plays once
    delays: list[int] = []
    written: dict[tuple[int, int], Path] = {}
    for name, width, height in sizes:
        path = out_dir / name
        if (width, height) in written:
            shutil.copyfile(written[(width, height)], path)
            continue
        frames: list[Image.Image] = []
        delays = []
        for frame in ImageSequence.Iterator(img):
            delay = int(frame.info.get("duration") or 0)
            if is_gif and delay < _GIF_MIN_DELAY_MS:
                delay = _GIF_DEFAULT_DELAY_MS
            delays.append(delay)
            upright = ImageOps.exif_transpose(frame.convert("RGBA"))
            if upright.size != (width, height):
                upright = upright.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
            upright.info = {}
            frames.append(upright)
        frames[0].save(
            path,
            "WEBP",
            save_all=True,
            append_images=frames[1:],
            duration=delays,
            loop=loop,
            background=(0, 0, 0, 0),
            quality=80,
            method=4,
            allow_mixed=True,
        )
        written[(width, height)] = path
        del frames
    return loop, delays
