"""MakeDownloads over the fakes: what the course record allows decides what is published (and an earlier
version's files are pruned), a superseded run writes nothing, and after RecordAsset the lesson that plays
the video links its downloads. ffmpeg's remux is the integration and e2e tests'; here it only writes
files of the names it would, so these tests are about where files go and when."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest

from pipeline import layout
from pipeline.keys import asset_id_for
from pipeline.publish import SHORT
from pipeline.steps import AssetInfo, DownloadsApplied, ExecutionState, Outputs
from pipeline.usecases import downloads
from pipeline.usecases.record import record_asset
from pipeline.usecases.text import build_course, render_lesson_page
from tests.functional.lecture import ARN, ASSET, HLS, INFO, INGEST, MEDIA, PUBLISH, publish

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore

DOWNLOADS = MEDIA + "downloads/"
MANIFEST = """id: c1
title: Downloads
{flag}sections:
  - title: One
    lessons:
      - id: intro
        file: lessons/intro.md
        video: videos/intro.mp4
"""
LESSON = b"# Intro\n\nWatch it.\n"


@dataclasses.dataclass
class Remux:
    """What the use case asked ffmpeg for: (kind, local playlist, its neighbours' names, start)."""

    calls: list[tuple[str, Path, list[str], float]] = dataclasses.field(default_factory=list)
    playlists: list[bytes] = dataclasses.field(default_factory=list)


@pytest.fixture
def remux(monkeypatch: pytest.MonkeyPatch) -> Remux:
    seen = Remux()

    def start(video: Path | None, audio: Path | None) -> float:
        assert (video or audio) is not None and (video or audio).exists()  # type: ignore[union-attr]
        return 11.4

    def video(playlist: Path, audio: Path | None, out: Path, *, start_s: float) -> Path:
        seen.calls.append(("mp4", playlist, sorted(p.name for p in playlist.parent.iterdir()), start_s))
        seen.playlists.append(playlist.read_bytes())
        assert audio is not None and audio.exists()
        out.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"v" * 2_000)
        return out

    def sound(playlist: Path, out: Path, *, start_s: float) -> Path:
        seen.calls.append(("m4a", playlist, sorted(p.name for p in playlist.parent.iterdir()), start_s))
        out.write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"a" * 500)
        return out

    monkeypatch.setattr(downloads, "timeline_start", start)
    monkeypatch.setattr(downloads, "remux_video", video)
    monkeypatch.setattr(downloads, "remux_audio", sound)
    return seen


def course(services: Services, store: FakeObjectStore, flag: str) -> None:
    source = store.upload(INGEST, "courses/c1/course.yaml", MANIFEST.format(flag=flag).encode())
    build_course(source, services)


def make(services: Services, state: ExecutionState) -> ExecutionState:
    assert state.package is not None
    result = downloads.make_downloads(state.source, INFO, state.package, services)
    return dataclasses.replace(state, downloads=result)


