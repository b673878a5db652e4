from __future__ import annotations

import random
import struct
import zlib
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError
from pipeline.media.images import make_variants

if TYPE_CHECKING:
    from pathlib import Path

RED, BLUE = (255, 0, 0), (0, 0, 255)


def two_halves(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation mistakes show up as colours in the wrong place."""
    img = Image.new(mode, (width, height), RED)
    img.paste(BLUE, (width // 2, 0, width, height))
    return img


def noisy(width: int, height: int) -> Image.Image:
    rng = random.Random(5)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def test_variants_are_webp_at_the_requested_widths(tmp_path: Path) -> None:
    src = tmp_path / "diagram.png"
    two_halves(2000, 1000).save(src)
    made = make_variants(src, tmp_path / "out", widths=(640, 320))
    info, variants = made.info, made.variants
    assert info == {"format": "PNG", "mode": "RGB", "frames": 1, "width": 2000, "height": 1000}
    assert [(v.path, v.width, v.height, v.content_type) for v in variants] == [
        ("320.webp", 320, 160, "image/webp"),
        ("640.webp", 640, 320, "image/webp"),
    ]
    for variant in variants:
        path = tmp_path / "out" / variant.path
        assert variant.bytes == path.stat().st_size
        with Image.open(path) as img:
            assert (img.format, img.size) == ("WEBP", (variant.width, variant.height))


def test_never_upscales(tmp_path: Path) -> None:
    src = tmp_path / "icon.jpg"
    two_halves(300, 200).save(src, quality=90)
    variants = make_variants(src, tmp_path / "out", widths=(640, 1280, 300, 150)).variants
    # Every requested width has its file (pages name them before the image is processed); above the
    # source's own width the picture keeps its size.
    assert [(v.path, v.width, v.height) for v in variants] == [
        ("150.webp", 150, 100),
        ("300.webp", 300, 200),
        ("640.webp", 300, 200),
        ("1280.webp", 300, 200),
    ]
    for variant in variants:
        with Image.open(tmp_path / "out" / variant.path) as img:
            assert img.size == (variant.width, variant.height)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    src = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; display rotated 90° clockwise
    two_halves(200, 100).save(src, exif=exif, quality=95)
    made = make_variants(src, tmp_path / "out", widths=(640,))
    info, variants = made.info, made.variants
    assert (info["width"], info["height"]) == (100, 200)
    assert [(v.path, v.width, v.height) for v in variants] == [("640.webp", 100, 200)]
    with Image.open(tmp_path / "out/640.webp") as img:
        rgb = img.convert("RGB")
        top, bottom = rgb.getpixel((50, 10)), rgb.getpixel((50, 190))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_transparency_is_kept(tmp_path: Path) -> None:
    src = tmp_path / "logo.png"
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    img.paste((255, 255, 255, 255), (16, 16, 48, 48))
    img.save(src)
    variants = make_variants(src, tmp_path / "out", widths=(64,)).variants
    with Image.open(tmp_path / "out" / variants[0].path) as out:
        assert out.mode == "RGBA"
        assert out.getpixel((2, 2))[3] == 0  # type: ignore[index]
        assert out.getpixel((32, 32))[3] == 255  # type: ignore[index]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image_is_invalid(tmp_path: Path, fmt: str) -> None:
    whole = tmp_path / "whole"
    noisy(400, 400).save(whole, fmt)
    cut = tmp_path / f"photo.{fmt.lower()}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InvalidMediaError, match=rf"photo\.{fmt.lower()} is not a readable image"):
        make_variants(cut, tmp_path / "out")


def test_not_an_image_is_invalid(tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    src.write_bytes(b"this is not a png")
    with pytest.raises(InvalidMediaError, match="not a readable image"):
        make_variants(src, tmp_path / "out")


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge canvas: the classic decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b""))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


def test_huge_declared_dimensions_are_refused_before_decoding(tmp_path: Path) -> None:
    src = tmp_path / "bomb.png"
    src.write_bytes(png_header_only(100_000, 100_000))
    with pytest.raises(MediaTooLargeError, match=r"bomb\.png declares a picture too large"):
        make_variants(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_configured_pixel_limit(tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    two_halves(200, 100).save(src)
    with pytest.raises(MediaTooLargeError, match=r"200x100 \(20,000 pixels\); the limit is 10,000 pixels"):
        make_variants(src, tmp_path / "out", limits=MediaLimits(max_image_pixels=10_000))


def test_configured_limit_applies_between_pillow_warning_and_error(tmp_path: Path) -> None:
    # 12000x8000 = 96 Mpx: over Pillow's warning threshold (~89 Mpx), under its hard error (~179 Mpx).
    src = tmp_path / "panorama.png"
    src.write_bytes(png_header_only(12_000, 8_000))
    with pytest.raises(MediaTooLargeError, match=r"96,000,000 pixels\); the limit is 80,000,000"):
        make_variants(src, tmp_path / "out")
