"""Responsive WebP variants of an uploaded image: photos, scans, screenshots, animations and SVG diagrams.

Phone photos carry their orientation in EXIF and can be huge; a crafted file can declare billions of
pixels in a few bytes. So: check the declared size before decoding, decode fully to catch truncation,
turn the picture upright, convert to screen colours (``colour.py``), write WebP without any metadata (no
EXIF, GPS or XMP survives: only an RGB colour profile), and never upscale a raster. Animations stay
animated (``animation.py``); SVG is cleaned and drawn by resvg (``svg.py``, ``svg_render.py``), never
published as markup.

Decoders: Pillow for JPEG (and MPO), PNG/APNG, GIF, WebP, TIFF, BMP and AVIF (its wheel bundles libavif);
pillow-heif for HEIC/HEIF (libheif + libde265 in its wheel). Only those plugins may open an upload, so a
file that starts like one format cannot reach another decoder (Pillow's EPS plugin runs Ghostscript).
"""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps
from pillow_heif import register_heif_opener

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError
from pipeline.media.animation import check_animation, is_animation, write_animation
from pipeline.media.colour import to_web
from pipeline.media.svg import inflate_head, prepare_svg, read_svg, root_is_svg
from pipeline.media.svg_render import render_svg

if TYPE_CHECKING:
    from collections.abc import Sequence

# Depth maps, auxiliary images and thumbnails of an iPhone HEIC are never used: not decoding them saves
# memory and time.
register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# libwebp cannot encode a side longer than this.
WEBP_MAX_SIDE = 16383
RASTER_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "HEIF", "AVIF")
"""The Pillow plugins an upload may be opened with (JPEG's opens MPO too: a phone's JPEG with a depth map)."""
_READABLE = "Export it again as JPEG, PNG, WebP, HEIC, AVIF, TIFF or SVG and upload it again."


@dataclass(frozen=True)
class ImageVariant:
    path: str
    width: int
    height: int
    content_type: str
    bytes: int


@dataclass(frozen=True)
class ImageOutputs:
    info: dict[str, object]
    """What the source is: format, mode, frames, width, height (display orientation), and ``animated``/
    ``loop``/``durationMs`` for an animation."""
    variants: list[ImageVariant]
    warnings: list[str] = field(default_factory=list)
    """For the author: what a conversion could not do exactly, what the SVG cleaning removed."""


def make_variants(
    source: Path,
    out_dir: Path,
    *,
    widths: Sequence[int] = (640,),
    limits: MediaLimits | None = None,
) -> ImageOutputs:
    """Write ``{width}.webp`` for every requested width into ``out_dir``.

    Every requested width gets its file, so pages can name them before the image is processed; a raster
    narrower than a width keeps its own size (never upscaled) and says so in the variant's ``width``.
    """
    limits = limits or MediaLimits()
    wanted = sorted({w for w in widths if w > 0})
    if _is_svg(source):
        return _svg_variants(source, out_dir, wanted, limits)
    img = _open_checked(source, limits)
    with img:
        if _animated(img, source.name):
            return _animated_variants(img, source.name, out_dir, wanted)
        frames = getattr(img, "n_frames", 1)
        info: dict[str, object] = {"format": img.format, "mode": img.mode, "frames": frames}
        # A copy in display orientation (frame 0 or page 0 of a multi-picture file); EXIF goes no further.
        upright = ImageOps.exif_transpose(img)
    info["width"], info["height"] = upright.size
    upright, icc, notes = to_web(upright, source.name)
    upright.info = {}

    out_dir.mkdir(parents=True, exist_ok=True)
    variants: list[ImageVariant] = []
    rendered: dict[int, Image.Image] = {}
    for requested in wanted:
        width, height = raster_size(requested, upright.size)
        if width not in rendered:
            rendered[width] = (
                upright
                if (width, height) == upright.size
                else upright.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
            )
        name = f"{requested}.webp"
        path = out_dir / name
        rendered[width].save(path, "WEBP", quality=80, method=4, icc_profile=icc or b"")
        variants.append(ImageVariant(name, width, height, "image/webp", path.stat().st_size))
    return ImageOutputs(info, variants, notes)


