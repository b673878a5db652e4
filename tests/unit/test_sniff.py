from __future__ import annotations

import gzip
import random
from typing import TYPE_CHECKING

import pytest

from pipeline.errors import InvalidMediaError, LessonError, UnsupportedMediaError
from pipeline.media.sniff import sniff_kind

if TYPE_CHECKING:
    from pathlib import Path

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00\x00\x00\x08free"
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isomiso2\x00\x00\x00\x08free"
# An mp4 container whose major brand is generic but which lists M4A as compatible (e.g. some exporters).
ISO_AUDIO = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00M4A mp42\x00\x00\x00\x08free"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
AVIF = b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B"
HEIF_MIF1 = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic"
BMP = b"BM" + (70).to_bytes(4, "little") + bytes(4) + (54).to_bytes(4, "little") + (40).to_bytes(4, "little")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>\n'
SVG_PROLOG = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<!-- Created with Inkscape -->\n'
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    b'<svg:svg xmlns:svg="http://www.w3.org/2000/svg" width="10" height="10"/>\n'
)


def riff(form: bytes) -> bytes:
    return b"RIFF\x24\x00\x00\x00" + form + b"fmt \x10\x00\x00\x00" + bytes(16)


def mpegts(packets: int = 3) -> bytes:
    return b"".join(b"\x47\x40\x00\x10" + bytes(184) for _ in range(packets))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name.rsplit("/", 1)[-1]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("diagram.png", PNG, "image"),
        ("photo.jpg", JPEG, "image"),
        ("anim.gif", b"GIF89a\x10\x00\x10\x00\x80\x00\x00", "image"),
        ("pic.webp", riff(b"WEBP"), "image"),
        ("IMG_0001.HEIC", HEIC, "image"),
        ("photo.heif", HEIF_MIF1, "image"),
        ("photo.avif", AVIF, "image"),
        ("scan.tif", b"II*\x00\x08\x00\x00\x00" + bytes(20), "image"),
        ("scan.tiff", b"MM\x00*\x00\x00\x00\x08" + bytes(20), "image"),
        ("big.tiff", b"II+\x00\x08\x00\x00\x00" + bytes(20), "image"),
        ("shot.bmp", BMP + bytes(20), "image"),
        ("diagram.svg", SVG, "image"),
        ("Diagram.SVG", SVG_PROLOG, "image"),
        ("diagram.svgz", gzip.compress(SVG_PROLOG), "image"),
        ("figure", SVG, "image"),  # no extension: the content decides
        ("lecture.mp4", MP4, "video"),
        ("lecture.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video"),
        ("lecture.mkv", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "video"),
        ("lecture.avi", riff(b"AVI "), "video"),
        ("capture.ts", mpegts(), "video"),
        ("talk.m4a", M4A, "audio"),
        ("talk.m4a", ISO_AUDIO, "audio"),
        ("talk.wav", riff(b"WAVE"), "audio"),
        ("talk.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(20), "audio"),
        ("talk.mp3", b"\xff\xfb\x90\x64" + bytes(60), "audio"),  # MPEG-1 layer III frame, no ID3 tag
        ("talk.aac", b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(20), "audio"),  # ADTS AAC-LC 48 kHz
        ("courses/c1/course.yaml", b"id: c1\ntitle: Intro\n", "manifest"),
        ("course.yml", b"id: c1\n", "manifest"),
        ("courses/c1/01-intro.md", "# Intro\n\nCafé ☕\n".encode(), "lesson"),
        ("notes.MARKDOWN", b"\xef\xbb\xbf# With a BOM\n", "lesson"),
    ],
)
def test_kind_from_magic_bytes(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    assert sniff_kind(write(tmp_path, name, data), name) == kind


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("lecture.mp4", PNG, "image"),  # a screenshot saved with the wrong extension
        ("diagram.png", MP4, "video"),
        ("talk.mp3", riff(b"WAVE"), "audio"),
        ("lesson.md", JPEG, "image"),
        ("clip.mp4", M4A, "audio"),  # the brand says audio-only
        ("diagram.png", SVG, "image"),
        ("photo.jpg", HEIC, "image"),
    ],
)
def test_content_wins_over_extension(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    assert sniff_kind(write(tmp_path, name, data), name) == kind


def test_lesson_with_multibyte_character_cut_by_the_read_is_still_text(tmp_path: Path) -> None:
    # "é" is two bytes; put it across the 4096-byte boundary the sniffer stops at.
    data = b"a" * 4095 + "é".encode() + b"\n"
    assert sniff_kind(write(tmp_path, "long.md", data), "long.md") == "lesson"


def test_lesson_that_is_not_utf8_is_a_lesson_error(tmp_path: Path) -> None:
    data = "# Leçon\n".encode("latin-1")
    with pytest.raises(LessonError, match=r"lecon\.md is not valid UTF-8"):
        sniff_kind(write(tmp_path, "lecon.md", data), "courses/c1/lecon.md")


def test_text_without_a_lesson_or_manifest_name_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match=r"notes\.rtf is not a supported file type"):
        sniff_kind(write(tmp_path, "notes.rtf", b"just notes\n"), "notes.rtf")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("index.m3u8", b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://169.254.169.254/latest\n"),
        ("lecture.mp4", b"\xef\xbb\xbf#EXTM3U\n#EXTINF:10,\nhttps://example.com/a.ts\n"),
        ("stream.mpd", b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">'),
        ("lesson.md", b"#EXTM3U\nhttp://example.com/x.ts\n"),
    ],
)
def test_playlists_are_refused_because_they_reference_urls(tmp_path: Path, name: str, data: bytes) -> None:
    with pytest.raises(UnsupportedMediaError, match="(?i)upload the media file itself"):
        sniff_kind(write(tmp_path, name, data), name)


