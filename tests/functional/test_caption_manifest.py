"""course.yaml's ``captions:`` over the fakes: a file the manifest lists attaches to the lesson's video under
any name, with the manifest's language, label and kind, in every upload order; the manifest's word wins
over a file's name; a manifest that stops listing a file (or is deleted) takes its rendition away."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import m3u8
import pytest

from pipeline import layout
from pipeline.catalog.query import CourseItems
from pipeline.catalog.views import learner_course
from pipeline.keys import asset_id_for, parse_key
from pipeline.steps import AssetInfo, ExecutionState
from pipeline.usecases import captions
from pipeline.usecases.record import record_asset
from pipeline.usecases.text import build_course, refresh_all_lessons
from tests.functional.lecture import ARN, HLS, INGEST, PUBLISH, publish
from tests.functional.test_caption_attach import ENGLISH, FRENCH

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore

MASTER = HLS + "master.m3u8"
AUTO = "videos/subs/English (auto).srt"
MANIFEST = """id: c1
title: Field Recording
sections:
  - title: Start
    lessons:
      - id: intro
        file: lessons/intro.md
        video: videos/intro.mp4
        captions:
{captions}
"""
LISTED = (
    "          - {file: 'videos/subs/English (auto).srt', language: en, label: English (auto),\n"
    "             kind: subtitles}\n"
    "          - {file: videos/intro.fr.srt, language: fr-CA, label: Français (Québec)}"
)


def upload_manifest(store: FakeObjectStore, captions_yaml: str) -> SourceRef:
    text = (
        MANIFEST.format(captions=captions_yaml) if captions_yaml else MANIFEST.split("        captions:")[0]
    )
    return store.upload(INGEST, "courses/c1/course.yaml", text.encode())


def upload_caption(store: FakeObjectStore, catalog: FakeCatalog, path: str, data: bytes) -> SourceRef:
    source = store.upload(INGEST, f"courses/c1/{path}", data)
    asset = parse_key(source.key)
    catalog.record_uploaded("c1", asset.asset_id, asset.path, source, f"exec-{asset.asset_id}")
    return source


def renditions(store: FakeObjectStore) -> list[tuple[str, str, str | None]]:
    """(LANGUAGE, NAME, CHARACTERISTICS) of the master's subtitle renditions, and every variant has them."""
    playlist = m3u8.loads(store.get_bytes(PUBLISH, MASTER).decode())
    media = [m for m in playlist.media if m.type == "SUBTITLES"]
    assert all(p.stream_info.subtitles == ("subs" if media else None) for p in playlist.playlists)
    return sorted((str(m.language), str(m.name), m.characteristics) for m in media)


EXPECTED = [
    ("en", "English (auto)", None),  # subtitles: no CHARACTERISTICS, though it is the soundtrack's language
    ("fr-CA", "Français (Québec)", None),
]


@pytest.mark.parametrize(
    "order", ["video, captions, manifest", "manifest, captions, video", "captions, manifest, video"]
)
def test_listed_captions_attach_in_every_upload_order(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, order: str
) -> None:
    results = {}
    for step in order.split(", "):
        if step == "video":
            publish(services, store, catalog, b"lecture v1")
        elif step == "manifest":
            build_course(upload_manifest(store, LISTED), services)
        else:
            for path, data in ((AUTO, ENGLISH), ("videos/intro.fr.srt", FRENCH)):
                results[path] = captions.render_captions(upload_caption(store, catalog, path, data), services)
    assert renditions(store) == EXPECTED
    if order.startswith("manifest"):  # listed when it ran: attached to the lesson's video, no warning
        auto = results[AUTO].details
        assert auto["caption"]["language"] == "en" and auto["caption"]["label"] == "English (auto)"
        assert auto["caption"]["videos"] == [] and not auto["warnings"]  # the video is not uploaded yet
    elif order.startswith("captions"):  # before course.yaml: published, unattached, and it says why
        assert "attached to no video" in results[AUTO].details["warnings"][0]


def test_the_catalog_lists_listed_captions_with_the_manifests_labels(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    record_asset(publish(services, store, catalog, b"lecture v1"), services, ARN)
    for path, data in ((AUTO, ENGLISH), ("videos/intro.fr.srt", FRENCH)):
        source = upload_caption(store, catalog, path, data)
        rendered = captions.render_captions(source, services)
        asset = parse_key(source.key)
        info = AssetInfo("c1", asset.asset_id, asset.path, asset.name, "caption", source.size or 0)
        record_asset(ExecutionState(source=source, asset=info, result=rendered), services, ARN)
    store.upload(INGEST, "courses/c1/lessons/intro.md", b"# Introduction\n\nListen first.\n")
    build_course(upload_manifest(store, LISTED), services)
    page = store.get_bytes(PUBLISH, "courses/c1/" + layout.lesson_page(asset_id_for("lessons/intro.md")))
    tracks = re.findall(r"<track kind=\"(\w+)\" srclang=\"([\w-]+)\" label=\"([^\"]+)\"", page.decode())
    assert tracks == [("subtitles", "en", "English (auto)"), ("subtitles", "fr-CA", "Français (Québec)")]
    assert "Listen first" in page.decode() and "Hello" in page.decode()  # the English transcript
    items = catalog.course_items("c1")
    record = next(i for i in items if i["SK"] == "COURSE")
    course = learner_course(CourseItems("c1", record, [i for i in items if i["SK"] != "COURSE"]))
    video = course["sections"][0]["lessons"][0]["video"]
    assert [(c["language"], c["label"], c["source"]) for c in video["captions"]] == [
        ("en", "English (auto)", "file"),
        ("fr-CA", "Français (Québec)", "file"),
    ]


def test_a_manifest_that_stops_listing_a_caption_takes_its_rendition_away(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    publish(services, store, catalog, b"lecture v1")
    for path, data in ((AUTO, ENGLISH), ("videos/intro.fr.srt", FRENCH)):
        captions.render_captions(upload_caption(store, catalog, path, data), services)
    build_course(upload_manifest(store, LISTED), services)
    assert len(renditions(store)) == 2

    # Without the list, intro.fr.srt is its name's again (French, a subtitle), the auto file no one's.
    build_course(upload_manifest(store, ""), services)
    assert renditions(store) == [("fr", "Français", None)]

    build_course(upload_manifest(store, LISTED), services)
    assert renditions(store) == EXPECTED
    deletion = store.remove(INGEST, "courses/c1/course.yaml")
    catalog.mark_course_deleted("c1", deletion)
    refresh_all_lessons(parse_key("courses/c1/course.yaml"), services)
    assert renditions(store) == [("fr", "Français", None)]
