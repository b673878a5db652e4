"""Phone, print and web formats through the real image path (issue 14): HEIC, AVIF, multi-page TIFF, BMP,
16-bit and grey PNG, CMYK JPEG with and without its profile, EXIF orientation then no metadata at all,
and animations that stay animated. Every input is written at test time by Pillow/pillow-heif or by
``image_fixtures``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageCms

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError
from pipeline.media.animation import MAX_ANIMATION_FRAMES
from pipeline.media.images import make_variants
from pipeline.media.sniff import sniff_kind
from tests.integration.image_fixtures import (
    BLUE,
    GREEN,
    RED,
    cmyk_profile,
    phone_exif,
    png16_rgb,
    two_halves,
)

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.media.images import ImageOutputs

WIDTHS = (320, 640, 1280)


def rgb_at(path: Path, xy: tuple[int, int], frame: int = 0) -> tuple[int, ...]:
    with Image.open(path) as img:
        img.seek(frame)
        pixel = img.convert("RGBA").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def webp_chunks(path: Path) -> list[bytes]:
    """The RIFF chunk names of a WebP file (EXIF and XMP are chunks of their own)."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    names, pos = [], 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        names.append(data[pos : pos + 4])
        pos += 8 + size + (size & 1)
    return names


def assert_no_metadata(out: Path, made: ImageOutputs) -> None:
    for variant in made.variants:
        path = out / variant.path
        chunks = webp_chunks(path)
        assert b"EXIF" not in chunks and b"XMP " not in chunks, chunks
        data = path.read_bytes()
        for secret in (b"PhoneMaker", b"SecretModel", b"GPS", b"xmpmeta"):
            assert secret not in data, (variant.path, secret)


def make(src: Path, tmp_path: Path, widths: tuple[int, ...] = WIDTHS) -> ImageOutputs:
    made = make_variants(src, tmp_path / "out", widths=widths)
    assert [v.path for v in made.variants] == [f"{w}.webp" for w in sorted(widths)]
    return made


# ---- phone formats


def test_heic_from_a_phone_is_upright_and_keeps_no_exif_or_gps(tmp_path: Path) -> None:
    src = tmp_path / "IMG_0001.HEIC"
    # Stored sideways with EXIF orientation 6, as an iPhone writes it (pillow-heif turns it into the
    # HEIF rotation property, which libheif applies when decoding).
    two_halves(400, 200).save(src, format="HEIF", exif=phone_exif(6).tobytes(), quality=90)
    assert sniff_kind(src, src.name) == "image"
    made = make(src, tmp_path)
    assert made.info["format"] == "HEIF"
    assert (made.info["width"], made.info["height"]) == (200, 400)
    out = tmp_path / "out"
    assert [(v.width, v.height) for v in made.variants] == [(200, 400)] * 3  # never upscaled
    assert close(rgb_at(out / "640.webp", (100, 20)), (*RED, 255))  # the left half is on top now
    assert close(rgb_at(out / "640.webp", (100, 380)), (*BLUE, 255))
    assert_no_metadata(out, made)


def test_avif_is_read_by_pillow_itself(tmp_path: Path) -> None:
    src = tmp_path / "photo.avif"
    two_halves(800, 400).save(src, format="AVIF", exif=phone_exif(1).tobytes(), quality=90)
    assert sniff_kind(src, src.name) == "image"
    made = make(src, tmp_path)
    assert made.info["format"] == "AVIF"
    assert [(v.width, v.height) for v in made.variants] == [(320, 160), (640, 320), (800, 400)]
    assert close(rgb_at(tmp_path / "out/640.webp", (100, 160)), (*RED, 255))
    assert_no_metadata(tmp_path / "out", made)


def test_jpeg_exif_orientation_applied_then_every_metadata_block_dropped(tmp_path: Path) -> None:
    src = tmp_path / "phone.jpg"
    two_halves(400, 200).save(
        src, exif=phone_exif(8), xmp=b"<x:xmpmeta>SecretModel</x:xmpmeta>", quality=95
    )  # 8: display rotated 90 degrees counter-clockwise
    made = make(src, tmp_path)
    assert (made.info["width"], made.info["height"]) == (200, 400)
    # Counter-clockwise: the left (red) half goes to the bottom.
    assert close(rgb_at(tmp_path / "out/640.webp", (100, 380)), (*RED, 255))
    assert_no_metadata(tmp_path / "out", made)


def test_a_wide_gamut_rgb_profile_is_kept_and_nothing_else(tmp_path: Path) -> None:
    # An RGB profile (here sRGB, built by LittleCMS) is colour, not personal data: browsers use it.
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "p3.jpg"
    two_halves(300, 200).save(src, icc_profile=icc, exif=phone_exif(1), quality=95)
    made = make(src, tmp_path, (320,))
    assert b"ICCP" in webp_chunks(tmp_path / "out/320.webp")
    assert_no_metadata(tmp_path / "out", made)


# ---- print and scanner formats


