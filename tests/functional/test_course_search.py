"""The course search over the fakes: whatever the order of lesson and manifest uploads, the list names the
lessons the index links and each has its fragment; a deleted lesson leaves both; a lesson not listed in
course.yaml, or one that failed to render, is not searchable."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline import layout
from pipeline.errors import PipelineError
from pipeline.keys import asset_id_for
from pipeline.steps import Deletion, ExecutionState
from pipeline.usecases.delete import unpublish_asset
from pipeline.usecases.record import record_asset
from pipeline.usecases.text import build_course, render_lesson_page
from tests.functional.lecture import ARN, INGEST, PUBLISH
from tests.functional.test_course_build import info

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore

PREFIX = "courses/c1/"
MANIFEST = """id: c1
title: Search Me
sections:
  - title: One
    lessons:
      - {id: mics, file: lessons/mics.md}
      - {id: levels, file: lessons/levels.md}
      - {id: broken, file: lessons/broken.md}
"""
LESSONS = {
    "lessons/mics.md": b"# Microphones\n\n## Cardioid\n\nA cardioid rejects the rear.\n",
    "lessons/levels.md": b"# Levels\n\n## Peaks\n\nKeep peaks below minus six.\n",
    "lessons/broken.md": b"# Broken\n\n\xff\xfe not UTF-8\n",
    "lessons/extra.md": b"# Not listed\n\nUnlistedword here.\n",
}


def search_list(store: FakeObjectStore) -> list[dict[str, Any]]:
    data = store.data(PUBLISH, PREFIX + layout.search_list())
    assert data is not None
    lessons: list[dict[str, Any]] = json.loads(data)["lessons"]
    return lessons


def fragment(store: FakeObjectStore, path: str) -> dict[str, Any] | None:
    data = store.data(PUBLISH, PREFIX + layout.search_fragment(asset_id_for(path)))
    return None if data is None else dict(json.loads(data))


def searchable(store: FakeObjectStore) -> dict[str, str]:
    """What search.js would find: lesson id -> all its text, for listed lessons whose fragment exists."""
    found = {}
    for lesson in search_list(store):
        data = store.data(PUBLISH, PREFIX + lesson["fragment"])
        if data is not None:
            doc = json.loads(data)
            found[lesson["id"]] = " ".join(s["heading"] + " " + s["text"] for s in doc["sections"])
    return found


def run(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, path: str, data: bytes
) -> SourceRef:
    source = store.upload(INGEST, PREFIX + path, data)
    kind = "manifest" if path == "course.yaml" else "lesson"
    catalog.record_uploaded("c1", info(source, kind).asset_id, path, source, "exec")
    try:
        result = (
            build_course(source, services) if kind == "manifest" else render_lesson_page(source, services)
        )
    except PipelineError:
        return source  # its own run fails; the course goes on
    record_asset(ExecutionState(source=source, asset=info(source, kind), result=result), services, ARN)
    return source


@pytest.mark.parametrize("manifest_first", [True, False])
def test_the_search_converges_whatever_the_upload_order(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, manifest_first: bool
) -> None:
    order = list(LESSONS.items())
    uploads = (
        [("course.yaml", MANIFEST.encode()), *order]
        if manifest_first
        else [*order, ("course.yaml", MANIFEST.encode())]
    )
    for path, data in uploads:
        run(services, store, catalog, path, data)

    listed = [x["id"] for x in search_list(store)]
    assert listed[:2] == ["mics", "levels"] and set(listed) <= {"mics", "levels", "broken"}  # course order
    found = searchable(store)
    assert set(found) == {"mics", "levels"}  # broken never rendered: no fragment, nothing to find
    assert "cardioid" in found["mics"] and "minus six" in found["levels"]
    assert all("Unlistedword" not in text for text in found.values())  # not in course.yaml
    mics = fragment(store, "lessons/mics.md")
    assert mics is not None and mics["title"] == "Microphones"
    assert {(s["anchor"], s["heading"]) for s in mics["sections"]} >= {("cardioid", "Cardioid")}


def test_a_deleted_lesson_leaves_the_search(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    run(services, store, catalog, "course.yaml", MANIFEST.encode())
    sources = {path: run(services, store, catalog, path, data) for path, data in LESSONS.items()}
    assert "levels" in searchable(store)
    marker = store.remove(INGEST, sources["lessons/levels.md"].key)

    unpublish_asset(marker, Deletion("Delete Marker Created"), ARN, services)

    assert fragment(store, "lessons/levels.md") is None
    assert "levels" not in [x["id"] for x in search_list(store)]
    assert set(searchable(store)) == {"mics"}


def test_a_deleted_manifest_takes_the_search_list_down(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    manifest = run(services, store, catalog, "course.yaml", MANIFEST.encode())
    run(services, store, catalog, "lessons/mics.md", LESSONS["lessons/mics.md"])
    assert search_list(store)
    marker = store.remove(INGEST, manifest.key)

    unpublish_asset(marker, Deletion("Delete Marker Created"), ARN, services)

    assert store.data(PUBLISH, PREFIX + layout.search_list()) is None
    # The lesson is a standalone page now: no search box pointing at a list that is gone.
    page = store.data(PUBLISH, PREFIX + layout.lesson_page(asset_id_for("lessons/mics.md")))
    assert page is not None and b"cp-search" not in page
