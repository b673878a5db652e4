"""Images generated at test time (nothing binary is committed): Pillow and pillow-heif write HEIC, AVIF,
multi-page TIFF, CMYK JPEG and EXIF; what they cannot write (a 48-bit RGB PNG, a CMYK ICC profile) is
built here byte by byte, after the specifications."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

from PIL import Image
from pillow_heif import register_heif_opener

if TYPE_CHECKING:
    from pathlib import Path

register_heif_opener()  # Pillow writes HEIC through it (the pipeline registers it for reading too)

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 160, 0)
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def two_halves(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation mistakes show up as colours in the wrong place."""
    img = Image.new(mode, (width, height), RED)
    img.paste(BLUE, (width // 2, 0, width, height))
    return img


def phone_exif(orientation: int = 6) -> Image.Exif:
    """What a phone writes: a maker, an orientation, and where the photo was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "SecretModel"  # Model
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return exif


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16_rgb(path: Path, width: int, height: int, rgb16: tuple[int, int, int]) -> Path:
    """A 48-bit RGB PNG (Pillow writes 16 bits for grey only) filled with one colour."""
    row = b"\x00" + struct.pack(">HHH", *rgb16) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(row * height))
        + png_chunk(b"IEND", b"")
    )
    return path


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode() + b"\x00"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_)) + ascii_ + bytes(4 + 4 + 2 + 1 + 67)


def cmyk_profile(cyan_lab: tuple[float, float, float] = (60.0, -60.0, 40.0)) -> bytes:
    """An ICC v2 output profile for CMYK (ICC.1:2001-04: header, tag table, desc/wtpt/cprt and an A2B0
    ``lut8Type`` with a 2-point grid), whose 100 % cyan is ``cyan_lab``, a green no formula would give:
    converting through it proves the embedded profile was used. Each ink darkens the paper like a
    subtractive ink would; black is black."""
    lab_of = {}
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    lab = [100.0, 0.0, 0.0]
                    if c:
                        lab = list(cyan_lab)
                    if m:
                        lab = [lab[0] * 0.6, lab[1] + 60, lab[2] - 10]
                    if y:
                        lab = [lab[0] * 0.9, lab[1] - 5, lab[2] + 70]
                    if k:
                        lab = [0.0, 0.0, 0.0]
                    lab_of[(c, m, y, k)] = lab
    clut = bytearray()
    # The grid in ICC order: the first input channel (cyan) varies slowest, as sorted tuples do.
    for key in sorted(lab_of):
        lum, a, b = lab_of[key]
        clut += bytes(
            [round(lum * 255 / 100), max(0, min(255, round(a + 128))), max(0, min(255, round(b + 128)))]
        )
    identity = bytes(range(256))
    lut = (
        b"mft1"
        + bytes(4)
        + bytes([4, 3, 2, 0])
        + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
        + identity * 4
        + bytes(clut)
        + identity * 3
    )
    tags = [
        (b"desc", _desc_tag("coursepipe test CMYK")),
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"cprt", b"text" + bytes(4) + b"public domain\x00"),
        (b"A2B0", lut),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        padded = body + bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += padded
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"prtr"
        + b"CMYK"
        + b"Lab "
        + struct.pack(">HHHHHH", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(4)  # platform
        + bytes(4)  # flags
        + bytes(4)  # manufacturer
        + bytes(4)  # model
        + bytes(8)  # attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + bytes(4)  # creator
    )
    header += bytes(128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data