def test_allowed_downloads_are_the_720p_rung_and_the_soundtrack_as_attachments(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    course(services, store, "downloads: true\n")
    store.seed(PUBLISH, DOWNLOADS + "old-name.mp4", b"a renamed earlier file", age_s=60)
    state = make(services, publish(services, store, catalog, b"v1"))

    assert state.downloads is not None
    mp4, m4a = DOWNLOADS + "intro.mp4", DOWNLOADS + "intro.m4a"
    assert state.downloads.outputs == [mp4, m4a]
    assert state.downloads.details == {
        "downloads": {
            "mp4": {"key": mp4, "bytes": 2_012, "width": 1280, "height": 720},
            "m4a": {"key": m4a, "bytes": 512},
        }
    }
    assert store.keys(PUBLISH, DOWNLOADS) == [m4a, mp4]  # the stale file is pruned
    for key, content_type, name in ((mp4, "video/mp4", "intro.mp4"), (m4a, "audio/mp4", "intro.m4a")):
        stored = store.latest(PUBLISH, key)
        assert stored is not None
        assert (stored.content_type, stored.cache_control) == (content_type, SHORT)
        assert stored.content_disposition == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    # ffmpeg read local copies of the published 720p rung and the default soundtrack, nothing else.
    gen = state.plan.job.generation  # type: ignore[union-attr]
    segments = [f"seg-{gen}-00000.ts", f"seg-{gen}-00001.ts"]
    assert [(kind, playlist.parent.name, names, start) for kind, playlist, names, start in remux.calls] == [
        ("mp4", "video", ["index.m3u8", *segments], 11.4),
        ("m4a", "audio", ["index.m3u8", *segments], 11.4),
    ]
    assert remux.playlists == [store.data(PUBLISH, HLS + "720p/index.m3u8")]

    # RecordAsset merges them behind the master, and the lesson page links both (rendered again).
    render_lesson_page(store.upload(INGEST, "courses/c1/lessons/intro.md", LESSON), services)
    record_asset(state, services, ARN)
    item = catalog.asset("c1", ASSET.asset_id)
    assert item["outputs"][:3] == [HLS + "master.m3u8", mp4, m4a]
    assert item["details"]["downloads"]["mp4"]["key"] == mp4
    page = (
        store.data(PUBLISH, "courses/c1/" + layout.lesson_page(asset_id_for("lessons/intro.md"))) or b""
    ).decode()
    folder = f"../{layout.downloads_dir(ASSET.asset_id)}"
    assert (
        f'<p class="cp-downloads"><a href="{folder}/intro.mp4" download>Video (MP4, 720p, 2 KB)</a>'
        f'<a href="{folder}/intro.m4a" download>Audio (M4A, 1 KB)</a></p>'
    ) in page


@pytest.mark.parametrize("flag", ["", "downloads: false\n"], ids=["by default", "turned off"])
def test_without_permission_nothing_is_published_and_earlier_downloads_go(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux, flag: str
) -> None:
    course(services, store, flag)
    store.seed(PUBLISH, DOWNLOADS + "intro.mp4", b"the previous version's", age_s=60)
    store.seed(PUBLISH, DOWNLOADS + "intro.m4a", b"the previous version's", age_s=60)
    neighbour = "courses/c1/media/other-1234abcd/downloads/other.mp4"
    store.seed(PUBLISH, neighbour, b"another video's", age_s=60)

    state = make(services, publish(services, store, catalog, b"v1"))

    assert state.downloads is not None and state.downloads.outputs == [] and state.downloads.details == {}
    assert store.keys(PUBLISH, DOWNLOADS) == [] and store.keys(PUBLISH, neighbour) == [neighbour]
    assert remux.calls == []


def test_a_lesson_may_turn_off_what_its_course_allows(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    manifest = MANIFEST.format(flag="downloads: true\n") + "        downloads: false\n"
    build_course(store.upload(INGEST, "courses/c1/course.yaml", manifest.encode()), services)
    state = make(services, publish(services, store, catalog, b"v1"))
    assert state.downloads is not None and state.downloads.outputs == [] and remux.calls == []


def test_a_run_superseded_after_packaging_writes_nothing(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    course(services, store, "downloads: true\n")
    state = publish(services, store, catalog, b"v1")
    newer = store.upload(INGEST, ASSET.source_key, b"v2")
    catalog.record_uploaded("c1", ASSET.asset_id, ASSET.path, newer, "exec-v2")
    store.seed(PUBLISH, DOWNLOADS + "intro.mp4", b"v2's download, already published")

    assert make(services, state).downloads == Outputs([])
    assert store.data(PUBLISH, DOWNLOADS + "intro.mp4") == b"v2's download, already published"
    assert remux.calls == []


def test_only_media_that_package_hls_published_gets_downloads(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    course(services, store, "downloads: true\n")
    state = publish(services, store, catalog, b"v1")
    assert state.package is not None
    image = AssetInfo("c1", ASSET.asset_id, ASSET.path, ASSET.name, "image", 1)
    assert downloads.make_downloads(state.source, image, state.package, services).outputs == []
    superseded = Outputs([], {"hls": {"superseded": True, "discarded": 3}})
    assert downloads.make_downloads(state.source, INFO, superseded, services).outputs == []
    assert remux.calls == []


# --- a course.yaml that changes downloads for videos published before it ---------------------------------
MP4, M4A = DOWNLOADS + "intro.mp4", DOWNLOADS + "intro.m4a"
PAGE = "courses/c1/" + layout.lesson_page(asset_id_for("lessons/intro.md"))


def published_without_downloads(services: Services, store: FakeObjectStore, catalog: FakeCatalog) -> None:
    """The course, its lesson and the lecture published while downloads were off."""
    course(services, store, "")
    render_lesson_page(store.upload(INGEST, "courses/c1/lessons/intro.md", LESSON), services)
    state = make(services, publish(services, store, catalog, b"v1"))
    record_asset(state, services, ARN)
    assert "downloads" not in catalog.asset("c1", ASSET.asset_id)["details"]


def manifest_run(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, flag: str
) -> ExecutionState:
    """course.yaml's execution: BuildCourse, ApplyDownloads on each video it lists, RecordAsset."""
    source = store.upload(INGEST, "courses/c1/course.yaml", MANIFEST.format(flag=flag).encode())
    info = AssetInfo("c1", asset_id_for("course.yaml"), "course.yaml", "course.yaml", "manifest", 1)
    catalog.record_uploaded("c1", info.asset_id, info.path, source, f"exec-{source.version_id}")
    built = build_course(source, services)
    applied = [downloads.apply_downloads(video, services) for video in built.downloads_to_apply]
    state = ExecutionState(source=source, asset=info, course=built, downloads_applied=applied)
    record_asset(state, services, ARN)
    return state


def test_turning_downloads_on_makes_them_for_a_published_video_and_links_them(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    published_without_downloads(services, store, catalog)
    version = catalog.asset("c1", ASSET.asset_id)["sourceVersion"]
    assert 'class="cp-downloads"' not in (store.data(PUBLISH, PAGE) or b"").decode()

    state = manifest_run(services, store, catalog, "downloads: true\n")

    assert state.course is not None
    assert [(v.key, v.version_id) for v in state.course.downloads_to_apply] == [(ASSET.source_key, version)]
    assert state.downloads_applied == [DownloadsApplied(ASSET.source_key, "made")]
    assert store.keys(PUBLISH, DOWNLOADS) == [M4A, MP4]
    assert [kind for kind, *_ in remux.calls] == ["mp4", "m4a"]  # from the published rung, no encode
    item = catalog.asset("c1", ASSET.asset_id)
    assert item["details"]["downloads"]["mp4"] == {"key": MP4, "bytes": 2_012, "width": 1280, "height": 720}
    assert item["outputs"][0] == HLS + "master.m3u8" and item["outputs"][-2:] == [MP4, M4A]
    assert item["details"]["hls"]["master"] == HLS + "master.m3u8"  # the rest of the details kept
    assert 'class="cp-downloads"' in (store.data(PUBLISH, PAGE) or b"").decode()

    # The same manifest's run again (a retry, or an upload with no change): nothing listed, nothing made.
    again = manifest_run(services, store, catalog, "downloads: true\n")
    assert again.course is not None and again.course.downloads_to_apply == []
    assert len(remux.calls) == 2
    # ApplyDownloads itself is idempotent too (a Map iteration retried after it recorded).
    assert downloads.apply_downloads(state.course.downloads_to_apply[0], services).change == "unchanged"


def test_turning_downloads_off_removes_the_files_and_the_links(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    published_without_downloads(services, store, catalog)
    manifest_run(services, store, catalog, "downloads: true\n")
    assert store.keys(PUBLISH, DOWNLOADS) == [M4A, MP4]

    state = manifest_run(services, store, catalog, "downloads: false\n")

    assert state.downloads_applied == [DownloadsApplied(ASSET.source_key, "removed")]
    assert store.keys(PUBLISH, DOWNLOADS) == []
    item = catalog.asset("c1", ASSET.asset_id)
    assert "downloads" not in item["details"] and "hls" in item["details"]
    assert not any("/downloads/" in o for o in item["outputs"]) and item["outputs"][0] == HLS + "master.m3u8"
    assert 'class="cp-downloads"' not in (store.data(PUBLISH, PAGE) or b"").decode()
    # A lesson-level switch counts as well: on for the lesson's video only.
    lesson_on = MANIFEST.format(flag="") + "        downloads: true\n"
    source = store.upload(INGEST, "courses/c1/course.yaml", lesson_on.encode())
    built = build_course(source, services)
    assert [v.key for v in built.downloads_to_apply] == [ASSET.source_key]


def test_a_video_re_uploaded_after_the_listing_gets_nothing_from_it(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, remux: Remux
) -> None:
    published_without_downloads(services, store, catalog)
    built = build_course(
        store.upload(INGEST, "courses/c1/course.yaml", MANIFEST.format(flag="downloads: true\n").encode()),
        services,
    )
    (listed,) = built.downloads_to_apply
    newer = store.upload(INGEST, ASSET.source_key, b"v2")
    catalog.record_uploaded("c1", ASSET.asset_id, ASSET.path, newer, "exec-v2")

    assert downloads.apply_downloads(listed, services).change == "superseded"
    assert store.keys(PUBLISH, DOWNLOADS) == [] and remux.calls == []
    assert "downloads" not in (catalog.asset("c1", ASSET.asset_id).get("details") or {})


def test_a_re_upload_during_the_remux_publishes_and_records_nothing(
    services: Services,
    store: FakeObjectStore,
    catalog: FakeCatalog,
    remux: Remux,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published_without_downloads(services, store, catalog)
    built = build_course(
        store.upload(INGEST, "courses/c1/course.yaml", MANIFEST.format(flag="downloads: true\n").encode()),
        services,
    )
    real: Callable[..., Path] = vars(downloads)["remux_audio"]  # the remux fixture's

    def reupload_while_remuxing(playlist: Path, out: Path, *, start_s: float) -> Path:
        newer = store.upload(INGEST, ASSET.source_key, b"v2")
        catalog.record_uploaded("c1", ASSET.asset_id, ASSET.path, newer, "exec-v2")
        return real(playlist, out, start_s=start_s)

    monkeypatch.setattr(downloads, "remux_audio", reupload_while_remuxing)
    assert downloads.apply_downloads(built.downloads_to_apply[0], services).change == "superseded"
    assert len(remux.calls) == 2 and store.keys(PUBLISH, DOWNLOADS) == []  # remuxed, never uploaded
    assert ("record_downloads", f"ASSET#{ASSET.asset_id}", True) not in catalog.writes


def test_a_newer_course_yaml_during_the_remux_decides_instead(
    services: Services,
    store: FakeObjectStore,
    catalog: FakeCatalog,
    remux: Remux,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published_without_downloads(services, store, catalog)
    built = build_course(
        store.upload(INGEST, "courses/c1/course.yaml", MANIFEST.format(flag="downloads: true\n").encode()),
        services,
    )
    real: Callable[..., Path] = vars(downloads)["remux_audio"]  # the remux fixture's

    def newer_manifest_while_remuxing(playlist: Path, out: Path, *, start_s: float) -> Path:
        course(services, store, "downloads: false\n")  # its own run lists nothing: the item has none
        return real(playlist, out, start_s=start_s)

    monkeypatch.setattr(downloads, "remux_audio", newer_manifest_while_remuxing)
    assert downloads.apply_downloads(built.downloads_to_apply[0], services).change == "superseded"
    assert ("record_downloads", f"ASSET#{ASSET.asset_id}", False) in catalog.writes
    assert store.keys(PUBLISH, DOWNLOADS) == []  # made for the older record, then taken back
    assert "downloads" not in catalog.asset("c1", ASSET.asset_id)["details"]


def test_one_run_lists_at_most_max_apply_videos_and_says_how_many_wait(
    services: Services,
    store: FakeObjectStore,
    catalog: FakeCatalog,
    remux: Remux,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published_without_downloads(services, store, catalog)
    item = catalog.asset("c1", ASSET.asset_id)
    other = {
        **item,
        "SK": "ASSET#videos-other",
        "path": "videos/other.mp4",
        "sourceKey": "courses/c1/videos/other.mp4",
    }
    monkeypatch.setattr(downloads, "MAX_APPLY", 1)
    listed, warnings = downloads.downloads_to_apply({"downloads": True, "sections": []}, [other, item])
    assert [v.key for v in listed] == ["courses/c1/videos/intro.mp4"]  # in path order
    assert warnings == [
        "downloads: 1 more videos wait for the next upload of course.yaml (one run updates at most 1); "
        "upload it again"
    ]
    # Only published media with HLS: failed, processing and other kinds wait for their own runs.
    changes: list[dict[str, Any]] = [{"status": "PROCESSING"}, {"kind": "image"}, {"details": {}}]
    for changed in changes:
        assert downloads.downloads_to_apply({"downloads": True}, [{**item, **changed}]) == ([], [])


def test_a_failed_iteration_becomes_a_warning_on_the_manifest(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    source = store.upload(
        INGEST, "courses/c1/course.yaml", MANIFEST.format(flag="downloads: true\n").encode()
    )
    info = AssetInfo("c1", asset_id_for("course.yaml"), "course.yaml", "course.yaml", "manifest", 1)
    built = build_course(source, services)
    failed = DownloadsApplied(ASSET.source_key, "failed", error="InvalidMediaError")
    record_asset(
        ExecutionState(source=source, asset=info, course=built, downloads_applied=[failed]), services, ARN
    )
    warnings = catalog.asset("c1", info.asset_id)["details"]["warnings"]
    assert warnings[-1] == (
        "videos/intro.mp4: its downloads were not updated (InvalidMediaError); "
        "upload course.yaml again to retry"
    )
