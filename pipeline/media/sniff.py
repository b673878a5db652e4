"""Decide what an upload is from its first bytes.

Authors rename files, export with the wrong extension and upload playlists that point at other servers;
routing on the extension alone would send a PNG into the video encoder or let ffmpeg fetch URLs on our
behalf. The content decides, the name is only a hint (and the only way to tell a lesson from a manifest).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path, PurePosixPath

from pipeline.errors import InvalidMediaError, LessonError, ManifestError, UnsupportedMediaError
from pipeline.kinds import (
    MANIFEST_NAMES,
    MEDIA_KINDS,
    PLAYLIST_EXTENSIONS,
    SUPPORTED,
    Kind,
    spec_for_extension,
)
from pipeline.kinds import extension as _extension
from pipeline.media import attachments
from pipeline.media.svg import inflate_head, root_is_svg

__all__ = ["HEAD_BYTES", "Kind", "sniff_kind"]

HEAD_BYTES = 4096

# ISO-BMFF brands of audio-only files; everything else in an ftyp box is routed as video and the probe
# finds out whether it really has a picture.
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
# HEIF (HEIC from phones) and AVIF in an ftyp box: images (pillow-heif and Pillow decode them), including
# their sequence brands (an animated AVIF stays animated; a HEIF burst shows its primary picture).
_STILL_BRANDS = frozenset(
    {
        b"heic",
        b"heix",
        b"hevc",
        b"hevx",
        b"heim",
        b"heis",
        b"hevm",
        b"hevs",
        b"mif1",
        b"msf1",
        b"avif",
        b"avis",
    }
)
# The sizes a BMP's DIB header can have (BITMAPCOREHEADER to BITMAPV5HEADER): "BM" alone matches 1 in 65,536
# files.
_BMP_HEADERS = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_MPD = re.compile(r"<(?:\w+:)?MPD[\s>]")
# ASF (WMV/WMA): the header object's GUID, and the stream-type GUIDs of its stream properties objects.
_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_VIDEO = bytes.fromhex("c0ef19bc4d5bcf11a8fd00805f5c442b")
_ASF_AUDIO = bytes.fromhex("409e69f84d5bcf11a8fd00805f5c442b")
_OGG_VIDEO = (b"\x80theora", b"OVP80", b"BBCD\x00")
# SMPTE 377M header partition pack key (the last two bytes, open/closed and complete, vary).
_MXF_HEADER_PARTITION = bytes.fromhex("060e2b34020501010d01020101")


def sniff_kind(path: Path, name: str) -> Kind:
    """Classify ``path`` (the downloaded upload) whose source key or file name is ``name``."""
    basename = PurePosixPath(name).name
    ext = _extension(basename)
    named = spec_for_extension(ext)
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head:
        raise InvalidMediaError(f"{basename}: the file is empty (0 bytes). Upload it again.")
    if _is_handout(head, ext, basename):
        return "attachment"
    kind = _binary_kind(head, ext, basename)
    if kind is not None:
        return kind
    if named is not None and named.kind == "caption":
        # Caption tools write UTF-16 and cp1252 too: RenderCaptions reads those and says what it converted,
        # and refuses what is not text with the line it stopped at.
        return "caption"

    text = _decode_text(head, complete=len(head) < HEAD_BYTES)
    if text is not None:
        stripped = text.lstrip("\ufeff \t\r\n")
        if stripped.startswith("#EXTM3U") or _MPD.search(stripped[:1024]) or ext in PLAYLIST_EXTENSIONS:
            raise UnsupportedMediaError(
                f"{basename} is a streaming playlist, which only references media stored elsewhere; "
                "the pipeline does not fetch URLs. Upload the media file itself (e.g. the .mp4)."
            )
        if basename.lower() in MANIFEST_NAMES:
            return "manifest"
        if named is not None and named.kind == "lesson":
            return "lesson"
        # An SVG drawing is text: its root element says so (after the name had its say for lessons, which
        # may start with inline markup); a long prolog cut by the head leaves it to an .svg name.
        svg = root_is_svg(stripped)
        if svg or (svg is None and ext == "svg"):
            return "image"

    if named is not None and named.kind == "lesson":
        raise LessonError(
            f"{basename} is not valid UTF-8 text. Save the lesson as UTF-8 (most editors offer "
            "'Save with encoding') and upload it again."
        )
    if basename.lower() in MANIFEST_NAMES:
        raise ManifestError(
            f"{basename} is not a UTF-8 text file. Save it as UTF-8 YAML and upload it again."
        )
    if named is not None and named.kind in MEDIA_KINDS:
        raise InvalidMediaError(
            f"{basename} is not {named.what}: its content is not in any format we recognise, so it is "
            "probably corrupt or only partly uploaded. Re-export it and upload it again."
        )
    raise UnsupportedMediaError(f"{basename} is not a supported file type. Supported: {SUPPORTED}.")


def _is_handout(head: bytes, ext: str, basename: str) -> bool:
    """Programs are refused whatever their name; a handout's extension is checked against its content."""
    refused = attachments.refusal(head, ext, basename)
    if refused is not None:
        raise UnsupportedMediaError(refused)
    named = spec_for_extension(ext)
    if named is None or named.kind != "attachment":
        return False
    attachments.check_head(head, ext, basename)  # handouts are checked by their own format
    return True