def test_cmyk_jpeg_goes_through_its_embedded_profile(tmp_path: Path) -> None:
    src = tmp_path / "print.jpg"
    img = Image.new("CMYK", (300, 100), (0, 0, 0, 0))  # paper white
    img.paste((255, 0, 0, 0), (0, 0, 150, 100))  # 100 % cyan, which this press profile prints green
    img.save(src, icc_profile=cmyk_profile(), quality=95)
    made = make(src, tmp_path, (300,))
    assert made.info["mode"] == "CMYK" and made.warnings == []
    out = tmp_path / "out/300.webp"
    assert close(rgb_at(out, (50, 50)), (0, 169, 67, 255))  # the profile's colour; a formula gives cyan
    assert close(rgb_at(out, (250, 50)), (255, 255, 255, 255))
    assert b"ICCP" not in webp_chunks(out)  # sRGB now: a CMYK profile on an RGB picture would be wrong


def test_cmyk_jpeg_without_a_profile_is_converted_and_the_author_told(tmp_path: Path) -> None:
    src = tmp_path / "flyer.jpg"
    Image.new("CMYK", (120, 80), (255, 0, 0, 0)).save(src, quality=95)
    made = make(src, tmp_path, (120,))
    assert close(rgb_at(tmp_path / "out/120.webp", (60, 40)), (0, 255, 255, 255))
    [warning] = made.warnings
    assert warning.startswith("flyer.jpg is a CMYK") and "colour profile" in warning


