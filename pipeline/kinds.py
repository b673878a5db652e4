"""What each kind of upload is called, by name: the one table of extensions and manifest names.

The content decides what an upload *is* (``pipeline.media.sniff`` reads its first bytes); the name is
what everything that never sees the bytes goes by: a lesson's link to ``lecture.ts`` (a player, not a
file link), a file deleted before Classify ran (which prefixes to clean), the order the local runner
uploads in, the error that lists what is supported. Each of those read its own copy of these lists, and
the copies drifted (``.ts`` was video to the sniffer and a plain file to the lesson's links). Adding a
kind, or an extension, is one row here.

For video and audio the name is never what admits a file: ffprobe does, through an allow-list of
demuxers (``pipeline.media.probe.DEMUXERS``), so an upper-case ``.MOV``, a ``.weba`` or a recording
with no extension at all is processed when its bytes are a container on that list, and a ``.mp4`` that
is really a playlist is not.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

Kind = Literal["video", "audio", "image", "lesson", "manifest", "caption", "attachment"]


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    extensions: frozenset[str]
    """Lower-case, without the dot."""
    shown: str
    """How the "supported types" message lists the kind."""
    what: str
    """What a file of the kind should be, for the "not ..." message of a file whose content is not."""


# Video and audio: the names phones, cameras, browsers, screen recorders and editors give the containers
# the probe's demuxer allow-list reads (``pipeline.media.probe.DEMUXERS``); a name outside these lists is
# still processed when its bytes are one of those containers (``media.sniff``).
_VIDEO = "mp4 m4v mov qt mkv webm avi ts mts m2ts mxf 3gp 3g2 wmv asf flv f4v ogv mpg mpeg"
_AUDIO = "mp3 m4a m4b aac wav flac aif aiff aifc ogg oga opus wma mka weba caf"

KINDS: tuple[KindSpec, ...] = (
    KindSpec("video", frozenset(_VIDEO.split()), f"video ({', '.join(_VIDEO.split())})", "a playable video"),
    KindSpec(
        "audio", frozenset(_AUDIO.split()), f"audio ({', '.join(_AUDIO.split())})", "a playable audio file"
    ),
    KindSpec(
        "image",
        frozenset(
            {"jpg", "jpeg", "png", "webp", "gif", "svg", "svgz", "heic", "heif", "avif", "tif", "tiff", "bmp"}
        ),
        "images (jpg, png, webp, gif, svg, svgz, heic, heif, avif, tif, tiff, bmp)",
        "a readable image",
    ),
    KindSpec(
        "lesson",
        frozenset({"md", "markdown"}),
        "Markdown lessons (.md, .markdown)",
        "a UTF-8 Markdown lesson",
    ),
    KindSpec(
        "caption",
        frozenset({"srt", "vtt"}),
        "captions (.srt, .vtt named after their video: lecture.en.srt)",
        "an SRT or WebVTT caption file",
    ),
    KindSpec(
        "attachment",
        frozenset({"pdf", "pptx", "docx", "xlsx", "odp", "odt", "ods", "csv", "tsv", "txt", "zip"}),
        "handouts (pdf, pptx, docx, xlsx, odp, odt, ods, csv, tsv, txt, zip)",
        "a readable document or archive",
    ),
)

REFUSED: dict[str, str] = {
    **dict.fromkeys(
        (
            "exe",
            "dll",
            "msi",
            "com",
            "scr",
            "bat",
            "cmd",
            "ps1",
            "vbs",
            "sh",
            "app",
            "dmg",
            "pkg",
            "apk",
            "jar",
            "deb",
            "rpm",
            "bin",
            "elf",
            "so",
            "dylib",
        ),
        "is a program: learners would run it from the course's site, so the pipeline never publishes one. "
        "Put the code in a .zip (sources, not builds) or link the program's official download",
    ),  # fmt: skip
    **dict.fromkeys(
        ("html", "htm", "xhtml", "shtml", "mht", "mhtml", "xht"),
        "is an HTML page: published as uploaded, its scripts would run with the course's signed cookies. "
        "Write the lesson in Markdown (.md), or put the page in a .zip if learners should download it",
    ),
    **dict.fromkeys(
        ("key", "pages", "numbers"),
        "is an Apple iWork document, which other systems cannot open: export it as PDF "
        "(File > Export To > PDF) and upload that",
    ),
    **dict.fromkeys(
        ("ppt", "doc", "xls"),
        "is a legacy Office binary format (macros, no safe way to check it): save it as .pptx/.docx/.xlsx "
        "or export it as PDF",
    ),
}
"""Extensions refused with the reason (the message continues "{name} ...")."""

MANIFEST_NAMES = frozenset({"course.yaml", "course.yml"})
"""The course manifest is known by its whole name, not an extension."""

PLAYLIST_EXTENSIONS = frozenset({"m3u8", "m3u", "mpd"})
"""Streaming playlists: refused (they reference media elsewhere, and nothing is ever fetched)."""

MEDIA_KINDS: frozenset[Kind] = frozenset({"video", "audio", "image"})
"""Kinds whose content is checked by its bytes; a file of one of them whose bytes match none is corrupt."""

SUPPORTED = ", ".join(spec.shown for spec in KINDS) + " and course.yaml"

_BY_EXTENSION: dict[str, KindSpec] = {ext: spec for spec in KINDS for ext in spec.extensions}


def extension(path: str) -> str:
    """Lower-case extension without the dot ('' for none)."""
    base = posixpath.basename(path)
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def spec_for_extension(ext: str) -> KindSpec | None:
    return _BY_EXTENSION.get(ext.lower().lstrip("."))


def kind_by_name(path: str) -> Kind | None:
    """The kind a key or file name says it is (None when it says nothing we process)."""
    if posixpath.basename(path).lower() in MANIFEST_NAMES:
        return "manifest"
    spec = spec_for_extension(extension(path))
    return spec.kind if spec else None


def is_kind(path: str, *kinds: Kind) -> bool:
    return kind_by_name(path) in kinds
