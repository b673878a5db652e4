"""Handouts are what their names say, bounded, and programs and HTML pages never pass, whatever their
names. PDFs are made by Pillow and read by PDFium; Office/OpenDocument packages are built as their
programs lay them out (the parts the checks read)."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw

from pipeline.errors import InvalidMediaError, MediaTooLargeError, UnsupportedMediaError
from pipeline.media import attachments
from pipeline.media.sniff import sniff_kind

if TYPE_CHECKING:
    from pathlib import Path


def pdf(pages: int = 3, size: tuple[int, int] = (595, 842)) -> bytes:
    """An A4 PDF whose first page is mostly red (the preview must show it)."""
    images = []
    for number in range(pages):
        page = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(page)
        draw.rectangle((0, 0, size[0], size[1] // 2), fill="red" if number == 0 else "blue")
        images.append(page)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


def package(parts: dict[str, bytes], *, mimetype: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if mimetype is not None:  # ODF: first, stored uncompressed
            archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)
PPTX = package({"[Content_Types].xml": CONTENT_TYPES, "ppt/presentation.xml": b"<p:presentation/>"})
DOCX = package({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w:document/>"})
XLSX = package({"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": b"<workbook/>"})
ODP = package(
    {"content.xml": b"<office:document-content/>"}, mimetype="application/vnd.oasis.opendocument.presentation"
)
CODE = package({"src/main.py": b"print('hi')\n", "README.md": b"# Exercise\n"})
ELF = b"\x7fELF\x02\x01\x01" + bytes(57)
PE = b"MZ" + bytes(58) + (64).to_bytes(4, "little") + b"PE\x00\x00" + bytes(64)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("handout.pdf", pdf()),
        ("Slides Week 1.PPTX", PPTX),
        ("notes.docx", DOCX),
        ("grades.xlsx", XLSX),
        ("talk.odp", ODP),
        ("exercise.zip", CODE),
        ("data.csv", b"\xef\xbb\xbfname;score\r\nZo\xc3\xab;3\r\n"),
        ("export.csv", "name,city\r\nJosé,Málaga\r\n".encode("cp1252")),  # Excel's ANSI export
        ("readme.txt", "\ufeffnotes".encode("utf-16")),
    ],
)
def test_handouts_are_classified_as_attachments(tmp_path: Path, name: str, data: bytes) -> None:
    assert sniff_kind(write(tmp_path, name, data), f"courses/c/handouts/{name}") == "attachment"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("slides.pdf", PPTX, "slides.pdf is not a PDF file: its content is a ZIP archive"),
        ("notes.docx", pdf(1), "notes.docx is not a Word document file: its content is a PDF"),
        ("table.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "table.csv is not a CSV table file"),
        ("code.zip", b"just text, renamed", "code.zip is not a ZIP archive file: its content is text"),
    ],
)
def test_a_handout_that_is_not_what_its_name_says_is_refused_by_name(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidMediaError, match=message):
        sniff_kind(write(tmp_path, name, data), name)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("setup.exe", PE, "setup.exe is a program: learners would run it"),
        ("handout.pdf", PE, "handout.pdf is a program \\(its content is an executable"),
        ("tool", ELF, "tool is a program"),
        ("slides.txt", ELF, "slides.txt is a program"),
        ("page.html", b"<!doctype html><script>alert(1)</script>", "page.html is an HTML page: published"),
        ("Deck.key", b"PK\x03\x04", "export it as PDF"),
        ("old.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office binary format"),
    ],
)
def test_programs_html_and_unopenable_formats_are_refused_with_the_reason(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(UnsupportedMediaError, match=message):
        sniff_kind(write(tmp_path, name, data), name)


def test_a_text_file_starting_with_mz_is_not_taken_for_a_program(tmp_path: Path) -> None:
    assert sniff_kind(write(tmp_path, "codes.csv", b"MZ,Mozambique\r\n" * 10), "codes.csv") == "attachment"


def test_a_pdf_is_counted_and_previewed_from_its_first_page(tmp_path: Path) -> None:
    found = attachments.inspect(write(tmp_path, "h.pdf", pdf(3)), "pdf", "h.pdf")
    assert (found.label, found.pages, found.warnings) == ("PDF", 3, [])
    assert found.thumbnail is not None and found.thumbnail.width == max(attachments.THUMBNAIL_WIDTHS)
    assert abs(found.thumbnail.height / found.thumbnail.width - 842 / 595) < 0.01  # the page's aspect
    top = found.thumbnail.getpixel((found.thumbnail.width // 2, found.thumbnail.height // 4))
    bottom = found.thumbnail.getpixel((found.thumbnail.width // 2, found.thumbnail.height * 3 // 4))
    assert isinstance(top, tuple) and top[0] > 200 and top[1] < 60  # red: the first page, not the second
    assert bottom == (255, 255, 255)


def test_a_huge_page_still_previews_at_the_preview_width(tmp_path: Path) -> None:
    found = attachments.inspect(write(tmp_path, "p.pdf", pdf(1, (14400, 2000))), "pdf", "p.pdf")
    assert found.thumbnail is not None and found.thumbnail.size[0] == max(attachments.THUMBNAIL_WIDTHS)


def test_pdf_limits_and_damage_are_named(tmp_path: Path) -> None:
    with pytest.raises(MediaTooLargeError, match="has 3 pages; the limit is 2. Split it"):
        attachments.inspect(write(tmp_path, "a.pdf", pdf(3)), "pdf", "a.pdf", max_pages=2)
    cut = pdf(2)[:400]
    with pytest.raises(InvalidMediaError, match="b.pdf is not a readable PDF"):
        attachments.inspect(write(tmp_path, "b.pdf", cut), "pdf", "b.pdf")


def test_packages_are_checked_by_their_own_parts(tmp_path: Path) -> None:
    assert attachments.inspect(write(tmp_path, "s.pptx", PPTX), "pptx", "s.pptx").entries == 2
    assert attachments.inspect(write(tmp_path, "t.odp", ODP), "odp", "t.odp").label == "OpenDocument slides"
    with pytest.raises(InvalidMediaError, match="s.docx is a ZIP archive but not a Word document"):
        attachments.inspect(write(tmp_path, "s.docx", PPTX), "docx", "s.docx")
    with pytest.raises(InvalidMediaError, match="t.ods is a ZIP archive but not an OpenDocument spreadsheet"):
        attachments.inspect(write(tmp_path, "t.ods", ODP), "ods", "t.ods")
    with pytest.raises(InvalidMediaError, match="c.zip is not a readable ZIP archive file .* cut short"):
        attachments.inspect(write(tmp_path, "c.zip", CODE[: len(CODE) // 2]), "zip", "c.zip")


def test_an_archive_with_too_many_entries_is_refused_without_extracting(tmp_path: Path) -> None:
    many = package({f"node_modules/x{i}.js": b"" for i in range(attachments.MAX_ARCHIVE_ENTRIES + 1)})
    with pytest.raises(MediaTooLargeError, match="Leave build output and dependencies"):
        attachments.inspect(write(tmp_path, "big.zip", many), "zip", "big.zip")
