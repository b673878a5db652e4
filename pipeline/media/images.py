"""Responsive WebP variants of an uploaded image.

Phone photos carry their orientation in EXIF and can be huge; a crafted file can declare billions of
pixels in a few bytes. So: check the declared size before decoding, decode fully to catch truncation,
turn the picture upright, and never upscale.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

# libwebp cannot encode a side longer than this.
WEBP_MAX_SIDE = 16383


@dataclass(frozen=True)
class ImageVariant:
    path: str
    width: int
    height: int
    content_type: str
    bytes: int


def make_variants(
    source: Path,
    out_dir: Path,
    *,
    widths: Sequence[int] = (640,),
    limits: MediaLimits | None = None,
) -> tuple[dict[str, object], list[ImageVariant]]:
    """Write ``{width}.webp`` files into ``out_dir``; return the source's info and the variants."""
    limits = limits or MediaLimits()
    img = _open_checked(source, limits)
    with img:
        frames = getattr(img, "n_frames", 1)
        info: dict[str, object] = {"format": img.format, "mode": img.mode, "frames": frames}
        icc = img.info.get("icc_profile")
        upright = ImageOps.exif_transpose(img)  # a copy, in display orientation; frame 0 of an animation
    info["width"], info["height"] = upright.size
    upright = _web_mode(upright)

    out_dir.mkdir(parents=True, exist_ok=True)
    longest = max(upright.size)
    cap = min(upright.width, upright.width * WEBP_MAX_SIDE // longest)
    # Every requested width gets its file, so pages can name them before the image is processed; a width
    # above the source gets the source's own size (never upscaled) and says so in its ``width``.
    variants: list[ImageVariant] = []
    rendered: dict[int, Image.Image] = {}
    for requested in sorted({w for w in widths if w > 0}):
        width = min(requested, cap)
        height = max(1, round(upright.height * width / upright.width))
        if width not in rendered:
            rendered[width] = (
                upright
                if (width, height) == upright.size
                else upright.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
            )
        name = f"{requested}.webp"
        path = out_dir / name
        rendered[width].save(path, "WEBP", quality=80, method=4, icc_profile=icc)
        variants.append(ImageVariant(name, width, height, "image/webp", path.stat().st_size))
    return info, variants


def _open_checked(source: Path, limits: MediaLimits) -> Image.Image:
    """Open ``source`` fully decoded, or raise the error its author needs to see."""
    name = source.name
    try:
        with warnings.catch_warnings():
            # Our own pixel check below replaces Pillow's warning. Pillow still refuses outright above twice
            # its global MAX_IMAGE_PIXELS (~179 Mpx), which is left alone: it is process-wide state.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as probe:
                _check_pixels(name, probe.size, limits)
                probe.verify()  # structural checks (PNG CRCs) that load() does not do
            img = Image.open(source)
            try:
                img.load()  # LOAD_TRUNCATED_IMAGES is off: a cut-off file raises here
            except BaseException:
                img.close()
                raise
    except Image.DecompressionBombError as exc:
        raise MediaTooLargeError(
            f"{name} declares a picture too large to process safely. Resize it below "
            f"{limits.max_image_pixels:,} pixels and upload it again."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidMediaError(
            f"{name} is not a readable image ({exc}); it may be truncated or corrupt. "
            "Export it again as JPEG, PNG, WebP or GIF and upload it again."
        ) from exc
    return img


def _check_pixels(name: str, size: tuple[int, int], limits: MediaLimits) -> None:
    width, height = size
    if width * height > limits.max_image_pixels:
        raise MediaTooLargeError(
            f"{name} is {width}x{height} ({width * height:,} pixels); the limit is "
            f"{limits.max_image_pixels:,} pixels. Resize it and upload it again."
        )


def _web_mode(img: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency: WebP keeps alpha, and palette/CMYK/16-bit modes
    would otherwise be converted by the encoder in ways that lose colour or transparency."""
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if img.mode.startswith("I;16") or img.mode == "I":
        # 16-bit grey: scale to 8 bits first, a plain convert would clip everything above 255 to white.
        img = img.point(lambda v: v / 256).convert("L")
    target = "RGBA" if has_alpha else "RGB"
    return img if img.mode == target else img.convert(target)
