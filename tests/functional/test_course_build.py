"""BuildCourse and RenderLesson over the fakes: the manifest re-renders every uploaded lesson with its
navigation, names what is not uploaded yet, survives one broken lesson, and a lesson's deletion refreshes
its siblings and the index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.keys import asset_id_for, parse_key
from pipeline.steps import AssetInfo, Deletion, ExecutionState
from pipeline.usecases.delete import unpublish_asset
from pipeline.usecases.record import record_asset
from pipeline.usecases.text import build_course, render_lesson_page
from tests.functional.lecture import ARN, INGEST, PUBLISH

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore, RecordingPublisher

PREFIX = "courses/c1/"
INDEX = PREFIX + layout.course_index()
MANIFEST = """id: c1
title: Field Recording Basics
sections:
  - title: Start here
    lessons:
      - {id: one, file: lessons/01-one.md}
      - {id: two, file: lessons/02-two.md}
      - {id: three, file: lessons/03-three.md}
      - {id: four, file: lessons/04-four.md}
"""
LESSONS = {
    "lessons/01-one.md": b"# Microphones\n\nSee [the next one](03-three.md).\n",
    "lessons/02-two.md": b"# Broken\n\n\xff\xfe not UTF-8\n",
    "lessons/03-three.md": b"# Levels\n\nKeep peaks below -6 dBFS.\n",
}


def page_key(path: str) -> str:
    return PREFIX + layout.lesson_page(asset_id_for(path))


def page(store: FakeObjectStore, path: str) -> str | None:
    data = store.data(PUBLISH, page_key(path))
    return None if data is None else data.decode()


def upload(store: FakeObjectStore, path: str, data: bytes) -> SourceRef:
    return store.upload(INGEST, PREFIX + path, data)


def info(source: SourceRef, kind: str) -> AssetInfo:
    asset = parse_key(source.key)
    return AssetInfo("c1", asset.asset_id, asset.path, asset.name, kind, source.size or 0)


def writes_to(store: FakeObjectStore, key: str, since: int = 0) -> int:
    return sum(1 for w in store.writes[since:] if w.key == key and w.op == "put")


def test_a_manifest_renders_every_uploaded_lesson_again_with_its_navigation(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    sources = {path: upload(store, path, data) for path, data in LESSONS.items()}
    render_lesson_page(sources["lessons/01-one.md"], services)  # before the manifest: a standalone page
    standalone = page(store, "lessons/01-one.md") or ""
    assert "Microphones" in standalone and "Field Recording Basics" not in standalone

    built = build_course(upload(store, "course.yaml", MANIFEST.encode()), services)

    assert built.outputs == [INDEX]
    course = built.details["course"]
    assert (course["title"], course["lessons"], course["pagesRendered"]) == ("Field Recording Basics", 4, 2)
    assert course["pending"] == ["course.yaml names lessons/04-four.md, which is not uploaded yet"]
    (warning,) = built.details["warnings"]
    assert warning.startswith("lesson two: ") and "UTF-8" in warning
    one, three = page(store, "lessons/01-one.md") or "", page(store, "lessons/03-three.md") or ""
    assert "Field Recording Basics" in one and "Levels" in one  # the sidebar lists the sibling
    assert layout.lesson_page(asset_id_for("lessons/03-three.md")).split("/")[1] in one
    assert "Microphones" in three and page(store, "lessons/02-two.md") is None
    index = store.get_bytes(PUBLISH, INDEX).decode()
    assert "Microphones" in index and "Levels" in index
    record = catalog.course("c1")
    assert record is not None and record["status"] == "PUBLISHED" and record["index"] == INDEX
    assert [lesson["path"] for lesson in record["sections"][0]["lessons"]][:2] == [
        "lessons/01-one.md",
        "lessons/02-two.md",
    ]


def test_a_recorded_manifest_announces_the_course(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    for path, data in LESSONS.items():
        upload(store, path, data)
    source = upload(store, "course.yaml", MANIFEST.encode())
    catalog.record_uploaded("c1", info(source, "manifest").asset_id, "course.yaml", source, "exec")
    built = build_course(source, services)

    record_asset(ExecutionState(source=source, asset=info(source, "manifest"), result=built), services, ARN)

    assert events.types == ["AssetPublished", "CoursePublished"]
    course = events.of_type("CoursePublished")[0].detail
    assert (course["title"], course["lessonCount"], course["pending"], course["index"]) == (
        "Field Recording Basics",
        4,
        1,
        INDEX,
    )


def test_an_older_manifest_arriving_late_changes_nothing(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    older = upload(store, "course.yaml", MANIFEST.encode())
    newer = upload(store, "course.yaml", MANIFEST.replace("Basics", "Advanced").encode())
    build_course(newer, services)
    since = len(store.writes)

    built = build_course(older, services)

    assert built.outputs == [] and built.details == {"course": {"superseded": True}}
    assert [w for w in store.writes[since:] if w.bucket == PUBLISH] == []
    record = catalog.course("c1")
    assert record is not None and record["title"] == "Field Recording Advanced"


def test_deleting_a_lesson_removes_its_page_and_refreshes_its_sibling_and_the_index(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    sources = {path: upload(store, path, data) for path, data in LESSONS.items()}
    build_course(upload(store, "course.yaml", MANIFEST.encode()), services)
    three = sources["lessons/03-three.md"]
    catalog.record_uploaded("c1", info(three, "lesson").asset_id, "lessons/03-three.md", three, "exec")
    lesson = render_lesson_page(three, services)
    record_asset(ExecutionState(source=three, asset=info(three, "lesson"), result=lesson), services, ARN)
    assert lesson.outputs == [page_key("lessons/03-three.md"), INDEX]
    since = len(store.writes)
    marker = store.remove(INGEST, three.key)

    result = unpublish_asset(marker, Deletion("Delete Marker Created"), ARN, services)

    assert (result.status, result.kind, result.removed) == ("DELETED", "lesson", 2)  # page + search text
    assert page(store, "lessons/03-three.md") is None
    assert writes_to(store, page_key("lessons/01-one.md"), since) == 1
    # The manifest still lists it: its last title stays, as "coming soon", with no link to the gone page.
    href = layout.lesson_page(asset_id_for("lessons/03-three.md"))
    index = store.get_bytes(PUBLISH, INDEX).decode()
    assert (
        writes_to(store, INDEX, since) == 1 and href not in index and "Levels <small>(coming soon)" in index
    )
    assert '<span class="cp-pending">Levels</span>' in (page(store, "lessons/01-one.md") or "")
    (deleted,) = events.of_type("AssetDeleted")
    assert deleted.detail["outputs"] == [page_key("lessons/03-three.md")]  # the index is not "removed"