def test_empty_file_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidMediaError, match="the file is empty"):
        sniff_kind(write(tmp_path, "lecture.mp4", b""), "lecture.mp4")


def noise() -> bytes:
    data = random.Random(20241125).randbytes(8192)
    assert not data.startswith((b"\xff", b"\x47", b"RIFF", b"ID3"))  # the seed was picked to be no magic
    return data


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("clip.mp4", r"clip\.mp4 is not a playable video"),
        ("talk.m4a", r"talk\.m4a is not a playable audio file"),
        ("photo.jpg", r"photo\.jpg is not a readable image"),
    ],
)
def test_known_extension_with_unrecognised_bytes_is_invalid(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(InvalidMediaError, match=message):
        sniff_kind(write(tmp_path, name, noise()), name)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.rtf", b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}"),
        ("setup.msix", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(50)),
        ("data.dat", bytes(range(256))),
        ("archive.gz", gzip.compress(SVG)),  # gzip is a drawing only when named .svgz
    ],
)
def test_unknown_content_and_extension_is_unsupported(tmp_path: Path, name: str, data: bytes) -> None:
    with pytest.raises(UnsupportedMediaError) as info:
        sniff_kind(write(tmp_path, name, data), name)
    message = str(info.value)
    assert message.startswith(name)
    assert "mp4" in message and "Markdown" in message and "heic" in message  # what would be accepted


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("diagram.svg", b"<!DOCTYPE html><html><body><svg></svg></body></html>\n"),
        ("diagram.svg", b"<?xml version='1.0'?><note>not a drawing</note>\n"),
        ("diagram.svgz", gzip.compress(b"<html>no</html>")),
        ("diagram.svgz", b"\x1f\x8b\x08\x00" + bytes(40)),
    ],
)
def test_svg_names_on_other_content_are_invalid(tmp_path: Path, name: str, data: bytes) -> None:
    with pytest.raises(InvalidMediaError, match=rf"{name.replace('.', '[.]')} is not a readable image"):
        sniff_kind(write(tmp_path, name, data), name)


def test_a_lesson_that_starts_with_inline_svg_is_still_a_lesson(tmp_path: Path) -> None:
    assert sniff_kind(write(tmp_path, "intro.md", SVG + b"\n# Intro\n"), "intro.md") == "lesson"


def test_a_long_svg_prolog_is_left_to_the_name(tmp_path: Path) -> None:
    data = b"<?xml version='1.0'?>\n<!--" + b"x" * 8000 + b"-->\n" + SVG
    assert sniff_kind(write(tmp_path, "long.svg", data[:4096]), "long.svg") == "image"
    with pytest.raises(UnsupportedMediaError):
        sniff_kind(write(tmp_path, "long.xml", data[:4096]), "long.xml")