def raster_size(requested: int, size: tuple[int, int]) -> tuple[int, int]:
    """A variant of a raster: ``requested`` wide at most, never wider than the source, within WebP's side."""
    src_w, src_h = size
    cap = min(src_w, src_w * WEBP_MAX_SIDE // max(size))
    width = max(1, min(requested, cap))
    return width, max(1, round(src_h * width / src_w))


def vector_size(requested: int, size: tuple[float, float] | None, limits: MediaLimits) -> tuple[int, int]:
    """The box a drawing is fitted into: ``requested`` wide (vectors scale), narrower only when WebP's side
    or the pixel limit would otherwise be exceeded. A drawing without a size of its own is fitted into a box
    as tall as those limits allow (resvg keeps its content's aspect)."""
    if size is None:
        return requested, max(1, min(WEBP_MAX_SIDE, limits.max_image_pixels // requested))
    iw, ih = size
    width = min(
        float(requested),
        WEBP_MAX_SIDE,
        WEBP_MAX_SIDE * iw / ih,
        math.sqrt(limits.max_image_pixels * iw / ih),
    )
    width_px = max(1, math.floor(width))
    return width_px, max(1, min(WEBP_MAX_SIDE, round(width_px * ih / iw)))


def _is_svg(source: Path) -> bool:
    with source.open("rb") as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        head = inflate_head(head)
    found = root_is_svg(head.decode("utf-8", "ignore"))
    # A prolog longer than the head (a long comment): the sniffer let it through by its name.
    return found is True or (found is None and source.suffix.lower() in (".svg", ".svgz"))


def _svg_variants(source: Path, out_dir: Path, wanted: list[int], limits: MediaLimits) -> ImageOutputs:
    name = source.name
    svg = prepare_svg(read_svg(source, name), name, limits)
    boxes = {requested: vector_size(min(requested, WEBP_MAX_SIDE), svg.size, limits) for requested in wanted}
    out_dir.mkdir(parents=True, exist_ok=True)
    variants: list[ImageVariant] = []
    with tempfile.TemporaryDirectory(prefix="svg-") as tmp:
        pngs = render_svg(svg.markup, sorted(set(boxes.values())), name, Path(tmp))
        for requested in wanted:
            with Image.open(pngs[boxes[requested]], formats=["PNG"]) as drawn:
                drawn.load()
                picture = drawn.convert("RGBA")
            variant = f"{requested}.webp"
            path = out_dir / variant
            # Lossless: flat colours and text edges stay sharp, and such pictures compress best this way.
            picture.save(path, "WEBP", lossless=True, quality=80, method=4)
            variants.append(ImageVariant(variant, *picture.size, "image/webp", path.stat().st_size))
    # Its own size, or (set by its content) the size of its largest variant.
    width, height = (round(v) for v in svg.size) if svg.size else (variants[-1].width, variants[-1].height)
    info: dict[str, object] = {
        "format": "SVG",
        "mode": "RGBA",
        "frames": 1,
        "width": width,
        "height": height,
        "elements": svg.elements,
    }
    notes = []
    if svg.removed:
        removed = ", ".join(f"{what} ({count})" for what, count in sorted(svg.removed.items()))
        notes.append(
            f"{name}: left out of the picture what only a browser would run or load: {removed}. Pages show "
            "a picture of the drawing, never the SVG itself."
        )
    return ImageOutputs(info, variants, notes)


def _animated(img: Image.Image, name: str) -> bool:
    try:
        return is_animation(img)  # a GIF reads its second frame's header to know
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _unreadable_frames(name, exc) from exc


def _unreadable_frames(name: str, exc: Exception) -> InvalidMediaError:
    return InvalidMediaError(
        f"{name} is an animation whose later frames cannot be read ({exc}); it may be truncated. " + _READABLE
    )


def _animated_variants(img: Image.Image, name: str, out_dir: Path, wanted: list[int]) -> ImageOutputs:
    try:
        frames = check_animation(img, name)  # counting frames reads the whole file
        size = ImageOps.exif_transpose(img).size
        sizes = [(f"{requested}.webp", *raster_size(requested, size)) for requested in wanted]
        out_dir.mkdir(parents=True, exist_ok=True)
        loop, delays = write_animation(img, sizes, out_dir)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _unreadable_frames(name, exc) from exc
    info: dict[str, object] = {
        "format": img.format,
        "mode": img.mode,
        "frames": frames,
        "width": size[0],
        "height": size[1],
        "animated": True,
        "loop": loop,
        "durationMs": sum(delays),
    }
    variants = [ImageVariant(n, w, h, "image/webp", (out_dir / n).stat().st_size) for n, w, h in sizes]
    return ImageOutputs(info, variants)


def _open_checked(source: Path, limits: MediaLimits) -> Image.Image:
    """Open ``source`` fully decoded, or raise the error its author needs to see."""
    name = source.name
    try:
        with warnings.catch_warnings():
            # Our own pixel check below replaces Pillow's warning. Pillow still refuses outright above twice
            # its global MAX_IMAGE_PIXELS (~179 Mpx), which is left alone: it is process-wide state.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source, formats=RASTER_FORMATS) as probe:
                _check_pixels(name, probe.size, limits)
                probe.verify()  # structural checks (PNG CRCs) that load() does not do
            img = Image.open(source, formats=RASTER_FORMATS)
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
            f"{name} is not a readable image ({exc}); it may be truncated or corrupt. " + _READABLE
        ) from exc
    return img


def _check_pixels(name: str, size: tuple[int, int], limits: MediaLimits) -> None:
    width, height = size
    if width * height > limits.max_image_pixels:
        raise MediaTooLargeError(
            f"{name} is {width}x{height} ({width * height:,} pixels); the limit is "
            f"{limits.max_image_pixels:,} pixels. Resize it and upload it again."
        )
