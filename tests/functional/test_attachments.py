"""PublishAttachment over the fakes: the handout published under its own name as an attachment with its
type, a PDF's previews, the catalog's facts; the lesson that links it on a line of its own shows a download
card (before and after it is published), and the course index lists it under Downloads."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PIL import Image

from pipeline import layout
from pipeline.keys import asset_id_for, parse_key
from pipeline.steps import AssetInfo, ExecutionState
from pipeline.usecases.attachment import publish_attachment
from pipeline.usecases.record import record_asset
from pipeline.usecases.text import build_course, render_lesson_page
from tests.functional.lecture import ARN, INGEST, PUBLISH
from tests.unit.test_attachments import CODE, pdf

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore

SLIDES = "handouts/Week 1 – Slides.pdf"
LESSON = b"# Week 1\n\nBefore class:\n\n[The slides](../handouts/Week%201%20%E2%80%93%20Slides.pdf)\n\n" + (
    b"See also [the code](../handouts/code.zip) inline.\n"
)
MANIFEST = b"""id: c1
title: Course
sections:
  - title: One
    lessons:
      - {id: week-1, file: lessons/week-1.md}
"""


def upload(store: FakeObjectStore, catalog: FakeCatalog, path: str, data: bytes) -> SourceRef:
    source = store.upload(INGEST, f"courses/c1/{path}", data)
    asset = parse_key(source.key)
    catalog.record_uploaded("c1", asset.asset_id, asset.path, source, f"exec-{asset.asset_id}")
    return source


def publish(services: Services, store: FakeObjectStore, catalog: FakeCatalog, path: str, data: bytes) -> None:
    source = upload(store, catalog, path, data)
    outputs = publish_attachment(source, services)
    asset = parse_key(source.key)
    info = AssetInfo("c1", asset.asset_id, asset.path, asset.name, "attachment", len(data))
    record_asset(ExecutionState(source=source, asset=info, result=outputs), services, ARN)


def page_key() -> str:
    return "courses/c1/" + layout.lesson_page(asset_id_for("lessons/week-1.md"))


def page(store: FakeObjectStore) -> str:
    return store.get_bytes(PUBLISH, page_key()).decode()


def test_a_pdf_is_published_as_an_attachment_with_previews_and_facts(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, tmp_path: Path
) -> None:
    data = pdf(12)
    source = upload(store, catalog, SLIDES, data)
    result = publish_attachment(source, services)
    aid = asset_id_for(SLIDES)
    key = f"courses/c1/files/{aid}/Week 1 – Slides.pdf"
    assert result.outputs == [key, *(f"courses/c1/files/{aid}/preview-{w}.webp" for w in (320, 640))]
    assert store.get_bytes(PUBLISH, key) == data  # as uploaded
    write = next(w for w in store.writes if w.key == key)
    assert write.content_disposition is not None
    assert write.content_disposition.startswith('attachment; filename="Week 1 Slides.pdf"')
    assert write.content_disposition.endswith("filename*=UTF-8''Week%201%20%E2%80%93%20Slides.pdf")
    details = result.details["attachment"]
    assert (details["label"], details["pages"], details["bytes"], details["contentType"]) == (
        "PDF", 12, len(data), "application/pdf",
    )  # fmt: skip
    preview = tmp_path / "p.webp"
    preview.write_bytes(store.get_bytes(PUBLISH, f"courses/c1/files/{aid}/preview-320.webp"))
    with Image.open(preview) as image:
        assert image.format == "WEBP" and image.width == 320


def test_lessons_show_a_download_card_and_the_index_lists_downloads(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    build_course(store.upload(INGEST, "courses/c1/course.yaml", MANIFEST), services)
    lesson = upload(store, catalog, "lessons/week-1.md", LESSON)
    info = AssetInfo("c1", asset_id_for("lessons/week-1.md"), "lessons/week-1.md", "week-1.md", "lesson", 1)
    rendered = render_lesson_page(lesson, services)
    record_asset(ExecutionState(source=lesson, asset=info, result=rendered), services, ARN)
    before = page(store)
    # Not uploaded yet: a card with the URL it will have, and the lesson's warning.
    assert 'class="cp-file"' in before and "Week 1 – Slides.pdf" in before and ">PDF<" in before

    publish(services, store, catalog, SLIDES, pdf(2))
    publish(services, store, catalog, "handouts/code.zip", CODE)
    after = page(store)
    aid = asset_id_for(SLIDES)
    card = re.search(r'<a class="cp-file" href="([^"]+)" download>(.*?)</a>', after, re.S)
    assert card is not None
    assert card.group(1) == f"../files/{aid}/Week%201%20%E2%80%93%20Slides.pdf"
    assert "The slides" in card.group(2) and "PDF · 2 pages · " in card.group(2)
    assert f'src="../files/{aid}/preview-320.webp"' in card.group(2)
    # An inline link stays a link in its sentence.
    assert re.search(r"See also <a href=\"../files/[^\"]+/code.zip\"[^>]*>the code</a> inline", after)
    index = store.get_bytes(PUBLISH, "courses/c1/index.html").decode()
    downloads = index.split("<h2>Downloads</h2>", 1)[1]
    assert downloads.index("Week 1 – Slides.pdf") < downloads.index("code.zip")  # by path
    assert "ZIP archive · " in downloads


def test_the_catalog_lists_handouts_with_their_facts(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    from pipeline.catalog.views import asset_view  # noqa: PLC0415

    publish(services, store, catalog, SLIDES, pdf(2))
    item = catalog.get_asset("c1", asset_id_for(SLIDES))
    assert item is not None
    aid = asset_id_for(SLIDES)
    assert asset_view(item)["file"] == {
        "name": "Week 1 – Slides.pdf",
        "label": "PDF",
        "contentType": "application/pdf",
        "bytes": len(pdf(2)),
        "pages": 2,
        "previews": [
            f"/courses/c1/files/{aid}/preview-320.webp",
            f"/courses/c1/files/{aid}/preview-640.webp",
        ],
    }


def test_a_handout_recorded_while_its_lesson_renders_still_gets_its_card_facts(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    """The race CI met: the lesson renders before the PDF is recorded, and the PDF's refresh runs
    before the lesson's item says it links the PDF. The lesson's RecordAsset renders it again."""
    build_course(store.upload(INGEST, "courses/c1/course.yaml", MANIFEST), services)
    lesson = upload(store, catalog, "lessons/week-1.md", LESSON)
    info = AssetInfo("c1", asset_id_for("lessons/week-1.md"), "lessons/week-1.md", "week-1.md", "lesson", 1)
    rendered = render_lesson_page(lesson, services)  # reads the catalog: no PDF yet
    publish(services, store, catalog, SLIDES, pdf(3))  # its refresh finds no lesson linking it yet
    assert "PDF · 3 pages" not in page(store)
    record_asset(ExecutionState(source=lesson, asset=info, result=rendered), services, ARN)
    assert "PDF · 3 pages · " in page(store)
    item = catalog.get_asset("c1", info.asset_id)
    assert item is not None
    assert list(item["details"]["lesson"]["handouts"]) == []  # what its own render showed
    # A render that saw the PDF: its RecordAsset renders nothing more.
    rendered = render_lesson_page(lesson, services)
    writes = len(store.writes)
    record_asset(ExecutionState(source=lesson, asset=info, result=rendered), services, ARN)
    assert len(store.writes) == writes


def test_a_handout_recorded_while_the_manifest_builds_reaches_the_index_and_lessons(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    """BuildCourse renders the index and the lessons without the ZIP; the ZIP's refresh runs before
    BuildCourse's writes land. The manifest's RecordAsset renders the stale pages again."""
    lesson = upload(
        store, catalog, "lessons/week-1.md", LESSON.replace(b" inline.", b"\n\n[Code](../handouts/code.zip)")
    )
    info = AssetInfo("c1", asset_id_for("lessons/week-1.md"), "lessons/week-1.md", "week-1.md", "lesson", 1)
    rendered = render_lesson_page(lesson, services)
    record_asset(ExecutionState(source=lesson, asset=info, result=rendered), services, ARN)
    manifest = upload(store, catalog, "course.yaml", MANIFEST)
    built = build_course(manifest, services)
    stale = {key: store.get_bytes(PUBLISH, key) for key in ("courses/c1/index.html", page_key())}
    publish(services, store, catalog, "handouts/code.zip", CODE)
    for key, body in stale.items():  # BuildCourse's writes land after the ZIP's refresh
        store.put_bytes(PUBLISH, key, body)
    assert "<h2>Downloads</h2>" not in store.get_bytes(PUBLISH, "courses/c1/index.html").decode()
    aid = asset_id_for("course.yaml")
    state = ExecutionState(
        source=manifest,
        asset=AssetInfo("c1", aid, "course.yaml", "course.yaml", "manifest", len(MANIFEST)),
        course=built,
    )
    record_asset(state, services, ARN)
    index = store.get_bytes(PUBLISH, "courses/c1/index.html").decode()
    assert "ZIP archive · " in index.split("<h2>Downloads</h2>", 1)[1]
    assert "ZIP archive · " in page(store)
