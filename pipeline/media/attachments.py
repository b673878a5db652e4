"""Handouts (PDF, slides, documents, spreadsheets, archives, text): checked to be what their names say.

Attachments are published as uploaded, for learners to download, so nothing here converts them; what is
checked is that the bytes are the format the extension promises (a ``.pdf`` that is a renamed ``.exe``
or a ``.docx`` that is a plain ZIP would download as something the learner's program cannot open, or
worse), and bounded: a PDF's pages, an archive's entries. Office Open XML and OpenDocument files are ZIP
packages whose own parts say what they are (``ppt/presentation.xml``, the ``mimetype`` entry), read from
the central directory without extracting anything, so a ZIP bomb costs nothing here.

PDFs are opened with PDFium (``pypdfium2``: the renderer Chrome uses, fuzzed by Google's OSS-Fuzz; a
hand-written PDF parser would be neither), for the page count and a first-page thumbnail.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pipeline.errors import InvalidMediaError, MediaTooLargeError
from pipeline.kinds import REFUSED

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

Family = Literal["pdf", "ooxml", "odf", "zip", "text"]

MAX_PDF_PAGES = 2000
MAX_ARCHIVE_ENTRIES = 20_000
THUMBNAIL_WIDTHS = (320, 640)
# Bytes a PDF may have before its "%PDF-" header (the format allows leading junk; readers look this far).
_PDF_HEAD_WINDOW = 1024
# ELF (Linux), Mach-O (macOS, both byte orders, 32 and 64 bit); Windows PE is checked past its MZ stub.
_EXECUTABLE_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)


@dataclass(frozen=True)
class FileType:
    label: str
    """What a learner is told the file is ("PDF", "PowerPoint slides")."""
    family: Family
    member: str | None = None
    """Office Open XML: the part every such file has."""
    mime: str | None = None
    """OpenDocument: the content of its ``mimetype`` entry."""


TYPES: dict[str, FileType] = {
    "pdf": FileType("PDF", "pdf"),
    "pptx": FileType("PowerPoint slides", "ooxml", member="ppt/presentation.xml"),
    "docx": FileType("Word document", "ooxml", member="word/document.xml"),
    "xlsx": FileType("Excel spreadsheet", "ooxml", member="xl/workbook.xml"),
    "odp": FileType("OpenDocument slides", "odf", mime="application/vnd.oasis.opendocument.presentation"),
    "odt": FileType("OpenDocument text", "odf", mime="application/vnd.oasis.opendocument.text"),
    "ods": FileType("OpenDocument spreadsheet", "odf", mime="application/vnd.oasis.opendocument.spreadsheet"),
    "csv": FileType("CSV table", "text"),
    "tsv": FileType("TSV table", "text"),
    "txt": FileType("Text", "text"),
    "zip": FileType("ZIP archive", "zip"),
}


@dataclass
class AttachmentInfo:
    label: str
    pages: int | None = None
    entries: int | None = None
    thumbnail: Image.Image | None = None
    warnings: list[str] = field(default_factory=list)


def refusal(head: bytes, ext: str, basename: str) -> str | None:
    """Why an upload is never published (a program, an HTML page...), whatever its name or kind; None
    when it may be. Checked on the content too: a renamed ``setup.exe`` is still a program."""
    if ext in REFUSED:
        return f"{basename} {REFUSED[ext]}."
    if _is_executable(head):
        return (
            f"{basename} is a program (its content is an executable, whatever its name), and programs are "
            "never published. Put the sources in a .zip instead."
        )
    return None


def check_head(head: bytes, ext: str, basename: str) -> None:
    """At Classify: the first bytes are the format the extension names, or an InvalidMediaError."""
    kind = TYPES[ext]
    if kind.family == "pdf":
        ok = b"%PDF-" in head[:_PDF_HEAD_WINDOW]
    elif kind.family == "text":
        ok = _is_text(head)
    else:
        ok = head.startswith(b"PK\x03\x04") or (kind.family == "zip" and head.startswith(b"PK\x05\x06"))
    if not ok:
        raise InvalidMediaError(
            f"{basename} is not a {kind.label} file: its content is {_what(head)}. Export it again from the "
            f"program that made it (or rename it to what it is) and upload it again."
        )


def inspect(path: Path, ext: str, basename: str, *, max_pages: int = MAX_PDF_PAGES) -> AttachmentInfo:
    """At PublishAttachment: the whole file checked as its format, with what a download card shows."""
    kind = TYPES[ext]
    if kind.family == "pdf":
        return _pdf(path, kind, basename, max_pages)
    if kind.family in ("ooxml", "odf", "zip"):
        return _package(path, kind, basename)
    return AttachmentInfo(kind.label)


def _pdf(path: Path, kind: FileType, basename: str, max_pages: int) -> AttachmentInfo:
    import pypdfium2  # noqa: PLC0415 - a native library only this state loads

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            return AttachmentInfo(
                kind.label,
                warnings=[
                    f"{basename} is password-protected: learners need the password to open it, and it has "
                    "no preview. Export it without a password if that is not intended."
                ],
            )
        raise InvalidMediaError(
            f"{basename} is not a readable PDF ({exc}); export it again and upload it again."
        ) from exc
    try:
        pages = len(document)
        if pages == 0:
            raise InvalidMediaError(f"{basename} has no pages; export it again and upload it again.")
        if pages > max_pages:
            raise MediaTooLargeError(
                f"{basename} has {pages:,} pages; the limit is {max_pages:,}. Split it into smaller handouts."
            )
        page = document[0]
        width, _ = page.get_size()
        scale = max(THUMBNAIL_WIDTHS) / max(width, 1.0)
        thumbnail = page.render(scale=scale).to_pil().convert("RGB")
        return AttachmentInfo(kind.label, pages=pages, thumbnail=thumbnail)
    finally:
        document.close()


def _package(path: Path, kind: FileType, basename: str) -> AttachmentInfo:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ARCHIVE_ENTRIES:
                raise MediaTooLargeError(
                    f"{basename} holds {len(infos):,} files; the limit is {MAX_ARCHIVE_ENTRIES:,}. "
                    "Leave build output and dependencies (node_modules, .venv) out of the archive."
                )
            names = {info.filename for info in infos}
            if kind.family == "ooxml" and (kind.member not in names or "[Content_Types].xml" not in names):
                raise InvalidMediaError(
                    f"{basename} is a ZIP archive but not a {kind.label} file; save it again from the "
                    "program that made it (or rename it .zip)."
                )
            if kind.family == "odf":
                mime = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
                if mime.strip() != kind.mime:
                    raise InvalidMediaError(
                        f"{basename} is a ZIP archive but not an {kind.label} file; save it again from the "
                        "program that made it (or rename it .zip)."
                    )
            return AttachmentInfo(kind.label, entries=len(infos))
    except zipfile.BadZipFile as exc:
        raise InvalidMediaError(
            f"{basename} is not a readable {kind.label} file ({exc}): it is probably cut short; "
            "upload it again."
        ) from exc


def _is_executable(head: bytes) -> bool:
    if head.startswith(_EXECUTABLE_MAGIC):
        return True
    if head.startswith(b"MZ") and len(head) >= 64:
        offset = int.from_bytes(head[60:64], "little")
        return head[offset : offset + 4] == b"PE\x00\x00"
    return False


def _is_text(head: bytes) -> bool:
    """Text in any 8-bit encoding or UTF-8 (no NUL bytes), or UTF-16 with its BOM."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"\x00" not in head


def _what(head: bytes) -> str:
    if b"%PDF-" in head[:_PDF_HEAD_WINDOW]:
        return "a PDF"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "an image"
    if _is_text(head):
        return "text"
    return "something else"