def _binary_kind(head: bytes, ext: str, basename: str) -> Kind | None:
    if _is_image(head, ext):
        return "image"
    if head[:4] == b"RIFF" and len(head) >= 12:
        form = head[8:12]
        if form == b"WEBP":
            return "image"
        if form == b"WAVE":
            return "audio"
        if form == b"AVI ":
            return "video"
        return None
    if head[4:8] == b"ftyp":
        return _ftyp_kind(head, ext, basename)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # Matroska/WebM: an audio name (.mka, .weba; Chrome's audio-only MediaRecorder) says audio.
        named = spec_for_extension(ext)
        return "audio" if named is not None and named.kind == "audio" else "video"
    if _is_mpegts(head):
        return "video"
    if head.startswith(b"ID3") or _is_adts(head) or _is_mpeg_audio(head):
        return "audio"
    return _container_kind(head, ext)


def _container_kind(head: bytes, ext: str) -> Kind | None:
    """The other containers the probe's demuxers read (``pipeline.media.probe.DEMUXERS``). Where one
    container holds either (Ogg, ASF, FLV, Matroska), the head says which when it can and the name
    decides when it cannot; ProbeMedia then looks for a picture, so a wrong guess costs nothing."""
    named = spec_for_extension(ext)
    named_audio = named is not None and named.kind == "audio"
    if head[:4] in (b"RF64", b"BW64") and head[8:12] == b"WAVE":  # WAV over 4 GB (broadcast recorders)
        return "audio"
    if head.startswith((b"fLaC", b"caff")):
        return "audio"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio"
    if head.startswith(b"OggS"):
        # The first pages carry each stream's codec header: Theora, VP8 or Dirac is a picture.
        return "video" if any(mark in head for mark in _OGG_VIDEO) else "audio"
    if head.startswith(_ASF_HEADER):
        if _ASF_VIDEO in head:
            return "video"
        return "audio" if _ASF_AUDIO in head or named_audio else "video"
    if head[:3] == b"FLV" and head[3] == 1 and len(head) > 4:
        return "video" if head[4] & 0x01 or not head[4] & 0x04 else "audio"
    if head.startswith(_MXF_HEADER_PARTITION) or head.startswith(b"\x00\x00\x01\xba"):  # MXF, MPEG-PS
        return "video"
    return None


def _is_image(head: bytes, ext: str) -> bool:
    """PNG, JPEG, GIF, TIFF/BigTIFF, BMP and .svgz by their magic (WebP is a RIFF form, HEIF/AVIF ftyp)."""
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")):
        return True
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return True
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADERS:
        return True
    if head[:2] != b"\x1f\x8b" or ext != "svgz":
        return False
    # gzip: only an .svgz is a drawing (its inflated start is an SVG's, or too long a prolog to tell).
    inflated = inflate_head(head)
    return bool(inflated) and root_is_svg(inflated.decode("utf-8", "ignore")) is not False


def _ftyp_kind(head: bytes, ext: str, basename: str) -> Kind:
    size = int.from_bytes(head[0:4], "big")
    box = head[8 : min(max(size, 16), len(head))]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4)}
    brands.discard(b"\x00\x00\x00\x00")  # the minor version field
    if head[8:12] in _STILL_BRANDS:
        return "image"
    if head[8:12] in _AUDIO_BRANDS or (ext == "m4a" and brands & _AUDIO_BRANDS):
        return "audio"
    return "video"


def _is_mpegts(head: bytes) -> bool:
    # Plain TS has a 0x47 sync byte every 188 bytes; M2TS (Blu-ray, AVCHD) prefixes each packet with 4 bytes.
    for offset, stride in ((0, 188), (4, 192)):
        positions = range(offset, min(len(head), offset + 3 * stride), stride)
        if len(positions) >= 2 and all(head[p] == 0x47 for p in positions):
            return True
    return False


def _is_adts(head: bytes) -> bool:
    # 12-bit sync, layer always 0; the sampling frequency index must not be a reserved value.
    return len(head) >= 7 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0x0F < 13


def _is_mpeg_audio(head: bytes) -> bool:
    # An 11-bit frame sync alone matches 1 in 2048 random files: also reject every reserved header value.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and sample_rate != 3


def _decode_text(head: bytes, *, complete: bool) -> str | None:
    """The head as text if it is UTF-8 without NUL bytes; a multi-byte character cut by a partial read is
    fine, one cut by the end of the file is not."""
    if b"\x00" in head:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return None