def test_multipage_tiff_publishes_its_first_page(tmp_path: Path) -> None:
    src = tmp_path / "scan.tif"
    pages = [Image.new("RGB", (600, 400), colour) for colour in (GREEN, RED, BLUE)]
    pages[0].save(src, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    assert sniff_kind(src, src.name) == "image"
    made = make(src, tmp_path)
    assert (made.info["format"], made.info["frames"]) == ("TIFF", 3)
    assert [(v.width, v.height) for v in made.variants] == [(320, 213), (600, 400), (600, 400)]
    for variant in made.variants:
        assert close(rgb_at(tmp_path / "out" / variant.path, (10, 10)), (*GREEN, 255))
        with Image.open(tmp_path / "out" / variant.path) as out:
            assert getattr(out, "n_frames", 1) == 1  # a still, not an animation of pages


@pytest.mark.parametrize("big_endian", [False, True])
def test_cmyk_and_16_bit_tiff(tmp_path: Path, big_endian: bool) -> None:
    src = tmp_path / "plate.tiff"
    grey = Image.new("I;16B" if big_endian else "I;16", (64, 32), 0x8000)
    grey.save(src)
    make(src, tmp_path, (64,))
    assert close(rgb_at(tmp_path / "out/64.webp", (5, 5)), (128, 128, 128, 255), 3)
    cmyk = tmp_path / "plate-cmyk.tiff"
    Image.new("CMYK", (64, 32), (0, 0, 0, 255)).save(cmyk)
    make(cmyk, tmp_path, (64,))
    assert close(rgb_at(tmp_path / "out/64.webp", (5, 5)), (0, 0, 0, 255), 3)


def test_bmp(tmp_path: Path) -> None:
    src = tmp_path / "screenshot.bmp"
    two_halves(500, 300).save(src)
    assert sniff_kind(src, src.name) == "image"
    made = make(src, tmp_path)
    assert made.info["format"] == "BMP"
    assert close(rgb_at(tmp_path / "out/320.webp", (20, 100)), (*RED, 255))
    assert close(rgb_at(tmp_path / "out/320.webp", (300, 100)), (*BLUE, 255))


def test_16_bit_rgb_png(tmp_path: Path) -> None:
    src = png16_rgb(tmp_path / "render.png", 200, 100, (0xFFFF, 0x8000, 0x0000))
    made = make(src, tmp_path, (200,))
    assert close(rgb_at(tmp_path / "out/200.webp", (50, 50)), (255, 128, 0, 255), 4)
    assert made.info["mode"] in ("RGB", "I;16")


def test_16_bit_and_8_bit_grey_png_and_grey_with_alpha(tmp_path: Path) -> None:
    src = tmp_path / "xray.png"
    Image.new("I;16", (100, 50), 0xC000).save(src)
    make(src, tmp_path, (100,))
    assert close(rgb_at(tmp_path / "out/100.webp", (5, 5)), (192, 192, 192, 255), 3)
    grey = tmp_path / "grey.png"
    Image.new("L", (100, 50), 64).save(grey)
    make(grey, tmp_path, (100,))
    assert close(rgb_at(tmp_path / "out/100.webp", (5, 5)), (64, 64, 64, 255), 3)
    alpha = tmp_path / "grey-alpha.png"
    Image.new("LA", (100, 50), (200, 0)).save(alpha)
    make(alpha, tmp_path, (100,))
    assert rgb_at(tmp_path / "out/100.webp", (5, 5))[3] == 0


# ---- animations


def animated_gif(
    path: Path, frames: int = 6, size: tuple[int, int] = (120, 60)
) -> list[tuple[int, int, int]]:
    colours = [RED, BLUE, GREEN] * (frames // 3 + 1)
    images = [Image.new("RGB", size, colours[i]) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=80, loop=0)
    return colours[:frames]


def test_animated_gif_stays_animated_as_webp(tmp_path: Path) -> None:
    src = tmp_path / "demo.gif"
    colours = animated_gif(src)
    made = make(src, tmp_path)
    assert made.info["animated"] is True
    assert (made.info["frames"], made.info["loop"], made.info["durationMs"]) == (6, 0, 480)
    assert [(v.width, v.height) for v in made.variants] == [(120, 60)] * 3
    with Image.open(tmp_path / "out/640.webp") as out:
        assert out.format == "WEBP" and getattr(out, "n_frames", 1) == 6 and out.info.get("loop") == 0
        for index, colour in enumerate(colours):
            out.seek(index)
            out.load()  # the frame's delay is read with its data
            assert out.info["duration"] == 80
            pixel = out.convert("RGB").getpixel((60, 30))
            assert isinstance(pixel, tuple) and close(pixel, colour), (index, pixel)


def test_a_gif_without_a_loop_extension_plays_once_and_short_delays_are_what_browsers_show(
    tmp_path: Path,
) -> None:
    src = tmp_path / "once.gif"
    frames = [Image.new("RGB", (40, 40), c) for c in (RED, BLUE)]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=0)  # no loop= : no NETSCAPE2.0
    made = make(src, tmp_path, (40,))
    assert made.info["loop"] == 1 and made.info["durationMs"] == 200


def test_animated_webp_apng_and_avif_stay_animated_and_are_resized(tmp_path: Path) -> None:
    for name, fmt in (("spin.webp", "WEBP"), ("spin.png", "PNG"), ("spin.avif", "AVIF")):
        src = tmp_path / name
        images = [Image.new("RGBA", (800, 400), (*c, 255)) for c in (RED, BLUE, GREEN)]
        images[0].save(src, fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
        made = make_variants(src, tmp_path / name.replace(".", "-"), widths=WIDTHS)
        assert made.info["animated"] is True and made.info["frames"] == 3, name
        assert [(v.width, v.height) for v in made.variants] == [(320, 160), (640, 320), (800, 400)]
        with Image.open(tmp_path / name.replace(".", "-") / "320.webp") as out:
            assert getattr(out, "n_frames", 1) == 3 and out.size == (320, 160)


def test_an_animation_too_long_for_an_image_asks_for_a_video(tmp_path: Path) -> None:
    src = tmp_path / "recording.gif"
    animated_gif(src, frames=MAX_ANIMATION_FRAMES + 1, size=(8, 8))
    with pytest.raises(
        MediaTooLargeError, match=r"recording\.gif is an animation of 1,001 frames.*as a video"
    ):
        make_variants(src, tmp_path / "out")


def test_a_truncated_animation_is_invalid(tmp_path: Path) -> None:
    whole = tmp_path / "whole.gif"
    images = [two_halves(200, 200).rotate(i * 30) for i in range(12)]
    images[0].save(whole, save_all=True, append_images=images[1:], duration=50, loop=0)
    cut = tmp_path / "cut.gif"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(
        InvalidMediaError, match=r"cut\.gif (is an animation whose later frames|is not a readable image)"
    ):
        make_variants(cut, tmp_path / "out")


# ---- limits and lies


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF", "TIFF", "BMP"])
def test_pixel_limit_holds_for_every_format(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / f"big.{fmt.lower()}"
    Image.new("RGB", (300, 200), RED).save(src, fmt)
    with pytest.raises(MediaTooLargeError, match=r"300x200 \(60,000 pixels\); the limit is 50,000"):
        make_variants(src, tmp_path / "out", limits=MediaLimits(max_image_pixels=50_000))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF", "TIFF"])
def test_truncated_phone_and_print_formats_are_invalid(tmp_path: Path, fmt: str) -> None:
    whole = tmp_path / "whole"
    Image.effect_noise((300, 300), 80).convert("RGB").save(whole, fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InvalidMediaError, match=rf"cut\.{fmt.lower()} is not a readable image"):
        make_variants(cut, tmp_path / "out")


@pytest.mark.parametrize("name", ["photo.heic", "scan.tiff", "icon.bmp", "pic.avif", "diagram.svg"])
def test_a_file_that_is_not_what_its_extension_says_gets_a_named_error(tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    src.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20)
    with pytest.raises(InvalidMediaError, match=re.escape(name) + " is not a readable image"):
        sniff_kind(src, name)


def test_an_html_page_named_svg_is_not_an_image(tmp_path: Path) -> None:
    src = tmp_path / "diagram.svg"
    src.write_text("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n")
    with pytest.raises(InvalidMediaError, match=r"diagram\.svg is not a readable image"):
        sniff_kind(src, src.name)
    with pytest.raises(InvalidMediaError, match=r"diagram\.svg is not a readable image"):
        make_variants(src, tmp_path / "out")
